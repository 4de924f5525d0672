"""The search of a rescoring sweep: which points to decode, given what re-ranking N-best lists says of the others.

    found = search_grid(decode, references, grid, anchors, exact=2)
    found.decoded    # {point: its decode's texts}, the anchors first
    found.estimates  # every grid point's re-ranked WER and CER

`decode(points)` decodes the store at those weights and returns the N-best lists (experiments.sweep.rescore.NBestTable)
and each point's best texts; this module knows nothing of stores, threads or results files, so the same search runs
in a sweep, on a Dask worker, or over lists computed beforehand.

The policy, and why. An estimate is only as good as the lists it re-ranks: near a decoded point they hold what a
search there keeps; far from every decoded point they miss what a search at those weights would find, and the
estimate can be off by whole WER points either way. So each round
- ranks every point decoded so far by its **exact** WER (its decode is known; its estimate is not needed),
- takes the best estimate among the points not decoded that lie within `radius` grid steps of a decoded one (the
  trust region), and decodes it only if it promises better than the best exact point;
- stops when no such point promises better, or after `exact` decodes.
Each decode adds its lists, so the next estimates around it are sharper, and the region grows around it: the search
walks towards the optimum a few steps at a time, as a trust-region method does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import numpy as np

from experiments.sweep.constants import DEFAULT_RADIUS
from experiments.sweep.grid import Grid, GridPoint
from experiments.sweep.rescore import Anchor, NBestTable, RescoredPoint, RescoreError, corpus_rates, rescore
from logits.scoring import rank_key

# Grid steps (in each axis, the larger counts) from a decoded point within which estimates are trusted.

Decode = Callable[[Sequence[Anchor]], tuple[NBestTable, Mapping[Anchor, Sequence[str]]]]


@dataclass(frozen=True)
class SearchResult:
    """What a rescoring search found: the points it decoded (anchors first, then in the order decoded) with their
    texts and exact scores, and every grid point's estimate from all the lists."""

    decoded: Mapping[Anchor, tuple[str, ...]]
    exact: Mapping[Anchor, RescoredPoint]  # the decoded points' exact WER and CER (not estimates)
    estimates: tuple[RescoredPoint, ...]  # per grid point, in the grid's order
    table: NBestTable  # every list re-ranked

    @property
    def best(self) -> Anchor | None:
        """The decoded point of lowest exact WER (ties: lower CER, then smaller weights), None without references."""
        scored = [p for p in self.exact.values() if p.wer is not None]
        if not scored:
            return None
        best = min(scored, key=_order)
        return Anchor(best.alpha, best.beta)


def search_grid(decode: Decode, references: Sequence[str | None], grid: Grid, anchors: Sequence[Anchor],
                exact: int, radius: float = DEFAULT_RADIUS) -> SearchResult:
    """Decode at `anchors`, then up to `exact` times the best trusted estimate that promises better than every
    point decoded so far (module docstring); return what was decoded and the final estimates."""
    if not anchors:
        raise RescoreError("a rescoring sweep needs at least one anchor")
    if radius <= 0:
        raise RescoreError(f"the trust radius must be > 0 grid steps, got {radius}")
    points = grid.points
    place = _Places(grid)
    counted: dict = {}  # errors of each (utterance, text): the table grows, its texts repeat
    decoded: dict[Anchor, tuple[str, ...]] = {}
    exact_scores: dict[Anchor, RescoredPoint] = {}

    def add(at: Sequence[Anchor], table: NBestTable | None) -> NBestTable:
        found, tops = decode(at)
        for point in at:
            texts = tuple(tops[point])
            decoded[point] = texts
            exact_scores[point] = RescoredPoint(point.alpha, point.beta, *corpus_rates(references, texts, counted))
        return found if table is None else table.extended(found)

    table = add(list(anchors), None)
    estimates = rescore(table, references, [p.alpha for p in points], [p.beta for p in points], counted)
    for _ in range(exact):
        following = _next_point(points, estimates, exact_scores, place, radius)
        if following is None:
            break
        table = add([following], table)
        estimates = rescore(table, references, [p.alpha for p in points], [p.beta for p in points], counted)
    return SearchResult(decoded=dict(decoded), exact=dict(exact_scores), estimates=tuple(estimates), table=table)


def _next_point(points: Sequence[GridPoint], estimates: Sequence[RescoredPoint],
                exact: Mapping[Anchor, RescoredPoint], place: "_Places", radius: float) -> Anchor | None:
    """The undecoded grid point to decode next: the best estimate in the trust region, if it beats the best exact
    point (by WER, then CER); None when nothing does."""
    scored = [p for p in exact.values() if p.wer is not None]
    incumbent = min(scored, key=_order) if scored else None
    around = np.array([place.of(p) for p in exact])
    candidates = []
    for point, estimate in zip(points, estimates):
        anchor = Anchor(point.alpha, point.beta)
        if anchor in exact or estimate.wer is None:
            continue
        if np.abs(around - place.of(anchor)).max(axis=1).min() > radius + 1e-9:
            continue
        candidates.append(estimate)
    if not candidates:
        return None
    best = min(candidates, key=_order)
    if incumbent is not None and _order(best)[:2] >= _order(incumbent)[:2]:
        return None
    return Anchor(best.alpha, best.beta)


class _Places:
    """A point's position in grid steps: its rank along each axis, interpolated for weights off the grid."""

    def __init__(self, grid: Grid) -> None:
        self._alphas, self._betas = np.asarray(sorted(grid.alphas)), np.asarray(sorted(grid.betas))

    def of(self, point: GridPoint) -> tuple[float, float]:
        return (_rank(self._alphas, point.alpha), _rank(self._betas, point.beta))


def _rank(values: np.ndarray, value: float) -> float:
    if len(values) == 1:
        return 0.0 if value == values[0] else float("inf")
    # Beyond the ends, extrapolate with the end step.
    if value < values[0]:
        return (value - values[0]) / (values[1] - values[0])
    if value > values[-1]:
        return len(values) - 1 + (value - values[-1]) / (values[-1] - values[-2])
    return float(np.interp(value, values, np.arange(len(values))))


def _order(point: RescoredPoint) -> tuple:
    """Best first, as results rank (logits.scoring.rank_key)."""
    return rank_key(point.wer, point.cer, point.alpha, point.beta)
