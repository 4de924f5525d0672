"""`decode bench`: which decoders it runs, what it measures and reports, and how it fails."""

from __future__ import annotations

import dataclasses
import json
from typing import Sequence

import numpy as np
import pytest
from typer.testing import CliRunner

from acoustic.synth import SynthSettings, synthesize_store
from cli.app import app
from cli.bench import format_table
from decoders.beam import PyctcdecodeBeamDecoder
from decoders.errors import DecoderConfigError
from decoders.factory import decoder_classes
from decoders.greedy import GreedyDecoder
from experiments.bench import bench as B
from experiments.bench.default_data import HARD_DIFFICULTY
from helpers import LM_SENTENCES, tiny_defaults, write_bigram_arpa
from lm.errors import LMError
from logits.errors import LabError, StoreError
from logits.store import LogitsStore

pytest.importorskip("ctc_beam_decoder")
pytest.importorskip("flashlight.lib.text.decoder")

SENTENCES = LM_SENTENCES + ["THE DOG SAW A MAT", "A CAT SAT ON A LOG"]
ROW_KEYS = {"name", "kind", "utterances", "audio_seconds", "cpu_seconds", "rtfx", "wer", "parity", "load_seconds",
            "repeats", "deterministic", "config"}  # of each row in the JSON
runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture()
def arpa(tmp_path):
    return write_bigram_arpa(tmp_path / "tiny.arpa", LM_SENTENCES)


@pytest.fixture()
def store(tmp_path):
    synthesize_store(SENTENCES, tmp_path / "store", seed=0, settings=SynthSettings(difficulty=2.0))
    return tmp_path / "store"


class ThreadedBeam(PyctcdecodeBeamDecoder):
    """Stands in for a compiled project decoder whose decode_batch runs on native threads."""

    name = "threadbeam"
    threaded = True

    def __init__(self, config, vocabulary, lms=None):
        super().__init__(config, vocabulary, lms)
        self.thread_calls = []

    def decode_batch(self, batch: Sequence[np.ndarray], threads: int | None = None):
        self.thread_calls.append(threads)
        return [self.decode(x) for x in batch]


@pytest.fixture()
def with_threaded(monkeypatch):
    classes = decoder_classes() | {ThreadedBeam.name: ThreadedBeam}
    monkeypatch.setattr(B, "decoder_classes", lambda: classes)


def test_contenders_reference_first_project_then_peers_then_greedy(monkeypatch, with_threaded):
    found = B.contenders()
    assert [(c.name, c.kind) for c in found] == [
        ("beam", "reference"), ("fastbeam", "project"), ("threadbeam", "project"), ("ctcbeam", "peer"),
        ("flashlight", "peer"), ("greedy", "baseline"),
    ]
    # A peer the lead registers in decoder_classes stays a peer and is not run twice.
    from decoders.peers import CtcBeamDecoder

    classes = decoder_classes() | {"ctcbeam": CtcBeamDecoder}
    monkeypatch.setattr(B, "decoder_classes", lambda: classes)
    assert [c.name for c in B.contenders()].count("ctcbeam") == 1
    assert [c.name for c in B.contenders(["greedy", "beam"])] == ["beam", "greedy"]
    with pytest.raises(LabError, match="unknown decoder"):
        B.contenders(["beam", "nope"])


def test_contenders_include_every_registered_beam_decoder():
    names = [c.name for c in B.contenders()]
    registered = [n for n in decoder_classes() if n != "greedy"]
    assert set(registered) <= set(names) and names[0] == "beam" and names[-1] == "greedy"


def test_parse_decoders():
    assert B.parse_decoders(" beam, ctcbeam ,") == ["beam", "ctcbeam"]
    assert B.parse_decoders("") is None and B.parse_decoders(None) is None


def test_run_bench_reports_every_decoder_with_parity(store, arpa, with_threaded):
    result = B.run_bench(store, arpa, params={"beam_width": 16}, limit=None, repeats=2, reference_repeats=1)
    assert isinstance(result, B.BenchResult)
    rows = {row.name: row for row in result.decoders}
    assert list(rows) == ["beam", "fastbeam", "threadbeam", "ctcbeam", "flashlight", "greedy"]
    assert result.skipped == ()
    opened = LogitsStore.open(store)
    for row in rows.values():
        assert isinstance(row, B.DecoderRow)
        assert row.utterances == len(SENTENCES) and row.frames == opened.total_frames
        assert row.audio_seconds == pytest.approx(opened.audio_seconds, abs=0.01)
        assert row.cpu_seconds >= 0 and row.load_seconds >= 0 and row.deterministic
        assert len(row.cpu_seconds_runs) == row.repeats
        assert 0 <= row.wer and 0 <= row.parity <= 1
    assert rows["beam"].parity == 1.0 and rows["beam"].repeats == 1
    assert rows["threadbeam"].parity == 1.0 and rows["threadbeam"].repeats == 2
    assert rows["fastbeam"].parity == 1.0 and rows["fastbeam"].wer == rows["beam"].wer
    assert rows["ctcbeam"].parity == 1.0 and rows["ctcbeam"].wer == rows["beam"].wer
    assert rows["greedy"].wer > rows["beam"].wer  # the LM repairs what the synthetic model confuses
    assert rows["beam"].config["params"]["beam_width"] == 16 and rows["greedy"].config["params"] == {}
    assert rows["flashlight"].parameter_mapping and rows["beam"].parameter_mapping is None
    assert result.params["beam_width"] == 16 and result.params["alpha"] == 0.5
    assert result.store.benched_utterances == len(SENTENCES) and result.store.synth["difficulty"] == 2.0
    assert result.lm.path == str(arpa) and result.lm.order == 2
    assert {"cpu", "cores", "python"} <= set(result.machine)
    assert result.regime is None
    parallel = {p.name: p for p in result.parallel}
    assert set(parallel) == {"fastbeam", "threadbeam"}  # every threaded decoder
    parallel = parallel["threadbeam"]
    assert parallel.threads == (1, 2) and parallel.same_text
    assert set(parallel.wall_seconds) == set(parallel.cpu_seconds) == {1, 2} and parallel.speedup > 0
    assert parallel.cores_usable >= 1
    compat = result.compat  # decoders.compat against pyctcdecode's decode_batch with a fork pool
    assert compat.utterances == len(SENTENCES) and compat.workers == 2 and compat.repeats == {"pyctcdecode": 1,
                                                                                              "compat": 2}
    assert compat.pyctcdecode_seconds > 0 and compat.compat_seconds > 0 and compat.speedup > 0
    assert compat.parity == 1.0 and compat.compat_wer == compat.pyctcdecode_wer
    assert 0 <= compat.parity_with_decode_beams <= 1
    assert "decoders.compat decode_batch, 2 native threads" in format_table(result)
    greedy = result.greedy_throughput
    assert greedy.frames == opened.total_frames and greedy.frames_per_second > 0
    assert greedy.kernel == "compiled" and greedy.argmax_only_frames_per_second > 0

    data = json.loads(json.dumps(result.to_dict()))  # all of it is JSON, under the keys the files have always had
    assert [r["name"] for r in data["decoders"]] == list(rows)
    assert all(ROW_KEYS <= set(r) for r in data["decoders"])
    assert {"1", "2"} == set(data["parallel"][0]["wall_seconds"]) == set(data["parallel"][0]["cpu_seconds"])
    assert data["greedy_throughput"]["frames"] == opened.total_frames
    assert data["store"]["benched_utterances"] == len(SENTENCES) and data["lm"]["order"] == 2
    assert not {"target", "meets_target"} & (set(data["parallel"][0]) | set(data["greedy_throughput"]))


def test_results_are_frozen(store, arpa):
    result = B.run_bench(store, arpa, limit=1, repeats=1, decoders=["beam"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.regime = "hard"
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.decoders[0].parity = 0.5


def test_the_table_prints_figures_not_verdicts(store, arpa, with_threaded):
    result = B.run_bench(store, arpa, limit=2, repeats=1, decoders=["beam", "threadbeam", "greedy"])
    table = format_table(result)
    assert "parallel threadbeam" in table and "speed-up" in table and "same text: True" in table
    assert "compat" not in table  # the drop-in comparison needs both pyctcdecode and fastbeam
    assert "M frames/s per core" in table and "usable cores" in table
    assert "target" not in table and "meets" not in table and "misses" not in table


def test_limit_and_subset_and_parity_needs_the_reference(store, arpa):
    result = B.run_bench(store, arpa, limit=3, repeats=1, decoders=["greedy", "beam"])
    assert [r.name for r in result.decoders] == ["beam", "greedy"]
    assert all(r.utterances == 3 for r in result.decoders)
    assert result.parallel == ()
    result = B.run_bench(store, arpa, limit=2, repeats=1, decoders=["ctcbeam"])
    assert result.decoders[0].parity is None and result.greedy_throughput is None


def test_a_peer_that_cannot_be_built_is_skipped_unless_asked_for(store, arpa, monkeypatch):
    from decoders import peers

    def broken(*args, **kwargs):
        raise DecoderConfigError("decoder 'flashlight' needs the 'flashlight-text' package")

    monkeypatch.setattr(peers.FlashlightDecoder, "__init__", broken)
    result = B.run_bench(store, arpa, limit=1, repeats=1, decoders=None)
    reason = "decoder 'flashlight' needs the 'flashlight-text' package"
    assert result.skipped == (B.Skipped("flashlight", "peer", reason),)
    assert "flashlight" not in [r.name for r in result.decoders]
    assert f"skipped: {reason}" in format_table(result)
    with pytest.raises(DecoderConfigError, match="flashlight-text"):
        B.run_bench(store, arpa, limit=1, repeats=1, decoders=["beam", "flashlight"])


def test_bad_inputs_fail_before_decoding(store, arpa, tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        B.run_bench(tmp_path / "nope", arpa)
    with pytest.raises(LMError, match="does not exist"):
        B.run_bench(store, tmp_path / "missing.arpa")
    with pytest.raises(DecoderConfigError, match="beam_width"):
        B.run_bench(store, arpa, params={"beam_width": 0})
    with pytest.raises(LabError, match="repeats"):
        B.run_bench(store, arpa, repeats=0)


def test_cli_json_last_line_and_file(store, arpa, tmp_path):
    out = tmp_path / "bench.json"
    result = invoke("bench", store, "--lm", arpa, "--limit", 4, "--repeats", 1, "--alpha", 0.7, "--beam-width", 20,
                    "--decoders", "beam,ctcbeam,greedy", "--out", out, "--json")
    assert result.exit_code == 0, result.output
    last = json.loads(result.stdout)
    assert last == json.loads(out.read_text())
    assert [r["name"] for r in last["decoders"]] == ["beam", "ctcbeam", "greedy"]
    assert [r["parity"] for r in last["decoders"]][:2] == [1.0, 1.0]
    assert last["params"]["alpha"] == 0.7 and last["params"]["beam_width"] == 20
    assert "rtfx" in result.stderr and "parity" in result.stderr  # the table, on stderr beside --json


def test_cli_default_output_path(store, arpa, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("bench", store, "--lm", arpa, "--limit", 1, "--repeats", 1, "--decoders", "beam,greedy")
    assert result.exit_code == 0, result.output
    written = json.loads((tmp_path / "runs" / "bench" / "store.json").read_text())
    assert written["store"]["name"] == "store"


@pytest.mark.parametrize("args,message", [
    (["{tmp}/nope", "--lm", "{lm}"], "does not exist"),
    (["{store}", "--lm", "{tmp}/missing.arpa"], "language model"),
    (["{store}"], "--lm"),
    ([], "STORE"),
    (["{store}", "--lm", "{lm}", "--decoders", "beam,nope"], "unknown decoder"),
    (["{store}", "--lm", "{lm}", "--default"], "not both"),
])
def test_cli_errors_are_one_line(store, arpa, tmp_path, args, message):
    filled = [a.format(tmp=tmp_path, lm=arpa, store=store) for a in args]
    result = invoke("bench", *filled)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


@pytest.fixture()
def default_layout(tmp_path, monkeypatch):
    """--default's data moved into tmp_path (see test_defaults.py), with a tiny LM standing in for the default one."""
    defaults = tiny_defaults(tmp_path, monkeypatch)
    monkeypatch.setattr("cli.bench.DefaultData", lambda: defaults)
    return defaults


def test_cli_default_benches_every_regime(default_layout, tmp_path):
    result = invoke("bench", "--default", "--limit", 2, "--repeats", 1, "--decoders", "beam,greedy", "--json")
    assert result.exit_code == 0, result.output
    last = json.loads(result.stdout)
    assert [r["regime"] for r in last["regimes"]] == ["default", "hard", "subword"]
    assert [r["store"]["synth"]["difficulty"] for r in last["regimes"]] == [1.0, HARD_DIFFICULTY, 1.0]
    assert [r["store"]["vocabulary"] for r in last["regimes"]] == ["character", "character", "sentencepiece"]
    for name in ("heldout-store", "heldout-hard-store", "heldout-subword-store"):
        assert json.loads((tmp_path / "runs" / "bench" / f"{name}.json").read_text())["decoders"][0]["parity"] == 1.0


def test_greedy_is_in_the_registry_the_bench_uses():
    assert decoder_classes()["greedy"] is GreedyDecoder
