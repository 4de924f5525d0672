"""The CLI as a shell sees it: usage errors are one `error:` line and exit 2, `--json` is one JSON document alone on
stdout, a closed stdout ends quietly, Ctrl-C ends the process by SIGINT (so shell loops stop) with what was finished
kept, and two sweeps into one directory each report the store as it is."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from cli.app import app
from experiments.sweep.results import ResultsDB
from sweep_helpers import ROOT, decode_cli, integrity, make_store
from test_errors import one_error

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_usage_errors_are_one_error_line_naming_the_parameter_and_value(store, tmp_path):
    found = one_error(invoke("run", store.path, "--beam-width", "abc"), "'--beam-width'", "integer", "'abc'",
                      "run --help")
    assert "╭" not in found
    one_error(invoke("cache", "--model", "m", "--audio", tmp_path, "--out", tmp_path / "s", "--batch-size=0"),
              "'--batch-size'", "greater than or equal to 1", "found '0'")
    one_error(invoke("nosuch"), "No such command 'nosuch'")
    one_error(invoke("lm", "nosuch"), "No such command 'nosuch'", "lm --help")
    one_error(invoke("run"), "Missing argument 'store'")
    one_error(invoke("run", store.path, "--nope"), "No such option: --nope")
    helped = invoke("run", "--help")
    assert helped.exit_code == 0 and "Usage:" in helped.output and "error:" not in helped.output
    bare = invoke()  # `decode` alone: its help, not an error line
    assert "Usage:" in bare.output and "error:" not in bare.output


def _sweep(store, lm, run_dir, *more):
    return invoke("sweep", store.path, "--lm", lm, "--alpha", "0.5,1", "--beta", "1", "--out", run_dir, *more)


def test_json_is_one_document_alone_on_stdout(store, lm, tmp_path):
    run_dir = tmp_path / "run"
    commands = {
        "run": ["run", store.path, "--decoder", "fastbeam", "--lm", lm, "--out", tmp_path / "hyp.jsonl"],
        "sweep": ["sweep", store.path, "--lm", lm, "--alpha", "0.5,1", "--beta", "1", "--out", run_dir],
        "report": ["report", run_dir],
        "info": ["info", store.path],
        "hotwords": ["hotwords", store.path, "--lm", lm, "--hotword", "cat"],
        "compare": ["compare", tmp_path / "hyp.jsonl", tmp_path / "hyp.jsonl"],
        "lm eval": ["lm", "eval", lm, ROOT / "README.md"],
    }
    for name, args in commands.items():
        result = invoke(*args, "--json")
        assert result.exit_code == 0, (name, result.output)
        assert isinstance(json.loads(result.stdout), dict), (name, result.stdout)  # the whole of stdout
        assert result.stdout.count("\n") == 1, (name, result.stdout)
    # the human lines are still there, on stderr
    assert "best: alpha" in invoke("report", run_dir, "--json").stderr
    assert invoke("report", run_dir).stdout.startswith("run 1 in ")  # and on stdout without --json


def test_every_json_subcommand_keeps_the_contract():
    """Subcommands too slow to run here (cache, speak, bench, demo, sweep-many) hold the same promise: each one with
    --json runs inside run_command, which sends every line but the document to stderr."""
    def commands(group, path=()):
        for name, command in group.commands.items():
            if hasattr(command, "commands"):
                yield from commands(command, (*path, name))
            else:
                yield (*path, name), command

    with_json = {" ".join(path): command for path, command in commands(get_command(app))
                 if any("--json" in p.opts for p in command.params)}
    assert {"run", "sweep", "report", "cache", "speak", "bench", "bench-sweep", "demo", "sweep-many",
            "compare", "hotwords", "info", "lm eval"} <= set(with_json)
    for name, command in with_json.items():
        assert hasattr(command.callback, "__wrapped__"), f"{name} is not wrapped by cli.console.run_command"


def _subprocess_env():
    return os.environ | {"PYTHONPATH": str(ROOT)}


def test_a_closed_stdout_ends_quietly(store, lm, tmp_path):
    assert _sweep(store, lm, tmp_path / "run").exit_code == 0
    command = [sys.executable, "-m", "cli.app", "report", str(tmp_path / "run")]
    # A pipe whose reader is gone before the first line (deterministic), and one closed after a line (| head -1).
    read, write = os.pipe()
    os.close(read)
    closed = subprocess.run(command, stdout=write, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env=_subprocess_env(), timeout=120)
    os.close(write)
    assert closed.returncode == -signal.SIGPIPE, closed.stderr
    assert "error:" not in closed.stderr and "Traceback" not in closed.stderr, closed.stderr
    shell = subprocess.run(" ".join(map(str, command)) + " | head -1", shell=True, capture_output=True, text=True,
                           cwd=ROOT, env=_subprocess_env(), timeout=120)
    assert shell.stdout.startswith("run 1 in ") and shell.stdout.count("\n") == 1
    assert "error:" not in shell.stderr and "Traceback" not in shell.stderr, shell.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals and /proc are Linux here")
def test_ctrl_c_ends_the_process_by_sigint_and_a_rerun_resumes(lm, tmp_path):
    store = make_store(tmp_path / "store", copies=4)
    run_dir = tmp_path / "run"
    args = ("sweep", store.path, "--lm", lm, "--alpha", "0:3:0.1", "--beta", "0:3:0.5", "--workers", "1",
            "--out", run_dir, "--json")
    process = decode_cli(*args)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if (run_dir / "results.sqlite").exists() and len(ResultsDB(run_dir, create=False)) >= 3:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == -signal.SIGINT, err  # died by the signal: a shell loop over `decode` stops
    assert out == "" and "Traceback" not in err and "error:" not in err, err
    assert "interrupted: finished points are saved" in err
    assert integrity(run_dir) == "ok"
    with sqlite3.connect(run_dir / "results.sqlite") as conn:
        assert conn.execute("SELECT status FROM runs").fetchall() == [("interrupted",)]
    kept = len(ResultsDB(run_dir, create=False))
    rerun = decode_cli(*args[:-1], "--yes", "--workers", "4", "--json")  # resume, on more workers
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    summary = json.loads(out)
    assert summary["reused"] >= kept - 1 and summary["reused"] + summary["computed"] == 31 * 7
    assert summary["missing"] == 0


def test_a_sweep_waits_for_points_another_sweep_is_decoding(store, lm, tmp_path):
    """The second of two sweeps into one directory finds a point claimed by the first, still decoding: it reports
    the point once the first stores it, not as "not computed"."""
    source, run_dir = tmp_path / "source", tmp_path / "run"
    assert _sweep(store, lm, source).exit_code == 0
    with ResultsDB(source, create=False) as db:
        done = db.run_results()
        point = done.points[0]
        stored = db.get(point.key, hypotheses=True)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # the other sweep, alive
    try:
        with ResultsDB(run_dir) as db:
            db.add_store(store)
            db.conn.execute("INSERT INTO claims (key, pid, claimed) VALUES (?, ?, ?)",
                            (point.key, other.pid, "now"))

        def the_other_sweep_stores_its_point():
            time.sleep(1.0)
            with ResultsDB(run_dir, create=False) as late:
                late.insert(stored)

        storing = threading.Thread(target=the_other_sweep_stores_its_point)
        storing.start()
        result = _sweep(store, lm, run_dir, "--json", "--workers", "1")
        storing.join()
    finally:
        other.kill()
        other.wait()
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["missing"], summary["reused"], summary["computed"]) == (0, 1, 1)
    assert "not computed" not in result.output


def test_a_claimant_that_died_leaves_its_point_missing_for_a_rerun(store, lm, tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert _sweep(store, lm, tmp_path / "source").exit_code == 0
    key = ResultsDB(tmp_path / "source", create=False).run_results().points[0].key
    with ResultsDB(tmp_path / "run") as db:
        db.conn.execute("INSERT INTO claims (key, pid, claimed) VALUES (?, ?, ?)", (key, gone.pid, "now"))
    started = time.monotonic()
    result = _sweep(store, lm, tmp_path / "run", "--json")
    assert result.exit_code == 0 and time.monotonic() - started < 60
    assert json.loads(result.stdout)["missing"] == 0  # a dead claim is taken over and decoded here


def test_library_banners_only_with_verbose(store, lm, tmp_path):
    def export(*first):
        command = [sys.executable, "-m", "cli.app", *first, "export", "--store", str(store.path), "--lm", str(lm),
                   "--alpha", "0.5", "--beta", "1", "--out", str(tmp_path / f"folder{len(first)}")]
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=_subprocess_env(), timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stderr

    assert "Found entries of length > 1 in alphabet" not in export()  # pyctcdecode's note on <s>, <pad>, ...
    assert "Found entries of length > 1 in alphabet" in export("--verbose")


def test_quieting_the_libraries_lasts_as_long_as_the_command(store):
    import logging

    before = logging.getLogger("pyctcdecode").level, os.environ.get("HF_HUB_DISABLE_PROGRESS_BARS")
    assert invoke("info", store.path).exit_code == 0
    assert invoke("--verbose", "info", store.path).exit_code == 0
    assert (logging.getLogger("pyctcdecode").level, os.environ.get("HF_HUB_DISABLE_PROGRESS_BARS")) == before
