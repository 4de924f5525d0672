"""`python -m lm`: build KenLM language models (see `python -m lm --help`)."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import typer

from lm.build import LMArtifacts, build_default_lm, build_lm
from lm.errors import LMError
from lm.kenlm_tools import ensure_kenlm_binaries

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Build KenLM n-gram language models for CTC decoding.")


@contextmanager
def _user_errors() -> Iterator[None]:
    # A problem the user can fix gets one line and exit code 2; anything else is a bug and keeps its traceback.
    try:
        yield
    except LMError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from None


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
def build(
    corpus: Path = typer.Option(..., "--corpus", help="UTF-8 prose to train on."),
    order: int = typer.Option(..., "--order", help="n-gram order, 2..6."),
    out: Path = typer.Option(..., "--out", help="Output directory."),
    case: str = typer.Option("upper", "--case", help="upper or lower: the case of the acoustic model's labels."),
    heldout: int = typer.Option(0, "--heldout", help="Sentences (4..30 words) to keep out of the LM."),
    seed: int = typer.Option(0, "--seed", help="Seed for choosing the held-out sentences."),
    memory: str = typer.Option("20%", "--memory", help="lmplz -S: memory for sorting, e.g. 20% or 2G."),
) -> None:
    """Build {order}gram.arpa/.bin, unigrams.txt, heldout.txt and build.json from a text file."""
    with _user_errors():
        _report(build_lm(corpus, out, order=order, case=case, heldout=heldout, seed=seed, memory=memory))


@app.command("build-default")
def build_default(out: Path = typer.Option(Path("lm/build"), "--out", help="Output directory.")) -> None:
    """The default LM: Jane Austen's novels, 4-gram, upper case, 400 held-out sentences; skipped when up to date."""
    with _user_errors():
        _report(build_default_lm(out))


@app.command()
def tools() -> None:
    """Download and compile KenLM's lmplz and build_binary (nothing to do when they exist)."""
    with _user_errors():
        binaries = ensure_kenlm_binaries()
        typer.echo(f"lmplz:        {binaries.lmplz}")
        typer.echo(f"build_binary: {binaries.build_binary}")


if __name__ == "__main__":
    app()
