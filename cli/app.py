"""The `decode` command: the lab's one entry point, a thin layer over the Python API that notebooks use too.

Each module of this package holds the subcommands of one part of the pipeline: `speech` (speak), `store` (synth,
import, info), `cache`, `train`, `run` (run, hotwords), `sweep` (sweep, sweep-many, report, demo), `export`, `compare`, `bench`, and the groups `lm`
and `native`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cli import bench, cache, compare, export, lm, native, run, speech, store, sweep, train
from cli.entry import LabGroup, LabTyper, quiet_libraries

app = LabTyper(cls=LabGroup, add_completion=False, no_args_is_help=True, help=__doc__.splitlines()[0],
               pretty_exceptions_enable=False)


@app.callback()
def _options(
    ctx: typer.Context,
    verbose: Annotated[bool, typer.Option(
        "--verbose", help="Let the libraries' own banners through (transformers' progress bars, pyctcdecode's "
                          "and KenLM's notes); before the subcommand: decode --verbose run ...")] = False,
) -> None:
    if not verbose:
        quiet_libraries(ctx)

app.command("speak")(speech.speak)
app.command("cache")(cache.cache)
app.command("train")(train.train)
app.command("synth")(store.synth)
app.command("import")(store.import_)
app.command("info")(store.info)
app.command("run")(run.run)
app.command("hotwords")(run.hotwords)
app.command("sweep")(sweep.sweep)
app.command("sweep-many")(sweep.sweep_many)
app.command("report")(sweep.report)
app.command("export")(export.export)
app.command("compare")(compare.compare)
app.command("demo")(sweep.demo)
app.command("bench")(bench.bench)
app.command("bench-sweep")(bench.bench_sweep)
app.add_typer(lm.app, name="lm")
app.add_typer(native.app, name="native")


if __name__ == "__main__":  # python -m cli.app, as the `decode` script
    app()
