"""Options several subcommands share (the beam search's parameters), declared once so that they read the same in
every `--help`; and how a decoder parameter given as text becomes a value."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Mapping, Optional

import typer

Unigrams = Annotated[Optional[Path], typer.Option(help="Unigram list for a binary LM (default: beside it).")]
Alpha = Annotated[Optional[float], typer.Option(help="LM weight.")]
Beta = Annotated[Optional[float], typer.Option(help="Word insertion bonus.")]
BeamWidth = Annotated[Optional[int], typer.Option(help="Beams kept per frame.")]
BeamPruneLogp = Annotated[Optional[float], typer.Option(help="Drop beams this far below the best.")]
TokenMinLogp = Annotated[Optional[float], typer.Option(help="Skip tokens below this log-prob.")]
UnkScoreOffset = Annotated[Optional[float], typer.Option(help="Penalty for words outside the LM.")]
Hotword = Annotated[Optional[list[str]], typer.Option(help="Word or phrase to boost (repeatable).")]
HotwordWeight = Annotated[Optional[float], typer.Option(help="Boost per hotword.")]
PruneHistory = Annotated[bool, typer.Option(
    "--prune-history", help="Prune beams by their recent history, as pyctcdecode's decode() does (its "
                            "decode_beams(), and the lab by default, do not): tune or decode for decode().")]

# `--json`, as every subcommand that has it means it (cli.console.run_command keeps the promise).
Json = Annotated[bool, typer.Option(
    "--json", help="Write one JSON document to stdout and every other line to stderr: `... --json | jq` reads it.")]

# A sweep's grid.
AlphaGrid = Annotated[str, typer.Option(
    "--alpha", help="LM weights: START:STOP:STEP (stop included) or a list 0.3,0.5.")]
BetaGrid = Annotated[str, typer.Option("--beta", help="Word insertion bonuses: START:STOP:STEP or a list.")]
# A sweep's method and its rescoring search (experiments.sweep.search), shared by `sweep` and `sweep-many`.
Method = Annotated[str, typer.Option(
    help="grid: decode every point; rescore: decode N-best lists at the anchors, re-rank them at every point, "
         "decode the best few exactly.")]
NBest = Annotated[int, typer.Option(help="--method rescore: hypotheses kept per utterance and decode.")]
Anchors = Annotated[Optional[list[str]], typer.Option(
    "--anchor", help="--method rescore: ALPHA,BETA to decode N-best lists at first (repeatable; default: a quarter "
                     "up the grid's alphas, at its middle beta).")]
Exact = Annotated[int, typer.Option(help=(
    "--method rescore: at most this many more points decoded exactly, each the best estimate near a decoded point "
    "while one promises better than the best decoded."))]
Radius = Annotated[float, typer.Option(
    help="--method rescore: grid steps from a decoded point within which estimates are trusted.")]
Scheduler = Annotated[Optional[str], typer.Option(
    help="Decode on the Dask cluster of this scheduler (tcp://HOST:PORT; default: $DASK_SCHEDULER_ADDRESS, else "
         "local processes). Workers read the store and LM at the same paths.")]


def parameter_value(defaults: Mapping[str, Any], name: str, text: str) -> Any:
    """`text` as a value of decoder parameter `name`, of the type of its default (ValueError when it is not one)."""
    kind = type(defaults[name]) if defaults[name] is not None else float
    if kind is bool:
        return text.strip().lower() in ("1", "true", "yes")
    return kind(float(text)) if kind is int else kind(text)
