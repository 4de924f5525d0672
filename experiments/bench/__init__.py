"""Benchmarking: `decode bench` (decoders against their peers), `decode bench-sweep` (rescoring against the grid)
and the default data they run on."""

from experiments.bench.bench import BenchResult, run_bench
from experiments.bench.default_data import DefaultData
from experiments.bench.sweep_bench import SweepBench, bench_sweep, format_sweep_bench

__all__ = ["BenchResult", "DefaultData", "SweepBench", "bench_sweep", "format_sweep_bench", "run_bench"]
