"""The one scorer (logits.scoring) and the one ranking: the rules on known inputs, the rescoring counts and the
paired bootstrap held equal to the scorer's, and run, sweep, compare and report agreeing on a store with empty
references."""

from __future__ import annotations

import json
import random
from pathlib import Path

import jiwer
import numpy as np
import pytest
from typer.testing import CliRunner

from cli.app import app
from decoders.config import DecoderConfig
from experiments.measures.significance import paired_bootstrap, wer_interval
from experiments.sweep.grid import GridPoint
from experiments.sweep.report import format_table, report, summary
from experiments.sweep.rescore import NBestTable, corpus_rates, rescore
from experiments.sweep.results import PointResult, RescoredResult, RunRecord, RunResults
from experiments.sweep.run import sweep
from helpers import LM_SENTENCES
from logits.errors import LabError
from logits.scoring import count, normalise, rank_key, score
from logits.store import write_store
from sweep_helpers import VOCAB, make_lm, noisy

runner = CliRunner()


# -- the rules ----------------------------------------------------------------------------------------------------


def test_normalisation_collapses_whitespace_and_keeps_case():
    assert normalise("  THE   cat \t SAT\n") == "THE cat SAT"
    assert score(["THE  CAT "], [" THE CAT"]) == score(["THE CAT"], ["THE CAT"])
    assert score(["THE CAT"], ["the cat"]).wer == 1.0  # no case folding


def test_empty_references_count_insertions_and_none_is_not_scored():
    found = score(["A B C", "", None, "A B"], ["A X C", "X  Y", "ANYTHING", ""])
    # words: 1 substitution; 2 insertions for the empty reference; 2 deletions; over 3 + 0 + 2 reference words
    assert (found.word_errors, found.words, found.substitutions, found.insertions, found.deletions) == (5, 5, 1, 2, 2)
    assert found.wer == 1.0 and found.utterances == 3
    # characters (spaces between words included): 1 + 3 ("X Y") + 3 ("A B"), over 5 + 0 + 3
    assert (found.char_errors, found.chars, found.cer) == (7, 8, 7 / 8)
    per = count(["A B C", "", None, "A B"], ["A X C", "X  Y", "ANYTHING", ""])
    assert per.index.tolist() == [0, 1, 3] and per.word_errors.tolist() == [1, 2, 2] and per.words.tolist() == [3, 0, 2]


def test_nothing_to_divide_by_is_a_clear_error():
    with pytest.raises(LabError, match="no utterance has a reference"):
        score([None, None], ["A", "B"])
    with pytest.raises(LabError, match="all 2 reference transcripts are empty"):
        score(["", "  "], ["A", ""])


def _random_text(rng: random.Random, words: list[str]) -> str:
    """A text of 0-6 words with runs of spaces around and between them."""
    chosen = [rng.choice(words) for _ in range(rng.randrange(7))]
    return " " * rng.randrange(3) + "".join(w + " " * rng.randrange(1, 4) for w in chosen)[:-1]


def _random_set(seed: int, n: int = 60) -> tuple[list[str | None], list[list[str]]]:
    """References (some None, some empty) and 4 hypotheses of each (some empty), from a small vocabulary so that
    they overlap."""
    rng = random.Random(seed)
    vocab = ["A", "AN", "THE", "CAT", "CATS", "SAT", "ON", "MAT", "Z"]
    references = [None if rng.random() < 0.1 else "" if rng.random() < 0.15 else _random_text(rng, vocab)
                  for _ in range(n)]
    hypotheses = [["" if rng.random() < 0.15 else _random_text(rng, vocab) for _ in range(4)] for _ in range(n)]
    references[0], references[1] = "", "THE  CAT "  # at least one empty and one scored reference
    return references, hypotheses


def test_the_alignment_counts_are_jiwers_where_jiwer_scores():
    references, hypotheses = _random_set(seed=3)
    pairs = [(r, h[0]) for r, h in zip(references, hypotheses) if r is not None and r.strip()]
    found = score([r for r, _ in pairs], [h for _, h in pairs])
    words = jiwer.process_words([r for r, _ in pairs], [h for _, h in pairs])
    chars = jiwer.process_characters([normalise(r) for r, _ in pairs], [normalise(h) for _, h in pairs])
    assert (found.substitutions, found.deletions, found.insertions) == (
        words.substitutions, words.deletions, words.insertions)
    assert found.wer == pytest.approx(words.wer, abs=1e-15) and found.cer == pytest.approx(chars.cer, abs=1e-15)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rescoring_counts_are_the_scorers(seed):
    references, hypotheses = _random_set(seed)
    np_rng = np.random.default_rng(seed)
    k = len(hypotheses[0])
    table = NBestTable(
        utterance=np.repeat(np.arange(len(references)), k), acoustic=np_rng.normal(size=len(references) * k),
        lm=np_rng.normal(size=len(references) * k), words=np_rng.integers(0, 5, len(references) * k).astype(float),
        offset=np.zeros(len(references) * k), texts=tuple(h for hyps in hypotheses for h in hyps),
        utterances=len(references), anchors=(GridPoint(0.0, 0.0),), seconds=0.0)
    alphas, betas = [0.0, 0.5, 2.0], [0.0, 1.0, -1.0]
    chosen = table.choose(alphas, betas)
    for point, picks in zip(rescore(table, references, alphas, betas), chosen):
        found = score(references, [table.texts[i] for i in picks])
        assert (point.wer, point.cer) == (found.wer, found.cer)  # exactly: the same counts
    for j in range(k):
        texts = [hyps[j] for hyps in hypotheses]
        found = score(references, texts)
        assert corpus_rates(references, texts) == (found.wer, found.cer)


def test_the_bootstraps_point_wer_is_the_scorers():
    references, hypotheses = _random_set(seed=5)
    a, b = [h[0] for h in hypotheses], [h[1] for h in hypotheses]
    scored = [i for i, r in enumerate(references) if r is not None]
    compared = paired_bootstrap([references[i] for i in scored], [a[i] for i in scored], [b[i] for i in scored],
                                resamples=200)
    assert (compared.wer_a, compared.wer_b) == (score(references, a).wer, score(references, b).wer)
    assert compared.words == score(references, a).words
    low, high = wer_interval([references[i] for i in scored], [a[i] for i in scored], resamples=500)
    assert low <= score(references, a).wer <= high


# -- the ranking --------------------------------------------------------------------------------------------------


def _point(alpha: float, beta: float, wer: float | None, cer: float | None) -> PointResult:
    key = f"k{alpha:g}-{beta:g}"
    return PointResult(key=key, store_fingerprint="s" * 64, config_digest=key, store_path="store",
                       config=DecoderConfig("fastbeam", {"lm": "lm.arpa", "alpha": alpha, "beta": beta}),
                       lm_fingerprint="f" * 64, wer=wer, cer=cer, utterances=3, seconds=0.1,
                       created="2026-01-01T00:00:00+00:00", versions="{}")


def _run(points, method: str = "grid", rescored=()) -> RunResults:
    alphas = tuple(sorted({p.alpha for p in points}))
    betas = tuple(sorted({p.beta for p in points}))
    record = RunRecord(id=1, command=("sweep",), store_fingerprint="s" * 64, alphas=alphas, betas=betas,
                       keys=tuple(p.key for p in points), greedy_key=None, test_key=None, started="", finished="",
                       status="done", reused=0, computed=len(points), method=method,
                       rescore={"exact": [p.key for p in points], "nbest": 4, "anchors": []} if rescored else None)
    return RunResults(run_dir=Path("run"), run=record, points=tuple(points), greedy=None, rescored=tuple(rescored))


def test_rank_key_orders_wer_then_cer_then_alpha_then_beta_then_key_and_missing_last():
    ordered = [rank_key(0.1, 0.05, 1.0, 2.0), rank_key(0.1, 0.06, 0.0, 0.0), rank_key(0.1, 0.06, 0.5, 0.0),
               rank_key(0.1, 0.06, 0.5, 1.0, "a"), rank_key(0.1, 0.06, 0.5, 1.0, "b"), rank_key(0.1, None, 0.0, 0.0),
               rank_key(None, 0.01, 0.0, 0.0)]
    assert sorted(reversed(ordered)) == ordered


def test_table_rank_one_is_the_best_and_the_json_best():
    # WER ties at 10%: CER decides between (1, 0) and (0, 1)/(0.5, 2); those two tie on both, alpha decides.
    points = [_point(1.0, 0.0, 0.10, 0.05), _point(0.5, 2.0, 0.10, 0.04), _point(0.0, 1.0, 0.10, 0.04),
              _point(0.0, 0.0, 0.20, 0.01), _point(2.0, 2.0, None, None)]
    results = _run(points)
    assert [(p.alpha, p.beta) for p in results.ranked] == [(0.0, 1.0), (0.5, 2.0), (1.0, 0.0), (0.0, 0.0),
                                                          (2.0, 2.0)]
    assert results.best == results.ranked[0]
    first = format_table(results).splitlines()[1].split()
    assert (float(first[1]), float(first[2])) == (0.0, 1.0)
    figures = json.loads(json.dumps(summary(results)))
    assert (figures["best_alpha"], figures["best_beta"], figures["best_wer"], figures["best_cer"]) == (
        0.0, 1.0, 0.10, 0.04)


def test_a_rescoring_runs_table_and_json_rank_its_estimates_alike():
    exact = [_point(0.5, 1.0, 0.12, 0.06)]
    rescored = [RescoredResult("e1", 1.0, 0.0, 0.10, 0.05), RescoredResult("e2", 0.5, 2.0, 0.10, 0.04),
                RescoredResult("e3", 0.0, 2.0, 0.10, 0.04), RescoredResult(exact[0].key, 0.5, 1.0, 0.11, 0.05)]
    results = _run(exact, method="rescore", rescored=rescored)
    assert results.best_rescored.key == "e3"
    first = format_table(results).splitlines()[1].split()
    assert (float(first[1]), float(first[2])) == (0.0, 2.0)
    figures = summary(results)
    assert (figures["best_rescored_alpha"], figures["best_rescored_beta"]) == (0.0, 2.0)


# -- one figure everywhere ----------------------------------------------------------------------------------------


def test_run_sweep_compare_and_report_agree_on_a_store_with_empty_references(tmp_path):
    texts = LM_SENTENCES * 2
    references = list(texts)
    references[1] = references[4] = ""  # two transcripts lost: their hypotheses are insertions
    store = write_store(tmp_path / "store", ids=[f"utt{i:03d}" for i in range(len(texts))],
                        arrays=[noisy(text, seed=i) for i, text in enumerate(texts)], vocabulary=VOCAB,
                        references=references)
    lm = make_lm(tmp_path / "lm.arpa")
    figures = {}
    for name, args in (("greedy", ["--decoder", "greedy"]),
                       ("fastbeam", ["--decoder", "fastbeam", "--lm", str(lm), "--alpha", "0.5", "--beta", "1"])):
        done = runner.invoke(app, ["run", str(store.path), *args, "--out", str(tmp_path / f"{name}.jsonl"),
                                   "--json"])
        assert done.exit_code == 0, done.output
        figures[name] = json.loads(done.stdout)
    compared = runner.invoke(app, ["compare", str(tmp_path / "greedy.jsonl"), str(tmp_path / "fastbeam.jsonl"),
                                   "--resamples", "200", "--json"])
    assert compared.exit_code == 0, compared.output
    compared = json.loads(compared.stdout)
    swept = sweep(store.path, lm, "0.5", "1", run_dir=tmp_path / "run", workers=1, show_progress=False)
    reported = report(tmp_path / "run").summary()

    greedy, fastbeam = figures["greedy"]["wer"], figures["fastbeam"]["wer"]
    for value in (compared["wer_a"], swept.greedy.wer, reported["greedy_wer"]):
        assert value == pytest.approx(greedy, abs=1e-12)
    for value in (compared["wer_b"], swept.best.wer, reported["best_wer"]):
        assert value == pytest.approx(fastbeam, abs=1e-12)
    assert (swept.greedy.cer, swept.best.cer) == pytest.approx((figures["greedy"]["cer"], figures["fastbeam"]["cer"]),
                                                                abs=1e-12)
    # The empty references' hypotheses count: the WER is above the one that leaves those utterances out.
    kept = [i for i, r in enumerate(references) if r]
    rows = [json.loads(line) for line in (tmp_path / "greedy.jsonl").read_text().splitlines()]
    assert greedy > score([references[i] for i in kept], [rows[i]["hypothesis"] for i in kept]).wer
