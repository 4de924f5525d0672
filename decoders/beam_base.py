"""What every beam decoder with a KenLM shares: pyctcdecode's parameters and their checks, loading the LM through
one cache with the same checks and warnings, hotwords in the labels' case, and a cheap `reconfigure`.

A subclass builds its expensive state in `_build` (alphabet, the LM, hotword tables) and applies the parameters that
do not change that state in `_apply_weights`. A sweep changes only alpha and beta, so each of its points costs a call
of `_apply_weights`, not a rebuild.
"""

from __future__ import annotations

import abc
import copy
import warnings
from typing import Any, ClassVar

from decoders.base import Decoder
from decoders.config import DecoderConfig
from decoders.constants import BEAM_DEFAULTS, STRUCTURAL_PARAMS
from decoders.errors import DecoderConfigError
from decoders.params import check_params
from lm.model import LanguageModelCache, LoadedLM, check_alphabet
from logits.text import TextRule
from logits.vocabulary import Vocabulary


def check_beam_params(config: DecoderConfig) -> None:
    """The checks shared by all beam decoders, so that a bad sweep value fails before any decoding."""
    check_params(dict(config.params))
    if config.get("lm") is None and config.get("unigrams") is not None:
        raise DecoderConfigError("unigrams were given without an LM; pass --lm too")


def hotwords_in_case(hotwords: tuple[str, ...], vocabulary: Vocabulary) -> list[str]:
    """Hotwords under the one text rule against the labels (`logits.text`: case, accents, numbers, apostrophes), as
    references are, blank ones dropped. Characters the labels cannot spell are kept, for the parameter checks to
    name."""
    rule = TextRule.for_vocabulary(vocabulary)
    spelled = (rule.apply(h, drop=False).text for h in hotwords if h.strip())
    return [h for h in spelled if h]


def check_hotwords_spellable(hotwords: list[str], vocabulary: Vocabulary) -> None:
    """A hotword the labels cannot spell can never be boosted, whatever the LM: say so, with the characters."""
    known = vocabulary.characters
    for hotword in hotwords:
        missing = list(dict.fromkeys(c for c in hotword if not c.isspace() and c not in known))
        if missing:
            raise DecoderConfigError(
                f"hotword {hotword!r} cannot be spelled with the labels: {', '.join(map(repr, missing))} "
                f"{'is' if len(missing) == 1 else 'are'} not in the vocabulary ({''.join(sorted(known))})")


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
            stacklevel=5,  # the line that built the decoder
        )


class BeamDecoder(Decoder):
    """A prefix beam search with shallow fusion of a KenLM word LM, with pyctcdecode's parameters and defaults."""

    defaults = BEAM_DEFAULTS
    # The parameters `_apply_weights` applies without `_build`; a subclass whose search takes some of them at build
    # time narrows this.
    cheap_params: ClassVar[frozenset[str]] = frozenset(BEAM_DEFAULTS) - STRUCTURAL_PARAMS

    def __init__(self, config: DecoderConfig, vocabulary: Vocabulary, lms: LanguageModelCache | None = None) -> None:
        super().__init__(config, vocabulary, lms if lms is not None else LanguageModelCache())
        check_beam_params(self.config)
        self.hotwords = hotwords_in_case(self.param("hotwords"), vocabulary)
        check_hotwords_spellable(self.hotwords, vocabulary)
        self._build()
        self._apply_weights()

    @abc.abstractmethod
    def _build(self) -> None:
        """Build the state that depends on the labels, the LM and the hotwords (once per decoder)."""

    def _apply_weights(self) -> None:
        """Apply `cheap_params` from `self.config` (after `_build`, and on every cheap `reconfigure`). Decoders that
        read them from the config on every call have nothing to do."""

    def reconfigure(self, **params: Any) -> "BeamDecoder":
        """The same decoder with new parameters. When only `cheap_params` change value, the copy shares this
        decoder's built state (alphabet, loaded LM, tables) and only the weights are applied; otherwise it is built
        anew on the same LM cache."""
        config = self.config.replace(**params)
        changed = {key for key in params if config.get(key) != self.config.get(key)}
        if not changed <= self.cheap_params:
            return type(self)(config, self.vocabulary, self.lms)
        check_beam_params(config)
        clone = copy.copy(self)
        clone.config = config
        clone._apply_weights()
        return clone

    def load_lm(self) -> LoadedLM | None:
        """The LM the config names, loaded once per cache and checked against the labels (case, overlap); None
        without one. Every beam decoder loads through here, so their errors and warnings read the same."""
        if self.param("lm") is None:
            return None
        loaded = self.lms.get(self.param("lm"), self.param("unigrams"))
        check_alphabet(loaded.unigrams, self.vocabulary.characters, loaded.words_source)
        warn_about_unknown_hotwords(self.hotwords, loaded.model, float(self.param("beam_prune_logp")))
        return loaded
