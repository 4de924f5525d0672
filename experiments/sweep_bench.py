"""What a sweep by rescoring costs and loses against the exhaustive grid, on one store (`decode bench-sweep`).

    from experiments.sweep_bench import bench_sweep
    result = bench_sweep("data/heldout-store", "lm/build/4gram.bin", work_dir="runs/bench-sweep/heldout-store")

Measured, in this order, on the same store, LM and grid:

- one_decode_seconds: wall time of one fastbeam decode of the whole store (`evaluate`, the decoder's threads on every
  usable core) at the grid's middle point; the median of `repeats`;
- the exhaustive grid: `sweep(method="grid")`, every point decoded; its best exact WER is the yardstick, and its
  results give the exact WER of any grid point (decoding is deterministic);
- the rescoring sweep as a user runs it: `sweep(method="rescore")` with the defaults (one anchor at the grid's middle,
  DEFAULT_NBEST, DEFAULT_EXACT) into a fresh run directory: its wall time (`sweep_seconds`, reports and heatmap
  included) and its decoding work (`work_seconds`: the N-best decode, re-ranking and exact decodes);
- variants: for each N-best size and each anchor set, the N-best decode and re-ranking timed, then the points it would
  decode exactly (its anchors on the grid and its `exact` best estimates) looked up in the exhaustive grid: the
  chosen point's exact WER and its gap to the exhaustive best.
"""

from __future__ import annotations

import shutil
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

from decoders.config import DecoderConfig
from decoders.factory import build_decoder
from experiments.evaluate import evaluate
from experiments.grid import Grid
from experiments.rescore import (
    DEFAULT_EXACT,
    Anchor,
    LMScorer,
    default_anchors,
    nbest_table,
    rescore,
)
from experiments.sweep import sweep
from lm.model import LanguageModelCache
from logits.store import LogitsStore

GRID_ALPHAS = "0.1:1.9:0.2"
GRID_BETAS = "0:4.5:0.5"
NBESTS = (8, 32, 128)

Say = Callable[[str], None]


def _quiet(message: str) -> None:
    pass


@dataclass(frozen=True)
class Variant:
    """One N-best size and anchor set: its cost and the exact WER of the point it would choose."""

    nbest: int
    anchors: tuple[tuple[float, float], ...]
    anchor_set: str  # its name in the table
    hypotheses: int  # entries of the N-best table
    nbest_seconds: float  # the anchors' N-best decodes
    rescore_seconds: float  # re-ranking the whole grid
    exact_decodes: int  # points it decodes besides its anchors
    best_rescored_wer: float | None
    chosen_alpha: float
    chosen_beta: float
    chosen_wer: float  # exact (from the exhaustive grid)
    gap: float  # chosen_wer - the exhaustive best, in WER (0.003 = 0.3 points)


@dataclass(frozen=True)
class SweepBench:
    store: str
    utterances: int
    lm: str
    alphas: tuple[float, ...]
    betas: tuple[float, ...]
    one_decode_seconds: float
    grid_seconds: float
    grid_best: tuple[float, float, float]  # alpha, beta, WER
    sweep_seconds: float  # the default rescoring sweep, reports included
    work_seconds: float  # its N-best decode, re-ranking and exact decodes
    sweep_chosen: tuple[float, float, float]  # alpha, beta, exact WER
    sweep_best_rescored_wer: float | None
    variants: tuple[Variant, ...]

    @property
    def work_ratio(self) -> float:
        return self.work_seconds / self.one_decode_seconds

    def to_dict(self) -> dict:
        return asdict(self) | {"work_ratio": self.work_ratio}


def anchor_sets(alphas: Sequence[float], betas: Sequence[float]) -> dict[str, tuple[Anchor, ...]]:
    """The anchor sets the variants try: the grid's middle (the default); two along alpha (a quarter and three
    quarters of the way); three (low, middle, high alpha at the middle beta)."""
    a, b = sorted(alphas), sorted(betas)
    mid_b = b[(len(b) - 1) // 2]
    return {
        "middle": default_anchors(alphas, betas),
        "2 along alpha": (Anchor(a[len(a) // 4], mid_b), Anchor(a[(3 * len(a)) // 4], mid_b)),
        "3 along alpha": (Anchor(a[0], mid_b), Anchor(a[(len(a) - 1) // 2], mid_b), Anchor(a[-1], mid_b)),
    }


def bench_sweep(store: str | Path, lm: str | Path, work_dir: str | Path, alphas: str = GRID_ALPHAS,
                betas: str = GRID_BETAS, nbests: Sequence[int] = NBESTS, exact: int = DEFAULT_EXACT,
                repeats: int = 3, workers: int | None = None, say: Say = _quiet) -> SweepBench:
    opened = LogitsStore.open(store)
    grid = Grid.of(alphas, betas)
    work_dir = Path(work_dir)
    lms = LanguageModelCache()
    middle = default_anchors(grid.alphas, grid.betas)[0]
    decoder = build_decoder(DecoderConfig("fastbeam", {"lm": str(lm), "alpha": middle.alpha, "beta": middle.beta}),
                            opened.vocabulary, lms)
    evaluate(opened, decoder)  # warm-up: page the store and the LM in
    one = statistics.median(_timed(lambda: evaluate(opened, decoder)) for _ in range(repeats))
    say(f"{opened.path}: one fastbeam decode {one:.2f} s; exhaustive {grid.describe()}")

    started = time.perf_counter()
    exhaustive = sweep(opened.path, lm, grid.alphas, grid.betas, workers=workers, run_dir=work_dir / "grid",
                       show_progress=False)
    grid_seconds = time.perf_counter() - started
    exact_wer = {(p.alpha, p.beta): p.wer for p in exhaustive.results.points}
    best = exhaustive.best

    say("the default rescoring sweep, into a fresh run directory")
    fresh = work_dir / "rescore"
    shutil.rmtree(fresh, ignore_errors=True)
    result = sweep(opened.path, lm, grid.alphas, grid.betas, workers=workers, run_dir=fresh, show_progress=False,
                   method="rescore")
    exact_seconds = sum(p.seconds for p in result.results.points
                        if p.key in result.results.exact_keys and (p.alpha, p.beta) != (middle.alpha, middle.beta))
    work = float(result.results.run.rescore["seconds"]) + exact_seconds

    scorer = LMScorer(lms.get(lm), float(decoder.param("unk_score_offset")), bool(decoder.param("lm_score_boundary")))
    points = list(grid)
    variants = []
    for name, anchors in anchor_sets(grid.alphas, grid.betas).items():
        for n in nbests:
            say(f"variant: {n}-best at {name}")
            table, _ = nbest_table(opened, decoder, anchors, n, scorer, threads=workers or _cores())
            began = time.perf_counter()
            estimates = rescore(table, opened.references, [p.alpha for p in points], [p.beta for p in points])
            rescore_seconds = time.perf_counter() - began
            ranked = sorted(estimates, key=lambda e: (e.wer, e.cer, e.alpha, e.beta))
            anchored = {(a.alpha, a.beta) for a in anchors} & set(exact_wer)
            decoded = {(e.alpha, e.beta) for e in ranked[:exact]} - anchored
            chosen = min(anchored | decoded, key=lambda w: (exact_wer[w], w))
            variants.append(Variant(
                nbest=n, anchors=tuple((a.alpha, a.beta) for a in anchors), anchor_set=name, hypotheses=len(table),
                nbest_seconds=table.seconds, rescore_seconds=rescore_seconds, exact_decodes=len(decoded),
                best_rescored_wer=ranked[0].wer, chosen_alpha=chosen[0], chosen_beta=chosen[1],
                chosen_wer=exact_wer[chosen], gap=exact_wer[chosen] - best.wer))
    chosen = result.best
    return SweepBench(
        store=str(opened.path), utterances=len(opened), lm=str(lm), alphas=grid.alphas, betas=grid.betas,
        one_decode_seconds=one, grid_seconds=grid_seconds, grid_best=(best.alpha, best.beta, best.wer),
        sweep_seconds=result.seconds, work_seconds=work, sweep_chosen=(chosen.alpha, chosen.beta, chosen.wer),
        sweep_best_rescored_wer=result.results.best_rescored.wer, variants=tuple(variants))


def format_sweep_bench(bench: SweepBench) -> str:
    """The bench as a table: the default rescoring sweep against one decode and the exhaustive grid, then the
    variants."""
    grid_a, grid_b, grid_wer = bench.grid_best
    ca, cb, cwer = bench.sweep_chosen
    lines = [
        f"store {bench.store} ({bench.utterances} utterances), {len(bench.alphas)} x {len(bench.betas)} grid "
        f"(alpha {bench.alphas[0]:g}..{bench.alphas[-1]:g}, beta {bench.betas[0]:g}..{bench.betas[-1]:g})",
        f"one fastbeam decode      {bench.one_decode_seconds:7.2f} s",
        f"exhaustive grid          {bench.grid_seconds:7.2f} s  best alpha {grid_a:g}, beta {grid_b:g}: "
        f"WER {100 * grid_wer:.2f}%",
        f"rescore sweep (default)  {bench.sweep_seconds:7.2f} s wall, {bench.work_seconds:.2f} s decoding and "
        f"re-ranking = {bench.work_ratio:.2f}x one decode; chosen alpha {ca:g}, beta {cb:g}: exact WER "
        f"{100 * cwer:.2f}% ({100 * (cwer - grid_wer):+.2f} points; rescored estimate "
        f"{_pct(bench.sweep_best_rescored_wer)})",
        "",
        f"{'anchors':<14} {'N':>4} {'hyps':>6} {'nbest_s':>8} {'rerank_s':>8} {'+exact':>6} {'est. WER':>8} "
        f"{'chosen':>12} {'exact WER':>9} {'gap':>6}",
    ]
    for v in bench.variants:
        lines.append(
            f"{v.anchor_set:<14} {v.nbest:>4} {v.hypotheses:>6} {v.nbest_seconds:>8.2f} {v.rescore_seconds:>8.3f} "
            f"{v.exact_decodes:>6} {_pct(v.best_rescored_wer):>8} {f'{v.chosen_alpha:g}, {v.chosen_beta:g}':>12} "
            f"{100 * v.chosen_wer:>8.2f}% {100 * v.gap:>+6.2f}")
    lines.append("gap: the chosen point's exact WER minus the exhaustive grid's best, in WER points; +exact: points "
                 "decoded exactly besides the anchors")
    return "\n".join(lines)


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"
