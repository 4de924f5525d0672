"""The `decode` command: a thin layer over the Python API; each subcommand lives with the module it drives."""

from __future__ import annotations

import typer

from experiments import cli_run, cli_store

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__, pretty_exceptions_enable=False)

app.command("synth")(cli_store.synth)
app.command("import")(cli_store.import_)
app.command("info")(cli_store.info)
app.command("run")(cli_run.run)
app.command("hotwords")(cli_run.hotwords)

from experiments import cli_cache  # noqa: E402  (appended with the cache command)

app.command("cache")(cli_cache.cache)

from experiments import cli_bench  # noqa: E402  (appended with the bench command)

app.command("bench")(cli_bench.bench)
