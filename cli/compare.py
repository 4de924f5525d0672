"""`decode compare`: is one decoding significantly better than another? (paired bootstrap over utterances)"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from cli.console import emit_json, run_command
from experiments.significance import RESAMPLES, compare_files


@run_command
def compare(
    a: Annotated[Path, typer.Argument(help="Hypotheses of system A: JSONL from `decode run --out`.")],
    b: Annotated[Path, typer.Argument(help="Hypotheses of system B, of the same utterances.")],
    resamples: Annotated[int, typer.Option(min=100, help="Bootstrap resamples.")] = RESAMPLES,
    seed: Annotated[int, typer.Option(help="Seed of the resampling.")] = 0,
    errors: Annotated[bool, typer.Option("--errors", help="Also analyse B's errors and what it fixed and broke "
                                                          "relative to A.")] = False,
    lm: Annotated[Optional[Path], typer.Option(help="With --errors: the LM whose vocabulary defines OOV words.")]
    = None,
    json_: Annotated[bool, typer.Option("--json", help="End with one JSON line.")] = False,
) -> None:
    """WER of A and B, the difference B - A with its 95% confidence interval, and P(B improves on A)."""
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


def _print_errors(a: Path, b: Path, lm: Path | None) -> dict:
    from dataclasses import asdict

    from experiments.errors import analyse_errors, compare_errors, describe
    from experiments.significance import read_hypotheses

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
