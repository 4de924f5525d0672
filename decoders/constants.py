"""Defaults and constants shared by the beam decoders: pyctcdecode 0.5.0's search, which every beam decoder here
matches, with the lab's own default weights (beta 1.0; pyctcdecode's build_ctcdecoder says 1.5, and
decoders.compat keeps that)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping

# The decoder a sweep, `decode run` and `decode hotwords` use unless told otherwise: pyctcdecode's answers, faster.
DEFAULT_DECODER = "fastbeam"

# The parameters (and defaults) of every pyctcdecode-compatible beam decoder of this project.
BEAM_DEFAULTS: Mapping[str, Any] = MappingProxyType({
    "lm": None,
    "unigrams": None,
    "alpha": 0.5,
    "beta": 1.0,
    "beam_width": 100,
    "beam_prune_logp": -10.0,
    "token_min_logp": -5.0,
    "unk_score_offset": -10.0,
    "lm_score_boundary": True,
    "hotwords": (),
    "hotword_weight": 10.0,
    # pyctcdecode's decode_beams(prune_history=...): off as in decode_beams; its decode() turns it on.
    "prune_history": False,
})
# Parameters added after results were first recorded, with the default they had implicitly before: results keys
# leave them out at that value, so older records keep their keys (experiments.sweep.results.keyed_config).
LATER_PARAMS: Mapping[str, Any] = MappingProxyType({"prune_history": False})
# What a beam decoder's expensive state (the loaded LM, its unigram trie, the hotword tables) is built from: changing
# one of these builds the decoder anew; changing any other parameter is cheap (BeamDecoder.reconfigure).
STRUCTURAL_PARAMS = frozenset({"lm", "unigrams", "hotwords"})


@dataclass(frozen=True)
class ParamRule:
    """What one decoder parameter may be: `kind` "float" (a finite real, never bool), "int" (an integer, never bool),
    "bool" or "words" (a list of strings), within [low, high] where given. `why` says why the range is what it is."""

    kind: str
    low: float | None = None
    high: float | None = None
    why: str = ""


# Every value a parameter of BEAM_DEFAULTS may take (decoders.params.check_params applies them). Every float must be
# finite: NaN and +-inf break the search's comparisons (NaN crashed it) and give no meaningful transcript. Negative
# values stay allowed where research uses them: a negative beta is a word penalty, a negative hotword_weight pushes
# words out. A negative alpha is not: it rewards what the LM finds unlikely, which no experiment wants, so it is
# refused. The log-probability offsets are <= 0 by what they are.
PARAM_RULES: Mapping[str, ParamRule] = MappingProxyType({
    "alpha": ParamRule("float", low=0.0, why="the LM weight; a negative one rewards unlikely words"),
    "beta": ParamRule("float", why="the word bonus; negative is a word penalty"),
    "beam_width": ParamRule("int", low=1, high=100_000, why="beams kept per frame; memory grows with it"),
    "beam_prune_logp": ParamRule("float", high=0.0, why="a log-probability offset"),
    "token_min_logp": ParamRule("float", high=0.0, why="a log-probability"),
    "unk_score_offset": ParamRule("float", high=0.0, why="a log-probability offset"),
    "lm_score_boundary": ParamRule("bool"),
    "hotwords": ParamRule("words"),
    "hotword_weight": ParamRule("float", why="negative pushes the hotwords out"),
    "prune_history": ParamRule("bool"),
})

# pyctcdecode clips probabilities at this (its MIN_TOKEN_CLIP_P) before the search.
MIN_TOKEN_PROBABILITY = 1e-15
# KenLM scores in log10; the search adds natural-log acoustic scores. pyctcdecode multiplies LM scores by this.
LN_10 = math.log(10.0)
