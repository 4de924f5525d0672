"""Beam search with KenLM shallow fusion, by pyctcdecode: the reference implementation the other decoders match."""

from __future__ import annotations

import logging
import warnings
import weakref
from typing import Any

import numpy as np
from pyctcdecode.alphabet import Alphabet
from pyctcdecode.decoder import BeamSearchDecoderCTC
from pyctcdecode.language_model import LanguageModel

from decoders.base import Decoder
from decoders.config import DecoderConfig
from decoders.errors import DecoderConfigError
from decoders.hypothesis import Hypothesis, frames_array
from logits.vocabulary import Vocabulary, normalize_transcript
from lm.model import LanguageModelCache, LoadedLM, check_alphabet

# The parameters (and defaults) every pyctcdecode-compatible beam decoder of this project takes.
BEAM_DEFAULTS: dict[str, Any] = {
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
}
# These are passed to pyctcdecode on every call, so changing them keeps the loaded LM and its unigram trie.
_PER_CALL = set(BEAM_DEFAULTS) - {"lm", "unigrams"}


def check_beam_params(config: DecoderConfig) -> None:
    """Range checks shared by all beam decoders, so that a bad sweep value fails before any decoding."""
    if int(config.get("beam_width")) < 1:
        raise DecoderConfigError(f"beam_width must be >= 1, got {config.get('beam_width')}")
    for key in ("beam_prune_logp", "token_min_logp", "unk_score_offset"):
        if float(config.get(key)) > 0:
            raise DecoderConfigError(f"{key} is a log-probability offset and must be <= 0, got {config.get(key)}")
    if config.get("lm") is None and config.get("unigrams") is not None:
        raise DecoderConfigError("unigrams were given without an LM; pass --lm too")


def hotwords_in_case(hotwords: tuple[str, ...], vocabulary: Vocabulary) -> list[str]:
    """Hotwords in the labels' case: a lower-case hotword can never match upper-case labels."""
    change = {"upper": str.upper, "lower": str.lower}.get(vocabulary.case, str)
    return [normalize_transcript(change(h)) for h in hotwords if h.strip()]


def warn_about_unknown_hotwords(hotwords: list[str], model, beam_prune_logp: float) -> None:
    """pyctcdecode boosts a hotword's prefixes, then charges the finished word the unknown-word offset if the LM
    lacks it. That drop (about alpha * 2.3 * (10 + |log10 p(<unk>)|)) exceeds the default beam_prune_logp of -10, so
    every beam that finishes the word is pruned and the transcript ends at the hotword. Measured on the default
    store: -20 avoids it. Semantics stay pyctcdecode's; the user gets told."""
    unknown = [w for phrase in hotwords for w in phrase.split() if w not in model]
    if unknown and beam_prune_logp > -20:
        warnings.warn(
            f"hotword(s) {unknown} are not in the LM: with beam_prune_logp {beam_prune_logp} the beams that finish "
            "them are pruned and transcripts stop at the hotword; pass beam_prune_logp -20 (--beam-prune-logp -20)",
            stacklevel=3,
        )


def load_checked_lm(
    decoder: Decoder, lms: LanguageModelCache, hotwords: list[str] = ()
) -> LoadedLM | None:
    """The LM a beam decoder's config names, loaded once per cache and checked against its labels (case, overlap);
    None without one. Every beam decoder loads through here, so their errors and warnings read the same."""
    if decoder.param("lm") is None:
        return None
    loaded = lms.get(decoder.param("lm"), decoder.param("unigrams"))
    check_alphabet(loaded.unigrams, decoder.vocabulary.characters, loaded.path)
    warn_about_unknown_hotwords(list(hotwords), loaded.model, float(decoder.param("beam_prune_logp")))
    return loaded


class PyctcdecodeBeamDecoder(Decoder):
    """`beam`: pyctcdecode's prefix beam search, with a KenLM model (ARPA or binary plus its unigram list) or none."""

    name = "beam"
    defaults = BEAM_DEFAULTS

    def __init__(
        self,
        config: DecoderConfig,
        vocabulary: Vocabulary,
        lms: LanguageModelCache | None = None,
        _shared: BeamSearchDecoderCTC | None = None,
    ) -> None:
        super().__init__(config, vocabulary)
        check_beam_params(self.config)
        self._lms = lms if lms is not None else LanguageModelCache()
        self._hotwords = hotwords_in_case(self.param("hotwords"), vocabulary)
        self._ctc = _shared if _shared is not None else self._build_search()

    def _build_search(self) -> BeamSearchDecoderCTC:
        # pyctcdecode logs about special tokens like <s> and <unk>; they are expected in wav2vec2 vocabularies.
        logging.getLogger("pyctcdecode").setLevel(logging.ERROR)
        alphabet = Alphabet.build_alphabet(list(self.vocabulary.tokens))
        loaded = load_checked_lm(self, self._lms, self._hotwords)
        language_model = None if loaded is None else LanguageModel(loaded.model, loaded.unigrams)
        search = BeamSearchDecoderCTC(alphabet, language_model)
        # pyctcdecode parks every LM in a class-level dict until told to forget it; forget it with the search.
        weakref.finalize(search, BeamSearchDecoderCTC.model_container.pop, search._model_key, None)
        return search

    def reconfigure(self, **params: Any) -> "PyctcdecodeBeamDecoder":
        """The same decoder with new parameters; alpha/beta changes reuse the loaded LM and its unigram trie."""
        config = self.config.replace(**params)
        shared = self._ctc if set(params) <= _PER_CALL else None
        return PyctcdecodeBeamDecoder(config, self.vocabulary, self._lms, _shared=shared)

    def _decode(self, logprobs: np.ndarray) -> Hypothesis:
        # The search object may be shared with decoders of other weights: set ours before every call.
        self._ctc.reset_params(
            alpha=self.param("alpha"),
            beta=self.param("beta"),
            unk_score_offset=self.param("unk_score_offset"),
            lm_score_boundary=self.param("lm_score_boundary"),
        )
        beams = self._ctc.decode_beams(
            logprobs,
            beam_width=int(self.param("beam_width")),
            beam_prune_logp=float(self.param("beam_prune_logp")),
            token_min_logp=float(self.param("token_min_logp")),
            hotwords=self._hotwords or None,
            hotword_weight=float(self.param("hotword_weight")),
        )
        return beam_hypothesis(beams[0])


def beam_hypothesis(beam: tuple) -> Hypothesis:
    """A Hypothesis from a beam of pyctcdecode's decode_beams (ctc-beam-decoder returns the same tuples)."""
    text, _, word_frames, acoustic, total = beam
    return Hypothesis(
        text=normalize_transcript(text),
        score=float(total),
        acoustic_score=float(acoustic),
        lm_score=float(total - acoustic),
        word_frames=frames_array(frames for _, frames in word_frames),
    )
