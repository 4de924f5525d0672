"""What the sweep's plots claim: the heatmap's colour scale, and a Pareto front only where the times tell points
apart (hand-made points with known times)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from decoders.config import DecoderConfig
from experiments.sweep.report import PARETO_TIME_RATIO, colour_range, pareto_front, time_noise


@dataclass(frozen=True)
class Timed:
    """The two fields the front reads, and the config `time_noise` groups by."""

    seconds: float
    wer: float | None
    config: DecoderConfig = DecoderConfig("beam")

    @property
    def decoder(self) -> str:
        return self.config.name


def beam(seconds: float, wer: float, **params) -> Timed:
    return Timed(seconds, wer, DecoderConfig("beam", params))


def test_the_colour_scale_spans_the_region_near_the_best_not_the_worst_corner():
    # 12 cells near the optimum (5.6-6.6%) and a far corner at 40%: the old scale gave the near ones one shade.
    wer = np.array([[5.6, 5.7, 5.8, 6.0], [6.1, 6.2, 6.3, 6.4], [6.5, 6.6, 20.0, 40.0]])
    low, high = colour_range(wer)
    assert low == 5.6 and high == pytest.approx(np.quantile(wer, 0.75)) == pytest.approx(6.525)
    assert (high - low) / (40.0 - low) < 0.03  # the far cells are clipped ("worse"), the near ones get the colours


def test_the_colour_scale_ignores_cells_not_computed_and_falls_back_on_ties():
    assert colour_range(np.array([[np.nan, 2.0], [3.0, 9.0]])) == (2.0, pytest.approx(6.0))
    # Most cells tie with the best: the 75th percentile is the best itself, so the scale runs to the worst.
    assert colour_range(np.array([[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 4.0]])) == (0.0, 4.0)
    low, high = colour_range(np.array([[3.0, 3.0], [3.0, np.nan]]))
    assert low == 3.0 and high > low  # one WER everywhere: a valid (one-shade) scale


def test_the_front_keeps_only_points_measurably_faster_than_the_next_more_accurate():
    points = [Timed(1.0, 0.10), Timed(1.1, 0.09), Timed(1.3, 0.08), Timed(5.0, 0.05), Timed(6.0, 0.07)]
    assert pareto_front(points) == points[:4]  # ratio 1: every non-dominated point
    # 1.1 s is within 20% of 1.3 s: noise; 1.0 s is 1.3x faster than 1.3 s: a trade-off.
    assert pareto_front(points, 1.2) == [points[0], points[2], points[3]]
    assert pareto_front(points, 10.0) == [points[3]]  # nothing that much faster: the most accurate alone
    assert pareto_front([Timed(1.0, None)], 1.2) == []


def test_no_front_when_every_time_is_within_the_noise():
    noisy = [Timed(2.00, 0.12), Timed(2.10, 0.11), Timed(2.25, 0.10), Timed(1.95, 0.13)]
    assert pareto_front(noisy, PARETO_TIME_RATIO) == [noisy[2]]


def test_time_noise_is_the_stated_ratio_or_the_spread_of_points_that_differ_only_in_lm_weights():
    assert time_noise([beam(1.0, 0.1, alpha=0.5, beam_width=2), beam(10.0, 0.05, alpha=0.5, beam_width=16)]) == \
        PARETO_TIME_RATIO  # no two points share a search: the stated threshold
    # Same beam width, other LM weights: 2.0 s and 3.0 s are the same work, so times within 1.5x are noise.
    spread = [beam(2.0, 0.1, alpha=0.5, beam_width=2), beam(3.0, 0.09, alpha=1.0, beam_width=2),
              beam(9.0, 0.05, alpha=0.5, beam_width=16), beam(9.9, 0.05, alpha=1.0, beam_width=16)]
    assert time_noise(spread) == pytest.approx(np.median([1.5, 1.1]))
    tight = [beam(2.0, 0.1, alpha=0.5), beam(2.02, 0.1, alpha=1.0)]
    assert time_noise(tight) == PARETO_TIME_RATIO  # never below the stated ratio
