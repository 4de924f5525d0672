"""What a sweep by rescoring costs and loses against the exhaustive grid, on one store (`decode bench-sweep`).

    from experiments.bench.sweep_bench import bench_sweep
    result = bench_sweep("data/heldout-store", "lm/build/4gram.bin", work_dir="runs/bench-sweep/heldout-store")

Measured, in this order, on the same store, LM and grid:

- one_decode_seconds: wall time of one fastbeam decode of the whole store (`decode_store`: hypotheses, not scored;
  the decoder's threads on every usable core) at the grid's middle point; the median of `repeats`; and again right
  before each rescoring sweep, which that sweep's cost is divided by (a shared machine's speed drifts within
  minutes);
- the exhaustive grid: `sweep(method="grid")`, every point decoded; its best exact WER is the yardstick, and its
  results give the exact WER of any grid point (decoding is deterministic);
- rescoring sweeps as a user runs them, `sweep(method="rescore")` into a fresh run directory each, for every anchor
  set, N-best size, number of exact decodes and trust radius: the seconds of their decoding and re-ranking
  (`work_seconds`, which the run records: N-best decodes, re-ranking, exact decodes) and of the whole call (reports
  and heatmap included), the chosen point's exact WER and its gap to the exhaustive best; and whether every exact
  point's WER equals the exhaustive grid's at that point (the N-best list's first entry is the decode).
"""

from __future__ import annotations

import itertools
import shutil
import statistics
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable, Sequence

from decoders.config import DecoderConfig
from decoders.factory import build_decoder
from experiments.sweep.constants import DEFAULT_EXACT, DEFAULT_NBEST, DEFAULT_RADIUS
from experiments.sweep.grid import Grid
from experiments.sweep.rescore import Anchor, default_anchors, middle_anchor
from experiments.sweep.run import sweep
from experiments.sweep.spec import RunOptions, SweepSpec
from lm.model import LanguageModelCache
from logits.console import percent
from logits.store import LogitsStore

GRID_ALPHAS = "0.1:1.9:0.2"
GRID_BETAS = "0:4.5:0.5"
NBESTS = (8, 32, 128)
# The trust radius of the default, and none (None): every estimate trusted however far from what was decoded.
RADII = (DEFAULT_RADIUS, None)

# No trust radius, for sweep(): more grid steps than any grid has.
_UNLIMITED = 1e6

Say = Callable[[str], None]


def _quiet(message: str) -> None:
    pass


@dataclass(frozen=True)
class Variant:
    """One rescoring sweep: its settings, cost and the exact WER of the point it chose."""

    anchor_set: str  # its name in the table
    anchors: tuple[tuple[float, float], ...]
    nbest: int
    exact: int
    radius: float | None  # None: no trust region
    decoded: int  # grid points decoded (the anchors on the grid included)
    default: bool  # the settings `decode sweep --method rescore` uses without options
    hypotheses: int  # entries of its final N-best table
    work_seconds: float  # N-best decodes (the exact ones included) and re-ranking, as the run records them
    one_decode_seconds: float  # one fastbeam decode of the store, timed right before this sweep
    sweep_seconds: float  # the whole sweep() call: reports, heatmap, greedy included
    best_rescored_wer: float | None
    chosen_alpha: float
    chosen_beta: float
    chosen_wer: float
    gap: float  # chosen_wer - the exhaustive best, in WER (0.003 = 0.3 points)
    exact_agrees: bool  # every point it decoded has the exhaustive grid's WER there


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
    variants: tuple[Variant, ...]

    def to_dict(self) -> dict:
        return asdict(self) | {"variants": [asdict(v) | {"work_ratio": v.work_seconds / v.one_decode_seconds}
                                            for v in self.variants]}


def anchor_sets(alphas: Sequence[float], betas: Sequence[float]) -> dict[str, tuple[Anchor, ...]]:
    """The anchor sets the variants try: the default (a quarter along alpha, the middle beta); the grid's middle;
    two along alpha (a quarter and three quarters of the way, at the middle beta)."""
    a, b = sorted(alphas), sorted(betas)
    mid_b = b[(len(b) - 1) // 2]
    return {
        "quarter": default_anchors(alphas, betas),
        "middle": (middle_anchor(alphas, betas),),
        # dict.fromkeys: one anchor, not the same twice, on a grid of few alphas.
        "2 along alpha": tuple(dict.fromkeys((Anchor(a[(len(a) - 1) // 4], mid_b),
                                              Anchor(a[(3 * (len(a) - 1)) // 4], mid_b)))),
    }


def bench_sweep(store: str | Path, lm: str | Path, work_dir: str | Path, alphas: str = GRID_ALPHAS,
                betas: str = GRID_BETAS, nbests: Sequence[int] = NBESTS, exacts: Sequence[int] = (1, DEFAULT_EXACT),
                radii: Sequence[float | None] = RADII, repeats: int = 3, workers: int | None = None,
                say: Say = _quiet) -> SweepBench:
    opened = LogitsStore.open(store)
    grid = Grid.of(alphas, betas)
    work_dir = Path(work_dir)
    middle = middle_anchor(grid.alphas, grid.betas)
    decoder = build_decoder(DecoderConfig("fastbeam", {"lm": str(lm), "alpha": middle.alpha, "beta": middle.beta}),
                            opened.vocabulary, LanguageModelCache())
    decoder.decode_store(opened)  # warm-up: page the store and the LM in
    one = statistics.median(_timed(lambda: decoder.decode_store(opened)) for _ in range(repeats))
    say(f"{opened.path}: one fastbeam decode {one:.2f} s; exhaustive {grid.describe()}")

    shutil.rmtree(work_dir / "grid", ignore_errors=True)  # timed from scratch
    started = time.perf_counter()
    spec = SweepSpec(opened.path, Path(lm), grid, run_dir=work_dir / "grid")
    options = RunOptions(workers=workers, show_progress=False)
    exhaustive = sweep(spec, options=options)
    grid_seconds = time.perf_counter() - started
    exact_wer = {(p.alpha, p.beta): p.wer for p in exhaustive.results.points}
    best = exhaustive.best

    variants = []
    settings = list(itertools.product(anchor_sets(grid.alphas, grid.betas).items(), nbests, exacts, radii))
    for done, ((name, anchors), n, exact, radius) in enumerate(settings):
        say(f"rescoring sweep {done + 1}/{len(settings)}: {n}-best at {name}, up to {exact} exact within "
            f"{_radius(radius)} steps")
        fresh = work_dir / "rescore"
        shutil.rmtree(fresh, ignore_errors=True)
        now = _timed(lambda: decoder.decode_store(opened))
        began = time.perf_counter()
        result = sweep(replace(spec, run_dir=fresh, method="rescore", nbest=n, anchors=anchors, exact=exact,
                               radius=_UNLIMITED if radius is None else radius), options=options)
        took = time.perf_counter() - began
        results, chosen = result.results, result.best
        decoded = [p for p in results.points if p.key in results.exact_keys]
        variants.append(Variant(
            anchor_set=name, anchors=tuple((a.alpha, a.beta) for a in anchors), nbest=n, exact=exact,
            radius=radius, decoded=len(decoded),
            default=(name == "quarter" and n == DEFAULT_NBEST and exact == DEFAULT_EXACT
                     and radius == DEFAULT_RADIUS),
            hypotheses=int(results.run.rescore.get("hypotheses", 0)),
            work_seconds=float(results.run.rescore["seconds"]), one_decode_seconds=now, sweep_seconds=took,
            best_rescored_wer=results.best_rescored.wer, chosen_alpha=chosen.alpha, chosen_beta=chosen.beta,
            chosen_wer=chosen.wer, gap=chosen.wer - best.wer,
            exact_agrees=all(p.wer == exact_wer[(p.alpha, p.beta)] for p in decoded)))
    return SweepBench(
        store=str(opened.path), utterances=len(opened), lm=str(lm), alphas=grid.alphas, betas=grid.betas,
        one_decode_seconds=one, grid_seconds=grid_seconds, grid_best=(best.alpha, best.beta, best.wer),
        variants=tuple(variants))


def format_sweep_bench(bench: SweepBench) -> str:
    """The bench as a table: one decode and the exhaustive grid, then every rescoring sweep (* the default)."""
    grid_a, grid_b, grid_wer = bench.grid_best
    lines = [
        f"store {bench.store} ({bench.utterances} utterances), {len(bench.alphas)} x {len(bench.betas)} grid "
        f"(alpha {bench.alphas[0]:g}..{bench.alphas[-1]:g}, beta {bench.betas[0]:g}..{bench.betas[-1]:g})",
        f"one fastbeam decode  {bench.one_decode_seconds:7.2f} s",
        f"exhaustive grid      {bench.grid_seconds:7.2f} s  best alpha {grid_a:g}, beta {grid_b:g}: "
        f"WER {100 * grid_wer:.2f}%",
        "",
        f"{'anchors':<15} {'N':>4} {'exact':>5} {'radius':>6} {'decoded':>7} {'hyps':>6} {'work_s':>7} "
        f"{'x decode':>8} {'call_s':>7} {'est. WER':>8} {'chosen':>10} {'exact WER':>9} {'gap':>6}",
    ]
    for v in bench.variants:
        flag = "*" if v.default else " "
        lines.append(
            f"{flag}{v.anchor_set:<14} {v.nbest:>4} {v.exact:>5} {_radius(v.radius):>6} {v.decoded:>7} "
            f"{v.hypotheses:>6} {v.work_seconds:>7.2f} {v.work_seconds / v.one_decode_seconds:>7.2f}x "
            f"{v.sweep_seconds:>7.2f} "
            f"{percent(v.best_rescored_wer):>8} {f'{v.chosen_alpha:g}, {v.chosen_beta:g}':>10} "
            f"{100 * v.chosen_wer:>8.2f}% {100 * v.gap:>+6.2f}" + ("" if v.exact_agrees else "  (exact WER differs "
                                                                   "from the grid's!)"))
    lines.append("exact: the most decodes after the anchors; radius: grid steps from a decoded point within which "
                 "estimates are trusted (none: all); decoded: grid points decoded; work_s: N-best decodes and "
                 "re-ranking, as the run records them; x decode: over one decode timed just before; call_s: the whole "
                 "sweep call; gap: chosen exact WER minus the exhaustive best, in WER points; * the default settings")
    return "\n".join(lines)


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _radius(value: float | None) -> str:
    return "none" if value is None else f"{value:g}"


