"""Where the word errors are: substitutions, deletions and insertions, the most frequent confusions, the words one
decoder fixed or broke relative to another, and the error rate on words outside the LM's vocabulary.

Built on logits.scoring's word alignment of each reference with its hypothesis (so its WER is the scorer's).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Collection, Sequence

from logits.scoring import word_alignment


@dataclass(frozen=True)
class ErrorAnalysis:
    words: int  # reference words
    substitutions: int
    deletions: int
    insertions: int
    confusions: tuple[tuple[str, str, int], ...]  # (reference word, hypothesis word, count), most frequent first
    deleted: tuple[tuple[str, int], ...]
    inserted: tuple[tuple[str, int], ...]
    oov_words: int | None = None  # reference words outside the LM's vocabulary (when one was given)
    oov_errors: int | None = None  # ... of which the hypothesis did not get right

    @property
    def wer(self) -> float:
        return (self.substitutions + self.deletions + self.insertions) / self.words if self.words else 0.0

    @property
    def oov_error_rate(self) -> float | None:
        if not self.oov_words:
            return None
        return self.oov_errors / self.oov_words

    def confusion_frame(self):
        """The confusions as a pandas DataFrame (reference, hypothesis, count), for notebooks."""
        import pandas as pd

        return pd.DataFrame(self.confusions, columns=["reference", "hypothesis", "count"])


@dataclass(frozen=True)
class Changes:
    """Reference words a system got right that a baseline got wrong (fixed), and the reverse (broken)."""

    fixed_total: int
    broken_total: int
    fixed: tuple[tuple[str, int], ...]  # the most frequent
    broken: tuple[tuple[str, int], ...]


def correct_positions(reference: str, hypothesis: str) -> set[int]:
    """Indices of the reference words the hypothesis got right (aligned as equal)."""
    return {i for tag, r0, r1, _, _ in word_alignment(reference, hypothesis) if tag == "equal" for i in range(r0, r1)}


def analyse_errors(references: Sequence[str], hypotheses: Sequence[str], vocabulary: Collection[str] | None = None,
                   top: int = 10) -> ErrorAnalysis:
    """Error counts and the `top` most frequent confusions, deletions and insertions; with the LM's `vocabulary`,
    the error rate on the reference words it does not hold."""
    confusions, deleted, inserted = Counter(), Counter(), Counter()
    words = subs = dels = ins = oov = oov_wrong = 0
    for reference, hypothesis in zip(references, hypotheses, strict=True):
        ref, hyp = reference.split(), hypothesis.split()
        words += len(ref)
        right = set()
        for tag, r0, r1, h0, h1 in word_alignment(reference, hypothesis):
            r, h = ref[r0:r1], hyp[h0:h1]
            if tag == "equal":
                right.update(range(r0, r1))
            elif tag == "replace":
                subs += len(r)
                confusions.update(zip(r, h))
            elif tag == "delete":
                dels += len(r)
                deleted.update(r)
            elif tag == "insert":
                ins += len(h)
                inserted.update(h)
        if vocabulary is not None:
            outside = [i for i, word in enumerate(ref) if word not in vocabulary]
            oov += len(outside)
            oov_wrong += sum(i not in right for i in outside)
    return ErrorAnalysis(
        words, subs, dels, ins,
        tuple((r, h, n) for (r, h), n in confusions.most_common(top)),
        tuple(deleted.most_common(top)), tuple(inserted.most_common(top)),
        oov if vocabulary is not None else None, oov_wrong if vocabulary is not None else None,
    )


def compare_errors(references: Sequence[str], baseline: Sequence[str], system: Sequence[str],
                   top: int = 10) -> Changes:
    """The reference words `system` fixed and broke relative to `baseline` (greedy, say), most frequent first."""
    fixed, broken = Counter(), Counter()
    for reference, before, after in zip(references, baseline, system, strict=True):
        ref = reference.split()
        right_before, right_after = correct_positions(reference, before), correct_positions(reference, after)
        fixed.update(ref[i] for i in right_after - right_before)
        broken.update(ref[i] for i in right_before - right_after)
    return Changes(sum(fixed.values()), sum(broken.values()), tuple(fixed.most_common(top)),
                   tuple(broken.most_common(top)))


def describe(analysis: ErrorAnalysis, changes: Changes, system: str = "B", baseline: str = "A") -> list[str]:
    """The analysis as lines for a terminal."""
    lines = [f"{system}'s errors: {analysis.substitutions} substitutions, {analysis.deletions} deletions, "
             f"{analysis.insertions} insertions of {analysis.words} words"]
    if analysis.oov_words is not None:
        rate = "-" if analysis.oov_error_rate is None else f"{100 * analysis.oov_error_rate:.1f}%"
        lines.append(f"words outside the LM: {analysis.oov_words}, of which {system} got {analysis.oov_errors} wrong "
                     f"({rate})")
    lines.append(f"top confusions (reference -> {system}): "
                 + ", ".join(f"{r}->{h} x{n}" for r, h, n in analysis.confusions))
    lines.append(f"{system} fixed {changes.fixed_total} words {baseline} got wrong (most often: "
                 + ", ".join(f"{w} x{n}" for w, n in changes.fixed) + f"); broke {changes.broken_total} ("
                 + ", ".join(f"{w} x{n}" for w, n in changes.broken) + ")")
    return lines
