"""Sweeping: the grid, the sweep spec and its run, the executors (local processes, Dask), rescoring and its search,
the results database and its report."""

from experiments.sweep.run import sweep

__all__ = ["sweep"]
