"""pyctcdecode decoder directories: the lab exports them (a sweep's best point or any beam config), pyctcdecode loads
them with its own load_from_dir and decodes the same text, and every beam decoder takes one back as --lm."""

from __future__ import annotations

import json
import logging

import pytest
from pyctcdecode import BeamSearchDecoderCTC
from typer.testing import CliRunner

from cli.app import app
from decoders import DecoderConfig, build_decoder
from decoders.directory import export_decoder_dir, lm_directory_params
from decoders.errors import DecoderConfigError

runner = CliRunner()


def test_pyctcdecode_loads_an_export_and_decodes_the_same_text(store, lm, tmp_path):
    config = DecoderConfig("beam", {"lm": str(lm), "alpha": 0.8, "beta": 1.5})
    folder = export_decoder_dir(build_decoder(config, store.vocabulary).config, store.vocabulary, tmp_path / "dec")
    logging.getLogger("pyctcdecode").setLevel(logging.ERROR)
    theirs = BeamSearchDecoderCTC.load_from_dir(str(folder))
    ours = build_decoder(config, store.vocabulary)
    for _, logprobs in store:
        text = theirs.decode_beams(logprobs, beam_width=100, beam_prune_logp=-10.0, token_min_logp=-5.0)[0][0]
        assert " ".join(text.split()) == ours.decode(logprobs).text
    assert lm_directory_params(folder) | {"lm": str(lm)} == {
        "lm": str(lm), "unigrams": str(folder / "language_model" / "unigrams.txt"), "alpha": 0.8, "beta": 1.5,
        "unk_score_offset": -10.0, "lm_score_boundary": True, "beam_width": 100, "beam_prune_logp": -10.0,
        "token_min_logp": -5.0, "hotwords": (), "hotword_weight": 10.0, "prune_history": False}
    (folder / "search.json").unlink()  # a folder pyctcdecode wrote: its weights only
    assert "prune_history" not in lm_directory_params(folder) and "alpha" in lm_directory_params(folder)


def test_the_cli_exports_a_sweeps_best_point_and_takes_it_back_as_lm(store, lm, tmp_path):
    assert runner.invoke(app, ["sweep", str(store.path), "--lm", str(lm), "--alpha", "0.5,1", "--beta", "0,2",
                               "--out", str(tmp_path / "run")]).exit_code == 0
    result = runner.invoke(app, ["export", str(tmp_path / "run"), "--out", str(tmp_path / "dec")])
    assert result.exit_code == 0, result.output
    best = json.loads(runner.invoke(app, ["report", str(tmp_path / "run"), "--json"]).stdout)
    reloaded = runner.invoke(app, ["run", str(store.path), "--decoder", "fastbeam", "--lm", str(tmp_path / "dec"),
                                   "--json"])
    assert json.loads(reloaded.stdout)["wer"] == best["best_wer"]
    again = runner.invoke(app, ["export", str(tmp_path / "run"), "--out", str(tmp_path / "dec")])
    assert again.exit_code == 2 and "exists; pass --force" in again.output


@pytest.fixture()
def messy(tmp_path):
    """A store and a trigram on which history pruning changes some texts at every point of the grid below."""
    from acoustic.synth import SynthSettings, synthesize_all
    from helpers import LM_SENTENCES
    from logits.store import write_store
    from sweep_helpers import VOCAB
    from test_fastbeam import write_ngram_arpa

    pairs = list(synthesize_all(LM_SENTENCES * 2, VOCAB, seed=3, settings=SynthSettings(difficulty=3)))
    store = write_store(tmp_path / "messy", ids=[f"utt{i:02d}" for i in range(len(pairs))],
                        arrays=[x for _, x in pairs], vocabulary=VOCAB, references=LM_SENTENCES * 2)
    return store, write_ngram_arpa(tmp_path / "tri.arpa", LM_SENTENCES, order=3)


@pytest.mark.parametrize("pruned", [False, True])
def test_an_export_says_which_pyctcdecode_search_its_swept_wer_belongs_to(messy, tmp_path, pruned):
    """decode() prunes history, decode_beams() does not: a sweep's export names the call that gives its WER, and
    that call (decode() after a --prune-history sweep) gives the sweep's text on every utterance; the other does
    not."""
    store, lm = messy
    run_dir, folder = tmp_path / "run", tmp_path / "exports" / "dec"
    swept = runner.invoke(app, ["sweep", str(store.path), "--lm", str(lm), "--alpha", "0.5,2", "--beta", "0,1",
                                "--beam-width", "8", "--out", str(run_dir), "--workers", "1"]
                          + (["--prune-history"] if pruned else []))
    assert swept.exit_code == 0, swept.output
    exported = runner.invoke(app, ["export", str(run_dir), "--out", str(folder)])
    assert exported.exit_code == 0, exported.output
    method = "decode" if pruned else "decode_beams"
    assert f"is pyctcdecode's {method}() (history {'pruned' if pruned else 'not pruned'})" in exported.output
    search = json.loads((folder / "search.json").read_text())
    assert search["method"] == method and search["history_pruned"] is pruned
    assert search["params"]["beam_width"] == 8 and search["call"].startswith(f"decoder.{method}(logits, beam_width=8")
    best = json.loads(runner.invoke(app, ["report", str(run_dir), "--json"]).stdout)
    assert search["tuned"]["wer"] == best["best_wer"] and search["tuned"]["run_dir"] == str(run_dir)

    from experiments.sweep.results import ResultsDB

    with ResultsDB(run_dir, create=False) as db:
        point = db.run_results().best
        swept_text = [row["hypothesis"] for row in db.hypotheses(point.key)]
    assert point.config.get("prune_history") is pruned  # recorded like any decoder parameter
    logging.getLogger("pyctcdecode").setLevel(logging.ERROR)
    theirs = BeamSearchDecoderCTC.load_from_dir(str(folder))
    options = {"beam_width": 8, "beam_prune_logp": -10.0, "token_min_logp": -5.0}
    calls = {"decode": lambda x: theirs.decode(x, **options),
             "decode_beams": lambda x: theirs.decode_beams(x, **options)[0][0]}
    texts = {name: [" ".join(call(x).split()) for _, x in store] for name, call in calls.items()}
    assert texts[method] == swept_text
    assert texts["decode_beams" if pruned else "decode"] != swept_text  # the other search differs here
    reloaded = runner.invoke(app, ["run", str(store.path), "--decoder", "fastbeam", "--lm", str(folder), "--json"])
    assert json.loads(reloaded.stdout)["wer"] == best["best_wer"]  # the folder's search, back


def test_export_prune_history_is_for_a_single_decoder(store, lm, tmp_path):
    single = runner.invoke(app, ["export", "--store", str(store.path), "--lm", str(lm), "--prune-history", "--out",
                                 str(tmp_path / "dec")])
    assert single.exit_code == 0, single.output
    assert "searched as pyctcdecode's decode() (history pruned)" in single.output
    assert lm_directory_params(tmp_path / "dec")["prune_history"] is True
    assert runner.invoke(app, ["sweep", str(store.path), "--lm", str(lm), "--alpha", "1", "--beta", "0", "--out",
                               str(tmp_path / "run"), "--workers", "1"]).exit_code == 0
    refused = runner.invoke(app, ["export", str(tmp_path / "run"), "--prune-history", "--out", str(tmp_path / "d2")])
    assert refused.exit_code == 2 and "error:" in refused.output and "sweep with --prune-history" in refused.output


def test_a_broken_decoder_folder_is_one_clear_error(store, lm, tmp_path):
    folder = export_decoder_dir(DecoderConfig("beam", {"lm": str(lm), "alpha": 0.5, "beta": 1.0, "unk_score_offset":
                                                       -10.0, "lm_score_boundary": True}),
                                store.vocabulary, tmp_path / "dec")
    (folder / "search.json").write_text("{}")
    with pytest.raises(DecoderConfigError, match="not the search record an export writes"):
        lm_directory_params(folder / "language_model")
    attrs = folder / "language_model" / "attrs.json"
    attrs.write_text(json.dumps({"alpha": 0.5}))
    with pytest.raises(DecoderConfigError, match="lacks"):
        lm_directory_params(folder)
    (folder / "language_model" / "lm.arpa").unlink()
    result = runner.invoke(app, ["run", str(store.path), "--decoder", "beam", "--lm", str(folder)])
    assert result.exit_code == 2 and "error:" in result.output
