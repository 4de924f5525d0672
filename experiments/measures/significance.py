"""Is B better than A? The paired bootstrap over utterances (Bisani & Ney, 2004).

Both systems decoded the same utterances; resampling utterances with replacement (the same draw for both) gives the
distribution of the WER difference, its 95% confidence interval and the probability that B improves on A.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from logits.errors import LabError
from logits.files import json_shape, read_utf8_text
from logits.scoring import count

RESAMPLES = 10_000
_CHUNK = 1_000  # resamples drawn at a time: bounds memory for large sets


@dataclass(frozen=True)
class Comparison:
    utterances: int
    words: int
    wer_a: float
    wer_b: float
    delta_wer: float  # wer_b - wer_a: negative when B is better
    ci95: tuple[float, float]  # of delta_wer
    p_improvement: float  # share of resamples in which B's WER is below A's
    resamples: int
    seed: int

    @property
    def significant(self) -> bool:
        """The 95% interval of the difference excludes zero."""
        return self.ci95[0] > 0 or self.ci95[1] < 0

    def to_dict(self) -> dict:
        return asdict(self) | {"ci95": list(self.ci95), "significant": self.significant}


def utterance_errors(references: Sequence[str | None], hypotheses: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Word errors and reference words of each utterance with a reference (logits.scoring's counts), so a bootstrap's
    point WER is the scorer's."""
    found = count(references, hypotheses)
    return found.word_errors, found.words


def paired_bootstrap(references: Sequence[str], hypotheses_a: Sequence[str], hypotheses_b: Sequence[str],
                     resamples: int = RESAMPLES, seed: int = 0) -> Comparison:
    """WER of A and B on the same utterances, and the bootstrap distribution of B - A."""
    if not len(references):
        raise LabError("nothing to compare: no utterances")
    errors_a, words = utterance_errors(references, hypotheses_a)
    errors_b, _ = utterance_errors(references, hypotheses_b)
    return bootstrap_errors(errors_a, errors_b, words, resamples, seed)


def bootstrap_errors(errors_a: np.ndarray, errors_b: np.ndarray, words: np.ndarray, resamples: int = RESAMPLES,
                     seed: int = 0) -> Comparison:
    """The paired bootstrap from per-utterance word errors of A and B and reference word counts."""
    if words.sum() == 0:
        raise LabError("nothing to compare: the references have no words")
    rng = np.random.default_rng(seed)
    deltas = []
    for start in range(0, resamples, _CHUNK):
        draw = rng.integers(0, len(words), size=(min(_CHUNK, resamples - start), len(words)))
        total = np.maximum(words[draw].sum(axis=1), 1)
        deltas.append((errors_b[draw].sum(axis=1) - errors_a[draw].sum(axis=1)) / total)
    delta = np.concatenate(deltas)
    wer_a, wer_b = errors_a.sum() / words.sum(), errors_b.sum() / words.sum()
    low, high = np.percentile(delta, [2.5, 97.5])
    return Comparison(len(words), int(words.sum()), float(wer_a), float(wer_b), float(wer_b - wer_a),
                      (float(low), float(high)), float(np.mean(delta < 0)), resamples, seed)


def read_hypotheses(path: str | Path) -> dict[str, tuple[str | None, str]]:
    """id -> (reference, hypothesis) of a JSONL file written by `decode run --out` (or `best_hypotheses.jsonl`)."""
    path = Path(path)
    rows: dict[str, tuple[str | None, str]] = {}
    first_line: dict[str, int] = {}
    expected = "a JSON object with id, reference and hypothesis (a line of `decode run --out`)"
    for number, line in enumerate(read_utf8_text(path, "hypothesis file").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LabError(f"{path}:{number}: expected {expected}, found text that is not JSON ({exc.msg})") from exc
        if not isinstance(row, dict) or not {"id", "hypothesis"} <= set(row):
            raise LabError(f"{path}:{number}: expected {expected}, found {json_shape(row)}")
        kinds_ok = (isinstance(row["id"], (str, int)) and not isinstance(row["id"], bool)
                    and isinstance(row["hypothesis"], str) and isinstance(row.get("reference"), (str, type(None))))
        if not kinds_ok:
            raise LabError(f"{path}:{number}: expected id a string, hypothesis a string and reference a string or "
                           f"null, found {json_shape(row)}")
        ident = str(row["id"])
        if ident in rows:
            raise LabError(f"{path}:{number}: utterance {ident!r} appears a second time (first on line "
                           f"{first_line[ident]}); a hypothesis file holds each utterance once")
        rows[ident], first_line[ident] = (row.get("reference"), row["hypothesis"]), number
    if not rows:
        raise LabError(f"hypothesis file {path} holds no hypotheses; expected {expected} per line")
    return rows


def compare_files(a: str | Path, b: str | Path, resamples: int = RESAMPLES, seed: int = 0) -> Comparison:
    """The paired bootstrap of two hypothesis files of the same utterances (matched by id)."""
    rows_a, rows_b = read_hypotheses(a), read_hypotheses(b)
    if set(rows_a) != set(rows_b):
        only = sorted(set(rows_a) ^ set(rows_b))
        raise LabError(f"{a} and {b} hold different utterances ({len(only)} in one only, e.g. {only[0]!r}); compare "
                       "decodes of the same store")
    ids = sorted(rows_a)
    references = [rows_a[i][0] for i in ids]
    if any(r is None for r in references):
        raise LabError(f"{a} has utterances without a reference; WER needs references")
    mismatched = [i for i in ids if rows_b[i][0] is not None and rows_b[i][0] != rows_a[i][0]]
    if mismatched:
        raise LabError(f"{a} and {b} disagree on the reference of {mismatched[0]!r}: not the same store")
    return paired_bootstrap(references, [rows_a[i][1] for i in ids], [rows_b[i][1] for i in ids], resamples, seed)


def tied_with_best(db, results, resamples: int = 1000, seed: int = 0) -> frozenset[str]:
    """Keys of a run's points whose WER difference to the best point is not significant (its 95% interval holds
    zero): on this data they are as good as the best, whatever the table's order says."""
    best = results.best
    if best is None:
        return frozenset()
    rows = db.hypotheses(best.key)
    references = [row["reference"] for row in rows]
    if any(r is None for r in references):
        return frozenset()
    errors_best, words = utterance_errors(references, [row["hypothesis"] for row in rows])
    tied = {best.key}
    for point in results.points:
        if point.key == best.key or point.wer is None:
            continue
        errors, _ = utterance_errors(references, [row["hypothesis"] for row in db.hypotheses(point.key)])
        if not bootstrap_errors(errors_best, errors, words, resamples, seed).significant:
            tied.add(point.key)
    return frozenset(tied)


def wer_interval(references: Sequence[str], hypotheses: Sequence[str], resamples: int = 2000,
                 seed: int = 0) -> tuple[float, float]:
    """95% bootstrap interval of one system's corpus WER (utterances resampled)."""
    errors, words = utterance_errors(references, hypotheses)
    if words.sum() == 0:
        return (float("nan"), float("nan"))
    draw = np.random.default_rng(seed).integers(0, len(words), size=(resamples, len(words)))
    rates = errors[draw].sum(axis=1) / np.maximum(words[draw].sum(axis=1), 1)
    low, high = np.percentile(rates, [2.5, 97.5])
    return float(low), float(high)
