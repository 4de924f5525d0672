"""WER and CER, the one way every command and layer of the lab computes them, and the one ranking of results.

The rules:
- normalisation: whitespace runs collapsed to one space, the ends stripped; nothing else (no case folding, no
  punctuation removal: transcripts and hypotheses are already in the model's alphabet);
- alignment: jiwer's (process_words, process_characters: minimal Levenshtein edits) of the words, and of the
  characters (the spaces between words included); rescoring counts the same edit distances itself with rapidfuzz,
  the library jiwer aligns with (`pair_errors`: thousands of N-best texts per point), and tests hold the two equal;
- a reference of None (no transcript) is not scored; an empty reference is: its hypothesis's words (characters)
  count as insertions and it adds nothing to the reference words (characters), as NIST's sclite scores it;
- corpus rates: errors summed over the scored utterances, divided by the reference words (characters) summed.

    found = count(references, hypotheses)   # per-utterance arrays, for bootstraps
    found.scores()                          # == score(references, hypotheses): Scores(wer, cer, counts...)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from logits.errors import LabError


def normalise(text: str) -> str:
    """`text` as it is scored: whitespace runs collapsed to one space, the ends stripped."""
    return " ".join(text.split())


# jiwer's names of alignment chunks -> the opcode tags the analyses read.
_TAGS = {"equal": "equal", "substitute": "replace", "delete": "delete", "insert": "insert"}


def word_alignment(reference: str, hypothesis: str) -> list[tuple[str, int, int, int, int]]:
    """The word alignment as opcodes (tag, ref start, ref end, hyp start, hyp end), tags equal, replace, delete
    and insert, over the normalised texts' words."""
    chunks = _jiwer().process_words(normalise(reference), normalise(hypothesis)).alignments[0]
    return [(_TAGS[c.type], c.ref_start_idx, c.ref_end_idx, c.hyp_start_idx, c.hyp_end_idx) for c in chunks]


def pair_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(word errors, character errors) of one hypothesis against its reference: the edit distances of the
    normalised texts (an empty reference: every hypothesis word and character inserted)."""
    from rapidfuzz.distance import Levenshtein

    return (Levenshtein.distance(reference.split(), hypothesis.split()),
            Levenshtein.distance(normalise(reference), normalise(hypothesis)))


def reference_size(reference: str) -> tuple[int, int]:
    """(words, characters) of a reference as scoring divides by them."""
    return len(reference.split()), len(normalise(reference))


@dataclass(frozen=True)
class Scores:
    """Corpus figures of one system, WER first; `words` and `chars` are the reference totals."""

    wer: float
    cer: float
    word_errors: int
    words: int
    char_errors: int
    chars: int
    utterances: int  # scored: those with a reference (empty ones included)
    substitutions: int
    deletions: int
    insertions: int


@dataclass(frozen=True, eq=False)
class UtteranceCounts:
    """Per-utterance counts of the scored utterances (reference not None), in input order; `index` is each one's
    position in the input. Sums of these are what Scores reports."""

    index: np.ndarray  # int64 [scored]
    word_errors: np.ndarray
    words: np.ndarray
    char_errors: np.ndarray
    chars: np.ndarray
    substitutions: np.ndarray
    deletions: np.ndarray
    insertions: np.ndarray

    def __len__(self) -> int:
        return len(self.index)

    def scores(self) -> Scores:
        """The corpus rates; a LabError when no reference has a word to divide by."""
        if not len(self.index):
            raise LabError("no utterance has a reference transcript, so WER cannot be computed")
        words, chars = int(self.words.sum()), int(self.chars.sum())
        if words == 0:
            raise LabError(f"all {len(self.index)} reference transcripts are empty, so WER cannot be computed "
                           "(a hypothesis for an empty reference only adds insertions)")
        word_errors, char_errors = int(self.word_errors.sum()), int(self.char_errors.sum())
        return Scores(wer=word_errors / words, cer=char_errors / chars, word_errors=word_errors, words=words,
                      char_errors=char_errors, chars=chars, utterances=len(self.index),
                      substitutions=int(self.substitutions.sum()), deletions=int(self.deletions.sum()),
                      insertions=int(self.insertions.sum()))


def count(references: Sequence[str | None], hypotheses: Sequence[str]) -> UtteranceCounts:
    """The error counts of every utterance with a reference (the module's rules), from jiwer's alignments."""
    jiwer = _jiwer()
    rows = []
    for i, (reference, hypothesis) in enumerate(zip(references, hypotheses, strict=True)):
        if reference is None:
            continue
        ref, hyp = normalise(reference), normalise(hypothesis)
        words, chars = jiwer.process_words(ref, hyp), jiwer.process_characters(ref, hyp)
        edits = (words.substitutions, words.deletions, words.insertions)
        rows.append((i, sum(edits), len(ref.split()), chars.substitutions + chars.deletions + chars.insertions,
                     len(ref), *edits))
    columns = np.asarray(rows, dtype=np.int64).reshape(-1, 8).T
    return UtteranceCounts(*columns)


def _jiwer():
    import jiwer  # imported on first use: the store layer stays quick to import

    return jiwer


def score(references: Sequence[str | None], hypotheses: Sequence[str]) -> Scores:
    """Corpus WER/CER (and the counts behind them) of `hypotheses` against `references`."""
    return count(references, hypotheses).scores()


def rank_key(wer: float | None, cer: float | None, alpha: float | None = None, beta: float | None = None,
             key: str = "") -> tuple:
    """The ranking of results, best first: lower WER, then lower CER, then lower alpha, then lower beta, then the
    result key (so points alike in all of these keep one order); a missing figure ranks after any present one."""
    def last(value):
        return math.inf if value is None else value

    return (last(wer), last(cer), last(alpha), last(beta), key)
