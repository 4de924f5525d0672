"""What a sweep shows at the end, and `decode report` shows again: the best points, a WER heatmap, the best
point's hypotheses. Everything is rebuilt from the results store, so a report never needs the decoders or the LM."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path

from experiments.sweep.results import RescoredResult, ResultsDB, RunResults
from logits.console import percent as _pct
from logits.files import atomic_write

HEATMAP_FILE = "wer_heatmap.png"
PARETO_FILE = "pareto.png"
HYPOTHESES_FILE = "best_hypotheses.jsonl"
# Cell labels stay readable up to about this many columns or rows; larger grids get colours only.
_MAX_ANNOTATED = 24
# The heatmap's colour scale runs from the best cell's WER to the WER at the grid's _SCALE_QUANTILE; the cells above
# (the worst quarter) are clipped and drawn as "worse". Shades then separate the cells near the optimum, what a reader
# tunes by, instead of a worst corner at several times the best WER taking the whole scale.
_SCALE_QUANTILE = 0.75
# Characters of the heatmap's 9-point title per inch of figure width: longer title lines are wrapped, not clipped.
_TITLE_CHARS_PER_INCH = 15
# Two points' decoding times closer than this ratio are not told apart on the Pareto plot: a sweep times each point
# once, minutes apart, and one core of a shared machine drifts by about a tenth within a minute.
PARETO_TIME_RATIO = 1.2


@dataclass(frozen=True)
class Report:
    """A run re-read from its results store, with the files written for it."""

    results: RunResults
    heatmap: Path | None
    best_hypotheses: Path | None

    def summary(self) -> dict:
        return summary(self.results) | {
            "heatmap": None if self.heatmap is None else str(self.heatmap),
            "best_hypotheses": None if self.best_hypotheses is None else str(self.best_hypotheses),
        }


def report(run_dir: str | Path, run_id: int | None = None) -> Report:
    """Re-read a run (default: the latest) and rewrite its heatmap and best hypotheses."""
    with ResultsDB(run_dir, create=False) as db:
        results = with_ties(db, db.run_results(run_id))
        heatmap = write_heatmap(results, Path(run_dir) / HEATMAP_FILE)
        write_pareto(results, Path(run_dir) / PARETO_FILE)
        hypotheses = write_best_hypotheses(db, results, Path(run_dir) / HYPOTHESES_FILE)
    return Report(results, heatmap, hypotheses)


def with_ties(db: ResultsDB, results: RunResults) -> RunResults:
    """The results with the points that the paired bootstrap cannot tell from the best marked."""
    from experiments.measures.significance import tied_with_best

    return replace(results, tied=tied_with_best(db, results))


def summary(results: RunResults) -> dict:
    """The figures scripts want, JSON-ready (`--json`)."""
    best, greedy = results.best, results.greedy
    return {
        "run_dir": str(results.run_dir),
        "run_id": results.run.id,
        "status": results.run.status,
        "points": len(results.run.keys),
        "missing": results.missing,
        "best_alpha": None if best is None else best.alpha,
        "best_beta": None if best is None else best.beta,
        "best_wer": None if best is None else best.wer,
        "best_cer": None if best is None else best.cer,
        "test_store": None if results.test is None else results.test.store_path,
        "test_wer": None if results.test is None else results.test.wer,
        "test_cer": None if results.test is None else results.test.cer,
        "tied_with_best": len(results.tied),
        "best_on_edge": bool(results.edges),
        "edges": results.edges,
        "greedy_wer": None if greedy is None else greedy.wer,
        "greedy_cer": None if greedy is None else greedy.cer,
    } | _method_summary(results)


def _method_summary(results: RunResults) -> dict:
    """How the points were scored. `best_wer_exact` is the best point's WER from a decode: every point of a grid run
    is one; a rescoring run decoded its anchors and the few estimates its search chose, and its best point is the
    best of those."""
    best, rescored = results.best, results.best_rescored
    exact = sorted(results.exact_keys & {p.key for p in results.points})
    return {
        "method": results.run.method,
        "exact_points": len(exact),
        "best_wer_exact": None if best is None else best.wer,
        "best_wer_rescored": None if rescored is None else rescored.wer,
        "best_rescored_alpha": None if rescored is None else rescored.alpha,
        "best_rescored_beta": None if rescored is None else rescored.beta,
        "nbest": (results.run.rescore or {}).get("nbest"),
        "anchors": (results.run.rescore or {}).get("anchors"),
        "radius": (results.run.rescore or {}).get("radius"),
        "rescore_seconds": (results.run.rescore or {}).get("seconds"),
    }


def format_table(results: RunResults, top: int = 10) -> str:
    """The `top` best points (ranked by logits.scoring.rank_key, as `best` is), then greedy for comparison."""
    if results.run.method == "rescore":
        return format_rescored_table(results, top)
    extra = varied_parameters(results.points) - {"alpha", "beta"}
    lines = [f"{'rank':>4}  {'alpha':>6}  {'beta':>6}" + "".join(f"  {k:>14}" for k in sorted(extra))
             + f"  {'WER':>7}  {'CER':>7}  {'seconds':>8}"]
    for rank, point in enumerate(results.ranked[:top], start=1):
        tie = "  ~best" if point.key in results.tied and point.key != results.best.key else ""
        values = "".join(f"  {point.config.get(k)!s:>14}" for k in sorted(extra))
        lines.append(f"{rank:>4}  {point.alpha:>6g}  {point.beta:>6g}{values}  {_pct(point.wer):>7}  "
                     f"{_pct(point.cer):>7}  {point.seconds:>8.2f}{tie}")
    if results.greedy is not None:
        g = results.greedy
        lines.append(f"{'greedy':>20}  {_pct(g.wer):>7}  {_pct(g.cer):>7}  {g.seconds:>8.2f}")
    return "\n".join(lines)


def format_rescored_table(results: RunResults, top: int = 10) -> str:
    """A rescoring run's `top` best points by re-ranked WER, with the WER of those decoded exactly beside it
    (`exact`), then any other exact point (an anchor further down), then greedy."""
    exact = {p.key: p for p in results.points if p.key in results.exact_keys}
    ranked = sorted(results.rescored, key=RescoredResult.sort_key)
    shown = ranked[:top] + [r for r in ranked[top:] if r.key in exact]
    lines = [f"{'rank':>4}  {'alpha':>6}  {'beta':>6}  {'rescored':>8}  {'exact':>7}  {'CER':>7}  point"]
    for rank, row in enumerate(shown, start=1):
        point = exact.get(row.key)
        rank_text = f"{rank:>4}" if rank <= top else f"{ranked.index(row) + 1:>4}"
        kind = "exact" if point is not None else "rescored"
        if point is not None and results.best is not None and point.key == results.best.key:
            kind += " (best)"
        lines.append(f"{rank_text}  {row.alpha:>6g}  {row.beta:>6g}  {_pct(row.wer):>8}  "
                     f"{_pct(None if point is None else point.wer):>7}  "
                     f"{_pct(point.cer if point is not None else row.cer):>7}  {kind}")
    if results.greedy is not None:
        g = results.greedy
        lines.append(f"{'greedy':>20}  {'':>8}  {_pct(g.wer):>7}  {_pct(g.cer):>7}")
    rescore = results.run.rescore or {}
    anchors = ", ".join(f"({a:g}, {b:g})" for a, b in rescore.get("anchors", []))
    # A run from before the trust region has no radius: every estimate was a candidate then.
    region = f" (estimates trusted within {rescore['radius']:g} grid steps)" if "radius" in rescore else ""
    lines.append(f"rescored: {len(results.rescored)} points re-ranked from {rescore.get('nbest')}-best lists decoded "
                 f"at {anchors}; exact: {len(exact)} decoded{region}")
    return "\n".join(lines)


def format_best(results: RunResults) -> str:
    best, greedy = results.best, results.greedy
    if best is None:
        return "no scored points yet (the store has no references, or no point has finished)"
    line = f"best: alpha {best.alpha:g}, beta {best.beta:g}: WER {_pct(best.wer)}, CER {_pct(best.cer)}"
    if results.run.method == "rescore":
        line += " (exact)"
    if greedy is not None and greedy.wer is not None:
        line += (f"  (greedy: WER {_pct(greedy.wer)}, CER {_pct(greedy.cer)}; "
                 f"{100 * (best.wer - greedy.wer):+.2f} WER points)")
    if len(results.tied) > 1:
        line += (f"\n{len(results.tied) - 1} other point(s) (~best) are not significantly worse (paired bootstrap, "
                 "95%): this data cannot tell them apart")
    if results.edges:
        line += (f"\nnote: the best point lies on the grid's edge ({'; '.join(results.edges)}): the optimum may lie "
                 "outside the grid; sweep a wider range")
    if results.test is not None:
        test = results.test
        line += (f"\ntest ({test.store_path}) at the dev best point: WER {_pct(test.wer)}, CER {_pct(test.cer)}"
                 "  (the figure to report: tuned on the swept store, measured on another)")
    else:
        line += "\n(tuned and reported on the same utterances: optimistic; give a test set with --test)"
    return line


def format_report(results: RunResults, top: int = 10) -> str:
    run = results.run
    head = (f"run {run.id} in {results.run_dir}: {len(run.alphas)} alpha x {len(run.betas)} beta = "
            f"{len(run.keys)} points")
    if results.missing:
        head += f", {results.missing} not computed (run {run.status}; rerun the sweep to fill them in)"
    return "\n".join([head, format_table(results, top), format_best(results)])


def write_heatmap(results: RunResults, path: str | Path) -> Path | None:
    """WER over the alpha x beta grid, each cell labelled with its WER %, the best framed; written atomically.

    Returns None (and writes nothing) when no point has a WER yet.
    """
    import matplotlib
    import numpy as np
    from matplotlib.figure import Figure  # no pyplot: no global figure state, no GUI backend, safe in any process
    from matplotlib.patches import Rectangle

    alphas, betas = list(results.run.alphas), list(results.run.betas)
    wer = np.full((len(alphas), len(betas)), np.nan)
    for point in results.points:
        if point.wer is not None:  # with extra swept parameters a cell shows its best
            cell = (alphas.index(point.alpha), betas.index(point.beta))
            wer[cell] = np.fmin(wer[cell], 100 * point.wer)
    exact = ~np.isnan(wer)
    for row in results.rescored:  # a rescoring run's estimates fill the cells it did not decode
        cell = (alphas.index(row.alpha), betas.index(row.beta))
        if not exact[cell] and row.wer is not None:
            wer[cell] = 100 * row.wer
    if np.isnan(wer).all():
        return None
    best = results.best
    width = max(4.5, 0.75 * len(betas) + 2.5)
    fig = Figure(figsize=(width, max(3.5, 0.55 * len(alphas) + 2)), layout="constrained")
    ax = fig.add_subplot()
    low, high = colour_range(wer)
    # grey: a point not computed; near-black: worse than the scale's top (the colour bar's arrow)
    cmap = matplotlib.colormaps["viridis_r"].with_extremes(bad="lightgrey", over="#1a1a1a")
    image = ax.imshow(np.ma.masked_invalid(wer), cmap=cmap, aspect="auto", origin="lower", vmin=low, vmax=high)
    clipped = bool(np.nanmax(wer) > high)
    bar = fig.colorbar(image, ax=ax, extend="max" if clipped else "neither")
    bar.set_label(f"WER (%); above {high:.2f}: worse" if clipped else "WER (%)")
    ax.set_xticks(range(len(betas)), [f"{b:g}" for b in betas])
    ax.set_yticks(range(len(alphas)), [f"{a:g}" for a in alphas])
    ax.set_xlabel("beta (word insertion bonus)")
    ax.set_ylabel("alpha (LM weight)")
    if max(len(alphas), len(betas)) <= _MAX_ANNOTATED:
        for i, j in np.ndindex(wer.shape):
            if not math.isnan(wer[i, j]):
                # Dark text on the light (low WER) end of viridis_r, light text on the dark end and the clipped.
                dark = high == low or (wer[i, j] - low) / (high - low) < 0.6
                mark = "*" if results.rescored and exact[i, j] else ""
                # Two decimals: the best cell and the ones it ties with must not read alike.
                ax.text(j, i, f"{wer[i, j]:.2f}{mark}", ha="center", va="center", fontsize=7,
                        color="black" if dark else "white")
    for point in results.points:  # points the bootstrap cannot tell from the best: a dashed frame
        if point.key in results.tied and best is not None and point.key != best.key:
            i, j = alphas.index(point.alpha), betas.index(point.beta)
            ax.add_patch(Rectangle((j - 0.45, i - 0.45), 0.9, 0.9, fill=False, edgecolor="red", linewidth=1,
                                   linestyle="--"))
    if best is not None:
        i, j = alphas.index(best.alpha), betas.index(best.beta)
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=2.5))
    # A rescoring run's anchors may lie off the grid (legitimately: N-best lists decoded anywhere re-rank onto it);
    # then no grid point was decoded and the cells are all estimates.
    decoded = f"{results.points[0].decoder}, {len(results.points)} points" if results.points else \
        "no grid point decoded: the anchors are off the grid"
    title = f"WER by LM weights ({decoded})"
    if results.greedy is not None and results.greedy.wer is not None:
        title += f"\ngreedy {_pct(results.greedy.wer)}"
        if best is not None:
            title += f", best {_pct(best.wer)} at alpha {best.alpha:g}, beta {best.beta:g} (red)"
            if len(results.tied) > 1:
                title += f"; dashed: {len(results.tied) - 1} not significantly worse"
    if results.rescored:
        title += "\nre-ranked N-best estimates; * decoded exactly"
    # Wrapped to the figure's width: a 3 x 3 grid's figure is narrower than the title's longest line.
    ax.set_title(_wrap(title, int(width * _TITLE_CHARS_PER_INCH)), fontsize=9)
    with atomic_write(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=110)
    return Path(path)


def colour_range(wer) -> tuple[float, float]:
    """The heatmap's colour scale (low, high) for a grid of WERs (NaN: not computed): the best WER to the
    _SCALE_QUANTILE quantile of the cells, or to the worst when that many cells tie with the best. Cells above `high`
    are drawn in the colour bar's "worse" colour."""
    import numpy as np

    values = np.asarray(wer, dtype=float)
    values = values[~np.isnan(values)]
    low, worst = float(values.min()), float(values.max())
    high = float(np.quantile(values, _SCALE_QUANTILE))
    high = high if high > low else worst
    return low, (high if high > low else low + 1e-9)  # one WER everywhere: a scale of one shade, not a zero range


def _wrap(text: str, width: int) -> str:
    """Each line of `text` wrapped at `width` characters."""
    import textwrap

    return "\n".join(textwrap.fill(line, width) for line in text.splitlines())


def varied_parameters(points) -> set[str]:
    """The decoder parameters whose value differs between the points of a run (alpha and beta, and any --param)."""
    keys = {k for p in points for k, _ in p.config.params}
    return {k for k in keys if len({p.config.get(k) for p in points}) > 1}


def pareto_front(points, ratio: float = 1.0) -> list:
    """The points no other point beats on both WER and decoding time, fastest first; with `ratio` > 1, only those
    at least `ratio` times faster than the next more accurate point kept (a point barely faster than a more accurate
    one is timing noise, not a trade-off). One point left: the times tell nothing apart."""
    front, best_wer = [], float("inf")
    for point in sorted((p for p in points if p.wer is not None), key=lambda p: (p.seconds, p.wer)):
        if point.wer < best_wer:
            front.append(point)
            best_wer = point.wer
    kept = front[-1:]  # the most accurate point, then faster ones that are measurably faster than the last kept
    for point in reversed(front[:-1]):
        if kept[-1].seconds >= ratio * point.seconds:
            kept.append(point)
    return kept[::-1]


def time_noise(points) -> float:
    """The ratio of two decoding times that a run cannot tell from noise: PARETO_TIME_RATIO, or the spread measured
    in the run if larger. Points that differ only in alpha and beta run the same search over the same store, so the
    median over such groups of (slowest / fastest) is how far one run's timings scatter; it also holds a grid of LM
    weights alone, whose times differ by the machine's drift, from claiming a front."""
    import statistics

    groups: dict[tuple, list[float]] = {}
    for point in points:
        if point.seconds > 0:
            search = tuple((k, v) for k, v in point.config.params if k not in ("alpha", "beta"))
            groups.setdefault((point.decoder, search), []).append(point.seconds)
    spreads = [max(times) / min(times) for times in groups.values() if len(times) > 1]
    return max(PARETO_TIME_RATIO, statistics.median(spreads)) if spreads else PARETO_TIME_RATIO


def write_pareto(results: RunResults, path: str | Path) -> Path | None:
    """WER against decoding time of every point (and greedy), the Pareto front joined: the speed/accuracy trade-off
    of a sweep over beam widths or pruning thresholds. The front's points are numbered and listed beside the plot
    (labels on the points overprint); with times within `time_noise` of each other no front is drawn and the title
    says so. None when no point has a WER."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter

    points = [p for p in (*results.points, *([results.greedy] if results.greedy else ())) if p.wer is not None]
    if not points:
        return None
    ratio = time_noise(results.points)
    front = pareto_front(points, ratio)
    fig = Figure(figsize=(9, 4.5), layout="constrained")
    ax = fig.add_subplot()
    ax.scatter([p.seconds for p in points], [100 * p.wer for p in points], s=14, color="tab:blue", alpha=0.6,
               label=f"{len(points)} decodes")
    varied = varied_parameters(results.points)

    def label(point) -> str:
        return "greedy" if point.decoder == "greedy" else ", ".join(
            f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in point.config.params if k in varied)

    noise = f"times within {ratio:.3g}x of each other counted as noise"
    if len(front) > 1:
        ax.plot([p.seconds for p in front], [100 * p.wer for p in front], color="tab:red", marker="o",
                label="Pareto front")
        shown, title = front, f"speed against accuracy ({len(points)} decodes; {noise})"
    else:
        shown = front  # the most accurate point alone: no trade-off to show
        ax.scatter([p.seconds for p in front], [100 * p.wer for p in front], s=40, color="tab:red",
                   label="lowest WER")
        title = f"no speed/accuracy front: the decoding times differ by less than their noise\n({noise})"
    for n, point in enumerate(shown, start=1):
        # A number by each point, its settings in the legend: settings written on the points overprint.
        # On a white box, so that a number inside the cloud of points stays readable.
        ax.annotate(str(n), (point.seconds, 100 * point.wer), xytext=(5, 5), textcoords="offset points", fontsize=8,
                    color="tab:red", bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85})
        ax.plot([], [], " ", label=f"{n}: {label(point)}  ({point.seconds:.3g} s, {100 * point.wer:.2f}%)")
    ax.set_xscale("log")
    # Seconds as plain numbers at 1, 2 and 5 of each decade: a sweep's times often span less than one decade, where
    # matplotlib's default log axis labels a single tick (10^-1) or none.
    ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set(xlabel="decoding time of the store (s, log scale)", ylabel="WER (%)")
    ax.set_title(title, fontsize=9)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1), fontsize=7, frameon=False)
    with atomic_write(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=110)
    return Path(path)


def write_best_hypotheses(db: ResultsDB, results: RunResults, path: str | Path) -> Path | None:
    """id, reference, hypothesis per utterance of the best point, as JSONL, written atomically."""
    best = results.best
    if best is None:
        return None
    with atomic_write(path) as handle:
        for row in db.hypotheses(best.key):
            handle.write(json.dumps(row) + "\n")
    return Path(path)

