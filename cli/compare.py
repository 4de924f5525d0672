"""`decode compare`: is one decoding significantly better than another? (paired bootstrap over utterances)"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Optional

import typer

from cli.console import emit_json, run_command
from cli.options import Json, parameter_value
from experiments.measures.significance import RESAMPLES, compare_files
from logits.errors import LabError


@run_command
def compare(
    a: Annotated[str, typer.Argument(help="System A: hypotheses (JSONL from `decode run --out`), or with --store a "
                                          "decoder: NAME[:key=value,...], e.g. fastbeam:alpha=0.5,beta=1.")],
    b: Annotated[str, typer.Argument(help="System B, likewise, on the same utterances.")],
    store: Annotated[Optional[Path], typer.Option(help="Decode this store with the decoders A and B.")] = None,
    resamples: Annotated[int, typer.Option(min=100, help="Bootstrap resamples.")] = RESAMPLES,
    seed: Annotated[int, typer.Option(help="Seed of the resampling.")] = 0,
    errors: Annotated[bool, typer.Option("--errors", help="Also analyse B's errors and what it fixed and broke "
                                                          "relative to A.")] = False,
    lm: Annotated[Optional[Path], typer.Option(help="The LM of decoders given by name, and with --errors the one "
                                                     "whose vocabulary defines OOV words.")] = None,
    json_: Json = False,
) -> None:
    """WER of A and B, the difference B - A with its 95% confidence interval, and P(B improves on A)."""
    with tempfile.TemporaryDirectory(prefix="decode-compare-") as scratch:
        if store is not None:
            a, b = (_decode_to_file(store, spec, lm, Path(scratch) / f"{name}.jsonl")
                    for name, spec in (("a", a), ("b", b)))
        _compare(Path(a), Path(b), resamples, seed, errors, lm, json_)


def _compare(a: Path, b: Path, resamples: int, seed: int, errors: bool, lm: Path | None, json_: bool) -> None:
    found = compare_files(a, b, resamples=resamples, seed=seed)
    typer.echo(f"{found.utterances} utterances, {found.words:,} reference words, {found.resamples:,} resamples")
    typer.echo(f"WER A {100 * found.wer_a:.2f}%   B {100 * found.wer_b:.2f}%   B - A {100 * found.delta_wer:+.2f} "
               f"points, 95% CI [{100 * found.ci95[0]:+.2f}, {100 * found.ci95[1]:+.2f}]")
    verdict = "significant" if found.significant else "not significant (the interval contains 0)"
    typer.echo(f"P(B better than A) = {found.p_improvement:.3f}: {verdict}")
    summary = found.to_dict()
    if errors:
        summary["errors"] = _print_errors(a, b, lm)
    if json_:
        emit_json(summary)


def _decode_to_file(store: Path, spec: str, lm: Path | None, out: Path) -> Path:
    """Decode `store` with the decoder `spec` (NAME[:key=value,...]) and write its hypotheses as `decode run --out`
    does."""
    from decoders import DecoderConfig, build_decoder, decoder_classes
    from experiments.measures.evaluate import evaluate
    from logits.store import LogitsStore

    name, _, given = spec.partition(":")
    classes = decoder_classes()
    if name not in classes:
        raise LabError(f"decoder {name!r} in {spec!r} is unknown; known: {sorted(classes)}")
    defaults = dict(classes[name].defaults)
    params: dict = {"lm": str(lm)} if lm is not None and "lm" in defaults else {}
    for item in filter(None, (part.strip() for part in given.split(","))):
        key, _, value = item.partition("=")
        if key not in defaults or not value:
            raise LabError(f"{spec!r}: expected key=value with a key of {sorted(defaults)}")
        try:
            params[key] = parameter_value(defaults, key, value)
        except ValueError:
            raise LabError(f"{spec!r}: {key} takes a {type(defaults[key]).__name__}, not {value!r}") from None
    opened = LogitsStore.open(store)
    evaluate(opened, build_decoder(DecoderConfig(name, params), opened.vocabulary)).write_jsonl(out)
    return out


def _print_errors(a: Path, b: Path, lm: Path | None) -> dict:
    from dataclasses import asdict

    from experiments.measures.error_analysis import analyse_errors, compare_errors, describe
    from experiments.measures.significance import read_hypotheses

    rows_a, rows_b = read_hypotheses(a), read_hypotheses(b)
    ids = sorted(rows_a)
    references = [rows_a[i][0] for i in ids]
    vocabulary = None
    if lm is not None:
        from lm.model import LanguageModelCache

        vocabulary = set(LanguageModelCache().get(lm).unigrams)
    found = analyse_errors(references, [rows_b[i][1] for i in ids], vocabulary)
    changes = compare_errors(references, [rows_a[i][1] for i in ids], [rows_b[i][1] for i in ids])
    for line in describe(found, changes):
        typer.echo(line)
    return asdict(found) | {"oov_error_rate": found.oov_error_rate} | asdict(changes)
