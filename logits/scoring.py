"""WER and CER with jiwer, over a whole store's references and hypotheses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import jiwer

from logits.errors import LabError


@dataclass(frozen=True)
class Scores:
    wer: float
    cer: float
    words: int
    utterances: int


def score(references: Sequence[str | None], hypotheses: Sequence[str]) -> Scores:
    """Corpus-level WER/CER (errors summed over utterances, divided by reference words/characters)."""
    pairs = [(r, h) for r, h in zip(references, hypotheses, strict=True) if r is not None]
    if not pairs:
        raise LabError("no utterance has a reference transcript, so WER cannot be computed")
    # jiwer rejects empty references; an utterance with an empty reference only adds insertions, which
    # corpus WER cannot normalise anyway, so it is left out (as jiwer users usually do).
    pairs = [(r, h) for r, h in pairs if r.strip()]
    refs = [r for r, _ in pairs]
    hyps = [h for _, h in pairs]
    return Scores(
        wer=float(jiwer.wer(refs, hyps)),
        cer=float(jiwer.cer(refs, hyps)),
        words=sum(len(r.split()) for r in refs),
        utterances=len(pairs),
    )
