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
        "unk_score_offset": -10.0, "lm_score_boundary": True}


def test_the_cli_exports_a_sweeps_best_point_and_takes_it_back_as_lm(store, lm, tmp_path):
    assert runner.invoke(app, ["sweep", str(store.path), "--lm", str(lm), "--alpha", "0.5,1", "--beta", "0,2",
                               "--out", str(tmp_path / "run")]).exit_code == 0
    result = runner.invoke(app, ["export", str(tmp_path / "run"), "--out", str(tmp_path / "dec")])
    assert result.exit_code == 0, result.output
    best = json.loads(runner.invoke(app, ["report", str(tmp_path / "run"), "--json"]).stdout.splitlines()[-1])
    reloaded = runner.invoke(app, ["run", str(store.path), "--decoder", "fastbeam", "--lm", str(tmp_path / "dec"),
                                   "--json"])
    assert json.loads(reloaded.stdout.splitlines()[-1])["wer"] == best["best_wer"]
    again = runner.invoke(app, ["export", str(tmp_path / "run"), "--out", str(tmp_path / "dec")])
    assert again.exit_code == 2 and "exists; pass --force" in again.output


def test_a_broken_decoder_folder_is_one_clear_error(store, lm, tmp_path):
    folder = export_decoder_dir(DecoderConfig("beam", {"lm": str(lm), "alpha": 0.5, "beta": 1.0, "unk_score_offset":
                                                       -10.0, "lm_score_boundary": True}),
                                store.vocabulary, tmp_path / "dec")
    attrs = folder / "language_model" / "attrs.json"
    attrs.write_text(json.dumps({"alpha": 0.5}))
    with pytest.raises(DecoderConfigError, match="lacks"):
        lm_directory_params(folder)
    (folder / "language_model" / "lm.arpa").unlink()
    result = runner.invoke(app, ["run", str(store.path), "--decoder", "beam", "--lm", str(folder)])
    assert result.exit_code == 2 and "error:" in result.output
