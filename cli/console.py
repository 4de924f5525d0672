"""What every subcommand shares: failures printed as one `error: ...` line with exit status 2, warnings as one
`warning: ...` line, and `--json`: one JSON document on stdout, every line for people on stderr."""

from __future__ import annotations

import contextlib
import functools
import json
import select
import sqlite3
import sys
import warnings
from typing import Any, Callable

import typer
# typer (pinned) carries its own click; the context stack that commands run in is that one's.
from typer._click.globals import get_current_context

from logits.errors import LabError, describe_os_error


def run_command(func: Callable) -> Callable:
    """Decorate a subcommand so that what the user can fix prints one `error: ...` line and exits with status 2: a
    LabError, an OS error (a full disk, a permission, a missing path: named by `describe_os_error`) and SQLite's
    "disk is full". Anything else is a bug and keeps its traceback.

    A subcommand given `--json` (its `json_` parameter) writes every line of its own to stderr, so that stdout holds
    only the document `emit_json` writes: `decode run ... --json | jq` reads one JSON value."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings(), _json_only_on_stdout(bool(kwargs.get("json_"))):
            warnings.showwarning = _one_line_warning
            try:
                return func(*args, **kwargs)
            except LabError as exc:
                message = str(exc)
            except BrokenPipeError as exc:
                if stdout_closed():
                    raise  # the reader of our output went away: not the user's error (cli.entry ends quietly)
                message = describe_os_error(exc)
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


# Where a `--json` subcommand's document goes while its other output is sent to stderr (in the click context's
# meta, so that it lives as long as the command).
_JSON_STREAM = "lab.json_stream"


@contextlib.contextmanager
def _json_only_on_stdout(on: bool):
    context = get_current_context(silent=True)
    if not on or context is None:
        yield
        return
    context.meta[_JSON_STREAM] = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):
        yield


def emit_json(obj: dict) -> None:
    """The output of `--json`, for scripts: one JSON object, alone on stdout."""
    context = get_current_context(silent=True)
    stream = context.meta.get(_JSON_STREAM, sys.stdout) if context is not None else sys.stdout
    stream.write(json.dumps(obj, sort_keys=True) + "\n")
    stream.flush()


def stdout_closed() -> bool:
    """Whether stdout is a pipe or terminal whose other end has gone (`| head -1` after its line): POLLERR or
    POLLHUP on its descriptor. A broken pipe elsewhere (a socket, a child's stdin) is a failure to report."""
    try:
        fd = sys.__stdout__.fileno() if sys.__stdout__ is not None else -1
    except (OSError, ValueError):
        return False
    if fd < 0:
        return False
    poller = select.poll()
    poller.register(fd, 0)  # POLLERR and POLLHUP are reported whatever is asked for
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))
