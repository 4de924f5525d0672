"""Defaults and constants shared by the beam decoders: pyctcdecode 0.5.0's search, which every beam decoder here
matches, with the lab's own default weights (beta 1.0; pyctcdecode's build_ctcdecoder says 1.5, and
decoders.compat keeps that)."""

from __future__ import annotations

import math
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
# Parameters that are log-probability offsets: they must be <= 0.
LOG_OFFSET_PARAMS = ("beam_prune_logp", "token_min_logp", "unk_score_offset")

# pyctcdecode clips probabilities at this (its MIN_TOKEN_CLIP_P) before the search.
MIN_TOKEN_PROBABILITY = 1e-15
# KenLM scores in log10; the search adds natural-log acoustic scores. pyctcdecode multiplies LM scores by this.
LN_10 = math.log(10.0)
