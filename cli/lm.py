"""`decode lm build | build-default | tools`: KenLM n-gram language models (thin over `lm.build`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cli.console import run_command
from lm.build import DEFAULT_LM_DIR, LMArtifacts, build_default_lm, build_lm
from lm.kenlm_tools import ensure_kenlm_binaries

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Build KenLM n-gram language models.")


def _report(artifacts: LMArtifacts) -> None:
    stats = artifacts.stats
    summary = {key: stats.get(key) for key in ("sentences", "words", "lm_words", "heldout", "vocabulary", "ngrams",
                                               "seconds")}
    typer.echo(f"arpa:     {artifacts.arpa}")
    typer.echo(f"binary:   {artifacts.binary}")
    typer.echo(f"unigrams: {artifacts.unigrams}")
    typer.echo(f"heldout:  {artifacts.heldout if artifacts.heldout is not None else '-'}")
    typer.echo(json.dumps(summary))


@app.command()
@run_command
def build(
    corpus: Annotated[Path, typer.Option(help="UTF-8 prose to train on.")],
    order: Annotated[int, typer.Option(help="n-gram order, 2..6.")],
    out: Annotated[Path, typer.Option(help="Output directory.")],
    case: Annotated[str, typer.Option(help="upper or lower: the case of the acoustic model's labels.")] = "upper",
    heldout: Annotated[int, typer.Option(help="Sentences (4..30 words) to keep out of the LM.")] = 0,
    seed: Annotated[int, typer.Option(help="Seed for choosing the held-out sentences.")] = 0,
    memory: Annotated[str, typer.Option(help="lmplz -S: memory for sorting, e.g. 20% or 2G.")] = "20%",
) -> None:
    """Build {order}gram.arpa/.bin, unigrams.txt, heldout.txt and build.json from a text file."""
    _report(build_lm(corpus, out, order=order, case=case, heldout=heldout, seed=seed, memory=memory))


@app.command("build-default")
@run_command
def build_default(out: Annotated[Path, typer.Option(help="Output directory.")] = DEFAULT_LM_DIR) -> None:
    """The default LM: Jane Austen's novels, 4-gram, upper case, 400 held-out sentences; skipped when up to date."""
    _report(build_default_lm(out))


@app.command()
@run_command
def tools() -> None:
    """Download and compile KenLM's lmplz and build_binary (nothing to do when they exist)."""
    binaries = ensure_kenlm_binaries()
    typer.echo(f"lmplz:        {binaries.lmplz}")
    typer.echo(f"build_binary: {binaries.build_binary}")
