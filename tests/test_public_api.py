"""Each package's public API from its __init__, imported without the heavy packages; the small shared helpers."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from logits.console import percent
from logits.system import usable_cores

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("distributed", "torch", "transformers", "pyctcdecode", "matplotlib", "pandas")


@pytest.mark.parametrize("package, names", [
    ("logits", ["LogitsStore", "subset_store", "merge_stores", "score", "Scores"]),
    ("decoders", ["Decoder", "DecoderConfig", "build_decoder", "decoder_classes", "register_decoder", "Hypothesis",
                  "WordSpan"]),
    ("experiments.sweep", ["sweep", "SweepSpec", "RunOptions", "SweepResult", "sweep_many", "Grid", "ResultsDB",
                           "Executor"]),
    ("experiments.measures", ["evaluate", "Evaluation", "compare", "plot_comparison", "paired_bootstrap",
                              "compare_files", "analyse_errors", "compare_errors", "biased_rates"]),
    ("experiments.bench", ["run_bench", "bench_sweep", "format_sweep_bench", "DefaultData"]),
    ("acoustic", ["cache_logits", "load_acoustic_model", "speak"]),
])
def test_a_package_exports_its_api_without_importing_heavy_packages(package, names):
    probe = (f"import sys, {package} as p; missing = [n for n in {names!r} if n not in p.__all__ or "
             f"not hasattr(p, n)]; print(missing, sorted(m for m in {HEAVY!r} if m in sys.modules))")
    found = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True,
                           env=os.environ | {"PYTHONPATH": str(ROOT)})
    assert found.stdout.strip() == "[] []", found.stdout + found.stderr


def test_percent_formats_a_rate_and_none():
    assert (percent(0.0853), percent(1 / 3), percent(0.0), percent(None)) == ("8.53%", "33.33%", "0.00%", "-")


def test_usable_cores_is_the_affinity_of_this_process():
    expected = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert usable_cores() == expected >= 1
