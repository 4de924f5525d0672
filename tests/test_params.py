"""Decoder parameters under one rule (decoders.constants.PARAM_RULES): every entry refuses what the search cannot
take, in one `error:` line naming the parameter, the rule and the value, before anything reaches C++."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from decoders.config import DecoderConfig
from decoders.constants import BEAM_DEFAULTS, PARAM_RULES
from decoders.errors import DecoderConfigError
from decoders.factory import build_decoder
from decoders.params import check_params
from experiments.sweep.grid import Grid, GridError
from helpers import LM_SENTENCES
from sweep_helpers import VOCAB
from test_errors import invoke, one_error

RULE = {"alpha": "alpha must be a finite number >= 0", "beta": "beta must be a finite number",
        "hotword_weight": "hotword_weight must be a finite number", "beam_width": "beam_width must be an integer",
        "beam_prune_logp": "beam_prune_logp must be a finite number <= 0",
        "token_min_logp": "token_min_logp must be a finite number <= 0",
        "unk_score_offset": "unk_score_offset must be a finite number <= 0"}


def test_every_beam_parameter_has_a_rule_and_the_defaults_keep_it():
    assert set(PARAM_RULES) == set(BEAM_DEFAULTS) - {"lm", "unigrams"}
    check_params(BEAM_DEFAULTS)


@pytest.mark.parametrize(("params", "found"), [
    ({"alpha": math.nan}, "found nan"), ({"alpha": -1}, "found -1"), ({"beta": math.inf}, "found inf"),
    ({"beam_width": 0}, "found 0"), ({"beam_width": 2.5}, "found 2.5"), ({"beam_width": 10**11}, "found 10000"),
    ({"beam_width": True}, "(a bool)"), ({"alpha": "0.5"}, "(a str)"), ({"token_min_logp": 1.0}, "found 1.0"),
    ({"hotwords": "CAT"}, "(a str)"), ({"prune_history": 1}, "(a int)"),
])
def test_check_params_names_the_parameter_rule_and_value(params, found):
    key = next(iter(params))
    with pytest.raises(DecoderConfigError, match=key) as caught:
        check_params(params)
    assert found in str(caught.value)


def test_research_values_stay_allowed():
    check_params({"beta": -3.0, "hotword_weight": -5.0, "alpha": 0.0, "beam_width": 64.0, "alpha_": math.nan})


@pytest.mark.parametrize("decoder", ["fastbeam", "beam"])
@pytest.mark.parametrize(("option", "value"), [
    ("--alpha", "nan"), ("--beta", "nan"), ("--hotword-weight", "nan"), ("--beam-prune-logp", "nan"),
    ("--token-min-logp", "nan"), ("--unk-score-offset", "nan"), ("--alpha", "inf"), ("--beta", "inf"),
    ("--alpha", "-1"), ("--beam-width", "100000000000"),
])
def test_decode_run_refuses_what_the_search_cannot_take(store, lm, decoder, option, value):
    key = option[2:].replace("-", "_")
    line = one_error(invoke("run", store.path, "--decoder", decoder, "--lm", lm, option, value,
                            *(["--hotword", "CAT"] if key == "hotword_weight" else [])), RULE[key])
    assert line.endswith(f"found {float(value) if key != 'beam_width' else int(value)!r}")


def test_the_python_api_and_reconfigure_refuse_nan(lm):
    with pytest.raises(DecoderConfigError, match="alpha must be a finite number"):
        build_decoder(DecoderConfig("fastbeam", {"lm": str(lm), "alpha": math.nan}), VOCAB)
    decoder = build_decoder(DecoderConfig("fastbeam", {"lm": str(lm)}), VOCAB)
    with pytest.raises(DecoderConfigError, match="beta must be a finite number"):
        decoder.reconfigure(beta=-math.inf)
    with pytest.raises(DecoderConfigError, match="beam_prune_logp"):
        decoder.reconfigure(beam_prune_logp=math.nan)


def test_build_ctcdecoder_and_its_decode_calls_refuse_nan(lm):
    from decoders.compat import CompatError, build_ctcdecoder

    labels = ["", " ", *"'ABCDEFGHIJKLMNOPQRSTUVWXYZ"]
    with pytest.raises(CompatError, match="alpha must be a finite number"):
        build_ctcdecoder(labels, str(lm), alpha=math.nan)
    decoder = build_ctcdecoder(labels, str(lm))
    logits = np.full((4, len(labels)), -3.0, np.float32)
    for kwargs in ({"beam_width": math.nan}, {"beam_prune_logp": math.inf}, {"token_min_logp": math.nan},
                   {"hotword_weight": math.nan, "hotwords": ["CAT"]}, {"beam_width": 0}):
        with pytest.raises(CompatError, match=next(iter(kwargs))):
            decoder.decode_beams(logits, **kwargs)
    decoder.reset_params(alpha=math.nan)
    with pytest.raises(CompatError, match="alpha"):
        decoder.decode(logits)


def test_the_sweep_grid_uses_the_same_rule():
    with pytest.raises(GridError, match="alpha must be a finite number >= 0"):
        Grid.of([-1.0, 0.5], [1.0])
    with pytest.raises(GridError, match="--beta 'inf': beta must be a finite number"):
        Grid.parse("0.5", "inf")
    assert Grid.of([0.0], [-2.0]).betas == (-2.0,)  # a word penalty stays sweepable


def test_export_refuses_nan_and_a_folder_holding_nan_is_refused_when_read(store, lm, tmp_path):
    out = tmp_path / "dec"
    one_error(invoke("export", "--store", store.path, "--lm", lm, "--alpha", "nan", "--out", out),
              "alpha must be a finite number >= 0", "found nan")
    assert not out.exists()
    assert invoke("export", "--store", store.path, "--lm", lm, "--out", out).exit_code == 0
    attrs = out / "language_model" / "attrs.json"
    attrs.write_text(json.dumps(json.loads(attrs.read_text()) | {"alpha": float("nan")}))  # json writes NaN
    one_error(invoke("run", store.path, "--decoder", "fastbeam", "--lm", out),
              f"{attrs}: alpha must be a finite number >= 0", "found nan")
    attrs.write_text(json.dumps(json.loads(attrs.read_text()) | {"alpha": 0.5}))
    search = out / "search.json"
    search.write_text(json.dumps(json.loads(search.read_text()) | {"params": {"beam_width": -3}}))
    one_error(invoke("run", store.path, "--decoder", "fastbeam", "--lm", out),
              f"{search}: beam_width must be an integer from 1 to 100000", "found -3")


def test_unigrams_of_the_other_case_blame_the_unigrams_file(store, lm, tmp_path):
    words = tmp_path / "lower.txt"
    words.write_text("".join(f"{w.lower()}\n" for w in sorted({w for s in LM_SENTENCES for w in s.split()})))
    one_error(invoke("run", store.path, "--decoder", "fastbeam", "--lm", lm, "--unigrams", words),
              f"unigrams file {words} is lower case", "labels are upper case")


def test_a_garbage_lm_gets_the_error_line_without_kenlm_banner(store, tmp_path, capfd):
    garbage = tmp_path / "garbage.arpa"
    garbage.write_text("garbage\nnot an lm\n")
    one_error(invoke("run", store.path, "--decoder", "fastbeam", "--lm", garbage), f"cannot load {garbage}")
    assert capfd.readouterr().err == ""  # KenLM writes "Reading ..." and its stars to descriptor 2


def test_a_hotword_the_labels_cannot_spell_says_which_characters(store, lm):
    one_error(invoke("run", store.path, "--decoder", "fastbeam", "--lm", lm, "--hotword", "東京"),
              "hotword '東京' cannot be spelled with the labels", "'東', '京' are not in the vocabulary")


def test_a_folder_that_is_not_a_decoder_folder_says_what_one_holds(store, tmp_path):
    folder = tmp_path / "some_dir"
    folder.mkdir()
    one_error(invoke("run", store.path, "--decoder", "fastbeam", "--lm", folder),
              f"{folder} is a folder but not a decoder folder", "alphabet.json", "attrs.json")


def test_the_native_search_raises_instead_of_crashing():
    from decoders.fastbeam import native_module

    native = native_module()
    good = dict(beam_width=8, beam_prune_logp=-10.0, token_min_logp=-5.0, alpha=0.5, beta=1.0,
                unk_score_offset=-10.0, lm_score_boundary=True, hotword_weight=10.0)
    for bad in ({"alpha": math.nan}, {"beta": math.inf}, {"beam_width": 0}, {"beam_width": 10**6},
                {"beam_prune_logp": 1.0}):  # the fuzzer's find: a positive one pruned every beam, then crashed
        with pytest.raises(ValueError):
            native.SearchParams(**(good | bad))
    alphabet = native.Alphabet(["", " ", "A"])
    search = native.Search(alphabet, None, native.Hotwords([]), native.SearchParams(**good))
    for logprobs in (np.full((3, 3), np.nan, np.float32), np.full((2, 3), np.inf, np.float32),
                     np.zeros((2, 4), np.float32), np.zeros(3, np.float32)):
        with pytest.raises(ValueError):
            search.decode(logprobs)
    with pytest.raises(ValueError):
        native.Search(None, None, native.Hotwords([]), native.SearchParams(**good))
    with pytest.raises(ValueError):
        native.Alphabet([])
    assert search.decode(peaky_abc())[0] == "A"


def peaky_abc() -> np.ndarray:
    probs = np.full((3, 3), 0.01, np.float32)
    probs[[0, 1, 2], [2, 2, 0]] = 0.98
    return np.log(probs)

