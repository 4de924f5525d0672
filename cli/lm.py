"""`decode lm build | build-default | convert | eval | tools`: KenLM n-gram language models (thin over `lm`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from cli.console import emit_json, run_command
from cli.options import Json
from lm.build import DEFAULT_LM_DIR, LMArtifacts, build_default_lm, build_lm, convert_arpa
from lm.errors import LMError
from lm.evaluate import evaluate_lm
from lm.kenlm_tools import ensure_kenlm_binaries
from logits.files import check_writable_output

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Build KenLM n-gram language models.")


def _report(artifacts: LMArtifacts) -> None:
    stats = artifacts.stats
    summary = {key: stats.get(key) for key in ("format", "sentences", "words", "lm_words", "heldout", "vocabulary",
                                               "ngrams", "bytes", "heldout_perplexity", "heldout_oov_rate",
                                               "normalise_seconds", "seconds")}
    typer.echo(f"arpa:     {artifacts.arpa}")
    typer.echo(f"binary:   {artifacts.binary}")
    typer.echo(f"unigrams: {artifacts.unigrams}")
    typer.echo(f"heldout:  {artifacts.heldout if artifacts.heldout is not None else '-'}")
    typer.echo(json.dumps(summary))


@app.command()
@run_command
def build(
    corpus: Annotated[Path, typer.Option(help="UTF-8 text to train on: prose or one sentence per line, plain or gzip.")],
    order: Annotated[int, typer.Option(help="n-gram order, 2..6.")],
    out: Annotated[Path, typer.Option(help="Output directory.")],
    case: Annotated[str, typer.Option(help="upper or lower: the case of the acoustic model's labels.")] = "upper",
    heldout: Annotated[int, typer.Option(help="Sentences (4..30 words) to keep out of the LM.")] = 0,
    seed: Annotated[int, typer.Option(help="Seed for choosing the held-out sentences.")] = 0,
    memory: Annotated[str, typer.Option(help="lmplz -S: memory for sorting, e.g. 20% or 2G.")] = "20%",
    format: Annotated[str, typer.Option(help="prose (wrapped paragraphs), lines (one sentence per line) or auto.")]
    = "auto",
    prune: Annotated[str, typer.Option(help="lmplz --prune counts per order, e.g. '0 0 1 1' (drop 3- and 4-grams "
                                            "seen once).")] = "",
    quantize: Annotated[bool, typer.Option("--quantize", help="Quantised trie binary (build_binary -q 8 -b 8 "
                                                              "trie): smaller.")] = False,
    vocab_top: Annotated[Optional[int], typer.Option(help="Keep only the N most frequent words.")] = None,
) -> None:
    """Build {order}gram.arpa/.bin, unigrams.txt, heldout.txt and build.json from a text file (plain or gzip)."""
    try:
        thresholds = tuple(int(t) for t in prune.replace(",", " ").split())
    except ValueError:
        raise LMError(f"--prune takes counts per order, e.g. '0 0 1 1'; got {prune!r}") from None
    check_writable_output(out, "--out", folder=True)
    _report(build_lm(corpus, out, order=order, case=case, heldout=heldout, seed=seed, memory=memory, format=format,
                     prune=thresholds, quantize=quantize, vocab_top=vocab_top))


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


@app.command("eval")
@run_command
def eval_(
    lm: Annotated[Path, typer.Argument(help="KenLM model, .arpa or .bin.")],
    text: Annotated[Path, typer.Argument(help="Text to score: prose or one sentence per line, plain or gzip.")],
    case: Annotated[str, typer.Option(help="upper or lower: the case of the LM's words.")] = "upper",
    format: Annotated[str, typer.Option(help="prose, lines or auto.")] = "auto",
    json_: Json = False,
) -> None:
    """Perplexity and out-of-vocabulary rate of a text under an LM (KenLM's scoring, sentence ends included)."""
    found = evaluate_lm(lm, text, case=case, format=format)
    typer.echo(f"{found.text}: {found.sentences:,} sentences, {found.words:,} words")
    typer.echo(f"perplexity {found.perplexity:.1f}   OOV {found.oov:,} words ({100 * found.oov_rate:.2f}%)")
    if json_:
        emit_json(found.to_dict())


@app.command()
@run_command
def convert(
    arpa: Annotated[Path, typer.Argument(help="An ARPA file, plain or .gz (e.g. LibriSpeech's 4-gram.arpa.gz).")],
    out: Annotated[Path, typer.Option(help="Output directory.")],
    quantize: Annotated[bool, typer.Option("--quantize", help="Quantised trie binary: smaller.")] = False,
) -> None:
    """A KenLM binary and unigrams.txt (what the decoders need beside a binary) from an existing ARPA file."""
    check_writable_output(out, "--out", folder=True)
    found = convert_arpa(arpa, out, quantize=quantize)
    typer.echo(f"binary:   {found.binary}")
    typer.echo(f"unigrams: {found.unigrams}")
    typer.echo(json.dumps({k: found.stats[k] for k in ("vocabulary", "ngrams", "bytes", "seconds")}))
