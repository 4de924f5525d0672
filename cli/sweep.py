"""`decode sweep`, `decode report`, `decode demo`: alpha/beta sweeps (thin over experiments.sweep.run and .report)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from cli.console import emit_json, run_command
from cli.options import (
    Json,
    AlphaGrid,
    Anchors,
    BeamPruneLogp,
    BeamWidth,
    BetaGrid,
    Exact,
    Hotword,
    HotwordWeight,
    Method,
    NBest,
    PruneHistory,
    Radius,
    Scheduler,
    TokenMinLogp,
    Unigrams,
    UnkScoreOffset,
    parameter_value,
)
from cli.run import beam_params
from decoders.constants import DEFAULT_DECODER
from experiments.sweep.constants import DEFAULT_EXACT, DEFAULT_NBEST, DEFAULT_RADIUS
from logits.errors import LabError
from logits.files import check_writable_output

DEMO_RUN_DIR = Path("runs/demo")
DEMO_ALPHAS = "0.1:1.7:0.2"
DEMO_BETAS = "0:4:0.5"


@run_command
def sweep(
    store: Annotated[Path, typer.Argument(help="Store directory to decode.")],
    lm: Annotated[Path, typer.Option(help="KenLM model, .arpa or .bin.")],
    alpha: AlphaGrid,
    beta: BetaGrid,
    unigrams: Unigrams = None,
    decoder: Annotated[str, typer.Option(help="Beam decoder to sweep: fastbeam (this project's C++, same results as "
                                              "pyctcdecode) or beam (pyctcdecode).")] = DEFAULT_DECODER,
    beam_width: BeamWidth = None,
    beam_prune_logp: BeamPruneLogp = None,
    token_min_logp: TokenMinLogp = None,
    unk_score_offset: UnkScoreOffset = None,
    hotword: Hotword = None,
    hotword_weight: HotwordWeight = None,
    prune_history: PruneHistory = False,
    workers: Annotated[Optional[int], typer.Option(help="Processes decoding at once (default: CPU count; 1: no pool).")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Run directory (default: runs/<store>-<LM fingerprint>).")] = None,
    top: Annotated[int, typer.Option(help="Rows of the best-points table.")] = 10,
    yes: Annotated[bool, typer.Option("--yes", help="Run a grid of more than 400 points to decode.")] = False,
    test: Annotated[Optional[Path], typer.Option(help="A test store, decoded once at the swept store's best point.")]
    = None,
    refine: Annotated[int, typer.Option(min=0, help="Zoom N times around the best point at half the step.")] = 0,
    param: Annotated[Optional[list[str]], typer.Option(
        help="Sweep another parameter too: NAME=V1,V2 (repeatable), e.g. beam_width=10,30,100.")] = None,
    method: Method = "grid",
    nbest: NBest = DEFAULT_NBEST,
    anchor: Anchors = None,
    exact: Exact = DEFAULT_EXACT,
    radius: Radius = DEFAULT_RADIUS,
    scheduler: Scheduler = None,
    json_: Json = False,
) -> None:
    """Decode a store at every (alpha, beta) of a grid, in parallel; rerunning reuses finished points."""
    from experiments.sweep.rescore import parse_anchors
    from experiments.sweep.run import sweep as run_sweep
    from experiments.sweep.spec import RunOptions, SweepSpec

    params = beam_params(lm=lm, unigrams=unigrams, beam_width=beam_width, beam_prune_logp=beam_prune_logp,
                         token_min_logp=token_min_logp, unk_score_offset=unk_score_offset, hotword=hotword,
                         hotword_weight=hotword_weight, prune_history=prune_history)
    # The LM (a file, or a decoder folder's) is the sweep's own argument; its alpha and beta are what is swept.
    lm, unigrams = Path(params.pop("lm")), params.pop("unigrams", None)
    params = {k: v for k, v in params.items() if k not in ("alpha", "beta")}
    # Every parameter held fixed is the decoder config's (params), so that a new decoder option reaches the sweep
    # by beam_params alone.
    spec = SweepSpec.of(store, lm, alpha, beta, decoder=decoder, params=params, unigrams=unigrams, run_dir=out,
                        test=test, refine=refine, extra=parse_params(param or [], decoder), method=method,
                        nbest=nbest, anchors=parse_anchors(anchor) if anchor else None, exact=exact, radius=radius)
    options = RunOptions(workers=workers, scheduler=scheduler, yes=yes, command=sys.argv)
    try:
        result = run_sweep(spec, options=options)
    except KeyboardInterrupt:
        typer.echo("interrupted: finished points are saved; run the same command again to resume", err=True)
        raise  # on to the entry point, which ends the process by SIGINT (cli.entry)
    _print_sweep(result, top)
    if json_:
        emit_json(result.summary())


@run_command
def sweep_many(
    stores: Annotated[list[Path], typer.Argument(help="Store directories to sweep.")],
    lm: Annotated[list[Path], typer.Option(help="KenLM model (repeatable): every store is swept with every LM.")],
    alpha: AlphaGrid,
    beta: BetaGrid,
    method: Method = "rescore",
    nbest: NBest = DEFAULT_NBEST,
    anchor: Anchors = None,
    exact: Exact = DEFAULT_EXACT,
    radius: Radius = DEFAULT_RADIUS,
    beam_width: BeamWidth = None,
    prune_history: PruneHistory = False,
    scheduler: Scheduler = None,
    parallel: Annotated[Optional[int], typer.Option(
        help="Sweeps at once (default: all on a cluster, one at a time locally).")] = None,
    workers: Annotated[Optional[int], typer.Option(help="Local processes/threads per sweep (default: CPU count).")]
    = None,
    out: Annotated[Optional[Path], typer.Option(
        help="Put each run directory here as OUT/<store>-<LM> (default: runs/<store>-<LM fingerprint>).")] = None,
    json_: Json = False,
) -> None:
    """Sweep every store with every LM, side by side on a Dask cluster (a rescoring sweep is one task there); one
    table of the best points, one run directory per store x LM."""
    from experiments.sweep.rescore import parse_anchors
    from experiments.sweep.many import sweep_many as run_many

    params = beam_params(beam_width=beam_width, prune_history=prune_history)
    done = run_many(stores, lm, alpha, beta, method=method, scheduler=scheduler, parallel=parallel, out=out,
                    on_done=lambda pair: _note(f"done: {pair.store} x {pair.lm}"
                                               + (f" (error: {pair.error})" if pair.error else "")),
                    nbest=nbest, anchors=parse_anchors(anchor) if anchor else None, exact=exact, radius=radius,
                    params=params, workers=workers, command=sys.argv)
    typer.echo(f"{'store':<28} {'LM':<20} {'best':>12} {'WER':>7} {'exact':>5} {'host':<14} run dir")
    for pair in done:
        head = f"{_short(pair.store, 28):<28} {_short(pair.lm, 20):<20}"
        best = None if pair.result is None else pair.result.best
        if best is None:
            typer.echo(f"{head} error: {pair.error or 'no scored point'}")
            continue
        summary = pair.result.summary()
        typer.echo(f"{head} {f'({best.alpha:g}, {best.beta:g})':>12} {best.wer:>7.2%} {summary['exact_points']:>5} "
                   f"{_short(best.host or '-', 14):<14} {pair.result.run_dir}")
    if json_:
        emit_json({"sweeps": [{"store": p.store, "lm": p.lm, "error": p.error}
                              | ({} if p.result is None else p.result.summary()) for p in done]})
    failed = [p for p in done if p.error]
    if failed:
        raise LabError(f"{len(failed)} of {len(done)} sweeps failed; the first: {failed[0].store} x {failed[0].lm}: "
                       f"{failed[0].error}")


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else "..." + text[-(width - 3):]


@run_command
def report(
    run_dir: Annotated[Path, typer.Argument(help="Run directory of a sweep (holds results.sqlite).")],
    run: Annotated[Optional[int], typer.Option(help="Which sweep of the directory (default: the latest).")] = None,
    top: Annotated[int, typer.Option(help="Rows of the best-points table.")] = 10,
    csv: Annotated[Optional[Path], typer.Option(help="Also write every stored result as CSV here.")] = None,
    errors: Annotated[bool, typer.Option("--errors", help="Analyse the best point's errors against greedy.")] = False,
    json_: Json = False,
) -> None:
    """Show a sweep's best points again and rewrite its heatmap and best hypotheses."""
    from experiments.sweep import report as reporting
    from experiments.sweep.results import ResultsDB

    if csv is not None:
        check_writable_output(csv, "--csv")
    made = reporting.report(run_dir, run)
    typer.echo(reporting.format_report(made.results, top))
    _print_files(run_dir, made.heatmap, made.best_hypotheses)
    summary = made.summary()
    if csv is not None:
        with ResultsDB(run_dir, create=False) as db:
            db.to_csv(csv)
        typer.echo(f"csv       {csv}")
        summary["csv"] = str(csv)
    if errors:
        summary["errors"] = _best_point_errors(run_dir, made.results)
    if json_:
        emit_json(summary)


@run_command
def demo(
    decoder: Annotated[str, typer.Option(help="Beam decoder: fastbeam or beam (pyctcdecode).")] = DEFAULT_DECODER,
    first: Annotated[Optional[int], typer.Option(help="Sweep only the first N utterances (default: all).")] = None,
    workers: Annotated[Optional[int], typer.Option(help="Processes decoding at once (default: CPU count).")] = None,
    synthetic: Annotated[bool, typer.Option(
        "--synthetic", help="Sweep the synthetic acoustic model's store instead of real speech.")] = False,
    json_: Json = False,
) -> None:
    """From a fresh clone: build the LM, speak the held-out sentences with espeak-ng, cache them with the shipped
    acoustic model (models/espeak-ctc), then sweep 9 x 9 LM weights and plot WER."""
    from experiments.bench.default_data import DefaultData
    from experiments.sweep.run import sweep as run_sweep
    from experiments.sweep.spec import RunOptions, SweepSpec

    defaults = DefaultData()
    lm = defaults.ensure_lm(say=_note)
    store = defaults.ensure_store(say=_note) if synthetic else defaults.ensure_speech_store(say=_note)
    if first is not None:
        from logits.subset import subset_store

        store = subset_store(store, first, store.with_name(f"{store.name}-first{first}")).path
    run_dir = DEMO_RUN_DIR.with_name(DEMO_RUN_DIR.name + "-synthetic") if synthetic else DEMO_RUN_DIR
    typer.echo(f"sweeping {store} with {decoder} and {lm}: alpha {DEMO_ALPHAS} x beta {DEMO_BETAS} into "
               f"{run_dir}", err=True)
    result = run_sweep(SweepSpec.of(store, lm, DEMO_ALPHAS, DEMO_BETAS, decoder=decoder, run_dir=run_dir),
                       options=RunOptions(workers=workers, command=sys.argv))
    _print_sweep(result, 10)
    typer.echo(f"\nWER heatmap: {result.heatmap}  (`decode report {run_dir}` shows all this again)")
    if json_:
        emit_json(result.summary())


def _best_point_errors(run_dir: Path, results) -> dict | None:
    """The error analysis of a run's best point, against greedy, from the hypotheses the results store keeps."""
    from dataclasses import asdict

    from experiments.measures.error_analysis import analyse_errors, compare_errors, describe
    from experiments.sweep.results import ResultsDB
    from lm.model import LanguageModelCache

    best, greedy = results.best, results.greedy
    if best is None or greedy is None:
        typer.echo("errors    - (no scored best point or greedy result)")
        return None
    with ResultsDB(run_dir, create=False) as db:
        rows, baseline = db.hypotheses(best.key), db.hypotheses(greedy.key)
    references = [row["reference"] or "" for row in rows]
    vocabulary = None
    if best.lm_path and Path(best.lm_path).is_file():
        vocabulary = set(LanguageModelCache().get(best.lm_path, best.config.get("unigrams")).unigrams)
    found = analyse_errors(references, [row["hypothesis"] for row in rows], vocabulary)
    changes = compare_errors(references, [row["hypothesis"] for row in baseline], [row["hypothesis"] for row in rows])
    for line in describe(found, changes, system="the best point", baseline="greedy"):
        typer.echo(line)
    return asdict(found) | {"oov_error_rate": found.oov_error_rate} | asdict(changes)


def parse_params(specs: list[str], decoder: str) -> dict[str, list]:
    """`beam_width=10,30,100` -> {"beam_width": [10, 30, 100]}, each value of its default's type."""
    from decoders.factory import decoder_classes

    defaults = dict(decoder_classes()[decoder].defaults) if decoder in decoder_classes() else {}
    found: dict[str, list] = {}
    for spec in specs:
        name, _, values = spec.partition("=")
        name = name.strip().replace("-", "_")
        if not values or name not in defaults:
            raise LabError(f"--param {spec!r}: expected NAME=V1,V2 with NAME one of {sorted(defaults)}")
        try:
            found[name] = [parameter_value(defaults, name, v) for v in values.split(",") if v.strip()]
        except ValueError:
            raise LabError(f"--param {spec!r}: the values must be numbers") from None
    return found


def _note(message: str) -> None:
    typer.echo(message, err=True)


def _print_sweep(result, top: int) -> None:
    from experiments.sweep.report import format_report

    typer.echo(format_report(result.results, top))
    computed = f"{result.computed} computed with {result.workers} worker(s)" if result.computed else "0 computed"
    if result.computed and result.executor != "local":
        computed += f" of {result.executor}"
    greedy = "reused" if result.greedy_reused else "computed"
    typer.echo(f"points    {len(result.results.run.keys)}: {result.reused} reused, {computed} "
               f"(greedy {greedy}), {result.seconds:.1f} s")
    _print_files(result.run_dir, result.heatmap, result.best_hypotheses)


def _print_files(run_dir: Path, heatmap: Path | None, hypotheses: Path | None) -> None:
    from experiments.sweep.results import DB_FILE

    typer.echo(f"heatmap   {heatmap if heatmap else '- (no scored points)'}")
    typer.echo(f"best hyps {hypotheses if hypotheses else '-'}")
    typer.echo(f"results   {Path(run_dir) / DB_FILE}")
