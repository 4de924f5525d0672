"""Sweeps by rescoring N-best lists: the LM part recomputed from text, exact at the anchors, stored apart from
decoded results, reported as estimates; an old results file still opens."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest
from typer.testing import CliRunner

from cli.app import app
from decoders import DecoderConfig, build_decoder
from decoders.base import Decoder
from experiments.measures.evaluate import evaluate
from experiments.sweep.report import format_report, report
from experiments.sweep.rescore import (
    Anchor,
    LMScorer,
    RescoreError,
    default_anchors,
    middle_anchor,
    nbest_table,
    parse_anchors,
    rescore,
)
from experiments.sweep.results import ResultsDB
from experiments.sweep.run import sweep
from lm.model import LanguageModelCache

runner = CliRunner()


def _decoder(store, lm, **params):
    lms = LanguageModelCache()
    decoder = build_decoder(DecoderConfig("fastbeam", {"lm": str(lm)} | params), store.vocabulary, lms)
    loaded = lms.get(lm)
    return decoder, LMScorer(loaded, float(decoder.param("unk_score_offset")), bool(decoder.param("lm_score_boundary")))


@pytest.mark.parametrize("boundary", [True, False])
def test_the_lm_part_recomputed_from_text_is_the_searchs(store, lm, boundary):
    """fastbeam reports each hypothesis's LM part; recomputed from the text alone (what rescoring does for decoders
    that do not report it) it is the same, and weighted it is the whole of the search's LM score."""
    decoder, scorer = _decoder(store, lm, alpha=0.7, beta=1.5, lm_score_boundary=boundary)
    table, _ = nbest_table(store, decoder, [Anchor(0.7, 1.5)], 8, scorer, threads=2)
    assert len(table) > len(store)  # lists of more than one hypothesis
    assert np.abs(table.offset).max() < 1e-6  # nothing left over: alpha * lm + beta * words is the LM part
    for entries in decoder.scored_nbest([x for _, x in store], 8, threads=2):
        for entry in entries:
            trailing = entry.lm_words != len(entry.text.split())  # the last word was finished: "" is scored too
            assert (trailing and entry.lm_words == len(entry.text.split()) + 1) or not trailing
            lm_logprob, words = scorer.score(entry.text, trailing)
            assert (entry.lm_logprob, entry.lm_words) == (pytest.approx(lm_logprob, abs=1e-9), words)
    generic = Decoder.scored_nbest(decoder, [x for _, x in store][:3], 8)  # the base class's way: no LM parts
    assert [[e.text for e in entries] for entries in generic] == [
        [e.text for e in entries] for entries in decoder.scored_nbest([x for _, x in store][:3], 8)]
    assert all(e.lm_logprob is None for entries in generic for e in entries)


def test_rescored_scores_equal_a_decode_at_other_weights(store, lm):
    decoder, scorer = _decoder(store, lm)
    anchor, other = Anchor(0.5, 1.0), Anchor(1.2, 0.0)
    table, _ = nbest_table(store, decoder, [anchor], 16, scorer)
    there, _ = nbest_table(store, decoder, [other], 16, scorer)
    rescored = table.scores(np.array([other.alpha]), np.array([other.beta]))[0]
    entries = {(u, text): i for i, (u, text) in enumerate(zip(table.utterance.tolist(), table.texts))}
    matched = 0
    for j, (u, text) in enumerate(zip(there.utterance.tolist(), there.texts)):
        i = entries.get((u, text))
        if i is not None and abs(table.acoustic[i] - there.acoustic[j]) < 1e-9:  # the same hypothesis
            reported = there.acoustic[j] + there.lm[j] * other.alpha + there.words[j] * other.beta + there.offset[j]
            assert rescored[i] == pytest.approx(reported, abs=1e-3)
            matched += 1
    assert matched >= len(store)


def test_at_the_anchor_the_rescored_best_is_the_exact_decode(store, lm):
    decoder, scorer = _decoder(store, lm, alpha=0.5, beta=1.0)
    exact = evaluate(store, decoder)
    table, tops = nbest_table(store, decoder, [Anchor(0.5, 1.0)], 16, scorer, threads=2)
    chosen = table.choose([0.5], [1.0])[0]
    assert [table.texts[i] for i in chosen] == [h.text for h in exact.hypotheses] == tops[Anchor(0.5, 1.0)]
    [point] = rescore(table, store.references, [0.5], [1.0])
    assert (point.wer, point.cer) == pytest.approx((exact.wer, exact.cer), abs=1e-12)


def test_rescore_sweep_records_estimates_and_exact_points(store, lm, tmp_path):
    grid = sweep(store.path, lm, "0.3,0.6,0.9", "0,1,2", workers=1, run_dir=tmp_path / "grid", show_progress=False)
    result = sweep(store.path, lm, "0.3,0.6,0.9", "0,1,2", workers=1, run_dir=tmp_path / "rescore",
                   show_progress=False, method="rescore", nbest=16, exact=2)
    results = result.results
    assert results.run.method == "rescore" and len(results.rescored) == 9
    # The default anchor: a quarter along alpha (rounded down), the middle beta.
    anchor_key = next(r.key for r in results.rescored if (r.alpha, r.beta) == (0.3, 1.0))
    exact = results.exact_keys
    assert anchor_key in exact and 1 <= len(exact) <= 3 and {p.key for p in results.points} == exact
    # An exact point of the rescoring run is the grid run's decode of that point, to the hypothesis.
    decoded = {p.key: p for p in grid.results.points}
    for point in results.points:
        assert (point.wer, point.cer) == (decoded[point.key].wer, decoded[point.key].cer)
        with ResultsDB(tmp_path / "rescore") as db, ResultsDB(tmp_path / "grid") as other:
            assert db.hypotheses(point.key) == other.hypotheses(point.key)
    assert result.best.key in exact and result.best.wer == min(p.wer for p in results.points)
    summary = result.summary()
    assert summary["method"] == "rescore" and summary["best_wer_exact"] == result.best.wer
    assert summary["best_wer_rescored"] == min(r.wer for r in results.rescored)
    assert summary["exact_points"] == len(exact) and summary["missing"] == 0 and summary["anchors"] == [[0.3, 1.0]]
    assert summary["radius"] == 2.0
    assert grid.summary()["best_wer_exact"] == grid.best.wer and grid.summary()["method"] == "grid"
    text = format_report(results)
    assert "rescored" in text and "exact (best)" in text and "(exact)" in text
    assert "from 16-best lists decoded at (0.3, 1)" in text and "trusted within 2 grid steps" in text
    assert report(tmp_path / "rescore").results.rescored == results.rescored  # re-read from the file


def test_cli_rescore_json_and_bad_options(store, lm, tmp_path):
    out = tmp_path / "run"
    found = runner.invoke(app, ["sweep", str(store.path), "--lm", str(lm), "--alpha", "0.4,0.8", "--beta", "0,1",
                                "--method", "rescore", "--nbest", "8", "--anchor", "0.4,0", "--anchor", "0.8,1",
                                "--exact", "1", "--workers", "1", "--out", str(out), "--json"])
    assert found.exit_code == 0, found.output
    summary = json.loads(found.stdout)
    assert summary["anchors"] == [[0.4, 0.0], [0.8, 1.0]] and summary["nbest"] == 8
    assert 2 <= summary["exact_points"] <= 3 and summary["best_wer_exact"] is not None
    for args, message in [
        (["--method", "lattice"], "unknown sweep method 'lattice'"),
        (["--method", "rescore", "--anchor", "0.5"], "--anchor '0.5': expected ALPHA,BETA"),
        (["--method", "rescore", "--nbest", "0"], "--nbest must be >= 1"),
        (["--method", "rescore", "--param", "beam_width=5,10"], "--method rescore sweeps alpha and beta only"),
        (["--method", "rescore", "--exact", "0"], "--exact must be >= 1"),
        (["--method", "rescore", "--radius", "0"], "--radius must be a number of grid steps > 0"),
    ]:
        failed = runner.invoke(app, ["sweep", str(store.path), "--lm", str(lm), "--alpha", "0.5", "--beta", "0",
                                     "--workers", "1", "--out", str(tmp_path / "bad"), *args])
        assert failed.exit_code == 2 and f"error: {message}" in failed.output, failed.output


def test_the_cli_defaults_are_the_specs():
    import inspect

    from cli import sweep as commands
    from experiments.sweep import SweepSpec

    spec = SweepSpec.of("store", "lm.bin", "0.5", "1")
    for command in (commands.sweep, commands.sweep_many):
        given = {name: p.default for name, p in inspect.signature(command).parameters.items()}
        assert (given["nbest"], given["exact"], given["radius"]) == (spec.nbest, spec.exact, spec.radius)
    assert inspect.signature(commands.sweep).parameters["decoder"].default == spec.decoder.name


def test_anchor_helpers():
    assert default_anchors((0.1, 0.2, 0.3, 0.4), (0.0, 1.0, 2.0)) == (Anchor(0.1, 1.0),)
    assert default_anchors([x / 10 for x in range(1, 20, 2)], [x / 2 for x in range(10)]) == (Anchor(0.5, 2.0),)
    assert middle_anchor((0.1, 0.2, 0.3, 0.4), (0.0, 1.0, 2.0)) == Anchor(0.2, 1.0)
    assert parse_anchors(["0.5,1", "1,2.5"]) == (Anchor(0.5, 1.0), Anchor(1.0, 2.5))
    with pytest.raises(RescoreError, match="repeats"):
        parse_anchors(["0.5,1", "0.5,1.0"])


def test_a_results_file_from_before_rescoring_opens_and_gains_the_new_parts(store, lm, tmp_path):
    run_dir = tmp_path / "run"
    sweep(store.path, lm, "0.5", "0,1", workers=1, run_dir=run_dir, show_progress=False)
    with sqlite3.connect(run_dir / "results.sqlite") as conn:  # make it the file an earlier version wrote
        conn.execute("DROP TABLE rescored")
        conn.execute("ALTER TABLE results DROP COLUMN host")
    old = ResultsDB(run_dir, create=False)
    results = old.run_results()
    assert results.run.method == "grid" and len(results.points) == 2 and results.rescored == ()
    assert all(p.host is None for p in results.points)
    old.close()
    again = sweep(store.path, lm, "0.5", "0,1", workers=1, run_dir=run_dir, show_progress=False)
    assert again.reused == 2 and again.computed == 0


def test_bench_sweep_prints_the_rescore_against_exhaustive_table(store, lm, tmp_path):
    out = tmp_path / "bench"
    found = runner.invoke(app, ["bench-sweep", str(store.path), "--lm", str(lm), "--alpha", "0.3,0.9", "--beta",
                                "0,1", "--nbest", "4", "--workers", "1", "--out", str(out), "--json"])
    assert found.exit_code == 0, found.output
    [result] = json.loads(found.stdout)["stores"]
    assert len(result["variants"]) == 3 * 2 * 2  # anchor sets x exact counts x trust radii, one N
    grid_wer = result["grid_best"][2]
    for variant in result["variants"]:
        assert variant["exact_agrees"] and variant["gap"] == pytest.approx(variant["chosen_wer"] - grid_wer)
        assert variant["gap"] >= 0 and variant["work_ratio"] > 0 and 1 <= variant["decoded"] <= 3
    assert sum(v["default"] for v in result["variants"]) == 0  # N 4 is not the default's 32
    assert "exhaustive grid" in found.output and "gap" in found.output
    assert json.loads((out / "sweep.json").read_text())["stores"][0]["store"] == str(store.path)
