"""Best-path (greedy) CTC decoding: argmax per frame, collapse repeats, drop blanks.

Works on whole shards of a store at once: every utterance of a shard in one call, the store's memory-mapped array read
in place, and Python touched once per utterance, never per frame or per word. The work is done by the compiled kernel
in decoders/native/best_path.cpp when it is built (`make install`), else by `best_paths_numpy`, the same algorithm in
array operations at about a fifth of the speed (tests hold the two to the same output).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from decoders.base import Decoder, ProgressCallback
from decoders.config import DecoderConfig
from decoders.factory import register_decoder
from decoders.hypothesis import Hypothesis
from logits.checks import check_logprobs, check_shape
from logits.errors import LogitsError
from logits.store import LogitsStore
from logits.vocabulary import Vocabulary


@dataclass(frozen=True)
class BestPaths:
    """Greedy transcripts of the utterances at frames [starts[u], ends[u]) of one array."""

    texts: list[str]
    scores: np.ndarray  # [utterances] float64: sum of each frame's best log-probability
    word_frames: np.ndarray  # [words, 2] int32: start, end (exclusive) of every word, utterance-relative
    word_offsets: np.ndarray  # [utterances + 1]: utterance u's words are rows word_offsets[u]:word_offsets[u + 1]
    bad_utterance: int = -1  # the first utterance with NaN/+inf or an all -inf frame (then nothing else is valid)

    def __post_init__(self) -> None:
        self.word_frames.flags.writeable = False  # every Hypothesis holds a view of it

    def hypotheses(self) -> list[Hypothesis]:
        cut = self.word_offsets.tolist()
        return [
            Hypothesis(text, score, score, 0.0, self.word_frames[cut[u] : cut[u + 1]])
            for u, (text, score) in enumerate(zip(self.texts, self.scores.tolist()))
        ]


Kernel = Callable[[np.ndarray, np.ndarray, np.ndarray], BestPaths]


@register_decoder
class GreedyDecoder(Decoder):
    name = "greedy"
    defaults = {}

    def __init__(self, config: DecoderConfig, vocabulary: Vocabulary, lms=None) -> None:
        super().__init__(config, vocabulary, lms)
        native = native_kernel(vocabulary)
        self.kernel = "compiled" if native else "numpy"
        self._kernel = native or numpy_kernel(vocabulary)

    def _decode(self, logprobs: np.ndarray) -> Hypothesis:
        # Decoder.decode has checked the values already.
        return self._kernel(logprobs, np.zeros(1, np.int64), np.array([logprobs.shape[0]], np.int64)).hypotheses()[0]

    def decode_store(self, store: LogitsStore, on_progress: ProgressCallback | None = None,
                     threads: int | None = None) -> list[Hypothesis]:
        hypotheses = []
        for shard, utterances in store.by_shard():
            shard = check_shape(shard, self.vocabulary.size, where=f"store {store.path}")
            starts = np.fromiter((u.offset for u in utterances), np.int64, len(utterances))
            ends = starts + np.fromiter((u.frames for u in utterances), np.int64, len(utterances))
            paths = self._kernel(shard, starts, ends)
            if paths.bad_utterance >= 0:
                for u in utterances[paths.bad_utterance :]:
                    check_logprobs(shard[u.offset : u.offset + u.frames], self.vocabulary.size,
                                   where=f"utterance {u.id!r} of {store.path}")
                raise LogitsError(f"store {store.path}: a shard holds NaN, +inf or an all -inf frame")
            hypotheses += paths.hypotheses()
            if on_progress:
                on_progress(len(utterances))
        return hypotheses


def native_kernel(vocabulary: Vocabulary) -> Kernel | None:
    """decoders/native/best_path.cpp for `vocabulary`, or None when the extension is not compiled here."""
    try:
        from decoders._kernels import best_paths
    except ImportError:
        return None
    pieces, word_starts = list(vocabulary.pieces), list(vocabulary.word_starts)

    def kernel(frames: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> BestPaths:
        # A float32 shard is read in place (a float16 one is converted on the way in).
        return BestPaths(*best_paths(frames, starts, ends, vocabulary.blank, word_starts, pieces))

    return kernel


def numpy_kernel(vocabulary: Vocabulary) -> Kernel:
    """The greedy algorithm in array operations, for machines without the compiled extension."""
    pieces = np.asarray(vocabulary.pieces, dtype=object)
    piece_lengths = np.array([len(p) for p in vocabulary.pieces], dtype=np.int64)
    word_starts = np.asarray(vocabulary.word_starts, dtype=bool)

    def kernel(frames: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> BestPaths:
        return best_paths_numpy(np.asarray(frames), starts, ends, vocabulary.blank, pieces, piece_lengths,
                                word_starts)

    return kernel


def best_paths_numpy(frames: np.ndarray, starts: np.ndarray, ends: np.ndarray, blank: int, pieces: np.ndarray,
                     piece_lengths: np.ndarray, word_starts: np.ndarray) -> BestPaths:
    """Decode the utterances at frames [starts[u], ends[u]) of `frames`, which lie end to end, in order."""
    n, count = frames.shape[0], len(starts)
    with np.errstate(invalid="ignore"):  # inf - inf: the NaN it makes is what the check looks for
        finite = np.isfinite(frames.sum(dtype=np.float64))
    if n and not finite:  # -inf is allowed, but not NaN, +inf or a row that is -inf throughout
        bad_rows = np.isnan(frames).any(axis=1) | np.isposinf(frames).any(axis=1) | np.isneginf(frames).all(axis=1)
        if bad_rows.any():
            bad = int(np.searchsorted(ends, np.flatnonzero(bad_rows)[0], side="right"))
            return BestPaths([], np.zeros(0), np.zeros((0, 2), np.int32), np.zeros(1, np.int64), bad_utterance=bad)
    best = frames.argmax(axis=1)
    cumulative = np.r_[0.0, np.cumsum(frames[np.arange(n), best], dtype=np.float64)]
    # Runs: maximal stretches of one label inside one utterance; each non-blank run emits its token once.
    run_start = np.ones(n, dtype=bool)
    run_start[1:] = best[1:] != best[:-1]
    run_start[starts[starts < n]] = True
    runs = np.flatnonzero(run_start)
    run_ends = np.r_[runs[1:], n]
    emitting = best[runs] != blank
    token, token_start, token_end = best[runs][emitting], runs[emitting], run_ends[emitting]
    token_utt = np.searchsorted(starts, token_start, side="right") - 1
    # Words: tokens that spell something, split where a token begins a word (a subword piece's mark), follows a
    # delimiter (a token that begins a word and spells nothing) or begins an utterance.
    is_space = piece_lengths[token] == 0
    new_word = (np.r_[True, is_space[:-1] | (token_utt[1:] != token_utt[:-1])] | word_starts[token])[~is_space]
    char, char_start, char_end, char_utt = (a[~is_space] for a in (token, token_start, token_end, token_utt))
    first = np.flatnonzero(new_word)
    last = np.r_[first[1:], char.shape[0]][: first.size] - 1
    letters = "".join(pieces[char])
    offsets = np.r_[0, np.cumsum(piece_lengths[char])].tolist()
    word_utt = char_utt[first]
    word_frames = np.stack([char_start[first] - starts[word_utt], char_end[last] - starts[word_utt]], axis=1)
    word_offsets = np.searchsorted(word_utt, np.arange(count + 1))
    words = [letters[offsets[i] : offsets[j + 1]] for i, j in zip(first.tolist(), last.tolist())]
    cut = word_offsets.tolist()
    return BestPaths(
        texts=[" ".join(words[cut[u] : cut[u + 1]]) for u in range(count)],
        scores=cumulative[ends] - cumulative[starts],
        word_frames=word_frames.astype(np.int32).reshape(-1, 2),
        word_offsets=word_offsets,
    )

