"""The `decode` command: a thin layer over the Python API; each subcommand lives with the module it drives."""

from __future__ import annotations

import typer

from experiments import cli_bench, cli_cache, cli_run, cli_store, cli_sweep

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__, pretty_exceptions_enable=False)

app.command("cache")(cli_cache.cache)
app.command("synth")(cli_store.synth)
app.command("import")(cli_store.import_)
app.command("info")(cli_store.info)
app.command("run")(cli_run.run)
app.command("hotwords")(cli_run.hotwords)
app.command("sweep")(cli_sweep.sweep)
app.command("report")(cli_sweep.report)
app.command("bench")(cli_bench.bench)
app.command("demo")(cli_sweep.demo)
