"""Alpha/beta sweeps: decode a store at every point of a grid, in parallel, into a resumable results store.

    result = sweep("data/heldout-store", "lm/build/4gram.bin", alphas="0.2:1.0:0.2", betas="0:2:0.5")
    result.best, result.summary()

What a sweep is lives in its spec (experiments.sweep.spec.SweepSpec); the call above builds one.

Each grid point is one task, decoded by an executor (experiments.sweep.executors): forked local processes by default, or
a Dask cluster (experiments.sweep.dask_executor). The parent commits each finished point at once, so a killed sweep loses
only the points in flight, and a rerun decodes only what is missing.
"""

from __future__ import annotations

import hashlib
import itertools
import time
import warnings
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from decoders.base import Decoder
from decoders.config import DecoderConfig
from decoders.factory import build_decoder, decoder_classes
from experiments.sweep.executors import Executor, LocalExecutor, PointRunner, RescorePlan, Task
from logits.cluster import scheduler_address
from experiments.sweep.grid import Grid
from experiments.sweep.rescore import default_anchors
from experiments.sweep.constants import CLAIM_POLL_SECONDS, CONFIRM_POINTS, DEFAULT_ALPHAS, DEFAULT_BETAS, RUNS_DIR
from experiments.sweep.spec import RUN_OPTION_NAMES, RunOptions, SweepSpec
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


def sweep(spec: SweepSpec | str | Path, lm: str | Path | None = None,
          alphas: str | Sequence[float] = DEFAULT_ALPHAS, betas: str | Sequence[float] = DEFAULT_BETAS, *,
          options: RunOptions | None = None, **settings: Any) -> SweepResult:
    """Run a sweep (experiments.sweep.spec.SweepSpec): decode its store with its decoder at every (alpha, beta) of
    its grid and with greedy once; score; store; report.

        sweep(SweepSpec.of("data/dev-store", "lm.bin", "0.2:1.0:0.2", "0:2:0.5"), options=RunOptions(workers=4))
        sweep("data/dev-store", "lm.bin", alphas="0.2:1.0:0.2", betas="0:2:0.5", workers=4)  # the same

    The second form builds the spec (SweepSpec.of) from `store`, `lm`, the grid and `settings` (decoder, params,
    method, ...), and the options from the settings named like RunOptions' fields (workers, show_progress, ...).
    Writes RUN_DIR/results.sqlite, RUN_DIR/wer_heatmap.png and RUN_DIR/best_hypotheses.jsonl; points already in the
    results store are reused. More than CONFIRM_POINTS points to decode need `yes` (the error says how long they
    would take). A refined sweep's result is its last, finest grid's; the test store is measured once, at that
    grid's best point. With `extra`, the heatmap shows each cell's best and RUN_DIR/pareto.png WER against time.

    A rescoring spec decodes the store only at its anchors (default: experiments.sweep.rescore.default_anchors),
    scores every grid point by re-ranking their N-best lists (experiments.sweep.rescore), then decodes the best
    estimates (experiments.sweep.search). Only decoded grid points are results; the estimates are kept apart (the
    run's `rescored`), and the best point is the best of the exact ones. The search runs here (on `workers`
    threads), or as one task of the Dask cluster. Either way the results store is written here.
    """
    named = {k: settings.pop(k) for k in list(settings) if k in RUN_OPTION_NAMES}
    if named and options is not None:
        raise TypeError(f"sweep() got both options and {sorted(named)}; pass one or the other")
    options = options if options is not None else RunOptions(**named)
    if isinstance(spec, SweepSpec):
        if lm is not None or settings or (alphas, betas) != (DEFAULT_ALPHAS, DEFAULT_BETAS):
            raise TypeError("sweep(spec) takes the sweep from the spec; change it with dataclasses.replace")
    elif lm is None:
        raise TypeError("sweep() needs a SweepSpec, or a store and an LM")
    else:
        spec = SweepSpec.of(spec, lm, alphas, betas, **settings)
    if not spec.refine:
        return _run(spec, options)
    # Each grid is an ordinary sweep into the first one's run directory (reusing what it stored); the test store
    # is measured once, at the finest grid's best point.
    result = _run(replace(spec, refine=0, test=None), options)
    for _ in range(spec.refine):
        grid = refine_grid(result.results)
        if grid is None:
            break
        result = _run(replace(spec, grid=grid, refine=0, test=None, run_dir=result.run_dir), options)
    if spec.test is not None:
        run = result.results.run
        result = _run(replace(spec, grid=Grid(run.alphas, run.betas), refine=0, run_dir=result.run_dir),
                      replace(options, on_point=None))
    return result


def _run(spec: SweepSpec, options: RunOptions) -> SweepResult:
    """One grid of `spec` (its refine ignored)."""
    from experiments.sweep import report
    from lm.model import LanguageModelCache

    started = time.perf_counter()
    grid, lm, unigrams = spec.grid, spec.lm, spec.unigrams
    workers = _worker_count(options.workers)
    opened = LogitsStore.open(spec.store)
    test_store = None if spec.test is None else LogitsStore.open(spec.test)
    if test_store is not None and test_store.vocabulary != opened.vocabulary:
        raise LabError(f"the test store {test_store.path} has other labels than {opened.path}; a decoder tuned on "
                       "one cannot be measured on the other")
    fixed = spec.params
    combos = _combinations(spec.swept, fixed)
    base = _base_config(spec.decoder.name, fixed, lm, unigrams)

    # Build one decoder here before anything is written: a missing or corrupt LM, a bad parameter, an LM that does
    # not fit the labels fails now, with its own message, rather than in every worker or after results exist.
    lms = LanguageModelCache()
    check = build_decoder(base.replace(alpha=grid.alphas[0], beta=grid.betas[0], **combos[0]), opened.vocabulary,
                          lms)
    for combo in combos[1:]:
        check.reconfigure(**combo)  # a bad value of an extra parameter fails now
    loaded = lms.get(lm, unigrams)
    tasks, greedy_task = _plan(opened, grid, base, loaded.fingerprint, _words_fingerprint(loaded.unigrams), combos)

    run_dir = spec.run_dir if spec.run_dir is not None else default_run_dir(opened.path, loaded.fingerprint)
    check_writable_output(run_dir / DB_FILE, "the run directory's results file")
    db = ResultsDB(run_dir)
    db.add_store(opened)
    rescoring, plan = None, None
    if spec.method == "rescore":
        anchors = tuple(spec.anchors or default_anchors(grid.alphas, grid.betas))
        plan = RescorePlan(grid, anchors, int(spec.nbest), int(spec.exact), float(spec.radius))
        rescoring = {"nbest": plan.nbest, "anchors": [[a.alpha, a.beta] for a in plan.anchors],
                     "radius": plan.radius}
    every = [greedy_task, *(tasks if rescoring is None else ())]  # a rescoring sweep adds its exact points later
    reused = db.existing(t.key for t in every)
    todo = [t for t in every if t.key not in reused]
    if len(todo) > CONFIRM_POINTS and not options.yes:
        estimate = _estimate_seconds(check, opened) * len(todo) / max(1, min(workers, len(todo)))
        took = f"{estimate / 3600:.1f} h" if estimate >= 3600 else f"{estimate / 60:.1f} min"
        raise LabError(f"{len(todo)} points to decode would take about {took} here (from a sample of the store); "
                       "pass --yes to run them, or sweep a coarser grid first")
    executor: Executor = _executor(scheduler_address(options.scheduler), opened, lms, check, db, workers)
    run_id = db.start_run(
        options.command if options.command is not None else _api_command(spec, workers),
        opened.fingerprint, grid.alphas, grid.betas,
        [t.key for t in tasks], greedy_task.key, rescoring,
    )
    computed: set[str] = set()
    status = "failed"
    try:
        if plan is not None:
            computed |= _rescore(executor, db, run_id, tasks, plan)
        disable = None if options.show_progress is None else not options.show_progress
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
                    if options.on_point is not None:
                        options.on_point(outcome.result)
                bar.update(1)
        _await_other_sweeps(db, [t.key for t in todo if t.key not in computed])
        # Counted from the store, not from what this process saw: a point another sweep decoded is reused here.
        reused = db.existing(t.key for t in every) - computed
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


def _await_other_sweeps(db: ResultsDB, keys: list[str]) -> None:
    """Wait while another live sweep into this run directory decodes points of `keys` it claimed first, so that
    this one reports them (and counts nothing missing) once they are stored; a claimant that died leaves its points
    missing, for a rerun to fill in."""
    pending = set(keys) - db.existing(keys)
    while pending and db.held_elsewhere(pending):
        time.sleep(CLAIM_POLL_SECONDS)
        pending -= db.existing(pending)


def _rescore(executor: Executor, db: ResultsDB, run_id: int, tasks: list[Task], plan: RescorePlan) -> set[str]:
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


def _executor(address: str | None, store: LogitsStore, lms, check: Decoder, db: ResultsDB,
              workers: int) -> Executor:
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


def _api_command(spec: SweepSpec, workers: int) -> list[str]:
    """What a Python caller asked for, recorded like a command line so `runs` reads the same either way."""
    return ["sweep()", f"store={spec.store}", f"lm={spec.lm}", f"unigrams={spec.unigrams}",
            f"decoder={spec.decoder.name}", f"alphas={list(spec.grid.alphas)}", f"betas={list(spec.grid.betas)}",
            f"params={spec.params}", f"workers={workers}"]
