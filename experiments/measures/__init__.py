"""Measuring: decoding a store and scoring it, significance, error analysis, biasing measures, N-best oracles and
decoders side by side."""

from experiments.measures.biasing import BiasedRates, biased_rates
from experiments.measures.error_analysis import ErrorAnalysis, analyse_errors, compare_errors
from experiments.measures.evaluate import Evaluation, evaluate
from experiments.measures.side_by_side import compare, plot_comparison
from experiments.measures.significance import Comparison, compare_files, paired_bootstrap

__all__ = [
    "BiasedRates", "Comparison", "ErrorAnalysis", "Evaluation", "analyse_errors", "biased_rates", "compare",
    "compare_errors", "compare_files", "evaluate", "paired_bootstrap", "plot_comparison",
]
