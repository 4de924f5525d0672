"""Best-path (greedy) CTC decoding, vectorised: argmax per frame, collapse repeats, drop blanks.

Works on whole shards of a store at once: one argmax over the memory-mapped array, runs found with array operations,
and Python touched only once per word and per utterance, never per frame.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from decoders.base import Decoder
from decoders.hypothesis import Hypothesis, WordSpan
from decoders.logprobs import check_logprobs
from decoders.store import LogitsStore


class GreedyDecoder(Decoder):
    name = "greedy"
    defaults = {}

    def __init__(self, config, vocabulary, lms=None) -> None:
        super().__init__(config, vocabulary)
        self._tokens = np.asarray(vocabulary.tokens, dtype=object)
        self._token_lengths = np.array([len(t) for t in vocabulary.tokens], dtype=np.int64)

    def _decode(self, logprobs: np.ndarray) -> Hypothesis:
        return self._decode_frames(logprobs, [(0, logprobs.shape[0])])[0]

    def decode_store(self, store: LogitsStore, on_progress: Callable[[int], None] | None = None) -> list[Hypothesis]:
        hypotheses = []
        for shard, utterances in store.by_shard():
            check_logprobs(shard, self.vocabulary.size, where=f"store {store.path}")
            hypotheses += self._decode_frames(shard, [(u.offset, u.offset + u.frames) for u in utterances])
            if on_progress:
                on_progress(len(utterances))
        return hypotheses

    def _decode_frames(self, frames: np.ndarray, spans: Sequence[tuple[int, int]]) -> list[Hypothesis]:
        """Decode the utterances at `spans` (consecutive frame ranges [a, b)) of one [N, V] array."""
        n = frames.shape[0]
        if n == 0:
            return [Hypothesis("", 0.0, 0.0, 0.0) for _ in spans]
        frames = np.asarray(frames)  # a plain view: indexing a np.memmap subclass is slower
        starts = np.array([a for a, _ in spans], dtype=np.int64)
        ends = np.array([b for _, b in spans], dtype=np.int64)
        best = frames.argmax(axis=1)
        cumulative = np.r_[0.0, np.cumsum(frames[np.arange(n), best], dtype=np.float64)]
        # Runs: maximal stretches of one label inside one utterance; each non-blank run emits its token once.
        run_start = np.ones(n, dtype=bool)
        run_start[1:] = best[1:] != best[:-1]
        run_start[starts[starts < n]] = True
        runs = np.flatnonzero(run_start)
        run_ends = np.r_[runs[1:], n]
        emitting = best[runs] != self.vocabulary.blank
        token, token_start, token_end = best[runs][emitting], runs[emitting], run_ends[emitting]
        token_utt = np.searchsorted(starts, token_start, side="right") - 1
        # Words: maximal stretches of non-delimiter tokens inside one utterance.
        is_space = token == self.vocabulary.delimiter
        new_word = np.r_[True, is_space[:-1] | (token_utt[1:] != token_utt[:-1])][~is_space]
        char, char_start, char_end, char_utt = (a[~is_space] for a in (token, token_start, token_end, token_utt))
        first = np.flatnonzero(new_word)
        last = np.r_[first[1:], char.shape[0]][: first.size] - 1
        text = "".join(self._tokens[char])
        offsets = np.r_[0, np.cumsum(self._token_lengths[char])]
        word_utt = char_utt[first]
        columns = (offsets[first], offsets[last + 1], char_start[first] - starts[word_utt],
                   char_end[last] - starts[word_utt])
        words = [WordSpan(text[i:j], s, e) for i, j, s, e in zip(*(c.tolist() for c in columns))]
        cut = np.searchsorted(word_utt, np.arange(len(spans) + 1)).tolist()
        hypotheses = []
        for u, score in enumerate((cumulative[ends] - cumulative[starts]).tolist()):
            utt_words = tuple(words[cut[u] : cut[u + 1]])
            hypotheses.append(Hypothesis(" ".join(w.word for w in utt_words), score, score, 0.0, utt_words))
        return hypotheses
