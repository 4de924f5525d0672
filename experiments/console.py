"""What every subcommand shares: user errors printed as one line (no traceback), progress bars on stderr."""

from __future__ import annotations

import functools
import json
import sys
from typing import Any, Callable

import typer

from decoders.errors import LabError


def run_command(func: Callable) -> Callable:
    """Decorate a subcommand so that a LabError prints `error: ...` and exits with status 2."""

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


def progress(total: int, desc: str, unit: str = "utt", disable: bool | None = None):
    """A tqdm bar on stderr; hidden when stderr is not a terminal unless the work is long."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=disable, dynamic_ncols=True,
                mininterval=0.5)
