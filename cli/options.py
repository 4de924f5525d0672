"""Options several subcommands share (the beam search's parameters), declared once so that they read the same in
every `--help`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

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
