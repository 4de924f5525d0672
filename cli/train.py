"""`decode train`: the training recipe of the shipped acoustic model (`make model`), thin over acoustic.train."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Annotated

import typer

from acoustic.train import TrainSettings, train_model
from logits.files import check_writable_output
from cli.console import run_command

_DEFAULTS = {f.name: f.default for f in fields(TrainSettings)}


@run_command
def train(
    out: Annotated[Path, typer.Option(help="Model folder to write (save_pretrained + processor).")] = Path(
        "models/espeak-ctc"),
    work: Annotated[Path, typer.Option(help="Speech, features log, checkpoints; rerun to resume.")] = Path(
        "data/train-espeak"),
    steps: Annotated[int, typer.Option(min=1, help="Optimiser steps.")] = _DEFAULTS["steps"],
    sentences: Annotated[int, typer.Option(min=1, help="Training sentences.")] = _DEFAULTS["sentences"],
    seed: Annotated[int, typer.Option(help="Seed of sentences, voices, initialisation and batch order.")] = 0,
    threads: Annotated[int, typer.Option(min=1, help="torch threads.")] = _DEFAULTS["threads"],
    small: Annotated[bool, typer.Option(
        "--small", help="A tiny model and data set, for trying the recipe in a minute (not the shipped model).")]
    = False,
) -> None:
    """Train the espeak-ng CTC model from scratch (speech, features, training with checkpoints, dev CER plot)."""
    check_writable_output(out, "--out", folder=True)
    settings = TrainSettings(steps=steps, sentences=sentences, seed=seed, threads=threads)
    if small:
        settings = TrainSettings(steps=steps if steps != _DEFAULTS["steps"] else 20, seed=seed, threads=threads,
                                 sentences=min(sentences, 60), dev_sentences=10, eval_every=10, checkpoint_every=5,
                                 layers=2, hidden_size=32, heads=2, intermediate_size=64)
    train_model(settings, work, out)
