"""The results store: WAL and busy timeout, one row per key under concurrent writers, keys, export, bad files."""

from __future__ import annotations

import multiprocessing
import sqlite3

import pytest

from decoders.config import DecoderConfig
from experiments.sweep.results import PointResult, ResultsDB, ResultsError, keyed_config, result_key
from sweep_helpers import make_store


def point(key: str, alpha: float = 0.5, beta: float = 1.0, wer: float = 0.1, store_fp: str = "s" * 64,
          hypotheses: tuple[str, ...] = ("THE CAT",)) -> PointResult:
    return PointResult(
        key=key, store_fingerprint=store_fp, config_digest=key, store_path="store",
        config=DecoderConfig("beam", {"lm": "lm.arpa", "alpha": alpha, "beta": beta}), lm_fingerprint="f" * 64,
        wer=wer, cer=wer / 2, utterances=1, seconds=0.1, created="2026-01-01T00:00:00+00:00", versions="{}",
        hypotheses=hypotheses,
    )


def test_wal_mode_and_busy_timeout(tmp_path):
    db = ResultsDB(tmp_path / "run")
    assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 10_000


def test_a_key_is_stored_once(tmp_path):
    db = ResultsDB(tmp_path / "run")
    assert db.insert(point("k1", wer=0.1)) is True
    assert db.insert(point("k1", wer=0.9)) is False  # the first commit wins; the second is not an error
    assert len(db) == 1 and db.get("k1").wer == 0.1
    with pytest.raises(sqlite3.IntegrityError):  # and the (store, config digest) pair is unique on its own
        columns = ("store_fingerprint, config_digest, store_path, decoder, config, lm_path, lm_fingerprint, alpha, "
                   "beta, wer, cer, utterances, seconds, created, versions, hypotheses")
        db.conn.execute(f"INSERT INTO results (key, {columns}) SELECT 'k2', {columns} FROM results WHERE key = 'k1'")


def test_keys_use_lm_content_not_path():
    config = DecoderConfig("beam", {"lm": "/a/4gram.bin", "unigrams": None, "alpha": 0.5})
    moved = config.replace(lm="/b/renamed.bin", unigrams="/b/unigrams.txt")
    assert keyed_config(config, "f1", "w1").digest() == keyed_config(moved, "f1", "w1").digest()
    assert keyed_config(config, "f1", "w1").digest() != keyed_config(config, "f2", "w1").digest()
    assert keyed_config(config, "f1", "w1").digest() != keyed_config(config, "f1", "w2").digest()
    assert keyed_config(DecoderConfig("greedy"), None, None) == DecoderConfig("greedy")
    assert result_key("s1", "d") != result_key("s2", "d") != result_key("s1", "e")


def _hammer(run_dir, worker: int) -> None:
    db = ResultsDB(run_dir)
    for n in range(40):
        db.insert(point(f"shared-{n}", alpha=float(n)))  # every writer races for these
        db.insert(point(f"own-{worker}-{n}", alpha=float(n)))
    db.close()


def test_concurrent_writers_do_not_fail_or_duplicate(tmp_path):
    run_dir = tmp_path / "run"
    context = multiprocessing.get_context("fork")
    writers = [context.Process(target=_hammer, args=(run_dir, w)) for w in range(4)]
    for w in writers:
        w.start()
    for w in writers:
        w.join(60)
    assert [w.exitcode for w in writers] == [0, 0, 0, 0]
    db = ResultsDB(run_dir)
    assert len(db) == 40 + 4 * 40
    assert db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_runs_hypotheses_dataframe_and_csv(tmp_path):
    store = make_store(tmp_path / "store")
    db = ResultsDB(tmp_path / "run")
    db.add_store(store)
    hyps = tuple(f"HYP {i}" for i in range(len(store)))
    db.insert(point("a", alpha=0.5, wer=0.2, store_fp=store.fingerprint, hypotheses=hyps))
    db.insert(point("b", alpha=1.0, wer=0.1, store_fp=store.fingerprint, hypotheses=hyps))
    run_id = db.start_run(["decode", "sweep"], store.fingerprint, [0.5, 1.0, 1.5], [1.0], ["a", "b", "c"],
                          greedy_key=None)
    results = db.run_results(run_id)
    assert results.run.status == "running" and results.run.finished is None
    assert [p.key for p in results.points] == ["a", "b"] and results.missing == 1
    best = results.best
    assert best.key == "b" and (best.alpha, best.beta, best.decoder) == (1.0, 1.0, "beam")
    assert db.get("b") == point("b", alpha=1.0, wer=0.1, store_fp=store.fingerprint)  # the config survives the trip
    db.finish_run(run_id, "done", reused=0, computed=2)
    assert db.run().status == "done" and db.run().finished is not None
    exported = db.hypotheses("b")
    assert exported[0] == {"id": store.ids[0], "reference": store.references[0], "hypothesis": "HYP 0"}

    frame = ResultsDB(tmp_path / "run").to_dataframe()
    assert sorted(frame["key"]) == ["a", "b"] and "hypotheses" not in frame.columns
    csv = db.to_csv(tmp_path / "results.csv")
    import pandas as pd

    assert list(pd.read_csv(csv).sort_values("alpha")["wer"]) == [0.2, 0.1]


def test_missing_and_corrupt_results_files(tmp_path):
    with pytest.raises(ResultsError, match="does not exist"):
        ResultsDB(tmp_path / "nope", create=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ResultsError, match="has no results.sqlite"):
        ResultsDB(tmp_path / "empty", create=False)
    assert not (tmp_path / "empty" / "results.sqlite").exists()
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "results.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ResultsError, match="not a readable results database"):
        ResultsDB(tmp_path / "bad")
    with pytest.raises(ResultsError, match="no sweep runs"):
        ResultsDB(tmp_path / "fresh").run()


def test_a_newer_schema_is_refused(tmp_path):
    ResultsDB(tmp_path / "run").close()
    with sqlite3.connect(tmp_path / "run" / "results.sqlite") as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(ResultsError, match="schema version 99"):
        ResultsDB(tmp_path / "run")


def test_a_run_recorded_before_keys_had_their_own_list_still_reads(tmp_path):
    db = ResultsDB(tmp_path / "run")
    db.conn.execute(
        "INSERT INTO runs (command, plan, store_fingerprint, started, status) VALUES (?, ?, ?, ?, ?)",
        ('["decode"]', '{"alphas": [0.5], "betas": [1.0, 2.0], "greedy": "g", "points": [[0.5, 1.0, "a"], '
         '[0.5, 2.0, "b"]]}', "s" * 64, "2026-01-01T00:00:00+00:00", "done"),
    )
    assert db.run().keys == ("a", "b") and db.run().greedy_key == "g"


def test_a_best_point_on_the_grid_edge_is_reported(tmp_path):
    from experiments.sweep.report import format_best, summary

    store = make_store(tmp_path / "store")
    db = ResultsDB(tmp_path / "run")
    db.add_store(store)
    db.insert(point("a", alpha=0.5, beta=1.0, wer=0.2, store_fp=store.fingerprint))
    db.insert(point("b", alpha=1.0, beta=1.0, wer=0.1, store_fp=store.fingerprint))
    db.insert(point("c", alpha=1.5, beta=1.0, wer=0.3, store_fp=store.fingerprint))
    inside = db.run_results(db.start_run(["sweep"], store.fingerprint, [0.5, 1.0, 1.5], [1.0], ["a", "b", "c"], None))
    assert inside.edges == [] and summary(inside)["best_on_edge"] is False
    edge = db.run_results(db.start_run(["sweep"], store.fingerprint, [0.5, 1.0], [1.0], ["a", "b"], None))
    assert edge.edges == ["alpha 1 is the largest swept"] and summary(edge)["best_on_edge"] is True
    assert "lies on the grid's edge (alpha 1 is the largest swept)" in format_best(edge)


def test_points_the_bootstrap_cannot_tell_from_the_best_are_marked(tmp_path):
    from experiments.sweep.report import format_report, with_ties

    store = make_store(tmp_path / "store", copies=3)
    refs = store.references
    nearly = (refs[0].replace(refs[0].split()[0], "WRONG", 1), *refs[1:])  # one word of the whole set wrong
    db = ResultsDB(tmp_path / "run")
    db.add_store(store)
    for key, alpha, wer, hyps in (("best", 0.5, 0.0, tuple(refs)), ("near", 1.0, 0.01, nearly),
                                  ("far", 1.5, 1.0, tuple("X" for _ in refs))):
        db.insert(point(key, alpha=alpha, wer=wer, store_fp=store.fingerprint, hypotheses=hyps))
    run = db.start_run(["sweep"], store.fingerprint, [0.5, 1.0, 1.5], [1.0], ["best", "near", "far"], None)
    results = with_ties(db, db.run_results(run))
    assert results.tied == {"best", "near"}
    assert "~best" in format_report(results) and "1 other point(s) (~best) are not significantly worse" in (
        format_report(results))
