"""What every subcommand shares: user errors printed as one line with exit status 2, and a final JSON line."""

from __future__ import annotations

import functools
import json
import sys
from typing import Any, Callable

import typer

from logits.errors import LabError


def run_command(func: Callable) -> Callable:
    """Decorate a subcommand so that a LabError prints `error: ...` and exits with status 2; any other exception is
    a bug and keeps its traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LabError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None

    return wrapper


def emit_json(obj: dict) -> None:
    """The last line of output, for scripts: one JSON object."""
    sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
