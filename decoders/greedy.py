"""Best-path (greedy) CTC decoding, vectorised: argmax per frame, collapse repeats, drop blanks."""

from __future__ import annotations

import numpy as np

from decoders.base import Decoder
from decoders.hypothesis import Hypothesis, WordSpan
from decoders.vocabulary import normalize_transcript


class GreedyDecoder(Decoder):
    name = "greedy"
    defaults = {}

    def __init__(self, config, vocabulary, lms=None) -> None:
        super().__init__(config, vocabulary)
        self._tokens = np.asarray(vocabulary.tokens, dtype=object)

    def _decode(self, logprobs: np.ndarray) -> Hypothesis:
        best = logprobs.argmax(axis=1)
        score = float(np.take_along_axis(logprobs, best[:, None], axis=1).sum())
        # A run is a maximal stretch of equal argmax; each non-blank run emits its token once.
        run_starts = np.flatnonzero(np.r_[True, best[1:] != best[:-1]])
        run_ends = np.r_[run_starts[1:], best.shape[0]]
        labels = best[run_starts]
        emitting = labels != self.vocabulary.blank
        tokens = self._tokens[labels[emitting]]
        text = normalize_transcript("".join(tokens))
        words = _word_spans(tokens, run_starts[emitting], run_ends[emitting])
        return Hypothesis(text=text, score=score, acoustic_score=score, lm_score=0.0, words=words)


def _word_spans(tokens: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[WordSpan, ...]:
    """Group emitted tokens into words at delimiter tokens; the loop runs over characters, not frames."""
    spans, chars, start, end = [], [], 0, 0
    for token, s, e in zip(tokens, starts, ends):
        if token == " ":
            if chars:
                spans.append(WordSpan("".join(chars), start, end))
            chars = []
            continue
        if not chars:
            start = int(s)
        chars.append(token)
        end = int(e)
    if chars:
        spans.append(WordSpan("".join(chars), start, end))
    return tuple(spans)
