"""Where a sweep's points are decoded: in this process or a pool of forked processes (`LocalExecutor`, the default),
or on a Dask cluster (experiments.sweep.dask_executor, `decode sweep --scheduler tcp://HOST:PORT`).

An executor takes the tasks still to decode and yields an Outcome per task as each finishes; the sweep alone writes
the results store, so a run records the same rows (and resumes the same way) whichever executor decoded them.

Local workers each open the store (memory-mapped: the arrays are shared with the parent, not copied) and keep one
LanguageModelCache, so the LM is loaded once per worker and never pickled; tasks and results are small (a key and
weights in, scores and hypothesis texts out). They claim each point in the results store before decoding it, so two
sweeps into one run directory never decode a point twice.
"""

from __future__ import annotations

import ctypes
import json
import multiprocessing
import os
import signal
import socket
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Iterator, Protocol, Sequence, runtime_checkable

from decoders.base import Decoder
from decoders.config import DecoderConfig
from decoders.factory import build_decoder
from experiments.measures.evaluate import evaluate
from experiments.sweep.grid import Grid
from experiments.sweep.rescore import Anchor, LMScorer, nbest_table, prepare
from experiments.sweep.constants import DEFAULT_RADIUS
from experiments.sweep.search import search_grid
from experiments.sweep.results import PointResult, RescoredResult, ResultsDB, now
from logits.versions import versions
from logits.errors import LabError
from logits.store import LogitsStore


@dataclass(frozen=True)
class Task:
    """One point to decode: what the worker needs, nothing heavy. Its weights are in its config, nowhere else."""

    key: str
    config: DecoderConfig  # effective config, real LM path
    digest: str  # of the keyed config (LM by content)
    lm_fingerprint: str | None


@dataclass(frozen=True)
class Outcome:
    """What a worker sends back for a task. `result` is None when another sweep had stored the point already."""

    key: str
    result: PointResult | None


@dataclass(frozen=True)
class RescorePlan:
    """How a rescoring sweep searches its grid (experiments.sweep.search): N-best lists of `nbest` hypotheses at
    the `anchors`, then up to `exact` decodes within `radius` grid steps of a decoded point."""

    grid: Grid
    anchors: tuple[Anchor, ...]
    nbest: int
    exact: int
    radius: float = DEFAULT_RADIUS


@dataclass(frozen=True)
class RescoreOutcome:
    """What a rescoring search sends back: the grid points it decoded, as results (anchors off the grid are not
    results), every grid point's estimate, and its cost."""

    results: tuple[PointResult, ...]
    estimates: tuple[RescoredResult, ...]
    exact_keys: tuple[str, ...]  # the grid points decoded, in the order decoded
    seconds: float  # the whole search: decodes with N-best lists and re-ranking
    hypotheses: int  # N-best entries re-ranked


@runtime_checkable
class Executor(Protocol):
    """Where a sweep's points are decoded (LocalExecutor, experiments.sweep.dask_executor.DaskExecutor). The sweep
    plans the tasks and writes every result; an executor only decodes and hands the outcomes back."""

    workers: int  # points decoded at once, reported with the run

    def describe(self) -> str:
        """Where the points are decoded, in words ("local", "the Dask cluster at tcp://...")."""
        ...

    def run(self, todo: list[Task]) -> Iterator[Outcome]:
        """Decode `todo`, yielding an Outcome per task as each finishes (its result None when another sweep stored
        the point first)."""
        ...

    def rescore(self, tasks: Sequence[Task], plan: RescorePlan) -> RescoreOutcome:
        """A rescoring search of the grid's `tasks` (experiments.sweep.search) by `plan`."""
        ...

    def close(self) -> None:
        """Release what the executor holds (a cluster client); the sweep calls it once, when done or failed."""
        ...


class PointRunner:
    """Decodes tasks against one opened store with one LM cache: the state of one worker (or of the parent).

    `db` is the run's results store where the runner may claim points (local workers); a Dask worker has none.
    """

    def __init__(self, store: LogitsStore, lms, db: ResultsDB | None = None, seed: Decoder | None = None) -> None:
        self.store = store
        self.lms = lms
        self.db = db
        self.versions = json.dumps(versions(), sort_keys=True)
        # The last decoder of each name: a sweep's points differ only in alpha and beta, which reconfigure()
        # applies without reloading the LM or rebuilding alphabets and tables.
        self._decoders: dict[str, Decoder] = {} if seed is None else {seed.name: seed}

    def decoder(self, config: DecoderConfig) -> Decoder:
        last = self._decoders.get(config.name)
        if last is None:
            decoder = build_decoder(config, self.store.vocabulary, self.lms)
        else:
            decoder = last.reconfigure(**dict(config.params))
        self._decoders[config.name] = decoder
        return decoder

    def run(self, task: Task) -> Outcome:
        # Another sweep into the same directory may have stored this point since we planned, or be decoding it now.
        if self.db is not None and (self.db.has(task.key) or not self.db.claim(task.key)):
            return Outcome(task.key, None)
        return Outcome(task.key, self.decode(task))

    def decode(self, task: Task) -> PointResult:
        evaluation = evaluate(self.store, self.decoder(task.config))
        return self._result(task, evaluation.wer, evaluation.cer, tuple(h.text for h in evaluation.hypotheses),
                            evaluation.seconds)

    def rescore(self, tasks: Sequence[Task], plan: RescorePlan, threads: int = 1) -> RescoreOutcome:
        """A rescoring sweep of `tasks` (the grid's points, alike but for alpha and beta) on `threads` threads."""
        started = time.perf_counter()
        decoder = self.decoder(tasks[0].config)
        loaded = self.lms.get(decoder.param("lm"), decoder.param("unigrams"))
        scorer = LMScorer(loaded, float(decoder.param("unk_score_offset")), bool(decoder.param("lm_score_boundary")))
        seconds: dict[Anchor, float] = {}
        prepared = prepare(self.store, decoder)  # once for the few decodes

        def decode(points):
            table, tops = nbest_table(self.store, decoder, points, plan.nbest, scorer, threads=threads,
                                      prepared=prepared)
            seconds.update((p, table.seconds / len(points)) for p in points)
            return table, tops

        found = search_grid(decode, self.store.references, plan.grid, plan.anchors, plan.exact, plan.radius)
        by_weights = {Anchor(t.config.get("alpha"), t.config.get("beta")): t for t in tasks}
        decoded = [(by_weights[p], p) for p in found.decoded if p in by_weights]
        results = tuple(self._result(task, found.exact[p].wer, found.exact[p].cer, found.decoded[p], seconds[p])
                        for task, p in decoded)
        estimates = tuple(RescoredResult(by_weights[Anchor(e.alpha, e.beta)].key, e.alpha, e.beta, e.wer, e.cer)
                          for e in found.estimates)
        return RescoreOutcome(results, estimates, tuple(task.key for task, _ in decoded),
                              time.perf_counter() - started, len(found.table))

    def _result(self, task: Task, wer: float | None, cer: float | None, texts: tuple[str, ...],
                seconds: float) -> PointResult:
        return PointResult(
            key=task.key,
            store_fingerprint=self.store.fingerprint,
            config_digest=task.digest,
            store_path=str(self.store.path),
            config=task.config,
            lm_fingerprint=task.lm_fingerprint,
            wer=wer,
            cer=cer,
            utterances=len(texts),
            seconds=seconds,
            created=now(),
            versions=self.versions,
            hypotheses=texts,
            host=socket.gethostname(),
        )


class LocalExecutor:
    """This process (`workers` 1, or a single task) or a pool of `workers` forked processes."""

    def __init__(self, store: LogitsStore, lms, seed: Decoder, db: ResultsDB, workers: int) -> None:
        self.store, self.lms, self.seed, self.db, self.workers = store, lms, seed, db, workers

    def describe(self) -> str:
        return "local"

    def close(self) -> None:
        pass

    def rescore(self, tasks: Sequence[Task], plan: RescorePlan) -> RescoreOutcome:
        """A rescoring search in this process: its few decodes are sequential, each on the decoder's threads (one
        per worker)."""
        return PointRunner(self.store, self.lms, seed=self.seed).rescore(tasks, plan, threads=self.workers)

    def run(self, todo: list[Task]) -> Iterator[Outcome]:
        """Yield an Outcome per task as each finishes."""
        if not todo:
            return
        if self.workers == 1 or len(todo) == 1:
            runner = PointRunner(self.store, self.lms, self.db, seed=self.seed)
            for task in todo:
                yield runner.run(task)
            return
        # A process pool from concurrent.futures rather than multiprocessing.Pool: when a worker dies without a word
        # (the kernel's OOM killer, a signal), the futures fail with BrokenProcessPool, where Pool would wait for ever.
        context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
        before = set(multiprocessing.active_children())
        pool = ProcessPoolExecutor(
            max_workers=min(self.workers, len(todo)), mp_context=context, initializer=_init_worker,
            initargs=(str(self.store.path), self.store.fingerprint, str(self.db.run_dir)),
        )
        started: set = set()
        try:
            # One future per point: points take seconds each and vary, so handing them out one by one keeps every
            # core busy. Every worker has started once all are submitted.
            futures = [pool.submit(_run_task, task) for task in todo]
            started = set(multiprocessing.active_children()) - before
            for future in as_completed(futures):
                yield future.result()
        except BrokenProcessPool as exc:
            raise LabError(
                "a sweep worker died without a word (killed by a signal, or by the kernel for lack of memory?); "
                "every point finished before it is stored: run the same command again to resume"
            ) from exc
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            # On an error or Ctrl-C, points still in flight are stopped rather than waited for (the executor has no
            # terminate()); after a normal end the workers are idle and this only reaps them.
            for process in started:
                process.terminate()
                process.join()


# The one piece of module state: the runner of a pool worker process, set by its initializer after the fork and
# never in the parent. Pool tasks are plain functions, so this is where they find the worker's store and LM.
_worker: PointRunner | LabError | None = None


def _init_worker(store_path: str, fingerprint: str, run_dir: str) -> None:
    global _worker
    # Ctrl-C reaches the whole process group; the parent alone handles it (terminating the pool), so workers do
    # not each print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    from lm.model import LanguageModelCache

    try:
        store = LogitsStore.open(store_path)
        if store.fingerprint != fingerprint:
            raise LabError(f"{store_path} changed while the sweep was starting (fingerprint differs); rerun it")
        _worker = PointRunner(store, LanguageModelCache(), ResultsDB(run_dir))
    except LabError as exc:
        # An exception escaping an initializer breaks the pool with a generic message; hand it to the tasks.
        _worker = exc


def _run_task(task: Task) -> Outcome:
    if isinstance(_worker, LabError):
        raise _worker
    assert _worker is not None, "_run_task runs only in pool workers set up by _init_worker"
    return _worker.run(task)


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this worker when the sweep process dies.

    Without this, `kill -9` of a sweep leaves its pool workers blocked on the task queue for ever (they hold the
    queue's write end themselves, so they never see end-of-file).
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)
