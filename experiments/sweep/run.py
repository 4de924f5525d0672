"""Alpha/beta sweeps: decode a store at every point of a grid, in parallel, into a resumable results store.

    result = sweep("data/heldout-store", "lm/build/4gram.bin", alphas="0.2:1.0:0.2", betas="0:2:0.5")
    result.best, result.summary()

Each grid point is one task, decoded by an executor (experiments.sweep.executors): forked local processes by default, or
a Dask cluster (experiments.sweep.dask_executor). The parent commits each finished point at once, so a killed sweep loses
only the points in flight, and a rerun decodes only what is missing.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import time
import warnings
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from decoders.base import Decoder
from decoders.config import DecoderConfig
from decoders.factory import build_decoder, decoder_classes
from experiments.sweep.executors import LocalExecutor, PointRunner, RescorePlan, Task
from logits.cluster import scheduler_address
from experiments.sweep.grid import Grid
from experiments.sweep.rescore import (
    DEFAULT_EXACT,
    DEFAULT_NBEST,
    Anchor,
    default_anchors,
)
from experiments.sweep.search import DEFAULT_RADIUS
from experiments.sweep.results import (
    DB_FILE,
    PointResult,
    ResultsDB,
    RunResults,
    keyed_config,
    result_key,
)
from logits.console import progress
from logits.errors import LabError
from logits.files import check_writable_output
from logits.store import LogitsStore
from logits.system import usable_cores

RUNS_DIR = Path("runs")
# More points to decode than this need `yes` (`--yes`): a typo in a step can ask for days of work.
CONFIRM_POINTS = 400


@dataclass(frozen=True)
class SweepResult:
    """What `sweep()` returns: the run's results plus how they were obtained and where the artifacts are."""

    results: RunResults
    reused: int  # grid points found in the results store instead of decoded
    computed: int  # grid points decoded by this sweep
    greedy_reused: bool  # greedy (decoded once per store, for comparison) was found in the results store
    seconds: float
    workers: int
    heatmap: Path | None
    best_hypotheses: Path | None
    executor: str = "local"  # where the points were decoded, in words

    @property
    def run_dir(self) -> Path:
        return self.results.run_dir

    @property
    def best(self) -> PointResult | None:
        return self.results.best

    @property
    def greedy(self) -> PointResult | None:
        return self.results.greedy

    def to_dataframe(self):
        return self.results.to_dataframe()

    def summary(self) -> dict:
        from experiments.sweep.report import summary

        return summary(self.results) | {
            "reused": self.reused, "computed": self.computed, "greedy_reused": self.greedy_reused,
            "seconds": round(self.seconds, 3),
            "workers": self.workers, "executor": self.executor,
            "heatmap": None if self.heatmap is None else str(self.heatmap),
            "best_hypotheses": None if self.best_hypotheses is None else str(self.best_hypotheses),
        }


def sweep(
    store: str | Path,
    lm: str | Path,
    alphas: str | Sequence[float] = "0.2:1.0:0.2",
    betas: str | Sequence[float] = "0:2:0.5",
    *,
    unigrams: str | Path | None = None,
    decoder: str = "fastbeam",
    params: Mapping[str, Any] | None = None,
    workers: int | None = None,
    run_dir: str | Path | None = None,
    show_progress: bool | None = None,
    on_point: Callable[[PointResult], None] | None = None,
    command: Sequence[str] | None = None,
    yes: bool = False,
    test: str | Path | None = None,
    refine: int = 0,
    extra: Mapping[str, Sequence[Any]] | None = None,
    method: str = "grid",
    nbest: int = DEFAULT_NBEST,
    anchors: Sequence[Anchor] | None = None,
    exact: int = DEFAULT_EXACT,
    radius: float = DEFAULT_RADIUS,
    scheduler: str | None = None,
) -> SweepResult:
    """Decode `store` with `decoder` at every (alpha, beta) of the grid and with greedy once; score; store; report.

    `alphas`/`betas` are specs ("0.2:1.0:0.2", "0.3,0.5") or numbers. `params` are further decoder parameters held
    fixed (beam_width, hotwords, hotword_weight, ...). `workers` defaults to the CPU count; 1 decodes in this process.
    `run_dir` defaults to runs/<store dir name>-<short LM fingerprint>. Writes RUN_DIR/results.sqlite,
    RUN_DIR/wer_heatmap.png and RUN_DIR/best_hypotheses.jsonl. Points already in the results store are reused.
    More than CONFIRM_POINTS points to decode need `yes` (the error says how long they would take). With `test`
    (another store, e.g. test-clean when sweeping dev-clean), the test store is decoded once at the best point.
    `refine` N zooms N times around the best point: a 3 x 3 grid at half the previous step, reusing what is stored;
    the result is the last, finest grid's. `extra` sweeps more parameters too ({"beam_width": [10, 100]}): every
    combination with every (alpha, beta); the heatmap then shows each cell's best, and RUN_DIR/pareto.png WER
    against decoding time.

    `method` "rescore" decodes the store only at the `anchors` (default: experiments.sweep.rescore.default_anchors),
    keeping `nbest` hypotheses per utterance, and scores every grid point by re-ranking them (experiments.sweep.rescore);
    then up to `exact` times decodes the best estimate within `radius` grid steps of a decoded point, while one
    promises better than the best point decoded (experiments.sweep.search). Only the decoded grid points are
    results; the estimates are kept apart (the run's `rescored`), and the best point is the best of the exact ones.
    The search runs here (on `workers` threads), or as one task of the Dask cluster.

    `scheduler` (tcp://HOST:PORT; default $DASK_SCHEDULER_ADDRESS, else none) decodes the points on that Dask cluster
    instead of local processes; the results store is written here either way.
    """
    if method not in ("grid", "rescore"):
        raise LabError(f"unknown sweep method {method!r}; known: grid (decode every point), rescore (re-rank N-best "
                       "lists, decode the best few)")
    if method == "rescore" and (refine or extra):
        raise LabError("--method rescore sweeps alpha and beta only; drop --refine and --param (or use --method grid)")
    if refine:
        result = sweep(store, lm, alphas, betas, unigrams=unigrams, decoder=decoder, params=params, workers=workers,
                       run_dir=run_dir, show_progress=show_progress, on_point=on_point, command=command, yes=yes,
                       test=None, extra=extra, scheduler=scheduler)
        for _ in range(refine):
            grid = refine_grid(result.results)
            if grid is None:
                break
            result = sweep(store, lm, grid.alphas, grid.betas, unigrams=unigrams, decoder=decoder, params=params,
                           workers=workers, run_dir=result.run_dir, show_progress=show_progress, on_point=on_point,
                           command=command, yes=yes, test=None, extra=extra, scheduler=scheduler)
        if test is not None:  # measured once, at the finest grid's best point
            result = sweep(store, lm, result.results.run.alphas, result.results.run.betas, unigrams=unigrams,
                           decoder=decoder, params=params, workers=workers, run_dir=result.run_dir,
                           show_progress=show_progress, command=command, yes=yes, test=test, extra=extra,
                           scheduler=scheduler)
        return result
    from experiments.sweep import report
    from lm.model import LanguageModelCache

    started = time.perf_counter()
    grid = Grid.of(alphas, betas)
    workers = _worker_count(workers)
    opened = LogitsStore.open(store)
    test_store = None if test is None else LogitsStore.open(test)
    if test_store is not None and test_store.vocabulary != opened.vocabulary:
        raise LabError(f"the test store {test_store.path} has other labels than {opened.path}; a decoder tuned on "
                       "one cannot be measured on the other")
    fixed = dict(params or {})
    clash = sorted(set(fixed) & {"lm", "unigrams", "alpha", "beta"})
    if clash:
        raise LabError(f"params {clash} are set by the sweep itself; pass lm/unigrams/alphas/betas as arguments")
    combos = _combinations(extra or {}, fixed)
    base = _base_config(decoder, fixed, lm, unigrams)

    # Build one decoder here before anything is written: a missing or corrupt LM, a bad parameter, an LM that does
    # not fit the labels fails now, with its own message, rather than in every worker or after results exist.
    lms = LanguageModelCache()
    check = build_decoder(base.replace(alpha=grid.alphas[0], beta=grid.betas[0], **combos[0]), opened.vocabulary,
                          lms)
    for combo in combos[1:]:
        check.reconfigure(**combo)  # a bad value of an extra parameter fails now
    loaded = lms.get(lm, unigrams)
    tasks, greedy_task = _plan(opened, grid, base, loaded.fingerprint, _words_fingerprint(loaded.unigrams), combos)

    run_dir = Path(run_dir) if run_dir is not None else default_run_dir(opened.path, loaded.fingerprint)
    check_writable_output(run_dir / DB_FILE, "the run directory's results file")
    db = ResultsDB(run_dir)
    db.add_store(opened)
    rescoring, plan = None, None
    if method == "rescore":
        plan = RescorePlan(grid, tuple(anchors or default_anchors(grid.alphas, grid.betas)),
                           _positive(nbest, "--nbest"), _positive(exact, "--exact"), _radius(radius))
        rescoring = {"nbest": plan.nbest, "anchors": [[a.alpha, a.beta] for a in plan.anchors],
                     "radius": plan.radius}
    every = [greedy_task, *(tasks if rescoring is None else ())]  # a rescoring sweep adds its exact points later
    reused = db.existing(t.key for t in every)
    todo = [t for t in every if t.key not in reused]
    if len(todo) > CONFIRM_POINTS and not yes:
        estimate = _estimate_seconds(check, opened) * len(todo) / max(1, min(workers, len(todo)))
        took = f"{estimate / 3600:.1f} h" if estimate >= 3600 else f"{estimate / 60:.1f} min"
        raise LabError(f"{len(todo)} points to decode would take about {took} here (from a sample of the store); "
                       "pass --yes to run them, or sweep a coarser grid first")
    executor = _executor(scheduler_address(scheduler), opened, lms, check, db, workers)
    run_id = db.start_run(
        command if command is not None else _api_command(store, lm, grid, decoder, fixed, unigrams, workers),
        opened.fingerprint, grid.alphas, grid.betas,
        [t.key for t in tasks], greedy_task.key, rescoring,
    )
    computed: set[str] = set()
    status = "failed"
    try:
        if plan is not None:
            computed |= _rescore(executor, db, run_id, tasks, plan)
        disable = None if show_progress is None else not show_progress
        with progress(len(every), "sweep", unit="pt", disable=disable) as bar, \
                closing(executor.run(todo)) as outcomes:
            bar.update(len(reused))
            for outcome in outcomes:
                if outcome.result is None:  # a concurrent sweep stored it after we planned
                    reused.add(outcome.key)
                else:
                    computed.add(outcome.key)
                    # If a concurrent sweep decoded it too, the first commit wins and this insert is a no-op.
                    db.insert(outcome.result)
                    if on_point is not None:
                        on_point(outcome.result)
                bar.update(1)
        status = "done"
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        # Counts are of grid points; greedy is reported on its own.
        db.finish_run(run_id, status, len(reused - {greedy_task.key}), len(computed - {greedy_task.key}))
        executor.close()

    results = db.run_results(run_id)
    if test_store is not None and results.best is not None:
        config = results.best.config
        digest = keyed_config(config, loaded.fingerprint, _words_fingerprint(loaded.unigrams)).digest()
        task = Task(result_key(test_store.fingerprint, digest), config, digest, loaded.fingerprint)
        db.add_store(test_store)
        if not db.has(task.key):
            outcome = PointRunner(test_store, lms, db, seed=check).run(task)
            if outcome.result is not None:
                db.insert(outcome.result)
        db.set_test(run_id, task.key)
        results = db.run_results(run_id)
    results = report.with_ties(db, results)
    heatmap = report.write_heatmap(results, run_dir / report.HEATMAP_FILE)
    report.write_pareto(results, run_dir / report.PARETO_FILE)
    best_hypotheses = report.write_best_hypotheses(db, results, run_dir / report.HYPOTHESES_FILE)
    db.close()
    return SweepResult(
        results=results, reused=len(reused - {greedy_task.key}), computed=len(computed - {greedy_task.key}),
        greedy_reused=greedy_task.key in reused, seconds=time.perf_counter() - started,
        workers=executor.workers if len(todo) > 1 else 1, executor=executor.describe(),
        heatmap=heatmap, best_hypotheses=best_hypotheses,
    )


def _rescore(executor, db: ResultsDB, run_id: int, tasks: list[Task], plan: RescorePlan) -> set[str]:
    """A rescoring sweep (experiments.sweep.search) by `executor`, recorded: every grid point it decoded as a result
    (unless stored already), the estimates of all of them apart. Returns the keys of the results this stored."""
    outcome = executor.rescore(tasks, plan)
    stored = set()
    for result in outcome.results:
        if not db.has(result.key):
            db.insert(result)
            stored.add(result.key)
    db.set_rescored(run_id, outcome.estimates, outcome.exact_keys, outcome.seconds, outcome.hypotheses)
    return stored


def _executor(address: str | None, store: LogitsStore, lms, check: Decoder, db: ResultsDB, workers: int):
    """Local processes, or the Dask cluster at `address` (connected and checked now, before the run is recorded:
    an unreachable scheduler leaves no run behind)."""
    if address is None:
        return LocalExecutor(store, lms, check, db, workers)
    from experiments.sweep.dask_executor import DaskExecutor
    from logits.cluster import connect

    client = connect(address)
    try:
        return DaskExecutor(client, store, db)
    except BaseException:
        client.close()
        raise


def _radius(value: float) -> float:
    if not (float(value) > 0 and math.isfinite(float(value))):
        raise LabError(f"--radius must be a number of grid steps > 0, got {value}")
    return float(value)


def _positive(value: int, name: str) -> int:
    if int(value) < 1:
        raise LabError(f"{name} must be >= 1, got {value}")
    return int(value)


def refine_grid(results: RunResults) -> Grid | None:
    """The 3 x 3 grid around a run's best point at half the step of its grid (alpha kept >= 0), or None when there
    is no best point or the grid has a single value on both axes."""
    best = results.best
    if best is None:
        return None

    def around(value: float, values: tuple[float, ...], floor: float | None) -> tuple[float, ...]:
        ordered = sorted(values)
        if len(ordered) < 2:
            return (value,)
        half = min(b - a for a, b in zip(ordered, ordered[1:])) / 2
        near = (round(value - half, 6), value, round(value + half, 6))
        return tuple(v for v in near if floor is None or v >= floor)

    alphas, betas = around(best.alpha, results.run.alphas, 0.0), around(best.beta, results.run.betas, None)
    if len(alphas) == len(betas) == 1:
        return None
    return Grid(alphas, betas)


def default_run_dir(store: str | Path, lm_fingerprint: str) -> Path:
    """runs/<store dir name>-<short LM fingerprint>: one directory per (data set, LM), whatever the weights."""
    return RUNS_DIR / f"{Path(store).resolve().name}-{lm_fingerprint[:8]}"


def _base_config(decoder: str, fixed: Mapping[str, Any], lm: str | Path, unigrams: str | Path | None) -> DecoderConfig:
    """The swept decoder's effective config without weights: defaults filled in, so that `--beam-width 100` and
    the default beam width, which decode identically, share their results."""
    classes = decoder_classes()
    if decoder not in classes:
        raise LabError(f"unknown decoder {decoder!r}; known: {sorted(classes)}")
    if decoder == "greedy":
        raise LabError("greedy has no LM weights to sweep; pick a beam decoder (--decoder beam)")
    params = dict(classes[decoder].defaults) | dict(fixed)
    params |= {"lm": str(lm), "unigrams": None if unigrams is None else str(unigrams)}
    return DecoderConfig(decoder, params)


def _plan(store: LogitsStore, grid: Grid, base: DecoderConfig, lm_fp: str, words_fp: str,
          combos: Sequence[Mapping[str, Any]] = ({},)) -> tuple[list[Task], Task]:
    """The tasks of the grid (alpha-major, for each combination of the extra parameters) and the greedy task, each
    with its result key."""
    tasks = []
    for combo in combos:
        for point in grid:
            config = base.replace(alpha=point.alpha, beta=point.beta, **combo)
            digest = keyed_config(config, lm_fp, words_fp).digest()
            tasks.append(Task(result_key(store.fingerprint, digest), config, digest, lm_fp))
    greedy = DecoderConfig("greedy", {})
    greedy_task = Task(result_key(store.fingerprint, greedy.digest()), greedy, greedy.digest(), None)
    return tasks, greedy_task


def _combinations(extra: Mapping[str, Sequence[Any]], fixed: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every combination of the extra swept parameters' values ([{}] when there are none)."""
    names = sorted(extra)
    bad = [n for n in names if n in ("lm", "unigrams", "alpha", "beta") or n in fixed]
    if bad:
        raise LabError(f"cannot sweep {bad} with --param: alpha and beta have their own options, lm and unigrams are "
                       "fixed, and a parameter cannot be both fixed and swept")
    if any(not extra[n] for n in names):
        raise LabError("each swept parameter needs at least one value")
    return [dict(zip(names, values)) for values in itertools.product(*(extra[n] for n in names))]


def _words_fingerprint(words: Sequence[str]) -> str:
    """sha256 of the LM's word list as loaded: for a binary LM the words come from a separate file (given, or the
    unigrams.txt beside it), and they change what the decoder can output, so results are keyed by them too."""
    return hashlib.sha256("\n".join(words).encode()).hexdigest()


def _worker_count(workers: int | None) -> int:
    """Worker processes: the usable cores by default, and never more (each loads its own copy of the LM)."""
    usable = usable_cores()
    if workers is None:
        return usable
    if workers < 1:
        raise LabError(f"--workers must be >= 1, got {workers}")
    if workers > usable:
        warnings.warn(f"--workers {workers} is more than the {usable} cores this process may use; using {usable} "
                      "(each worker loads the LM, and more would only compete for the cores)", stacklevel=3)
        return usable
    return int(workers)


def _estimate_seconds(decoder: Decoder, store: LogitsStore, sample: int = 10) -> float:
    """Seconds one point takes: the first `sample` utterances decoded, scaled to the store's frames."""
    count = min(sample, len(store))
    frames = sum(u.frames for u in store.utterances[:count])
    started = time.perf_counter()
    for i in range(count):
        decoder.decode(store[i])
    return (time.perf_counter() - started) * store.total_frames / max(1, frames)


def _api_command(store, lm, grid: Grid, decoder: str, fixed: Mapping, unigrams, workers: int) -> list[str]:
    """What a Python caller asked for, recorded like a command line so `runs` reads the same either way."""
    return ["sweep()", f"store={store}", f"lm={lm}", f"unigrams={unigrams}", f"decoder={decoder}",
            f"alphas={list(grid.alphas)}", f"betas={list(grid.betas)}", f"params={dict(fixed)}", f"workers={workers}"]
