"""The search of a rescoring sweep, over a small world whose "decoder" keeps the top hypotheses of a fixed pool at
each weight: it decodes what promises better near what it has decoded, ranks by exact WER, and stops."""

from __future__ import annotations

import numpy as np
import pytest

from experiments.sweep.grid import Grid
from experiments.sweep.rescore import Anchor, NBestTable, RescoreError
from experiments.sweep.search import search_grid

REFERENCE = "the cat sat"
# (text, acoustic, lm, words): at alpha 0 the acoustically best text wins; the right text needs a strong LM.
POOL = [
    ("the cat sad", -1.0, -9.0, 3),
    ("the cats at", -1.5, -8.0, 3),
    ("the cat sat", -4.0, -6.0, 3),
]


class World:
    """A one-utterance store whose search at (alpha, beta) keeps the `keep` best texts of its pool there, and a log
    of where it was asked to decode."""

    def __init__(self, keep: int, pool=POOL) -> None:
        self.keep, self.pool, self.decoded = keep, pool, []

    def __call__(self, points):
        rows, tops = [], {}
        for point in points:
            self.decoded.append(point)
            ranked = sorted(self.pool, key=lambda h: -(h[1] + point.alpha * h[2] + point.beta * h[3]))[: self.keep]
            rows += ranked
            tops[point] = [ranked[0][0]]
        table = NBestTable(
            utterance=np.zeros(len(rows), dtype=np.int64), acoustic=np.array([r[1] for r in rows]),
            lm=np.array([r[2] for r in rows]), words=np.array([r[3] for r in rows], dtype=np.float64),
            offset=np.zeros(len(rows)), texts=tuple(r[0] for r in rows), utterances=1, anchors=tuple(points),
            seconds=0.0)
        return table, tops


GRID = Grid(alphas=(0.0, 0.5, 1.0, 1.5, 2.0, 2.5), betas=(0.0,))


def test_it_decodes_the_best_trusted_estimate_and_ranks_by_exact_wer():
    world = World(keep=3)  # every list holds the whole pool: estimates are exact
    found = search_grid(world, [REFERENCE], GRID, [Anchor(0.0, 0.0)], exact=3, radius=2)
    # "sad" wins below alpha 1 (1 error), "cats at" at 1 (2 errors), "sat" above (none).
    assert world.decoded[0] == Anchor(0.0, 0.0)
    assert found.exact[Anchor(0.0, 0.0)].wer == pytest.approx(1 / 3)
    # Within 2 steps of alpha 0 nothing promises better than the anchor's 1 error, so the search stops rather than
    # jump to alpha 1.5.
    assert world.decoded == [Anchor(0.0, 0.0)] and found.best == Anchor(0.0, 0.0)
    far = World(keep=3)
    found = search_grid(far, [REFERENCE], GRID, [Anchor(0.0, 0.0)], exact=3, radius=3)
    # Within 3 steps alpha 1.5 promises no errors: decoded, exact, best; then nothing promises better than 0 errors.
    assert far.decoded == [Anchor(0.0, 0.0), Anchor(1.5, 0.0)]
    assert found.best == Anchor(1.5, 0.0) and found.exact[Anchor(1.5, 0.0)].wer == 0.0
    assert [e.wer for e in found.estimates] == pytest.approx([1 / 3, 1 / 3, 2 / 3, 0.0, 0.0, 0.0])


def test_it_walks_towards_the_optimum_through_the_lists_each_decode_adds():
    # Each error fewer needs a stronger LM; a search keeps two texts, so the anchor's lists show one step of the way.
    pool = [("the bat mat", -1.0, -10.0, 3), ("the cat mat", -2.0, -9.0, 3), ("the cat sat", -3.9, -8.0, 3)]
    grid = Grid(alphas=(0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0), betas=(0.0,))
    world = World(keep=2, pool=pool)
    found = search_grid(world, [REFERENCE], grid, [Anchor(0.0, 0.0)], exact=2, radius=3)
    # alpha 0 keeps "bat mat" and "cat mat": "cat mat" wins from 1.5 on (1 error); decoded there, the lists gain
    # "cat sat", which wins from 2 on (0 errors): decoded, the best.
    assert world.decoded == [Anchor(0.0, 0.0), Anchor(1.5, 0.0), Anchor(2.0, 0.0)]
    assert [found.exact[p].wer for p in world.decoded] == pytest.approx([2 / 3, 1 / 3, 0.0])
    assert found.best == Anchor(2.0, 0.0)
    one = World(keep=2, pool=pool)
    assert search_grid(one, [REFERENCE], grid, [Anchor(0.0, 0.0)], exact=1, radius=3).best == Anchor(1.5, 0.0)


def test_an_estimate_that_decodes_worse_is_ranked_by_its_decode():
    class Optimist(World):
        """Its anchor lists hold "the cat sat" but a search at alpha 0.5 does not find it."""

        def __call__(self, points):
            table, tops = super().__call__(points)
            return table, {p: (["the cat sad"] if p == Anchor(0.5, 0.0) else t) for p, t in tops.items()}

    world = Optimist(keep=3)
    grid = Grid(alphas=(0.5, 2.0), betas=(0.0,))
    found = search_grid(world, [REFERENCE], grid, [Anchor(2.0, 0.0)], exact=2, radius=5)
    assert world.decoded == [Anchor(2.0, 0.0)]  # alpha 0.5 is estimated worse than the anchor's exact 0
    found = search_grid(Optimist(keep=3), [REFERENCE], grid, [Anchor(0.5, 0.0)], exact=2, radius=5)
    assert found.exact[Anchor(0.5, 0.0)].wer == pytest.approx(1 / 3)
    assert found.best == Anchor(2.0, 0.0)


def test_the_budget_of_exact_decodes_and_bad_arguments():
    world = World(keep=3)
    search_grid(world, [REFERENCE], GRID, [Anchor(0.0, 0.0)], exact=1, radius=99)
    assert len(world.decoded) == 2
    with pytest.raises(RescoreError, match="at least one anchor"):
        search_grid(world, [REFERENCE], GRID, [], exact=1)
    with pytest.raises(RescoreError, match="radius"):
        search_grid(world, [REFERENCE], GRID, [Anchor(0.0, 0.0)], exact=1, radius=0)
    unscored = search_grid(World(keep=3), [None], GRID, [Anchor(0.0, 0.0)], exact=3)
    assert unscored.best is None and len(unscored.decoded) == 1
