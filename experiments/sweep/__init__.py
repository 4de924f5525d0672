"""Sweeping: the grid, the sweep spec and its run, the executors (local processes, Dask), rescoring and its search,
the results database and its report.

    from experiments.sweep import SweepSpec, sweep
    result = sweep(SweepSpec.of("data/dev-store", "lm/build/4gram.bin", "0.2:1.0:0.2", "0:2:0.5"))
"""

from experiments.sweep.executors import Executor
from experiments.sweep.grid import Grid
from experiments.sweep.many import PairResult, sweep_many
from experiments.sweep.results import PointResult, ResultsDB, RunResults
from experiments.sweep.run import SweepResult, sweep
from experiments.sweep.spec import RunOptions, SweepSpec

__all__ = [
    "Executor", "Grid", "PairResult", "PointResult", "ResultsDB", "RunOptions", "RunResults", "SweepResult",
    "SweepSpec", "sweep", "sweep_many",
]
