"""The one interface every decoder implements."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping, Sequence

import numpy as np

from decoders.config import DecoderConfig
from decoders.errors import DecoderConfigError
from decoders.hypothesis import EMPTY, Hypothesis, ScoredText
from decoders.params import check_params
from logits.checks import check_logprobs
from logits.vocabulary import Vocabulary

if TYPE_CHECKING:
    from lm.model import LanguageModelCache
    from logits.store import LogitsStore

ProgressCallback = Callable[[int], None]


class Decoder(abc.ABC):
    """Turns [T, V] log-probabilities into a `Hypothesis`.

    Subclasses declare `name` and `defaults` (every parameter they accept, with its default) and implement `_decode`
    for a non-empty, checked, float32 array. `config` is the full effective configuration, defaults filled in, so that
    a record of it rebuilds the same decoder.

    Capabilities are part of the interface, not found by probing: `threaded` says that `decode_batch` and
    `decode_store` spread utterances over native threads (their `threads` argument then counts; others ignore it),
    and every decoder can be `reconfigure`d (cheaply where the subclass says how, see `BeamDecoder`).
    """

    name: ClassVar[str]
    defaults: ClassVar[Mapping[str, Any]] = {}
    threaded: ClassVar[bool] = False
    # The longest utterance, in frames, the decoder takes (None: any): a guard for searches whose memory grows
    # steeply with the utterance, refusing with a message that names the utterance and the way around.
    max_frames: ClassVar[int | None] = None
    # Whether `decode_nbest` gives the search's K best hypotheses (beam searches whose library exposes its beams).
    nbest: ClassVar[bool] = False

    def __init__(self, config: DecoderConfig, vocabulary: Vocabulary, lms: "LanguageModelCache | None" = None) -> None:
        """`lms` is the cache a decoder takes its language model from; decoders without an LM ignore it."""
        unknown = sorted(set(dict(config.params)) - set(self.defaults))
        if unknown:
            raise DecoderConfigError(
                f"decoder {self.name!r} has no parameter(s) {unknown}; it takes {sorted(self.defaults)}"
            )
        self.config = DecoderConfig(self.name, dict(self.defaults) | dict(config.params))
        check_params(dict(config.params))  # the values given; a decoder's defaults are its own to get right
        self.vocabulary = vocabulary
        self.lms = lms

    def param(self, key: str) -> Any:
        return self.config.get(key)

    def reconfigure(self, **params: Any) -> "Decoder":
        """The same decoder with some parameters changed (`reconfigure(alpha=0.8)`). This decoder is not changed.

        Here it is built anew, on the same LM cache; decoders that can keep their expensive state override this.
        """
        return type(self)(self.config.replace(**params), self.vocabulary, self.lms)

    def decode(self, logprobs: np.ndarray, where: str = "input") -> Hypothesis:
        """Decode one utterance; `where` names it in error messages."""
        logprobs = check_logprobs(logprobs, self.vocabulary.size, where)
        self._check_length(logprobs.shape[0], where)
        if logprobs.shape[0] == 0:
            return EMPTY
        return self._decode(np.asarray(logprobs, dtype=np.float32))

    def decode_nbest(self, logprobs: np.ndarray, k: int, where: str = "input") -> list[Hypothesis]:
        """The `k` best hypotheses of one utterance, best first (decoders with `nbest`)."""
        if not self.nbest:
            raise DecoderConfigError(f"decoder {self.name!r} does not give N-best lists; use --decoder fastbeam, "
                                     "beam or ctcbeam")
        if k < 1:
            raise DecoderConfigError(f"N-best lists need k >= 1, got {k}")
        logprobs = check_logprobs(logprobs, self.vocabulary.size, where)
        self._check_length(logprobs.shape[0], where)
        if logprobs.shape[0] == 0:
            return [EMPTY]
        return self._decode_nbest(np.asarray(logprobs, dtype=np.float32), k)

    def _decode_nbest(self, logprobs: np.ndarray, k: int) -> list[Hypothesis]:
        raise NotImplementedError

    def prepare_nbest(self, arrays: Sequence[np.ndarray], where: Sequence[str] | None = None) -> Sequence[Any]:
        """`arrays` as scored_nbest searches them, prepared once for many searches of the same arrays at other
        weights (a rescoring sweep's), by this decoder or any reconfigured from it: here the arrays themselves;
        fastbeam checks and converts them once."""
        return arrays

    def scored_nbest(self, arrays: Sequence[np.ndarray], k: int, threads: int | None = None,
                     where: Sequence[str] | None = None) -> list[list[ScoredText]]:
        """The `k` best hypotheses of each array with their score parts (what re-ranking at other weights needs).
        `arrays` may be what prepare_nbest made of them.

        Here from decode_nbest, without the LM parts; decoders that know them (fastbeam) override this.
        """
        names = where or [f"batch item {i}" for i in range(len(arrays))]
        return [[ScoredText(h.text, h.acoustic_score or 0.0, h.score or 0.0) for h in self.decode_nbest(x, k, w)]
                for x, w in zip(arrays, names)]

    def decode_batch(self, batch: Sequence[np.ndarray], threads: int | None = None) -> list[Hypothesis]:
        """Decode many utterances, results in input order. `threads` counts only for `threaded` decoders."""
        return [self.decode(logprobs, where=f"batch item {i}") for i, logprobs in enumerate(batch)]

    def decode_store(
        self, store: "LogitsStore", on_progress: ProgressCallback | None = None, threads: int | None = None
    ) -> list[Hypothesis]:
        """Every utterance of a store, in store order.

        The store checked its arrays when it was written (`StoreWriter.add`), so they are not checked again here.
        Decoders that can do better than one at a time override this (greedy works a whole shard at once, fastbeam
        spreads utterances over threads).
        """
        hypotheses = []
        for utt, logprobs in store:
            self._check_length(utt.frames, f"utterance {utt.id!r} of {store.path}")
            hypotheses.append(self._decode(np.asarray(logprobs, dtype=np.float32)) if len(logprobs) else EMPTY)
            if on_progress:
                on_progress(1)
        return hypotheses

    def _check_length(self, frames: int, where: str) -> None:
        if self.max_frames is not None and frames > self.max_frames:
            raise DecoderConfigError(
                f"{where} has {frames:,} frames, more than the {self.max_frames:,} the {self.name!r} decoder takes: "
                "its memory and time grow steeply with the utterance (gigabytes past about 100,000 frames). Decode "
                "it with --decoder fastbeam (the same results in a fraction of the memory), or split the audio."
            )

    @abc.abstractmethod
    def _decode(self, logprobs: np.ndarray) -> Hypothesis: ...

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.config.label()}>"
