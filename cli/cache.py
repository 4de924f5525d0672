"""`decode cache`: run a CTC acoustic model over audio once and keep its log-probs in a logits store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from acoustic.cache import cache_logits
from cli.console import emit_json, run_command
from cli.options import Json


@run_command
def cache(
    model: Annotated[str, typer.Option(help="Hugging Face CTC model: a hub id or a save_pretrained folder.")],
    audio: Annotated[str, typer.Option(help="LibriSpeech-style folder, folder + transcripts.txt/.tsv, saved "
                                            "data set folder, or hub data set NAME[:CONFIG].")],
    out: Annotated[Path, typer.Option(help="Store directory to write (an interrupted one is resumed).")],
    batch_size: Annotated[int, typer.Option(min=1, help="Utterances per batch (sorted by length).")] = 8,
    device: Annotated[str, typer.Option(help="cpu or cuda (cuda:N).")] = "cpu",
    dtype: Annotated[str, typer.Option(help="Model precision: float32, float16 or bfloat16.")] = "float32",
    store_dtype: Annotated[str, typer.Option(help="Stored log-probs: float32 or float16 (half the size).")] = "float32",
    limit: Annotated[Optional[int], typer.Option(min=1, help="Only the first N utterances (by id).")] = None,
    split: Annotated[Optional[str], typer.Option(help="Data set split (e.g. test), for data set sources.")] = None,
    force: Annotated[bool, typer.Option(help="Start over: replace a store at --out, complete or interrupted.")] = False,
    scheduler: Annotated[Optional[str], typer.Option(
        help="Cache on the Dask cluster of this scheduler (tcp://HOST:PORT), one part per worker, merged into one "
             "store; workers see the model, audio and --out at the same paths.")] = None,
    json_: Json = False,
) -> None:
    """Cache a model's log-probs for every utterance of an audio source (skips bad inputs, resumes when rerun)."""
    if scheduler:
        from acoustic.dask_cache import cache_on_cluster

        report = cache_on_cluster(scheduler, model, audio, out, batch_size=batch_size, device=device, dtype=dtype,
                                  store_dtype=store_dtype, limit=limit, split=split, overwrite=force)
    else:
        report = cache_logits(model, audio, out, batch_size=batch_size, device=device, dtype=dtype,
                              store_dtype=store_dtype, limit=limit, split=split, overwrite=force)
    typer.echo(report.summary())
    if json_:
        emit_json(report.to_dict())
