"""The error contract through the CLI: bad input, full disks, read-only folders, hand-edited stores and runaway work
get one `error: ...` line and exit status 2 (or one `warning: ...` line), and leave nothing half-written behind."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cli.app import app
from experiments.sweep.results import ResultsDB
from logits.console import LineProgress
from sweep_helpers import make_store

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def one_error(result, *fragments: str) -> str:
    """The result failed with exit status 2 and one `error:` line holding every fragment; no traceback."""
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


@pytest.fixture()
def small_disk(tmp_path):
    """A 640 KiB tmpfs (root can mount one; elsewhere the test is skipped)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=640k", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({made.stderr.decode().strip()})")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(disk: Path, leave: int = 0) -> None:
    """Fill the disk but for about `leave` bytes."""
    with open(disk / "filler", "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError:
            pass
    if leave:
        with open(disk / "filler", "r+b") as handle:
            handle.truncate(max(0, os.path.getsize(disk / "filler") - leave))


def test_an_empty_shard_is_named_in_every_command(store, lm, tmp_path):
    (store.path / "shards" / "00000.npy").write_bytes(b"")
    for args in (["run", store.path], ["info", store.path],
                 ["sweep", store.path, "--lm", lm, "--alpha", "0.5", "--beta", "1", "--out", tmp_path / "run"]):
        one_error(invoke(*args), "00000.npy is truncated or corrupt (0 bytes")


def test_output_inside_a_store_is_refused_before_decoding(store):
    before = (store.path / "store.json").read_bytes()
    one_error(invoke("run", store.path, "--out", store.path / "store.json"), "inside the logits store")
    assert (store.path / "store.json").read_bytes() == before
    one_error(invoke("report", store.path), "has no results.sqlite")


def test_a_hand_edited_store_is_detected_on_open_and_its_frames_on_verify(store):
    manifest = json.loads((store.path / "store.json").read_text())
    manifest["utterances"][0]["reference"] = "SOMETHING ELSE ENTIRELY"
    (store.path / "store.json").write_text(json.dumps(manifest))
    one_error(invoke("run", store.path), "store.json was modified after the store was written")

    other = make_store(store.path.parent / "other")
    assert invoke("info", other.path, "--verify").exit_code == 0
    shard = np.load(other.path / "shards" / "00000.npy")
    shard[3, 5] -= 1.0  # same size, same shape: only the content hash can tell
    np.save(other.path / "shards" / "00000.npy", shard)
    one_error(invoke("info", other.path, "--verify"), "a shard was modified")


def test_synth_onto_a_full_disk_says_so_and_leaves_no_temporary_files(small_disk, tmp_path):
    text = tmp_path / "sentences.txt"
    text.write_text("\n".join(["THE CAT SAT ON THE MAT AND THE DOG SAT ON THE LOG"] * 400) + "\n")
    fill(small_disk, leave=64 * 1024)
    one_error(invoke("synth", text, "--out", small_disk / "store"), "no space left on the device holding",
              str(small_disk / "store"))
    assert not list(small_disk.rglob("*.tmp"))


def test_sweep_and_run_out_onto_a_full_disk(small_disk, store, lm):
    fill(small_disk)
    one_error(invoke("sweep", store.path, "--lm", lm, "--alpha", "0.5", "--beta", "1", "--out", small_disk / "run"),
              str(small_disk / "run"))
    (small_disk / "filler").unlink()
    assert invoke("sweep", store.path, "--lm", lm, "--alpha", "0.5", "--beta", "1", "--out",
                  small_disk / "run").exit_code == 0
    fill(small_disk)
    message = one_error(invoke("run", store.path, "--out", small_disk / "hyps.jsonl"))
    assert "no space left" in message and "hyps.jsonl" in message
    assert not list(small_disk.rglob("*.tmp"))
    # A full disk is never blamed on the results database, which is intact.
    for leftover in (small_disk / "run").glob("results.sqlite-*"):
        leftover.unlink()
    message = one_error(invoke("report", small_disk / "run"), "is full")
    assert "not a readable results database" not in message


def test_a_read_only_output_folder_is_refused_before_the_work(store, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)], capture_output=True)
    if made.returncode != 0:
        pytest.skip("cannot mount a read-only tmpfs here")
    try:
        one_error(invoke("run", store.path, "--out", folder / "hyps.jsonl"), "not writable")
        one_error(invoke("synth", store.path / "store.json", "--out", folder / "s"), str(folder / "s"))
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_synth_onto_an_existing_file(tmp_path):
    text = tmp_path / "sentences.txt"
    text.write_text("THE CAT\n")
    one_error(invoke("synth", text, "--out", text), "is a file")


def test_runaway_sweeps_need_a_word(store, lm, tmp_path):
    result = invoke("sweep", store.path, "--lm", lm, "--alpha", "0:99:1", "--beta", "0:9:0.1", "--out",
                    tmp_path / "run")
    one_error(result, "9101 points to decode would take about", "pass --yes")  # 100 x 91 and greedy
    result = invoke("sweep", store.path, "--lm", lm, "--alpha", "0.5", "--beta", "1", "--workers", "100", "--out",
                    tmp_path / "run")
    assert result.exit_code == 0, result.output
    warned = [line for line in result.output.splitlines() if line.startswith("warning: --workers 100")]
    assert len(warned) == 1 and "UserWarning" not in result.output


def test_sweep_takes_every_beam_parameter_and_warns_on_one_line(store, lm, tmp_path):
    result = invoke("sweep", store.path, "--lm", lm, "--alpha", "0.5", "--beta", "1", "--hotword", "zebra",
                    "--beam-prune-logp", "-12", "--token-min-logp", "-6", "--unk-score-offset", "-9", "--out",
                    tmp_path / "run", "--json")
    assert result.exit_code == 0, result.output
    assert "warning: hotword(s) ['ZEBRA'] are not in the LM" in result.output
    assert "UserWarning" not in result.output and "warnings.warn" not in result.output
    config = ResultsDB(tmp_path / "run").run_results().points[0].config
    assert (config.get("beam_prune_logp"), config.get("token_min_logp"), config.get("unk_score_offset")) == (
        -12.0, -6.0, -9.0)


def test_a_sweep_whose_process_died_reads_as_interrupted(store, lm, tmp_path):
    assert invoke("sweep", store.path, "--lm", lm, "--alpha", "0.5", "--beta", "1", "--out",
                  tmp_path / "run").exit_code == 0
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    with sqlite3.connect(tmp_path / "run" / "results.sqlite") as conn:  # as `kill -9` mid-sweep leaves it
        conn.execute("UPDATE runs SET status = 'running', finished = NULL, pid = ?", (gone.pid,))
    result = invoke("report", tmp_path / "run", "--json")
    assert json.loads(result.stdout)["status"] == "interrupted"


def test_progress_off_a_terminal_is_a_plain_line(capsys):
    with LineProgress(10, "sweep", unit="pt", interval=0.0) as bar:
        bar.update(4)
        time.sleep(0.01)
        bar.update(6)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("sweep: 4/10 pt (40%), ") and "ETA" in lines[0]
    assert lines[-1].startswith("sweep: 10/10 pt (100%)") and "\r" not in "".join(lines)


def test_a_hub_model_without_a_hub_fails_at_once(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    import soundfile

    (tmp_path / "audio").mkdir()
    soundfile.write(tmp_path / "audio" / "u1.wav", np.zeros(16000, np.float32), 16000)
    started = time.monotonic()
    one_error(invoke("cache", "--model", "typo/name", "--audio", tmp_path / "audio", "--out", tmp_path / "s"),
              "typo/name is not a local folder", "cannot be reached")
    assert time.monotonic() - started < 30


def test_the_notebook_outside_the_repository_says_where_to_run_it(tmp_path):
    cells = json.loads((REPO / "notebooks" / "compare_decoders.ipynb").read_text())["cells"]
    source = next("".join(c["source"]) for c in cells if "ROOT = " in "".join(c["source"]))
    setup = "\n".join(line for line in source.splitlines() if "ROOT" in line or line.startswith(
        ("from pathlib", "import", "if ROOT", "    raise")))
    run = subprocess.run([sys.executable, "-c", setup], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode != 0 and "run this notebook from inside the ctc-decoding-lab repository" in run.stderr


def test_pyctcdecode_refuses_an_utterance_it_would_need_gigabytes_for(tmp_path, lm, vocab):
    from logits.store import write_store

    long = np.full((50_001, vocab.size), np.log(0.01 / (vocab.size - 1)), np.float32)
    long[:, vocab.blank] = np.log(0.99)
    store = write_store(tmp_path / "long", ["long-1"], [long], vocab, references=["A"])
    one_error(invoke("run", store.path, "--decoder", "beam", "--lm", lm), "utterance 'long-1'",
              "50,001 frames, more than the 50,000 the 'beam' decoder takes", "--decoder fastbeam")
    assert invoke("run", store.path, "--decoder", "greedy").exit_code == 0
