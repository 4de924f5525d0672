"""A file fuzzer over every subcommand that reads a file: random bytes, truncated files, flipped bytes and JSON of the
wrong shape, each answered by success or by one `error:` line with exit status 2, never by a traceback.

`make test` runs a short deterministic pass (derandomized, a few examples per file kind); `CTC_LAB_FUZZ=long` runs
many random ones (`CTC_LAB_FUZZ=long pytest tests/test_fuzz_files.py`), which is how new failures are found.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sweep_helpers import make_lm, make_store
from test_errors import invoke

LONG = os.environ.get("CTC_LAB_FUZZ") == "long"
# Derandomized in the short run: `make test` gives the same cases every time; the long run explores.
FUZZ = settings(max_examples=400 if LONG else 12, derandomize=not LONG, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12)


def damaged(original: bytes) -> st.SearchStrategy[bytes]:
    """Bytes a file of this kind could hold when broken: random, cut short, a few bytes changed, or JSON of any
    shape."""
    cut = st.integers(0, max(0, len(original) - 1)).map(lambda n: original[:n])
    flips = st.lists(st.tuples(st.integers(0, max(0, len(original) - 1)), st.integers(0, 255)), min_size=1,
                     max_size=4).map(lambda changes: _flip(original, changes))
    return st.one_of(st.binary(max_size=512), cut, flips, JSON.map(lambda v: json.dumps(v).encode()))


def _flip(original: bytes, changes) -> bytes:
    data = bytearray(original)
    for at, value in changes:
        if data:
            data[at] = value
    return bytes(data)


def holds_the_contract(result) -> None:
    """Success, or exit 2 with exactly one `error:` line; any other exception is a bug the fuzzer found."""
    if result.exit_code == 0:
        return
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit), (result.exception, result.output)
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.output


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Valid files of every kind the CLI reads, built once: the fuzzer damages copies of them."""
    root = tmp_path_factory.mktemp("fuzz-inputs")
    store = make_store(root / "store")
    lm = make_lm(root / "lm" / "tiny.arpa")
    np.savez(root / "logits.npz", **{f"utt{i:03d}": store[i] for i in range(len(store))})
    (root / "labels.txt").write_text("\n".join("<space>" if label == " " else label
                                               for label in store.vocabulary.labels) + "\n")
    (root / "refs.txt").write_text("".join(f"{u.id} {u.reference}\n" for u in store.utterances))
    (root / "hyps.jsonl").write_text("".join(json.dumps({"id": u.id, "reference": u.reference,
                                                         "hypothesis": u.reference}) + "\n"
                                             for u in store.utterances))
    (root / "sentences.txt").write_text("THE CAT SAT\nA DOG\n")
    result = invoke("sweep", store.path, "--lm", lm, "--alpha", "0.5", "--beta", "1", "--out", root / "run")
    assert result.exit_code == 0, result.output
    return {"root": root, "store": store.path, "lm": lm}


def scratch(inputs) -> Path:
    """A fresh folder per example (hypothesis runs many examples in one test call)."""
    return Path(tempfile.mkdtemp(dir=inputs["root"]))


def with_file(inputs, name: str, data: bytes) -> tuple[Path, Path]:
    folder = scratch(inputs)
    (folder / name).write_bytes(data)
    return folder, folder / name


@FUZZ
@given(data=st.data())
def test_import_npz_labels_and_transcripts(inputs, data):
    root = inputs["root"]
    which = data.draw(st.sampled_from(["logits.npz", "labels.txt", "refs.txt"]))
    folder, broken = with_file(inputs, which, data.draw(damaged((root / which).read_bytes())))
    files = {name: (broken if name == which else root / name) for name in ("logits.npz", "labels.txt", "refs.txt")}
    holds_the_contract(invoke("import", files["logits.npz"], "--labels", files["labels.txt"], "--references",
                              files["refs.txt"], "--out", folder / "store"))
    assert not list(folder.rglob("*.tmp"))


@FUZZ
@given(data=st.data())
def test_info_and_run_of_a_damaged_store(inputs, data):
    folder = scratch(inputs)
    store = folder / "store"
    shutil.copytree(inputs["store"], store)
    which = data.draw(st.sampled_from(["store.json", "shards/00000.npy"]))
    (store / which).write_bytes(data.draw(damaged((store / which).read_bytes())))
    for args in (["info", store, "--verify"], ["run", store]):
        holds_the_contract(invoke(*args))


@FUZZ
@given(broken=damaged(b'{"id": "utt000", "reference": "THE CAT", "hypothesis": "THE CAT"}\n'))
def test_compare_of_damaged_hypotheses(inputs, broken):
    _, path = with_file(inputs, "hyps.jsonl", broken)
    holds_the_contract(invoke("compare", inputs["root"] / "hyps.jsonl", path))


@FUZZ
@given(broken=damaged(b"THE CAT SAT\nA DOG\n"))
def test_synth_of_damaged_text(inputs, broken):
    folder, path = with_file(inputs, "text.txt", broken)
    holds_the_contract(invoke("synth", path, "--out", folder / "store", "--limit", "3"))


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
@FUZZ
@given(broken=damaged(b"THE CAT SAT\nA DOG\n"))
def test_speak_of_damaged_text(inputs, broken):
    folder, path = with_file(inputs, "text.txt", broken)
    holds_the_contract(invoke("speak", path, "--out", folder / "speech", "--limit", "1", "--jobs", "1"))


@FUZZ
@given(broken=damaged("".join(f"THE CAT {i} SAT ON THE MAT\n" for i in range(20)).encode()))
def test_lm_build_of_a_damaged_corpus(inputs, broken):
    folder, path = with_file(inputs, "corpus.txt", broken)
    holds_the_contract(invoke("lm", "build", "--corpus", path, "--order", "2", "--out", folder / "lm"))


@FUZZ
@given(data=st.data())
def test_report_of_a_damaged_results_database(inputs, data):
    folder = scratch(inputs)
    run = folder / "run"
    shutil.copytree(inputs["root"] / "run", run)
    database = run / "results.sqlite"
    database.write_bytes(data.draw(damaged(database.read_bytes())))
    for name in ("results.sqlite-wal", "results.sqlite-shm"):
        (run / name).unlink(missing_ok=True)
    holds_the_contract(invoke("report", run))
