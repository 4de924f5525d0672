"""What a decoder returns for one utterance."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, NamedTuple

import numpy as np

from logits.vocabulary import normalize_transcript


class WordSpan(NamedTuple):
    """A decoded word and the frames it covers: `start` inclusive, `end` exclusive."""

    word: str
    start: int
    end: int


def frames_array(spans: Iterable[tuple[int, int]]) -> np.ndarray:
    """Word frames as a Hypothesis holds them: a read-only [words, 2] int32 array of (start, end) pairs."""
    array = np.array(list(spans), dtype=np.int32).reshape(-1, 2)
    array.flags.writeable = False
    return array


NO_FRAMES = frames_array([])


class ScoredText(NamedTuple):
    """A final hypothesis as a rescorer needs it: its text and the parts of its score, without word frames.

    `score` = `acoustic` + alpha * `lm_logprob` + beta * `lm_words` (+ hotword boosts). `lm_logprob` (natural log,
    before the weights) and `lm_words` (the words the LM scored) are None where the decoder does not report them.
    """

    text: str
    acoustic: float
    score: float
    lm_logprob: float | None = None
    lm_words: int | None = None


@dataclass(frozen=True, eq=False)
class Hypothesis:
    """The best transcript of one utterance.

    Scores are natural-log and present where the method has them: `acoustic_score` is the CTC log-probability part,
    `lm_score` everything the search added on top (weighted LM, word bonus, hotword boosts), `score` their sum.

    `word_frames` row i holds the frames of word i of `text.split()`, where the decoder reports frames (else it is
    empty). Words are kept as this one array and made into `WordSpan`s only when asked for: greedy decoding of a whole
    store would otherwise spend most of its time creating per-word Python objects that WER never looks at.
    """

    text: str
    score: float | None = None
    acoustic_score: float | None = None
    lm_score: float | None = None
    word_frames: np.ndarray = field(default_factory=lambda: NO_FRAMES)  # shared: it is read-only

    @property
    def words(self) -> tuple[WordSpan, ...]:
        if not len(self.word_frames):
            return ()
        pairs = self.word_frames.tolist()
        return tuple(WordSpan(w, s, e) for w, (s, e) in zip(self.text.split(), pairs, strict=True))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Hypothesis):
            return NotImplemented
        return (self.text, self.score, self.acoustic_score, self.lm_score) == (
            other.text, other.score, other.acoustic_score, other.lm_score
        ) and np.array_equal(self.word_frames, other.word_frames)

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "score": self.score,
            "acoustic_score": self.acoustic_score,
            "lm_score": self.lm_score,
            "words": [[w.word, w.start, w.end] for w in self.words],
        }


EMPTY = Hypothesis(text="", score=0.0, acoustic_score=0.0, lm_score=0.0)


def hypothesis_from_beam(beam: tuple) -> Hypothesis:
    """A Hypothesis from one beam of pyctcdecode's `decode_beams` (ctc-beam-decoder returns the same tuples):
    (text, last LM state, [(word, (start, end)), ...], logit score, combined score)."""
    text, _, word_frames, acoustic, total = beam
    return Hypothesis(
        text=normalize_transcript(text),
        score=float(total),
        acoustic_score=float(acoustic),
        lm_score=float(total - acoustic),
        word_frames=frames_array(frames for _, frames in word_frames),
    )
