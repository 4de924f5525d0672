"""`decode cache --scheduler`: a data set cached in parts by the workers of a Dask cluster and merged into the store
one process would write (same order, same logits, same fingerprint)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from audio_fixtures import UTTERANCES, build_tiny_model, have_tools

if not have_tools():
    pytest.skip("espeak-ng and sox are needed to make test speech (apt-get install espeak-ng sox)",
                allow_module_level=True)
distributed = pytest.importorskip("distributed")
pytest.importorskip("transformers", reason="decode cache needs transformers")

from acoustic.cache import cache_logits, plan_parts  # noqa: E402
from cli.app import app  # noqa: E402
from acoustic.dask_cache import PARTS_SUFFIX, cache_on_cluster  # noqa: E402
from logits.store import LogitsStore  # noqa: E402

# Dask workers run torch on one thread; the single-process reference must too, for bit-equal logits.
pytestmark = pytest.mark.usefixtures("torch_one_thread")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=":0") as local:
        yield local


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    # No attention mask: zero-padded batches, so each utterance's logits depend on its batch mates, and the parts
    # must keep the single run's batches for the logits to be the same.
    return build_tiny_model(tmp_path_factory.mktemp("models") / "nomask", attention_mask=False)


def test_parts_are_whole_batches_of_the_single_run_order(model, libri):
    groups, order = plan_parts(str(model), libri, parts=2, batch_size=2)
    assert len(groups) == 2 and sorted(order) == sorted(UTTERANCES)
    assert [i for group in groups for i in group] == order  # contiguous runs of the order
    assert len(groups[0]) % 2 == 0  # cut at a batch boundary
    assert plan_parts(str(model), libri, parts=10, batch_size=2)[0] == [order[i:i + 2] for i in range(0, 7, 2)]


def test_a_cluster_caches_the_store_one_process_writes(model, libri, cluster, tmp_path):
    single = cache_logits(str(model), libri, tmp_path / "single", batch_size=2, progress=False)
    report = cache_on_cluster(cluster.scheduler_address, str(model), libri, tmp_path / "cluster", batch_size=2)
    assert report.workers == 2 and len(report.parts) == 2 and all(p.written for p in report.parts)
    assert report.fingerprint == single.fingerprint
    merged = LogitsStore.open(tmp_path / "cluster")
    assert merged.ids == LogitsStore.open(tmp_path / "single").ids
    assert merged.provenance["parts"] == 2 and merged.provenance["scheduler"] == cluster.scheduler_address
    assert not (tmp_path / f"cluster{PARTS_SUFFIX}").exists()

    runner = CliRunner()
    args = ["cache", "--model", str(model), "--audio", str(libri), "--out", str(tmp_path / "cluster"),
            "--batch-size", "2", "--scheduler", cluster.scheduler_address, "--json"]
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and again.stderr.startswith("error: ") and "already holds a complete store" in \
        again.stderr
    forced = runner.invoke(app, args + ["--force"])
    assert forced.exit_code == 0, forced.output
    assert json.loads(forced.stdout)["fingerprint"] == single.fingerprint


def test_no_scheduler_is_one_error_line(model, libri, tmp_path):
    result = CliRunner().invoke(app, ["cache", "--model", str(model), "--audio", str(libri), "--out",
                                      str(tmp_path / "s"), "--scheduler", "tcp://127.0.0.1:9"])
    assert result.exit_code == 2 and result.stderr.startswith("error: cannot reach the Dask scheduler")
    assert not (tmp_path / "s").exists()
