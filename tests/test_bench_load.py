"""The bench's parallel line tells a speed-up from a busy machine: load readings injected, known verdicts."""

from __future__ import annotations

import numpy as np
import pytest

from cli.bench import _parallel_verdict
from decoders.hypothesis import Hypothesis
from experiments.bench import bench as B


class CountingDecoder:
    """decode_batch's interface, instant: the bench's bookkeeping without a search."""

    name = "counting"

    def decode_batch(self, batch, threads=1):
        return [Hypothesis(text=str(len(a))) for a in batch]


class Bars:
    """A progress factory that keeps what each bar was told."""

    def __init__(self):
        self.made = []

    def __call__(self, total, desc, unit):
        bar = {"total": total, "desc": desc, "unit": unit, "done": 0}
        self.made.append(bar)

        class Bar:
            def update(self, n=1):
                bar["done"] += n

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return None

        return Bar()


@pytest.mark.parametrize("before, after, cores, expected", [
    (1.0, 1.5, 2, False),  # the bench alone: one thread before, 1.5 on average during the runs
    (0.2, 1.4, 2, False),  # an idle machine
    (1.13, 1.18, 2, False),  # the load average trailing the bench's own single-threaded runs (measured)
    (2.3, 2.6, 2, True),   # another process on a core before and after: 0.94x is the machine, not the decoder
    (1.0, 2.9, 4, False),  # others hold 1.4 cores of 4; two are left for the two threads
    (3.7, 1.5, 4, True),   # 2.7 cores held by others before the runs: fewer than two free
    (0.0, 0.0, 1, True),   # one usable core cannot run two threads at once
    (None, 1.5, 2, None),  # no reading: no verdict
])
def test_another_process_holding_a_core_is_detected_from_the_load(before, after, cores, expected):
    assert B.core_contention(before, after, cores, (1, 2)) is expected


def test_bench_parallel_records_the_load_before_and_after_and_counts_utterances():
    readings = iter([(2.4, 2.0, 1.8), (2.7, 2.2, 1.9)])
    bars = Bars()
    arrays = [np.zeros((n, 5), np.float32) for n in (3, 4, 5)]
    result = B.bench_parallel(CountingDecoder(), arrays, repeats=1, progress=bars, load=lambda: next(readings))
    assert (result.load_before, result.load_after) == (2.4, 2.7)
    assert result.contended is (1.4 > result.cores_usable - 2 + B.LOAD_MARGIN)  # others: 2.4 - 1 = 1.4 cores
    assert result.same_text and result.repeats == B.PARALLEL_REPEATS
    (bar,) = bars.made  # the bar counts utterances decoded, not runs
    assert bar["unit"] == "utt" and bar["total"] == bar["done"] == B.PARALLEL_REPEATS * 2 * len(arrays)


def test_the_parallel_line_says_when_the_ratio_is_not_a_speed_up():
    par = B.ParallelSpeedup(name="fastbeam", utterances=400, threads=(1, 2), wall_seconds={1: 1.0, 2: 1.06},
                            cpu_seconds={1: 1.0, 2: 1.0}, speedup=0.94, cores_usable=2, same_text=True, repeats=7,
                            load_before=2.3, load_after=2.6, contended=True)
    assert _parallel_verdict(par) == ("0.94x while another process held a core (load above usable cores less the "
                                      "threads): the decoder's speed-up is not measured")
    idle = B.ParallelSpeedup(**{**par.__dict__, "speedup": 1.9, "load_before": 1.0, "load_after": 1.5,
                                "contended": False})
    assert _parallel_verdict(idle) == "speed-up 1.90x"
    single = B.ParallelSpeedup(**{**par.__dict__, "cores_usable": 1})
    assert _parallel_verdict(single) == "0.94x, not a speed-up: fewer usable cores than threads"
