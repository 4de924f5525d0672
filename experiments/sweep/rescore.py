"""Sweeps by rescoring: decode a store once (or at a few anchor weights) with N-best lists, then score every
(alpha, beta) of a grid by re-ranking those lists in numpy, as Kaldi tunes LM weights on lattices.

A beam search with shallow fusion ranks a final hypothesis by

    acoustic + alpha * lm + beta * words (+ hotword boosts, which depend on neither weight)

where `lm` is the natural-log LM probability of its words (KenLM's log10 scores times ln 10, an OOV word charged
`unk_score_offset`, `<s>`/`</s>` around it when `lm_score_boundary`) and `words` the words the LM scored. Both depend
on the text alone. fastbeam's search reports them with each hypothesis (`Decoder.scored_nbest`); for other N-best
decoders they are computed here, in Python, with the same KenLM model the decoder loaded (its `kenlm.Model` from the
LM cache), reproducing pyctcdecode 0.5.0's final-beam scoring (LanguageModel.score with is_last_word on the last
word). Whatever the search added besides (hotword boosts) is kept per hypothesis as an offset, measured at its
anchor: score = reported acoustic + reported LM part there, exactly.

Rescoring sees only the hypotheses the anchors' searches kept, so a far-off weight can prefer a text none of them
found: the rescored WER is an estimate, and a rescore sweep decodes its best few points exactly (experiments.sweep.run).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from decoders.base import Decoder
from decoders.constants import LN_10
from decoders.hypothesis import ScoredText
from experiments.sweep.grid import GridPoint
from lm.model import LoadedLM
from logits.errors import LabError
from logits.scoring import pair_errors, reference_size
from logits.store import LogitsStore

# How closely the LM part recomputed here must match the search's to be taken as the same scoring (the search sums
# float32 acoustic steps but its LM part in double; a hotword boost is a difference of 1e-2 or more).
_MATCH_TOLERANCE = 1e-6


class RescoreError(LabError):
    """A rescoring sweep asked for something it cannot do (a decoder without N-best lists, a bad anchor...)."""


# Weights at which the store is decoded with N-best lists: a grid point's (though it may lie off the grid).
Anchor = GridPoint


@dataclass(frozen=True)
class NBestTable:
    """Every anchor's N-best lists of a store, flattened: entry i is one hypothesis of utterance `utterance[i]`.

    Entries are in the order they were added: anchor by anchor, each utterance's list best first.
    """

    utterance: np.ndarray  # int64 [H]
    acoustic: np.ndarray  # float64 [H]: the search's acoustic (CTC) score
    lm: np.ndarray  # float64 [H]: natural-log LM log-prob of the text, as alpha weights it
    words: np.ndarray  # float64 [H]: the words the LM scored, as beta counts them
    offset: np.ndarray  # float64 [H]: the rest of the search's score at its anchor (hotword boosts; else 0)
    texts: tuple[str, ...]
    utterances: int
    anchors: tuple[Anchor, ...]
    seconds: float  # wall time of the anchors' searches

    def __len__(self) -> int:
        return len(self.texts)

    def scores(self, alphas: np.ndarray, betas: np.ndarray) -> np.ndarray:
        """[points, H]: each hypothesis's total score at each (alphas[p], betas[p])."""
        alphas = np.asarray(alphas, dtype=np.float64)[:, None]
        betas = np.asarray(betas, dtype=np.float64)[:, None]
        return self.acoustic + self.offset + alphas * self.lm + betas * self.words

    def choose(self, alphas: Sequence[float], betas: Sequence[float]) -> np.ndarray:
        """[points, utterances]: the entry each utterance's best hypothesis is at each point (first of ties)."""
        table = self._slots()
        present = table >= 0
        where = np.maximum(table, 0)
        # The parts laid out [utterances, slots] once, the weights broadcast over them: cheaper than scoring every
        # entry at every point and then gathering those scores into the layout.
        fixed = np.where(present, (self.acoustic + self.offset)[where], -np.inf)
        lm, words = np.where(present, self.lm[where], 0.0), np.where(present, self.words[where], 0.0)
        best = np.empty((len(alphas), self.utterances), dtype=np.int64)
        for p, (alpha, beta) in enumerate(zip(alphas, betas)):
            best[p] = (fixed + alpha * lm + beta * words).argmax(axis=1)
        return table[np.arange(self.utterances)[None, :], best]

    def _slots(self) -> np.ndarray:
        """[utterances, longest list]: entry indices of each utterance in the order they were added, -1 past its
        end (so a tie goes to the earlier anchor's, and within a list to the better-ranked hypothesis)."""
        order = np.argsort(self.utterance, kind="stable")
        counts = np.bincount(self.utterance, minlength=self.utterances)
        table = np.full((self.utterances, max(1, int(counts.max(initial=1)))), -1, dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        slot = np.arange(len(order)) - starts[self.utterance[order]]
        table[self.utterance[order], slot] = order
        return table

    def extended(self, other: "NBestTable") -> "NBestTable":
        """This table with `other`'s entries (lists of the same store at more anchors) added after its own."""
        if other.utterances != self.utterances:
            raise RescoreError(f"N-best lists of {other.utterances} utterances cannot join lists of "
                               f"{self.utterances}")
        join = np.concatenate
        return NBestTable(
            utterance=join([self.utterance, other.utterance]), acoustic=join([self.acoustic, other.acoustic]),
            lm=join([self.lm, other.lm]), words=join([self.words, other.words]),
            offset=join([self.offset, other.offset]), texts=self.texts + other.texts, utterances=self.utterances,
            anchors=self.anchors + other.anchors, seconds=self.seconds + other.seconds)


@dataclass(frozen=True)
class RescoredPoint:
    """One grid point's figures from re-ranking the N-best lists (not a decode)."""

    alpha: float
    beta: float
    wer: float | None
    cer: float | None


class LMScorer:
    """The unweighted LM part of pyctcdecode's score of a final hypothesis, from its text.

    pyctcdecode scores each completed word with KenLM's BaseScore (log10) from the previous state, adds
    `unk_score_offset` to a word outside the LM's words, and on the last word adds the end-of-sentence score from
    the state after it; all of that times ln 10 is what alpha multiplies, and beta is added once per scored word. A
    beam whose text ends in the word delimiter, and an empty one, finish by scoring the empty word "" (an OOV word to
    KenLM): `trailing` computes that variant.
    """

    def __init__(self, loaded: LoadedLM, unk_score_offset: float, boundary: bool) -> None:
        import kenlm

        self._kenlm = kenlm
        self._model = loaded.model
        self._words = frozenset(loaded.unigrams)
        self._unk = float(unk_score_offset)
        self._boundary = bool(boundary)
        self._cache: dict[tuple[str, bool], tuple[float, int]] = {}

    def score(self, text: str, trailing: bool = False) -> tuple[float, int]:
        """(natural-log LM score, scored words) of `text`."""
        key = (text, trailing)
        if key not in self._cache:
            words = text.split()
            if trailing or not words:
                words.append("")
            self._cache[key] = (self._score(words) * LN_10, len(words))
        return self._cache[key]

    def _score(self, words: list[str]) -> float:
        state, out = self._kenlm.State(), self._kenlm.State()
        if self._boundary:
            self._model.BeginSentenceWrite(state)
        else:
            self._model.NullContextWrite(state)
        total = 0.0
        for word in words:
            total += self._model.BaseScore(state, word, out)
            if word not in self._words or word not in self._model:
                total += self._unk
            state, out = out, state
        if self._boundary:
            total += self._model.BaseScore(state, "</s>", out)
        return total


def nbest_table(store: LogitsStore, decoder: Decoder, anchors: Sequence[Anchor], k: int, scorer: LMScorer,
                threads: int = 1, prepared: Sequence | None = None) -> tuple[NBestTable, dict[Anchor, list[str]]]:
    """Decode `store` with `decoder` at each anchor, keeping `k` hypotheses per utterance, on `threads` threads.
    `prepared` is what `prepare(store, decoder)` made of the store, when several calls search it.

    Returns the table and, per anchor, the texts of its best hypotheses (what a decode at the anchor gives).
    """
    if not decoder.nbest:
        raise RescoreError(f"decoder {decoder.name!r} gives no N-best lists to rescore; use --decoder fastbeam")
    if k < 1:
        raise RescoreError(f"--nbest must be >= 1, got {k}")
    started = time.perf_counter()
    arrays = prepare(store, decoder) if prepared is None else prepared
    lists: list[list[list[ScoredText]]] = []  # [anchor][utterance] -> hypotheses
    for anchor in anchors:
        weighted = decoder.reconfigure(alpha=anchor.alpha, beta=anchor.beta)
        lists.append(weighted.scored_nbest(arrays, k, threads=threads))
    seconds = time.perf_counter() - started

    utterance, acoustic, lm, words, offset, texts = [], [], [], [], [], []
    for u in range(len(store)):
        for anchor, per_anchor in zip(anchors, lists):
            for hypothesis in per_anchor[u]:
                raw, count, rest = _parts(hypothesis, anchor, scorer)
                utterance.append(u)
                acoustic.append(hypothesis.acoustic)
                lm.append(raw)
                words.append(count)
                offset.append(rest)
                texts.append(hypothesis.text)
    table = NBestTable(
        utterance=np.asarray(utterance, dtype=np.int64), acoustic=np.asarray(acoustic, dtype=np.float64),
        lm=np.asarray(lm, dtype=np.float64), words=np.asarray(words, dtype=np.float64),
        offset=np.asarray(offset, dtype=np.float64), texts=tuple(texts), utterances=len(store),
        anchors=tuple(anchors), seconds=seconds,
    )
    return table, {anchor: [hyps[0].text for hyps in per_anchor] for anchor, per_anchor in zip(anchors, lists)}


def prepare(store: LogitsStore, decoder: Decoder) -> Sequence:
    """The store's arrays as `decoder` (and any decoder reconfigured from it) searches them for N-best lists:
    prepared once for the searches at every anchor."""
    return decoder.prepare_nbest([logprobs for _, logprobs in store],
                                 [f"utterance {utt.id!r} of {store.path}" for utt in store.utterances])


def _parts(hypothesis: ScoredText, anchor: Anchor, scorer: LMScorer) -> tuple[float, int, float]:
    """(lm, words, offset) of one hypothesis found at `anchor`: the decoder's own LM parts where it reports them
    (fastbeam), else the LM scoring variant that reproduces the search's LM part there (a text the search ended with
    a delimiter scores an extra empty word); the offset is what is left over (hotword boosts)."""
    reported = hypothesis.score - hypothesis.acoustic
    if hypothesis.lm_logprob is not None and hypothesis.lm_words is not None:
        raw, count = hypothesis.lm_logprob, hypothesis.lm_words
        return raw, count, reported - anchor.alpha * raw - anchor.beta * count
    best = None
    for trailing in (False, True):
        raw, count = scorer.score(hypothesis.text, trailing)
        rest = reported - anchor.alpha * raw - anchor.beta * count
        if best is None or abs(rest) < abs(best[2]):
            best = (raw, count, rest)
        if abs(rest) <= _MATCH_TOLERANCE:
            break
    return best


def rescore(table: NBestTable, references: Sequence[str | None], alphas: Sequence[float],
            betas: Sequence[float], counted: dict[tuple[int, str], tuple[int, int]] | None = None
            ) -> list[RescoredPoint]:
    """WER and CER at each (alphas[p], betas[p]) when every utterance takes its best-scoring hypothesis there.

    Corpus rates by logits.scoring's rules (the same counts, hence the same numbers; None where no reference has
    a word). `counted` caches each (utterance, text)'s word and character errors across calls on growing tables.
    """
    if len(references) != table.utterances:
        raise RescoreError(f"{len(references)} references for N-best lists of {table.utterances} utterances")
    chosen = table.choose(alphas, betas)  # [points, U]
    word_errors, char_errors, ref_words, ref_chars, scored = _errors(table.utterance, table.texts, references,
                                                                     {} if counted is None else counted)
    points = []
    for p, (alpha, beta) in enumerate(zip(alphas, betas)):
        picks = chosen[p][scored]
        wer = float(word_errors[picks].sum() / ref_words) if ref_words else None
        cer = float(char_errors[picks].sum() / ref_chars) if ref_chars else None
        points.append(RescoredPoint(float(alpha), float(beta), wer, cer))
    return points


def corpus_rates(references: Sequence[str | None], texts: Sequence[str],
                 counted: dict[tuple[int, str], tuple[int, int]] | None = None) -> tuple[float | None, float | None]:
    """(WER, CER) of one text per utterance (a decode's) over the corpus, as logits.scoring computes them (the
    same error counts, hence the same numbers), from `counted` where `rescore` has counted them already."""
    if len(texts) != len(references):
        raise RescoreError(f"{len(texts)} texts for {len(references)} references")
    counted = {} if counted is None else counted
    word_errors, char_errors, ref_words, ref_chars, scored = _errors(np.arange(len(texts)), texts, references,
                                                                     counted)
    wer = float(word_errors[scored].sum() / ref_words) if ref_words else None
    cer = float(char_errors[scored].sum() / ref_chars) if ref_chars else None
    return wer, cer


def _errors(utterance: np.ndarray, texts: Sequence[str], references: Sequence[str | None],
            counted: dict[tuple[int, str], tuple[int, int]]):
    """Word and character errors of every (utterance, text) entry against its utterance's reference, the reference
    totals, and the utterances that count: logits.scoring's counts and rules (an empty reference counts, its
    hypothesis all insertions), by edit distance alone, which is all a rate needs."""
    word_errors = np.zeros(len(texts), dtype=np.int64)
    char_errors = np.zeros(len(texts), dtype=np.int64)
    for i, (u, text) in enumerate(zip(utterance.tolist(), texts)):
        reference = references[u]
        if reference is None:
            continue
        if (u, text) not in counted:
            counted[(u, text)] = pair_errors(reference, text)
        word_errors[i], char_errors[i] = counted[(u, text)]
    scored = np.array([r is not None for r in references], dtype=bool)
    sizes = [reference_size(r) for r in references if r is not None]
    return word_errors, char_errors, sum(w for w, _ in sizes), sum(c for _, c in sizes), scored


def default_anchors(alphas: Sequence[float], betas: Sequence[float]) -> tuple[Anchor, ...]:
    """One anchor a quarter of the way up the grid's alphas (rounded down) at its middle beta (the lower middle for
    an even count).

    Not the middle alpha: the optimum of a CTC model with a word n-gram lies in the lower part of the usual alpha
    ranges (pyctcdecode's default alpha is 0.5), and the search walks from the anchor only a few grid steps
    (experiments.sweep.search); `decode bench-sweep` measures both.
    """
    ordered_a, ordered_b = sorted(alphas), sorted(betas)
    return (Anchor(ordered_a[(len(ordered_a) - 1) // 4], ordered_b[(len(ordered_b) - 1) // 2]),)


def middle_anchor(alphas: Sequence[float], betas: Sequence[float]) -> Anchor:
    """The grid's middle point (the lower middle of an even count)."""
    ordered_a, ordered_b = sorted(alphas), sorted(betas)
    return Anchor(ordered_a[(len(ordered_a) - 1) // 2], ordered_b[(len(ordered_b) - 1) // 2])


def parse_anchors(specs: Sequence[str]) -> tuple[Anchor, ...]:
    """`["0.5,1", "1.0,2"]` -> anchors at (0.5, 1) and (1.0, 2)."""
    anchors = []
    for spec in specs:
        parts = spec.split(",")
        try:
            alpha, beta = (float(p) for p in parts)
        except ValueError:
            raise RescoreError(f"--anchor {spec!r}: expected ALPHA,BETA (e.g. 0.5,1.0)") from None
        if not (math.isfinite(alpha) and math.isfinite(beta)):
            raise RescoreError(f"--anchor {spec!r}: alpha and beta must be finite numbers")
        anchors.append(Anchor(alpha, beta))
    if len(set(anchors)) != len(anchors):
        raise RescoreError(f"--anchor repeats a point: {list(specs)}")
    return tuple(anchors)
