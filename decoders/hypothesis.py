"""What a decoder returns for one utterance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


class WordSpan(NamedTuple):
    """A decoded word and the frames it covers: `start` inclusive, `end` exclusive.

    A named tuple rather than a dataclass: greedy decoding makes one per word, and tuples are several times cheaper
    to create."""

    word: str
    start: int
    end: int


@dataclass(frozen=True)
class Hypothesis:
    """The best transcript of one utterance.

    Scores are natural-log and present where the method has them: `acoustic_score` is the CTC log-probability part,
    `lm_score` everything the search added on top (weighted LM, word bonus, hotword boosts), `score` their sum.
    """

    text: str
    score: float | None = None
    acoustic_score: float | None = None
    lm_score: float | None = None
    words: tuple[WordSpan, ...] = ()

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "score": self.score,
            "acoustic_score": self.acoustic_score,
            "lm_score": self.lm_score,
            "words": [[w.word, w.start, w.end] for w in self.words],
        }


EMPTY = Hypothesis(text="", score=0.0, acoustic_score=0.0, lm_score=0.0)
