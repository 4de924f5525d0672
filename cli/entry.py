"""How the `decode` process starts and ends, the shell's side of the error contract: a usage error is one `error:`
line and exit status 2 (not click's boxed help), a stdout closed under us (`decode report RUN | head -1`) ends
quietly as SIGPIPE ends other tools, and Ctrl-C kills the process by SIGINT once the commands have cleaned up, so
that a shell loop over `decode` stops too (an exit status of 130 does not stop it). And the libraries' own banners
(transformers' "Loading weights" bar, pyctcdecode's notes on the alphabet) stay off the terminal unless `--verbose`.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from typing import Any

import typer
# typer (pinned) carries its own click, whose exceptions its parser raises (the `click` package's are others).
from typer._click import exceptions as click_errors
from typer._click.core import Context
from typer.core import TyperGroup

from cli.console import stdout_closed


class _Interrupted(BaseException):
    """Ctrl-C on its way past typer, which would turn KeyboardInterrupt into a plain exit status 130."""


class _StdoutClosed(BaseException):
    """The reader of stdout went away; past typer, which would exit 1."""


class LabGroup(TyperGroup):
    """The top group: turns click's usage errors (of any subcommand: they are all parsed within this group's
    invoke) into one `error:` line, and hands Ctrl-C and a closed stdout to the entry point."""

    def make_context(self, *args: Any, **kwargs: Any) -> Context:
        try:
            return super().make_context(*args, **kwargs)
        except click_errors.NoArgsIsHelpError:
            raise  # `decode` alone: the help, as asked for
        except click_errors.UsageError as exc:
            _usage_error(exc)

    def invoke(self, ctx: Context) -> Any:
        given = [*ctx._protected_args, *ctx.args]  # the subcommand's words, before click consumes them
        try:
            return super().invoke(ctx)
        except click_errors.NoArgsIsHelpError:
            raise  # `decode lm` alone
        except click_errors.ClickException as exc:
            _usage_error(exc, given)
        except KeyboardInterrupt:
            raise _Interrupted from None
        except BrokenPipeError:
            if not stdout_closed():
                raise
            raise _StdoutClosed from None


def _usage_error(exc: click_errors.ClickException, given: list[str] = ()) -> None:
    """One `error:` line: click's message (the parameter and what it expects), the value found, where help is."""
    message = " ".join(exc.format_message().split()).rstrip(".")  # one line, whatever click wrapped
    found = _value_given(given, getattr(exc, "param", None))
    if found is not None:
        message += f" (found {found!r})"
    if getattr(exc, "ctx", None) is not None:
        message += f"; see `{exc.ctx.command_path} --help`"
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _value_given(words: list[str], param: Any) -> str | None:
    """The last value given to option `param` among the command line's `words` (`--beam-width abc` or
    `--beam-width=abc`), which click's message leaves out; None for an argument or an option not found."""
    names = set(getattr(param, "opts", ())) | set(getattr(param, "secondary_opts", ()))
    if getattr(param, "param_type_name", "") != "option" or not names:
        return None
    found = None
    for index, word in enumerate(words):
        name, equals, value = word.partition("=")
        if name in names:
            found = value if equals else (words[index + 1] if index + 1 < len(words) else None)
    return found


class LabTyper(typer.Typer):
    """The `decode` app; calling it (the console script does) is the process's entry point."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except _StdoutClosed:
            # Nothing more can reach the reader; point stdout at /dev/null so that the flush at exit is quiet too.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            _die_by(signal.SIGPIPE)
        except _Interrupted:
            _die_by(signal.SIGINT)


# Loggers of the libraries whose warnings are notes for their own developers, not for the lab's users.
_CHATTY_LOGGERS = ("pyctcdecode", "transformers", "huggingface_hub")
# Read by huggingface_hub and transformers when first imported: their progress bars ("Loading weights") and
# default log level.
_QUIET_ENVIRONMENT = {"HF_HUB_DISABLE_PROGRESS_BARS": "1", "TRANSFORMERS_VERBOSITY": "error"}


def quiet_libraries(ctx: Context) -> None:
    """Keep the libraries' banners off the terminal for the command of `ctx` (restored when it closes, so that a
    test running commands in one process sees the libraries as they were)."""
    levels = {name: logging.getLogger(name).level for name in _CHATTY_LOGGERS}
    environment = {name: os.environ.get(name) for name in _QUIET_ENVIRONMENT}
    for name in _CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    for name, value in _QUIET_ENVIRONMENT.items():
        os.environ.setdefault(name, value)  # a user's own setting wins

    def restore() -> None:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        for name, value in environment.items():
            if value is None:
                os.environ.pop(name, None)

    ctx.call_on_close(restore)


def _die_by(signum: int) -> None:
    """End this process by `signum`, as the default handler would have, so the parent (a shell) sees why."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
    sys.exit(128 + signum)  # not reached where the signal kills; there, the status a shell would show
