"""What every subcommand shares: failures printed as one `error: ...` line with exit status 2, warnings as one
`warning: ...` line, and a final JSON line."""

from __future__ import annotations

import functools
import json
import sqlite3
import sys
import warnings
from typing import Any, Callable

import typer

from logits.errors import LabError, describe_os_error


def run_command(func: Callable) -> Callable:
    """Decorate a subcommand so that what the user can fix prints one `error: ...` line and exits with status 2: a
    LabError, an OS error (a full disk, a permission, a missing path: named by `describe_os_error`) and SQLite's
    "disk is full". Anything else is a bug and keeps its traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            try:
                return func(*args, **kwargs)
            except LabError as exc:
                message = str(exc)
            except OSError as exc:
                message = describe_os_error(exc)
            except sqlite3.OperationalError as exc:
                if "full" not in str(exc):
                    raise
                message = f"the disk is full ({exc}); free some space and run the command again"
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(2)

    return wrapper


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning is advice for the user: one line, without the source line Python would print under it."""
    typer.echo(f"warning: {message}", err=True)


def emit_json(obj: dict) -> None:
    """The last line of output, for scripts: one JSON object."""
    sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
