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


def parameter_value(defaults: Mapping[str, Any], name: str, text: str) -> Any:
    """`text` as a value of decoder parameter `name`, of the type of its default (ValueError when it is not one)."""
    kind = type(defaults[name]) if defaults[name] is not None else float
    if kind is bool:
        return text.strip().lower() in ("1", "true", "yes")
    return kind(float(text)) if kind is int else kind(text)
