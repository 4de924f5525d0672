"""`decode native build`: compile the decoders' C++ kernels (beam search, best path) unless they are up to date."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.console import run_command
from decoders.native.build import ensure_built

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="The compiled kernels of the decoders (decoders/native).")


@app.command()
@run_command
def build(
    force: Annotated[bool, typer.Option(help="Rebuild from scratch even when the module is up to date.")] = False,
    jobs: Annotated[int, typer.Option(min=1, help="Parallel compile jobs.")] = 2,
) -> None:
    """Compile decoders/_kernels*.so (make install runs this); a no-op when it is newer than its sources."""
    path = ensure_built(force=force, jobs=jobs)
    typer.echo(f"{path} is up to date")
