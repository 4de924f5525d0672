"""The paired bootstrap (`decode compare`): intervals that behave on constructed data."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cli.app import app
from experiments.measures.significance import paired_bootstrap, utterance_errors
from logits.errors import LabError

# 200 utterances of 10 words; A gets 2 words wrong in every utterance, B in every other one (a true difference of
# -10 points), C exactly as A.
REFS = [" ".join(f"W{i}{j}" for j in range(10)) for i in range(200)]
A = [" ".join(["X", "Y", *r.split()[2:]]) for r in REFS]
B = [a if i % 2 else r for i, (a, r) in enumerate(zip(A, REFS))]


def write_hypotheses(folder):
    """A and B as two `decode run --out` files, folder/a.jsonl and folder/b.jsonl."""
    for name, hyps in (("a", A), ("b", B)):
        (folder / f"{name}.jsonl").write_text("".join(
            json.dumps({"id": f"u{i}", "reference": r, "hypothesis": h}) + "\n"
            for i, (r, h) in enumerate(zip(REFS, hyps))))


def test_errors_per_utterance():
    errors, words = utterance_errors(["A B C", "A B"], ["A X C", "A B C D"])
    assert errors.tolist() == [1, 2] and words.tolist() == [3, 2]


def test_a_clear_improvement_has_an_interval_around_the_true_difference_that_excludes_zero():
    found = paired_bootstrap(REFS, A, B, resamples=2000)
    assert (found.wer_a, found.wer_b) == (0.2, 0.1) and found.delta_wer == pytest.approx(-0.1)
    assert found.ci95[0] < -0.1 < found.ci95[1] < 0 and found.significant and found.p_improvement == 1.0


def test_identical_outputs_have_an_interval_that_holds_zero():
    found = paired_bootstrap(REFS, A, list(A), resamples=2000)
    assert found.delta_wer == 0 and found.ci95 == (0.0, 0.0) and not found.significant
    one_fixed = [REFS[0], *A[1:]]  # one utterance of 200 better: too little to tell
    found = paired_bootstrap(REFS, A, one_fixed, resamples=2000)
    assert found.delta_wer < 0 and found.ci95[0] < 0 <= found.ci95[1] and not found.significant


def test_compare_two_hypothesis_files_through_the_cli(tmp_path):
    write_hypotheses(tmp_path)
    result = CliRunner().invoke(app, ["compare", str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl"), "--json",
                                      "--resamples", "1000"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert {"wer_a", "wer_b", "delta_wer", "ci95", "p_improvement"} <= set(summary) and summary["significant"]
    (tmp_path / "c.jsonl").write_text(json.dumps({"id": "other", "reference": "A", "hypothesis": "A"}) + "\n")
    bad = CliRunner().invoke(app, ["compare", str(tmp_path / "a.jsonl"), str(tmp_path / "c.jsonl")])
    assert bad.exit_code == 2 and "hold different utterances" in bad.output
    with pytest.raises(LabError, match="no utterances"):
        paired_bootstrap([], [], [])


def test_error_analysis_counts_confusions_oov_and_what_changed():
    from experiments.measures.error_analysis import analyse_errors, compare_errors

    refs = ["THE CAT SAT ON THE MAT", "A ZORB RAN"]
    hyps = ["THE BAT SAT THE MAT MAT", "A SORB RAN HOME"]
    found = analyse_errors(refs, hyps, vocabulary={"THE", "CAT", "SAT", "ON", "MAT", "A", "RAN"})
    assert (found.words, found.substitutions, found.deletions, found.insertions) == (9, 4, 0, 1)
    assert ("CAT", "BAT", 1) in found.confusions and found.inserted == (("HOME", 1),)
    assert (found.oov_words, found.oov_errors) == (1, 1) and found.wer == 5 / 9
    changes = compare_errors(refs, ["THE CAT SAT ON THE MAT", "A SORB"], hyps)
    assert (changes.fixed_total, changes.broken_total) == (1, 3) and changes.fixed == (("RAN", 1),)
    assert dict(changes.broken) == {"CAT": 1, "ON": 1, "THE": 1}


def test_compare_with_errors_through_the_cli(tmp_path):
    write_hypotheses(tmp_path)
    result = CliRunner().invoke(app, ["compare", str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl"), "--errors",
                                      "--json", "--resamples", "500"])
    assert result.exit_code == 0, result.output
    errors = json.loads(result.stdout)["errors"]
    assert (errors["fixed_total"], errors["broken_total"]) == (200, 0) and errors["substitutions"] == 200


def test_a_wer_interval_holds_the_wer_and_the_notebook_table_carries_it(tmp_path):
    from decoders import DecoderConfig
    from experiments.measures.side_by_side import compare
    from experiments.measures.significance import wer_interval
    from sweep_helpers import make_lm, make_store

    low, high = wer_interval(REFS, B)
    assert low < 0.1 < high
    store = make_store(tmp_path / "store", copies=3)
    frame = compare(store, [DecoderConfig("greedy"), DecoderConfig("beam", {"lm": str(make_lm(tmp_path / "lm.arpa"))})])
    assert (frame["wer_low"] <= frame["wer"]).all() and (frame["wer"] <= frame["wer_high"]).all()


def test_compare_two_decoders_on_one_store(tmp_path):
    from sweep_helpers import make_lm, make_store

    store = make_store(tmp_path / "store", copies=3)
    lm = make_lm(tmp_path / "lm.arpa")
    result = CliRunner().invoke(app, ["compare", "greedy", "fastbeam:alpha=1.0,beam_width=16", "--store",
                                      str(store.path), "--lm", str(lm), "--json", "--resamples", "500"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["utterances"] == len(store) and summary["wer_b"] <= summary["wer_a"]
    bad = CliRunner().invoke(app, ["compare", "greedy", "fastbeam:beam_size=4", "--store", str(store.path)])
    assert bad.exit_code == 2 and "expected key=value with a key of" in bad.output
