"""The one interface every decoder implements."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping, Sequence

import numpy as np

from decoders.config import DecoderConfig
from decoders.errors import DecoderConfigError
from decoders.hypothesis import EMPTY, Hypothesis
from logits.checks import check_logprobs
from logits.vocabulary import Vocabulary

if TYPE_CHECKING:
    from logits.store import LogitsStore
    from lm.model import LanguageModelCache


class Decoder(abc.ABC):
    """Turns [T, V] log-probabilities into a `Hypothesis`.

    Subclasses declare `name` and `defaults` (every parameter they accept, with its default) and implement `_decode`
    for a non-empty, checked, float32 array. `config` is the full effective configuration, defaults filled in, so that
    a record of it rebuilds the same decoder.
    """

    name: ClassVar[str]
    defaults: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, config: DecoderConfig, vocabulary: Vocabulary, lms: "LanguageModelCache | None" = None) -> None:
        """`lms` is the cache a decoder takes its language model from; decoders without an LM ignore it."""
        unknown = sorted(set(dict(config.params)) - set(self.defaults))
        if unknown:
            raise DecoderConfigError(
                f"decoder {self.name!r} has no parameter(s) {unknown}; it takes {sorted(self.defaults)}"
            )
        self.config = DecoderConfig(self.name, dict(self.defaults) | dict(config.params))
        self.vocabulary = vocabulary

    def param(self, key: str) -> Any:
        return self.config.get(key)

    def decode(self, logprobs: np.ndarray, where: str = "input") -> Hypothesis:
        """Decode one utterance; `where` names it in error messages."""
        logprobs = check_logprobs(logprobs, self.vocabulary.size, where)
        if logprobs.shape[0] == 0:
            return EMPTY
        return self._decode(np.asarray(logprobs, dtype=np.float32))

    def decode_batch(self, batch: Sequence[np.ndarray]) -> list[Hypothesis]:
        return [self.decode(logprobs, where=f"batch item {i}") for i, logprobs in enumerate(batch)]

    def decode_store(
        self, store: "LogitsStore", on_progress: Callable[[int], None] | None = None
    ) -> list[Hypothesis]:
        """Every utterance of a store, in store order. Decoders that can do better than one at a time override this
        (greedy works a whole shard at once, fastbeam spreads utterances over threads)."""
        hypotheses = []
        for utt, logprobs in store:
            hypotheses.append(self.decode(logprobs, where=f"utterance {utt.id!r} of {store.path}"))
            if on_progress:
                on_progress(1)
        return hypotheses

    @abc.abstractmethod
    def _decode(self, logprobs: np.ndarray) -> Hypothesis: ...

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.config.label()}>"
