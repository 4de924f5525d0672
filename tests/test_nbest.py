"""N-best lists (`decode run --nbest K`) and the oracle WER."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cli.app import app
from decoders import DecoderConfig, build_decoder
from decoders.errors import DecoderConfigError
from experiments.measures.nbest import nbest_lists, oracle_wer
from sweep_helpers import make_store


@pytest.fixture()
def store(tmp_path):
    return make_store(tmp_path / "store", copies=2)


def test_nbest_lists_start_with_the_one_best_and_the_oracle_is_no_worse(store, lm):
    decoder = build_decoder(DecoderConfig("beam", {"lm": str(lm), "alpha": 2.0}), store.vocabulary)
    lists = nbest_lists(store, decoder, 5)
    assert [hyps[0] for hyps in lists] == decoder.decode_store(store)
    assert all(1 <= len(hyps) <= 5 for hyps in lists) and any(len(hyps) > 1 for hyps in lists)
    assert all(a.score >= b.score for hyps in lists for a, b in zip(hyps, hyps[1:]))
    one_best = oracle_wer(store.references, [hyps[:1] for hyps in lists])
    assert oracle_wer(store.references, lists) <= one_best
    with pytest.raises(DecoderConfigError, match="does not give N-best"):
        build_decoder(DecoderConfig("greedy"), store.vocabulary).decode_nbest(store[0], 3)


def test_decode_run_nbest_writes_the_lists_and_the_oracle(store, lm, tmp_path):
    out = tmp_path / "nbest.jsonl"
    result = CliRunner().invoke(app, ["run", str(store.path), "--decoder", "beam", "--lm", str(lm), "--nbest", "4",
                                      "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["nbest"] == 4 and summary["oracle_wer"] <= summary["wer"]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == store.ids
    assert set(rows[0]["nbest"][0]) == {"text", "score", "acoustic_score", "lm_score", "words"}
    assert all(r["hypothesis"] == r["nbest"][0]["text"] for r in rows)  # the top one, beside its list
    refused = CliRunner().invoke(app, ["run", str(store.path), "--decoder", "greedy", "--nbest", "4", "--out",
                                       str(out)])
    assert refused.exit_code == 2 and "does not give N-best lists" in refused.output


def test_an_nbest_file_is_a_hypothesis_file_that_decode_compare_reads(store, lm, tmp_path):
    from experiments.measures.significance import read_hypotheses

    greedy, nbest = tmp_path / "g.jsonl", tmp_path / "n.jsonl"
    assert CliRunner().invoke(app, ["run", str(store.path), "--out", str(greedy)]).exit_code == 0
    ran = CliRunner().invoke(app, ["run", str(store.path), "--decoder", "fastbeam", "--lm", str(lm), "--alpha", "2",
                                   "--nbest", "3", "--out", str(nbest), "--json"])
    assert ran.exit_code == 0, ran.output
    compared = CliRunner().invoke(app, ["compare", str(greedy), str(nbest), "--resamples", "200", "--json"])
    assert compared.exit_code == 0, compared.output
    run_wer = json.loads(ran.stdout)["wer"]
    assert json.loads(compared.stdout)["wer_b"] == pytest.approx(run_wer, abs=1e-12)
    assert sorted(read_hypotheses(nbest)) == sorted(store.ids)


def test_fastbeam_nbest_lists_equal_pyctcdecodes(vocab, lm):
    from acoustic.synth import SynthSettings, synthesize_all
    from helpers import LM_SENTENCES

    config = {"lm": str(lm), "alpha": 1.0, "beta": 0.5, "beam_width": 16}
    fast = build_decoder(DecoderConfig("fastbeam", config), vocab)
    beam = build_decoder(DecoderConfig("beam", config), vocab)
    arrays = [x for _, x in synthesize_all(LM_SENTENCES * 2, vocab, seed=3, settings=SynthSettings(difficulty=4))]
    lists = [(fast.decode_nbest(x, 8), beam.decode_nbest(x, 8)) for x in arrays]
    assert all(ours == theirs for ours, theirs in lists)  # texts, scores and word frames, in order
    assert any(len(ours) > 1 for ours, _ in lists)
