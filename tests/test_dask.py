"""Sweeps on a Dask cluster: the same rows as a local sweep, resuming, a killed worker, and the bad inputs (no
scheduler, a worker that cannot read the store, other package versions)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time

import distributed
import pytest
from typer.testing import CliRunner

from cli.app import app
from experiments.sweep import dask_executor
from experiments.sweep.dask_executor import DaskExecutor
from logits.cluster import ClusterError, check_versions, connect
from experiments.sweep.results import ResultsDB
from experiments.sweep.run import sweep
from experiments.sweep.many import sweep_many
from helpers import LM_SENTENCES
from logits.errors import LabError
from logits.store import LogitsStore
from sweep_helpers import make_lm, make_store

runner = CliRunner()


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded worker processes on 127.0.0.1, as `dask scheduler` + two `dask worker`s would be."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=":0") as local:
        yield local


def _rows(run_dir):
    with ResultsDB(run_dir, create=False) as db:
        return {p.key: (p.decoder, p.alpha, p.beta, p.wer, p.cer, p.config, db.hypotheses(p.key))
                for p in db.results()}


def test_a_dask_sweep_stores_what_a_local_sweep_stores_and_resumes(store, lm, tmp_path, cluster):
    local = sweep(store.path, lm, "0.5,1", "0,1", workers=1, run_dir=tmp_path / "local", show_progress=False)
    remote = sweep(store.path, lm, "0.5,1", "0,1", run_dir=tmp_path / "dask", show_progress=False,
                   scheduler=cluster.scheduler_address)
    assert remote.executor == f"the Dask cluster at {cluster.scheduler_address}" and remote.workers == 2
    assert _rows(tmp_path / "dask") == _rows(tmp_path / "local")
    assert [(p.key, p.wer) for p in remote.results.points] == [(p.key, p.wer) for p in local.results.points]
    with ResultsDB(tmp_path / "dask", create=False) as db:
        assert {p.host for p in db.results()} == {os.uname().nodename}  # each row names the machine that decoded it
    with sqlite3.connect(tmp_path / "dask" / "results.sqlite") as conn:  # drop one point, as if never finished
        conn.execute("DELETE FROM results WHERE alpha = 1.0 AND beta = 1.0")
    again = sweep(store.path, lm, "0.5,1", "0,1", run_dir=tmp_path / "dask", show_progress=False,
                  scheduler=cluster.scheduler_address)
    assert (again.reused, again.computed, again.greedy_reused) == (3, 1, True)
    assert _rows(tmp_path / "dask") == _rows(tmp_path / "local")


def test_the_scheduler_comes_from_the_environment_and_a_rescoring_sweep_is_one_task_there(store, lm, tmp_path,
                                                                                          cluster, monkeypatch):
    local = sweep(store.path, lm, "0.3,0.6,0.9", "0,1,2", workers=1, run_dir=tmp_path / "local",
                  show_progress=False, method="rescore", nbest=8)
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", cluster.scheduler_address)
    found = runner.invoke(app, ["sweep", str(store.path), "--lm", str(lm), "--alpha", "0.3,0.6,0.9", "--beta",
                                "0,1,2", "--method", "rescore", "--nbest", "8", "--out", str(tmp_path / "run")])
    assert found.exit_code == 0, found.output
    assert f"of the Dask cluster at {cluster.scheduler_address}" in found.output
    # The search ran on a worker (one thread there, two here: the same lists), the client recorded it.
    assert _rows(tmp_path / "run") == _rows(tmp_path / "local")
    with ResultsDB(tmp_path / "run", create=False) as db:
        remote = db.run_results(None)
        assert remote.rescored == local.results.rescored and remote.exact_keys == local.results.exact_keys


def test_sweep_many_runs_every_store_with_every_lm_on_the_cluster(store, lm, tmp_path, cluster):
    other = make_store(tmp_path / "other-store", sentences=LM_SENTENCES[:3])
    stronger = make_lm(tmp_path / "lm2" / "strong.arpa", backoff=-1.0)
    done = sweep_many([store.path, other.path], [lm, stronger], "0.3,0.6,0.9", "0,1,2",
                      scheduler=cluster.scheduler_address, out=tmp_path / "many", nbest=8)
    assert [(p.store, p.lm) for p in done] == [(str(s), str(m)) for s in (store.path, other.path)
                                                 for m in (lm, stronger)]
    for pair in done:
        assert pair.error is None and pair.result.executor.startswith("the Dask cluster")
        alone = sweep(pair.store, pair.lm, "0.3,0.6,0.9", "0,1,2", workers=1, method="rescore", nbest=8,
                      run_dir=tmp_path / "alone" / pair.result.run_dir.name, show_progress=False)
        assert _rows(pair.result.run_dir) == _rows(alone.run_dir)
        assert pair.result.best.key == alone.best.key
    assert len({p.result.run_dir for p in done}) == 4


def test_sweep_many_reports_a_failing_pair_and_finishes_the_others(store, lm, tmp_path, cluster):
    found = runner.invoke(app, ["sweep-many", str(store.path), "--lm", str(lm), "--lm", str(tmp_path / "none.arpa"),
                                "--alpha", "0.3,0.6", "--beta", "0,1", "--nbest", "4",
                                "--scheduler", cluster.scheduler_address, "--out", str(tmp_path / "many"), "--json"])
    assert found.exit_code == 2
    summary = json.loads(found.stdout)
    first, second = summary["sweeps"]
    assert first["error"] is None and first["method"] == "rescore" and first["best_wer_exact"] is not None
    assert "none.arpa" in second["error"]
    assert "error: 1 of 2 sweeps failed" in found.output and "none.arpa" in found.output
    with pytest.raises(LabError, match="same store x LM twice"):
        sweep_many([store.path, store.path], [lm], "0.3", "0")


def test_each_worker_loads_the_lm_once(store, lm, tmp_path, cluster):
    sweep(store.path, lm, "0.2,0.4,0.6,0.8", "0,1", run_dir=tmp_path / "run", show_progress=False,
          scheduler=cluster.scheduler_address)

    def loaded(dask_worker):
        plugin = dask_worker.plugins[dask_executor.PLUGIN_NAME]
        return len(plugin._lms)

    with distributed.Client(cluster.scheduler_address) as client:
        assert set(client.run(loaded).values()) <= {0, 1}  # an LM cache of one LM (or none: no task came)


def test_a_worker_killed_mid_sweep_has_its_points_decoded_elsewhere(tmp_path, lm):
    store = make_store(tmp_path / "store", copies=6)  # points long enough to kill a worker in the middle of one
    sweep(store.path, lm, "0.3,0.6,0.9", "0,1", workers=1, run_dir=tmp_path / "local", show_progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=":0") as cluster, distributed.Client(cluster) as client:
        pids = client.run(os.getpid)
        killed = []

        def kill_a_busy_worker():
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not killed:
                busy = [w for w, keys in client.processing().items() if keys]
                if busy:
                    os.kill(pids[busy[0]], signal.SIGKILL)  # as the kernel's OOM killer would
                    killed.append(busy[0])
                time.sleep(0.01)

        killer = threading.Thread(target=kill_a_busy_worker)
        killer.start()
        remote = sweep(store.path, lm, "0.3,0.6,0.9", "0,1", run_dir=tmp_path / "dask", show_progress=False,
                       scheduler=cluster.scheduler_address)
        killer.join()
    assert killed, "no worker was seen busy"
    assert remote.results.missing == 0 and remote.results.run.status == "done"
    assert _rows(tmp_path / "dask") == _rows(tmp_path / "local")


def test_an_unreachable_scheduler_fails_within_seconds_leaving_no_run(store, lm, tmp_path, monkeypatch):
    monkeypatch.setattr("logits.cluster.CONNECT_TIMEOUT_S", 1)
    started = time.monotonic()
    found = runner.invoke(app, ["sweep", str(store.path), "--lm", str(lm), "--alpha", "0.5", "--beta", "0",
                                "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path / "run")])
    assert found.exit_code == 2 and time.monotonic() - started < 10
    assert found.output.startswith("error: cannot reach the Dask scheduler at tcp://127.0.0.1:9 (")
    assert len(found.output.strip().splitlines()) == 1
    with ResultsDB(tmp_path / "run") as db:
        assert db.runs() == []  # nothing recorded, so nothing left `running`


def test_a_worker_that_cannot_read_the_store_is_named(tmp_path, cluster):
    store = make_store(tmp_path / "store")
    opened = LogitsStore.open(store.path)
    (tmp_path / "store").rename(tmp_path / "elsewhere")  # the client has it open; the workers look at the path
    _refused(cluster.scheduler_address, opened, tmp_path / "run",
             rf"Dask worker tcp://127\.0\.0\.1:\d+ cannot read the store at {tmp_path / 'store'}: .*share it, or "
             "copy it there")


def _refused(address: str, store: LogitsStore, run_dir, message: str) -> None:
    """The executor for the cluster at `address` fails, before any point, with a ClusterError matching `message`."""
    client = connect(address)
    try:
        with pytest.raises(ClusterError, match=message):
            DaskExecutor(client, store, ResultsDB(run_dir))
    finally:
        client.close()


class _Client:
    """What check_versions asks a Client for: versions as Client.get_versions returns them."""

    def __init__(self, worker_numpy: str) -> None:
        self.worker_numpy = worker_numpy

    def get_versions(self, packages):
        def info(numpy):
            return {"host": {}, "packages": {"python": "3.11.2.final.0", "dask": "2026.8.0",
                                             "distributed": "2026.8.0", "numpy": numpy, "kenlm": "0.3.0"}}

        return {"client": info("1.26.4"), "scheduler": info("1.26.4"),
                "workers": {"tcp://10.0.0.2:4000": info(self.worker_numpy)}}


def test_other_package_versions_on_the_workers_are_one_line():
    check_versions(_Client("1.26.4"))  # the same everywhere: nothing to say
    with pytest.raises(ClusterError) as caught:
        check_versions(_Client("1.26.3"))
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("the Dask cluster's package versions differ from this client's (Dask's check): "
                              "numpy 1.26.4 here, 1.26.3 on the cluster;")


def test_a_scheduler_without_workers_is_refused(tmp_path):
    store = make_store(tmp_path / "store")
    with distributed.LocalCluster(n_workers=0, processes=True, host="127.0.0.1", dashboard_address=":0") as empty:
        address = empty.scheduler_address
        _refused(address, store, tmp_path / "run",
                 rf"the Dask scheduler at {address} has no workers; start some with `dask worker {address}`")
