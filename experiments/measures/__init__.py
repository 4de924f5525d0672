"""Measuring: decoding a store and scoring it, significance, error analysis, biasing measures, N-best oracles and
decoders side by side."""

from experiments.measures.biasing import biased_rates
from experiments.measures.error_analysis import analyse_errors, compare_errors
from experiments.measures.side_by_side import compare, plot_comparison

__all__ = ["analyse_errors", "biased_rates", "compare", "compare_errors", "plot_comparison"]
