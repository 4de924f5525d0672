"""`beam`: pyctcdecode's prefix beam search with KenLM shallow fusion, the reference the other decoders match."""

from __future__ import annotations

import logging
import weakref

import numpy as np
from pyctcdecode.alphabet import Alphabet
from pyctcdecode.decoder import BeamSearchDecoderCTC
from pyctcdecode.language_model import LanguageModel

from decoders.beam_base import BeamDecoder
from decoders.factory import register_decoder
from decoders.hypothesis import Hypothesis, hypothesis_from_beam


@register_decoder
class PyctcdecodeBeamDecoder(BeamDecoder):
    """`beam`: pyctcdecode's prefix beam search, with a KenLM model (ARPA or binary plus its unigram list) or none.

    Every weight is passed to pyctcdecode per call, so a reconfigured copy shares the search object, its loaded LM
    and its unigram trie.
    """

    name = "beam"
    nbest = True
    # pyctcdecode keeps every beam's full history; past this (about 17 minutes at 50 frames/s) it needs gigabytes.
    max_frames = 50_000

    def _build(self) -> None:
        # pyctcdecode logs about special tokens like <s> and <unk>; they are expected in wav2vec2 vocabularies.
        logging.getLogger("pyctcdecode").setLevel(logging.ERROR)
        alphabet = Alphabet.build_alphabet(self.vocabulary.decoder_labels)
        loaded = self.load_lm()
        language_model = None if loaded is None else LanguageModel(loaded.model, loaded.unigrams)
        self._ctc = BeamSearchDecoderCTC(alphabet, language_model)
        # pyctcdecode parks every LM in a class-level dict until told to forget it; forget it with the search.
        weakref.finalize(self._ctc, BeamSearchDecoderCTC.model_container.pop, self._ctc._model_key, None)

    def _decode(self, logprobs: np.ndarray) -> Hypothesis:
        return hypothesis_from_beam(self._beams(logprobs)[0])

    def _decode_nbest(self, logprobs: np.ndarray, k: int) -> list[Hypothesis]:
        return [hypothesis_from_beam(beam) for beam in self._beams(logprobs)[:k]]

    def _beams(self, logprobs: np.ndarray) -> list[tuple]:
        """pyctcdecode's final beams, best first. The search object may be shared with decoders of other weights:
        ours are set before every call."""
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
            prune_history=bool(self.param("prune_history")),
            hotwords=self.hotwords or None,
            hotword_weight=float(self.param("hotword_weight")),
        )
        return beams

