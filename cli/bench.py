"""`decode bench`: every beam decoder (pyctcdecode, ours, the peers) and greedy on one store, LM and parameters."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from cli.console import emit_json, run_command
from cli.options import Json, Unigrams
from cli.run import beam_params
from experiments.bench import bench as B
from experiments.bench.default_data import HARD_DIFFICULTY, DefaultData
from logits.console import percent, progress, say
from logits.errors import LabError
from logits.files import check_writable_output


def _say(message: str) -> None:
    say("bench", message)


def _progress(total: int, desc: str, unit: str = "utt"):
    _say(desc)
    return progress(total, desc, unit)




def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _millions(value: float | None) -> float | None:
    return None if value is None else value / 1e6


def _load(values) -> str:
    return "-" if not values else "/".join(f"{v:.1f}" for v in values)


def _parallel_verdict(par: B.ParallelSpeedup) -> str:
    """The speed-up, or why it is not the decoder's: another process held a core, or there are fewer cores than
    threads."""
    ratio = f"{_num(par.speedup, '.2f')}x"
    if par.cores_usable < max(par.threads):
        return f"{ratio}, not a speed-up: fewer usable cores than threads"
    if par.contended:
        return (f"{ratio} while another process held a core (load above usable cores less the threads): the "
                "decoder's speed-up is not measured")
    return f"speed-up {ratio}"


def format_table(result: B.BenchResult) -> str:
    """The result as a fixed-width table with the parallel and greedy figures below it."""
    store, lm, params, machine = result.store, result.lm, result.params, result.machine
    synth = store.synth or {}
    difficulty = f", synthetic difficulty {synth['difficulty']}" if "difficulty" in synth else ""
    lines = [
        f"store   {store.path}: {store.benched_utterances} of {store.utterances} utterances, "
        f"{store.audio_seconds / 60:.1f} min{difficulty}, {store.vocabulary} vocabulary",
        f"lm      {lm.path} ({lm.order}-gram, {lm.words:,} words, sha256 {lm.fingerprint[:12]})",
        f"params  alpha={params['alpha']} beta={params['beta']} beam_width={params['beam_width']} "
        f"beam_prune_logp={params['beam_prune_logp']} token_min_logp={params['token_min_logp']}",
        f"machine {machine['cpu']}, {machine['cores_usable']} usable core(s), "
        f"Python {machine['python']}, load average {_load(machine.get('load_average'))} at "
        f"start, {_load(machine.get('load_average_end'))} at end",
        "",
        f"{'decoder':<11} {'kind':<9} {'utts':>5} {'audio_s':>8} {'load_s':>7} {'cpu_s':>8} {'rtfx':>8} "
        f"{'ms/utt':>8} {'WER':>7} {'CER':>7} {'parity':>7} {'runs':>4}",
    ]
    for row in result.decoders:
        lines.append(
            f"{row.name:<11} {row.kind:<9} {row.utterances:>5} {row.audio_seconds:>8.1f} "
            f"{row.load_seconds:>7.2f} {row.cpu_seconds:>8.3f} {_num(row.rtfx, '.1f'):>8} "
            f"{row.ms_per_utterance:>8.2f} {percent(row.wer):>7} {percent(row.cer):>7} "
            f"{percent(row.parity):>7} {row.repeats:>4}"
            + ("" if row.deterministic else "  (output changed between repeats)")
        )
    for skipped in result.skipped:
        lines.append(f"{skipped.name:<11} {skipped.kind:<9} skipped: {skipped.reason}")
    lines.append("cpu_s: median process CPU seconds of one-at-a-time decoding; rtfx = audio s / CPU s (one core); "
                 "parity: share of utterances with pyctcdecode's text")
    for par in result.parallel:
        lines.append(
            f"parallel {par.name} ({par.utterances} utterances): decode_batch threads=" + " / ".join(
                f"{n}: {par.wall_seconds[n]:.3f} s" for n in par.threads) +
            " wall (CPU " + " / ".join(f"{par.cpu_seconds[n]:.3f}" for n in par.threads) + " s)"
            f" -> {_parallel_verdict(par)} ({par.cores_usable} usable cores, load {_num(par.load_before, '.2f')} "
            f"before, {_num(par.load_after, '.2f')} after; same text: {par.same_text})"
        )
    compat = result.compat
    if compat:
        lines.append(
            f"compat ({compat.utterances} utterances): decoders.compat decode_batch, {compat.workers} native threads: "
            f"{compat.compat_seconds:.3f} s wall; pyctcdecode decode_batch, fork pool of {compat.workers}: "
            f"{compat.pyctcdecode_seconds:.3f} s -> speed-up {_num(compat.speedup, '.1f')}x "
            f"({compat.cores_usable} usable cores); same text as pyctcdecode's decode_batch {percent(compat.parity)}, "
            f"as its decode_beams {percent(compat.parity_with_decode_beams)}; WER {percent(compat.compat_wer)} "
            f"(pyctcdecode decode_batch {percent(compat.pyctcdecode_wer)})"
        )
    greedy = result.greedy_throughput
    if greedy:
        lines.append(
            f"greedy throughput ({greedy.kernel} kernel): {greedy.frames:,} frames (whole store) in "
            f"{greedy.cpu_seconds:.3f} CPU s = {_num(_millions(greedy.frames_per_second), '.2f')}M frames/s per core; "
            f"numpy's argmax alone runs at {_num(_millions(greedy.argmax_only_frames_per_second), '.1f')}M frames/s"
        )
    return "\n".join(lines)


@run_command
def bench(
    store: Annotated[Optional[Path], typer.Argument(help="Store directory to decode (omit with --default).")] = None,
    lm: Annotated[Optional[Path], typer.Option(help="KenLM model, .arpa or .bin.")] = None,
    unigrams: Unigrams = None,
    beam_width: Annotated[Optional[int], typer.Option(help="Beams kept per frame (default 100).")] = None,
    alpha: Annotated[Optional[float], typer.Option(help="LM weight (default 0.5).")] = None,
    beta: Annotated[Optional[float], typer.Option(help="Word insertion bonus (default 1.0).")] = None,
    limit: Annotated[int, typer.Option(help="Decode the first N utterances (0: the whole store).")] = B.DEFAULT_LIMIT,
    repeats: Annotated[int, typer.Option(help="Timed passes per decoder; the median is reported.")] = B.DEFAULT_REPEATS,
    reference_repeats: Annotated[int, typer.Option(
        help="Timed passes for pyctcdecode (5-10x slower than the rest).")] = B.DEFAULT_REFERENCE_REPEATS,
    decoders: Annotated[Optional[str], typer.Option(
        help="Comma-separated subset, e.g. beam,ctcbeam (default: all; parity needs beam).")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Result file (default: runs/bench/<store>.json).")] = None,
    json_: Json = False,
    default: Annotated[bool, typer.Option("--default", help=(
        "Bench the default LM on data/heldout-store and data/heldout-hard-store (difficulty "
        f"{HARD_DIFFICULTY}), building whichever is missing."))] = False,
) -> None:
    """Time and score pyctcdecode, this project's beam decoders, the peers (ctc-beam-decoder, flashlight) and greedy
    on the same utterances, LM and search parameters."""
    params = beam_params(alpha=alpha, beta=beta, beam_width=beam_width)
    if out is not None:
        check_writable_output(out, "--out")
    names = B.parse_decoders(decoders)
    B.contenders(names)  # an unknown name fails now, not after the stores are built
    started = time.perf_counter()
    if default:
        if store is not None:
            raise LabError("give either a STORE or --default, not both")
        defaults = DefaultData()
        lm = lm or defaults.ensure_lm(say=_say)
        runs = defaults.ensure_stores(say=_say)
    else:
        if store is None:
            raise LabError("give a STORE directory to bench (or --default for the default regimes)")
        if lm is None:
            raise LabError("give the LM to decode with: --lm PATH (a KenLM .arpa or .bin)")
        runs = [(None, store)]

    results = []
    for regime, path in runs:
        if regime:
            _say(f"regime {regime!r}: {path}")
        result = B.run_bench(path, lm, unigrams, params, limit=limit or None, repeats=repeats,
                             reference_repeats=reference_repeats, decoders=names, progress=_progress, say=_say)
        if regime:
            result = dataclasses.replace(result, regime=regime)
        target = out if (out and not default) else B.default_bench_path(path)
        B.write_json(result.to_dict(), target)
        typer.echo(format_table(result))
        typer.echo(f"wrote   {target}\n")
        results.append(result)

    final = results[0].to_dict() if not default else {"regimes": [r.to_dict() for r in results]}
    if default and out:
        B.write_json(final, out)
        typer.echo(f"wrote   {out}")
    _say(f"done in {time.perf_counter() - started:.0f} s")
    if json_:
        emit_json(final)


@run_command
def bench_sweep(
    stores: Annotated[Optional[list[Path]], typer.Argument(help="Stores to bench (omit with --default).")] = None,
    lm: Annotated[Optional[Path], typer.Option(help="KenLM model, .arpa or .bin.")] = None,
    alpha: Annotated[str, typer.Option(help="The grid's LM weights.")] = "0.1:1.9:0.2",
    beta: Annotated[str, typer.Option(help="The grid's word bonuses.")] = "0:4.5:0.5",
    nbest: Annotated[str, typer.Option(help="N-best sizes of the variants, comma-separated.")] = "8,32,128",
    workers: Annotated[Optional[int], typer.Option(help="Processes of the exhaustive sweep (default: cores).")]
    = None,
    default: Annotated[bool, typer.Option("--default", help=(
        "Bench the default LM on both synthetic regimes (data/heldout-store, data/heldout-hard-store), building "
        "whichever is missing."))] = False,
    out: Annotated[Path, typer.Option(help="Folder of the run directories and the JSON result.")]
    = Path("runs/bench-sweep"),
    json_: Json = False,
) -> None:
    """A sweep by rescoring (`decode sweep --method rescore`) against one fastbeam decode and the exhaustive grid:
    its cost, the chosen point's exact WER, and how the gap depends on N and on the anchors."""
    from experiments.bench.sweep_bench import bench_sweep as run_bench_sweep
    from experiments.bench.sweep_bench import format_sweep_bench

    paths = list(stores or [])
    if default:
        defaults = DefaultData()
        lm = lm or defaults.ensure_lm(say=_say)
        paths += [path for _, path in defaults.ensure_stores(say=_say)]
    if not paths:
        raise LabError("give STORE directories to bench (or --default for the synthetic regimes)")
    if lm is None:
        raise LabError("give the LM to decode with: --lm PATH (a KenLM .arpa or .bin)")
    try:
        sizes = [int(n) for n in nbest.split(",") if n.strip()]
    except ValueError:
        raise LabError(f"--nbest {nbest!r}: expected comma-separated whole numbers, e.g. 8,32,128") from None
    check_writable_output(out / "sweep.json", "--out")
    found = []
    for path in paths:
        result = run_bench_sweep(path, lm, out / Path(path).resolve().name, alpha, beta, nbests=sizes,
                                 workers=workers, say=_say)
        typer.echo(format_sweep_bench(result) + "\n")
        found.append(result.to_dict())
    B.write_json({"stores": found}, out / "sweep.json")
    typer.echo(f"wrote   {out / 'sweep.json'}")
    if json_:
        emit_json({"stores": found})
