"""Sweeps: grid specs, resuming, concurrent sweeps, kill -9, keys that follow the LM's content, report, --json."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import shutil
import signal
import sqlite3
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.app import app
from experiments.sweep.grid import Grid, GridError, parse_values
from experiments.sweep.report import report
from experiments.sweep.run import sweep
from experiments.sweep.spec import RunOptions, SweepSpec
from helpers import LM_SENTENCES
from lm.errors import LMError
from logits.errors import LabError, StoreError
from logits.store import LogitsStore, StoreWriter
from sweep_helpers import VOCAB, decode_cli, integrity, make_lm, make_store, noisy, rows

runner = CliRunner()


# -- grid specs ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec, expected", [
    ("0.2:1.0:0.2", (0.2, 0.4, 0.6, 0.8, 1.0)),
    ("0:2:0.5", (0.0, 0.5, 1.0, 1.5, 2.0)),
    ("0.1:0.3:0.1", (0.1, 0.2, 0.3)),  # float arithmetic would give 0.30000000000000004 and maybe drop the stop
    ("0:0.99999999999:0.2", (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)),  # a stop a hair below the step still counts
    ("0:1:0.3", (0.0, 0.3, 0.6, 0.9)),  # a stop off the step is not included
    ("-1:1:1", (-1.0, 0.0, 1.0)),
    ("0.5:0.5:0.1", (0.5,)),
    ("0.3,0.5,0.8", (0.3, 0.5, 0.8)),
    (" 0.3 , 1e-1 ", (0.3, 0.1)),
    ("2", (2.0,)),
])
def test_parse_values(spec, expected):
    assert parse_values(spec, "beta") == expected  # beta: the grammar takes negatives, alpha's rule does not


def test_the_value_limit_holds_for_ranges_and_lists_and_can_be_raised():
    assert len(parse_values("0:1500:1", "alpha", max_values=2000)) == 1501
    for spec in ("0:1500:1", ",".join(str(i) for i in range(1500))):
        with pytest.raises(GridError, match="more than 1000"):
            parse_values(spec, "alpha")


@pytest.mark.parametrize("spec, message", [
    ("0:1:0", "STEP must be > 0"),
    ("0:1:-0.5", "STEP must be > 0"),
    ("1:0:0.1", "range is empty"),
    ("a:1:0.1", "'a' is not a number"),
    ("0.1,zero", "'zero' is not a number"),
    ("0:1", "three parts"),
    ("0:1:0.1:5", "three parts"),
    ("", "is empty"),
    ("0.1,,0.2", "'' is not a number"),
    ("nan", "must be a finite number"),
    ("inf", "must be a finite number"),
    ("0.1,0.1", "repeat"),
    ("0:1000:0.001", "more than 1000"),
])
def test_bad_specs_raise_lab_errors_naming_the_option(spec, message):
    with pytest.raises(GridError, match=message) as caught:
        parse_values(spec, "beta")
    assert isinstance(caught.value, LabError)
    if spec and "repeat" not in message:
        assert "--beta" in str(caught.value)


def test_grid_is_alpha_major():
    grid = Grid.parse("0.5,1", "0:1:1")
    assert [(p.alpha, p.beta) for p in grid] == [(0.5, 0.0), (0.5, 1.0), (1.0, 0.0), (1.0, 1.0)]
    assert len(grid) == 4 and Grid.of([0.5, 1.0], "0:1:1") == grid


# -- sweeping -----------------------------------------------------------------------------------------------------


def test_sweep_stores_every_point_greedy_and_artifacts(store, lm, tmp_path):
    result = sweep(store.path, lm, "0,0.5,1", "0,2", workers=2, run_dir=tmp_path / "run", show_progress=False)
    assert (result.computed, result.reused, result.greedy_reused) == (6, 0, False)
    stored = rows(tmp_path / "run")
    assert len(stored) == 7 and len({r["key"] for r in stored}) == 7
    assert sorted((r["alpha"], r["beta"]) for r in stored if r["decoder"] == "fastbeam") == [
        (0.0, 0.0), (0.0, 2.0), (0.5, 0.0), (0.5, 2.0), (1.0, 0.0), (1.0, 2.0)]
    best = result.best
    assert best.wer == min(p.wer for p in result.results.points)
    assert best.wer < result.greedy.wer  # the LM repairs the letters the noise swapped
    assert result.heatmap.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = [json.loads(line) for line in result.best_hypotheses.read_text().splitlines()]
    assert [row["id"] for row in lines] == store.ids
    assert set(lines[0]) == {"id", "reference", "hypothesis"} and lines[0]["reference"] == store.references[0]
    summary = result.summary()
    assert (summary["best_alpha"], summary["best_beta"]) == (best.alpha, best.beta)
    assert summary["points"] == 6 and summary["greedy_wer"] == result.greedy.wer
    frame = result.to_dataframe()
    assert len(frame) == 7 and {"alpha", "beta", "wer", "cer", "lm_fingerprint"} <= set(frame.columns)


def test_in_process_and_pool_give_the_same_results(store, lm, tmp_path):
    one = sweep(store.path, lm, "0.5,1", "0,1", workers=1, run_dir=tmp_path / "a", show_progress=False)
    two = sweep(store.path, lm, "0.5,1", "0,1", workers=2, run_dir=tmp_path / "b", show_progress=False)
    assert [(p.key, p.wer, p.cer, p.hypotheses) for p in one.results.points] == [
        (p.key, p.wer, p.cer, p.hypotheses) for p in two.results.points]


def test_pyctcdecode_sweep_matches_the_default_fastbeam_sweep(store, lm, tmp_path):
    fast = sweep(store.path, lm, "0.5,1", "0,2", workers=1, run_dir=tmp_path / "a", show_progress=False)
    reference = sweep(store.path, lm, "0.5,1", "0,2", decoder="beam", workers=1, run_dir=tmp_path / "b",
                      show_progress=False)
    assert [p.decoder for p in fast.results.points] == ["fastbeam"] * 4
    assert [p.decoder for p in reference.results.points] == ["beam"] * 4
    assert [(p.alpha, p.beta, p.wer, p.hypotheses) for p in fast.results.points] == [
        (p.alpha, p.beta, p.wer, p.hypotheses) for p in reference.results.points]


def test_resume_computes_only_missing_points(store, lm, tmp_path):
    run_dir = tmp_path / "run"
    first = sweep(store.path, lm, "0.5", "0,1", workers=1, run_dir=run_dir, show_progress=False)
    assert (first.computed, first.reused) == (2, 0)
    full = sweep(store.path, lm, "0.5,1,1.5", "0,1", workers=2, run_dir=run_dir, show_progress=False)
    assert (full.reused, full.computed, full.greedy_reused) == (2, 4, True)  # the subset grid's points reused
    stored = rows(run_dir)
    assert len(stored) == 7 and len({r["key"] for r in stored}) == 7
    # Delete two rows, as if they had never finished: exactly those two are decoded again.
    with sqlite3.connect(run_dir / "results.sqlite") as conn:
        conn.execute("DELETE FROM results WHERE alpha = 1.5")
    again = sweep(store.path, lm, "0.5,1,1.5", "0,1", workers=2, run_dir=run_dir, show_progress=False)
    assert (again.reused, again.computed) == (4, 2) and len(rows(run_dir)) == 7
    runs = sqlite3.connect(run_dir / "results.sqlite").execute(
        "SELECT status, reused, computed, finished IS NOT NULL FROM runs ORDER BY id").fetchall()
    assert runs == [("done", 0, 2, 1), ("done", 2, 4, 1), ("done", 4, 2, 1)]


def test_results_follow_the_lm_content_not_its_path(store, lm, tmp_path):
    run_dir = tmp_path / "run"
    sweep(store.path, lm, "0.5,1", "1", workers=1, run_dir=run_dir, show_progress=False)
    moved = tmp_path / "elsewhere" / "renamed.arpa"
    moved.parent.mkdir()
    shutil.move(lm, moved)
    after_move = sweep(store.path, moved, "0.5,1", "1", workers=1, run_dir=run_dir, show_progress=False)
    assert (after_move.reused, after_move.computed, after_move.greedy_reused) == (2, 0, True)
    make_lm(moved, backoff=-0.9)  # same path, new content
    edited = sweep(store.path, moved, "0.5,1", "1", workers=1, run_dir=run_dir, show_progress=False)
    assert (edited.reused, edited.computed, edited.greedy_reused) == (0, 2, True)  # greedy uses no LM
    stored = rows(run_dir)
    assert len(stored) == 5 and len({r["key"] for r in stored}) == 5


def test_fixed_params_are_part_of_the_key(store, lm, tmp_path):
    run_dir = tmp_path / "run"
    sweep(store.path, lm, "0.5", "1", workers=1, run_dir=run_dir, show_progress=False)
    explicit_default = sweep(store.path, lm, "0.5", "1", params={"beam_width": 100}, workers=1, run_dir=run_dir,
                             show_progress=False)
    assert explicit_default.computed == 0  # the default beam width, spelled out, decodes identically
    narrower = sweep(store.path, lm, "0.5", "1", params={"beam_width": 8, "hotwords": ("CAT",)}, workers=1,
                     run_dir=run_dir, show_progress=False)
    assert (narrower.reused, narrower.computed) == (0, 1)


def test_default_run_dir_names_store_and_lm(store, lm, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = sweep(store.path, lm, "0.5", "1", workers=1, show_progress=False)
    from lm.model import lm_fingerprint

    assert result.run_dir == Path("runs") / f"store-{lm_fingerprint(lm)[:8]}"
    assert (tmp_path / result.run_dir / "results.sqlite").is_file()


# -- bad input leaves nothing behind ------------------------------------------------------------------------------


def test_missing_store_missing_lm_and_incomplete_store_fail_clearly(store, lm, tmp_path):
    run_dir = tmp_path / "run"
    with pytest.raises(StoreError, match="does not exist"):
        sweep(tmp_path / "nope", lm, "0.5", "1", run_dir=run_dir, show_progress=False)
    with pytest.raises(LMError, match=r"missing\.arpa does not exist"):
        sweep(store.path, tmp_path / "missing.arpa", "0.5", "1", run_dir=run_dir, show_progress=False)
    writer = StoreWriter(tmp_path / "half", VOCAB, 50.0)
    writer.add("u1", noisy("THE CAT", 0), "THE CAT")
    writer.flush()  # committed a shard, never finished: the store is incomplete
    with pytest.raises(StoreError, match="incomplete"):
        sweep(tmp_path / "half", lm, "0.5", "1", run_dir=run_dir, show_progress=False)
    assert not run_dir.exists()


def test_an_lm_in_the_wrong_case_fails_before_any_row(store, tmp_path):
    lower = tmp_path / "lower.arpa"
    lower.write_text(make_lm(tmp_path / "upper.arpa").read_text().lower())
    with pytest.raises(LMError, match="lower case"):
        sweep(store.path, lower, "0.5", "1", run_dir=tmp_path / "run", workers=2, show_progress=False)
    assert not (tmp_path / "run").exists()


def test_a_store_without_references_stores_points_without_scores(lm, tmp_path):
    from logits.store import write_store

    bare = write_store(tmp_path / "bare", ["u1"], [noisy("THE CAT", 1)], VOCAB)
    result = sweep(bare.path, lm, "0.5", "0,1", workers=1, run_dir=tmp_path / "run", show_progress=False)
    assert result.computed == 2 and result.best is None and result.heatmap is None


# -- processes ----------------------------------------------------------------------------------------------------


def test_two_concurrent_sweeps_store_each_point_once(tmp_path):
    store = make_store(tmp_path / "store", copies=2)
    lm = make_lm(tmp_path / "tiny.arpa")
    args = ("sweep", store.path, "--lm", lm, "--alpha", "0:1.5:0.5", "--beta", "0:2:1", "--out", tmp_path / "run",
            "--json")
    first, second = decode_cli(*args, "--workers", "1"), decode_cli(*args, "--workers", "2")
    outputs = [p.communicate(timeout=300) for p in (first, second)]
    for process, (out, err) in zip((first, second), outputs):
        assert process.returncode == 0, err
    summaries = [json.loads(out) for out, _ in outputs]
    assert all(s["reused"] + s["computed"] == 12 for s in summaries)  # each run accounts for every point
    assert sum(s["computed"] for s in summaries) == 12  # and each point was decoded by one of them only
    stored = rows(tmp_path / "run")
    assert len(stored) == 13 and len({r["key"] for r in stored}) == 13
    assert integrity(tmp_path / "run") == "ok"
    statuses = sqlite3.connect(tmp_path / "run" / "results.sqlite").execute("SELECT status FROM runs").fetchall()
    assert statuses == [("done",), ("done",)]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="kill -9 and /proc are Linux here")
def test_kill_9_mid_sweep_loses_only_points_in_flight(tmp_path):
    store = make_store(tmp_path / "store", copies=4)
    lm = make_lm(tmp_path / "tiny.arpa")
    run_dir = tmp_path / "run"
    args = ("sweep", store.path, "--lm", lm, "--alpha", "0:2.5:0.5", "--beta", "0:2.5:0.5", "--out", run_dir,
            "--workers", "2")
    process = decode_cli(*args, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if _stored_so_far(run_dir) >= 4:
            break
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate()
    before = len(rows(run_dir))
    print(f"killed with {before} of 37 points stored")
    assert 4 <= before < 37, "the sweep should have been killed part-way"
    # The workers die with their parent instead of decoding on as orphans.
    time.sleep(0.5)
    assert _session_members(process.pid) == []
    result = sweep(store.path, lm, "0:2.5:0.5", "0:2.5:0.5", workers=2, run_dir=run_dir, show_progress=False)
    greedy_was_stored = int(result.greedy_reused)
    assert (result.reused, result.computed) == (before - greedy_was_stored, 36 - (before - greedy_was_stored))
    stored = rows(run_dir)
    assert len(stored) == 37 and len({r["key"] for r in stored}) == 37
    assert integrity(run_dir) == "ok"
    killed, resumed = sqlite3.connect(run_dir / "results.sqlite").execute(
        "SELECT status, finished FROM runs ORDER BY id").fetchall()
    assert killed == ("running", None) and resumed[0] == "done"


def test_a_worker_killed_mid_sweep_fails_the_sweep_instead_of_hanging(store, lm, tmp_path, monkeypatch):
    import experiments.sweep.executors as sweep_module

    run_dir = tmp_path / "run"
    real_run = sweep_module.PointRunner.run
    parent = os.getpid()

    def run_or_die(self, task):  # the forked workers inherit this patch; the parent never runs a point here
        if task.config.get("alpha") == 1.0 and os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's OOM killer would
        return real_run(self, task)

    monkeypatch.setattr(sweep_module.PointRunner, "run", run_or_die)
    with pytest.raises(LabError, match="a sweep worker died without a word.*run the same command again"):
        sweep(store.path, lm, "0.5,1", "0,1", workers=2, run_dir=run_dir, show_progress=False)
    assert not [p for p in multiprocessing.active_children() if p.is_alive()]
    kept = {(r["alpha"], r["beta"]) for r in rows(run_dir) if r["alpha"] is not None}
    assert (1.0, 0.0) not in kept and (1.0, 1.0) not in kept
    monkeypatch.setattr(sweep_module.PointRunner, "run", real_run)
    resumed = sweep(store.path, lm, "0.5,1", "0,1", workers=2, run_dir=run_dir, show_progress=False)
    assert resumed.computed == 4 - len(kept) and len(resumed.results.points) == 4
    assert integrity(run_dir) == "ok"


def _stored_so_far(run_dir: Path) -> int:
    if not (run_dir / "results.sqlite").is_file():
        return 0
    try:
        return len(rows(run_dir))
    except sqlite3.OperationalError:  # the sweep has created the file but not yet its tables
        return 0


def _session_members(session: int) -> list[int]:
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session and fields[0] != "Z":  # field 6 of stat: session id
            members.append(int(stat.parent.name))
    return members


# -- command line -------------------------------------------------------------------------------------------------


def test_cli_sweep_json_then_report_rewrites_heatmap_and_csv(store, lm, tmp_path):
    run_dir = tmp_path / "run"
    result = runner.invoke(app, ["sweep", str(store.path), "--lm", str(lm), "--alpha", "0.5:1:0.5", "--beta",
                                 "0,1", "--out", str(run_dir), "--workers", "2", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    for key in ("best_alpha", "best_beta", "best_wer", "best_cer", "greedy_wer", "points", "reused", "seconds",
                "run_dir", "heatmap"):
        assert key in summary
    assert summary["points"] == 4 and summary["reused"] == 0 and summary["heatmap"] == str(run_dir / "wer_heatmap.png")
    assert "rank" in result.stderr and "greedy" in result.stderr and "best: alpha" in result.stderr

    (run_dir / "wer_heatmap.png").unlink()
    (run_dir / "best_hypotheses.jsonl").unlink()
    shown = runner.invoke(app, ["report", str(run_dir), "--csv", str(tmp_path / "all.csv"), "--json"])
    assert shown.exit_code == 0, shown.output
    again = json.loads(shown.stdout)
    assert (again["best_alpha"], again["best_beta"], again["best_wer"]) == (
        summary["best_alpha"], summary["best_beta"], summary["best_wer"])
    assert (run_dir / "wer_heatmap.png").is_file() and (run_dir / "best_hypotheses.jsonl").is_file()
    import pandas as pd

    assert len(pd.read_csv(tmp_path / "all.csv")) == 5


def test_report_api_rewrites_the_heatmap(store, lm, tmp_path):
    made = sweep(store.path, lm, "0.5,1", "1", workers=1, run_dir=tmp_path / "run", show_progress=False)
    before = made.heatmap.stat().st_mtime_ns
    time.sleep(0.01)
    again = report(tmp_path / "run")
    assert again.heatmap == made.heatmap and again.heatmap.stat().st_mtime_ns > before
    assert again.results.best.key == made.best.key


@pytest.mark.parametrize("args, message", [
    (["--alpha", "0:1:0", "--beta", "1"], "STEP must be > 0"),
    (["--alpha", "0.5", "--beta", "x"], "'x' is not a number"),
    (["--alpha", "0.5", "--beta", "1", "--workers", "0"], "--workers must be >= 1"),
    (["--alpha", "0.5", "--beta", "1", "--decoder", "greedy"], "no LM weights"),
])
def test_cli_user_errors_exit_2_with_one_line(store, lm, tmp_path, args, message):
    result = runner.invoke(app, ["sweep", str(store.path), "--lm", str(lm), "--out", str(tmp_path / "r"), *args])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "r").exists()


def test_cli_report_of_a_directory_without_results(tmp_path):
    result = runner.invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2 and "has no results.sqlite" in result.output


@pytest.fixture()
def demo_checkout(tmp_path, monkeypatch):
    """A checkout whose LM is built (a tiny stand-in here; building the real one takes minutes), and `decode demo`."""
    import typer

    from cli import sweep as cli_sweep

    monkeypatch.chdir(tmp_path)
    build = tmp_path / "lm" / "build"
    lm = make_lm(build / "tiny.arpa")
    (build / "unigrams.txt").write_text("THE\nCAT\n")
    (build / "heldout.txt").write_text("THE CAT SAT ON THE MAT\nA DOG\nHE SAW A CAT\nTHE DOG SAT ON THE LOG\n")
    files = {"arpa": lm.name, "binary": lm.name, "unigrams": "unigrams.txt", "heldout": "heldout.txt"}
    (build / "build.json").write_text(json.dumps({"files": files}))
    demo_app = typer.Typer()
    demo_app.command("demo")(cli_sweep.demo)
    demo_app.command("other")(lambda: None)  # two commands, so typer keeps the subcommand name
    return lambda *args: runner.invoke(demo_app, ["demo", *args, "--json"])


def test_demo_on_the_synthetic_store_sweeps_9_by_9(demo_checkout, tmp_path):
    result = demo_checkout("--synthetic", "--decoder", "beam", "--first", "3")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["points"] == 81 and summary["computed"] == 81
    assert (tmp_path / "data" / "heldout-store" / "store.json").is_file()
    assert (tmp_path / "runs" / "demo-synthetic" / "wer_heatmap.png").is_file()
    assert "WER heatmap: runs/demo-synthetic/wer_heatmap.png" in result.stderr
    again = demo_checkout("--synthetic", "--decoder", "beam", "--first", "3")
    assert json.loads(again.stdout)["reused"] == 81


def test_demo_speaks_caches_and_sweeps_real_speech(demo_checkout, tmp_path):
    from audio_fixtures import build_tiny_filterbank_model, have_tools

    if not have_tools():
        pytest.skip("espeak-ng is needed to speak the held-out sentences")
    build_tiny_filterbank_model(tmp_path / "models" / "espeak-ctc", "w2v-bert")  # stands in for the shipped model
    result = demo_checkout()
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["points"] == 81 and summary["greedy_wer"] is not None
    store = LogitsStore.open(tmp_path / "data" / "heldout-seen-voices-store")
    assert len(store) == 4 and store.frames_per_second == 50.0
    assert store.provenance["model"] == "models/espeak-ctc" and store.provenance["model_weights_sha256"]
    assert len(list((tmp_path / "data" / "speech" / "heldout-seen").rglob("*.flac"))) == 4
    assert (tmp_path / "runs" / "demo" / "wer_heatmap.png").is_file()
    # Other weights: the store is cached again (new rows), the speech is reused.
    build_tiny_filterbank_model(tmp_path / "models" / "espeak-ctc", "w2v-bert", seed=1)
    again = demo_checkout()
    assert again.exit_code == 0 and "cached with other weights" in again.output


def test_tune_on_dev_and_report_on_test(store, lm, tmp_path):
    from decoders import build_decoder
    from experiments.measures.evaluate import evaluate

    test_store = make_store(tmp_path / "test", sentences=LM_SENTENCES[::-1][:4])
    spec = SweepSpec.of(store.path, lm, "0.5,1", "0,2", run_dir=tmp_path / "run", test=test_store.path)
    quiet = RunOptions(workers=1, show_progress=False)
    result = sweep(spec, options=quiet)
    summary = result.summary()
    expected = evaluate(test_store, build_decoder(result.best.config, test_store.vocabulary))
    assert (summary["test_wer"], summary["test_cer"]) == (expected.wer, expected.cer)
    assert summary["test_store"] == str(test_store.path)
    report = runner.invoke(app, ["report", str(tmp_path / "run")])
    assert "at the dev best point" in report.output and "optimistic" not in report.output
    again = sweep(spec, options=quiet)
    assert again.summary()["test_wer"] == expected.wer and again.computed == 0


def test_refine_zooms_around_the_best_point_reusing_what_is_stored(store, lm, tmp_path):
    from experiments.sweep.run import refine_grid

    spec = SweepSpec.of(store.path, lm, "0.5,1,1.5", "0,2", run_dir=tmp_path / "run")
    quiet = RunOptions(workers=1, show_progress=False)
    coarse = sweep(spec, options=quiet)
    grid = refine_grid(coarse.results)
    best = coarse.best
    assert grid.alphas == tuple(v for v in (round(best.alpha - 0.25, 6), best.alpha, best.alpha + 0.25) if v >= 0)
    assert grid.betas == (best.beta - 1.0, best.beta, best.beta + 1.0)
    fine = sweep(dataclasses.replace(spec, refine=1), options=quiet)
    assert fine.results.run.alphas == grid.alphas and fine.results.run.betas == grid.betas
    assert fine.reused >= 1 and fine.best.wer <= best.wer  # the centre was stored; the zoom can only help


def test_a_refined_sweep_measures_the_test_store_once_at_the_finest_best_point(store, lm, tmp_path):
    from decoders import build_decoder
    from experiments.measures.evaluate import evaluate

    test_store = make_store(tmp_path / "test", sentences=LM_SENTENCES[::-1][:4])
    spec = SweepSpec.of(store.path, lm, "0.5,1.5", "0,2", run_dir=tmp_path / "run", refine=1, test=test_store.path)
    result = sweep(spec, options=RunOptions(workers=1, show_progress=False))
    assert result.results.run.alphas != (0.5, 1.5)  # the refined grid's run
    expected = evaluate(test_store, build_decoder(result.best.config, test_store.vocabulary))
    assert (result.summary()["test_wer"], result.summary()["test_store"]) == (expected.wer, str(test_store.path))


def test_any_beam_parameter_can_be_swept_with_a_pareto_plot(store, lm, tmp_path):
    from experiments.sweep.report import pareto_front
    from experiments.sweep.results import ResultsDB

    result = runner.invoke(app, ["sweep", str(store.path), "--lm", str(lm), "--alpha", "0.5,1", "--beta", "1",
                                 "--param", "beam_width=2,16", "--param", "token_min_logp=-3,-8", "--out",
                                 str(tmp_path / "run"), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["points"] == 2 * 2 * 2 and summary["computed"] == 8
    assert (tmp_path / "run" / "pareto.png").read_bytes()[:4] == b"\x89PNG"
    points = ResultsDB(tmp_path / "run").run_results().points
    assert {(p.config.get("beam_width"), p.config.get("token_min_logp")) for p in points} == {
        (2, -3.0), (2, -8.0), (16, -3.0), (16, -8.0)}
    front = pareto_front(points)
    assert front and all(a.seconds <= b.seconds and a.wer > b.wer for a, b in zip(front, front[1:]))
    bad = runner.invoke(app, ["sweep", str(store.path), "--lm", str(lm), "--alpha", "0.5", "--beta", "1",
                              "--param", "beam_size=2"])
    assert bad.exit_code == 2 and "expected NAME=V1,V2 with NAME one of" in bad.output
    clash = runner.invoke(app, ["sweep", str(store.path), "--lm", str(lm), "--alpha", "0.5", "--beta", "1",
                                "--param", "alpha=1,2"])
    assert clash.exit_code == 2 and "cannot sweep ['alpha']" in clash.output


def test_report_analyses_the_best_points_errors(store, lm, tmp_path):
    sweep(store.path, lm, "0.5,1", "0,2", workers=1, run_dir=tmp_path / "run", show_progress=False)
    result = runner.invoke(app, ["report", str(tmp_path / "run"), "--errors", "--json"])
    assert result.exit_code == 0, result.output
    errors = json.loads(result.stdout)["errors"]
    assert errors["words"] == sum(len(r.split()) for r in store.references)
    assert errors["fixed_total"] >= errors["broken_total"] and "greedy got wrong" in result.output
