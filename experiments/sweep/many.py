"""Many sweeps at once: every store with every LM (`decode sweep-many`), each an ordinary sweep with its own run
directory, run side by side.

    done = sweep_many(["data/dev-store", "data/other-store"], ["lm/a.bin", "lm/b.bin"], "0.1:1.9:0.2", "0:4.5:0.5",
                      scheduler="tcp://10.0.0.5:8786")
    [(d.store, d.lm, d.result.best.wer) for d in done if d.result]

On a Dask cluster, a rescoring sweep is one cluster task (experiments.sweep.dask_executor.DaskExecutor.rescore), so the
pairs run as that many tasks at once, one per store x LM, each on one worker's threads, while this process records
each into its results file as it finishes. Without a cluster they run one after the other: each already uses every
local core. A pair that fails (a missing LM, a store the LM does not fit) is reported with its error; the others go
on.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from logits.cluster import scheduler_address
from experiments.sweep.run import SweepResult, sweep
from experiments.sweep.spec import RUN_OPTION_NAMES, RunOptions, SweepSpec
from logits.errors import LabError


@dataclass(frozen=True)
class PairResult:
    """One store x LM sweep of `sweep_many`: its result, or the error that stopped it."""

    store: str
    lm: str
    result: SweepResult | None
    error: str | None = None


def sweep_many(stores: Sequence[str | Path], lms: Sequence[str | Path], alphas: str | Sequence[float],
               betas: str | Sequence[float], *, method: str = "rescore", scheduler: str | None = None,
               parallel: int | None = None, out: str | Path | None = None,
               on_done: Callable[[PairResult], None] | None = None, **settings: Any) -> list[PairResult]:
    """Sweep every store with every LM (experiments.sweep.run.sweep of SweepSpec.of(store, lm, alphas, betas,
    method=method, **settings), the settings named like RunOptions' fields, workers say, apart), up to `parallel` at
    once (default: all of them on a cluster, one at a time locally). With `out`, each pair's run
    directory is OUT/<store name>-<LM name>; else the sweep's default. Returns one PairResult per pair, in the order
    of `stores` then `lms`; `on_done` is called as each finishes."""
    pairs = [(str(store), str(lm)) for store in stores for lm in lms]
    if not pairs:
        raise LabError("sweep-many needs at least one store and one LM")
    repeated = sorted({p for p in pairs if pairs.count(p) > 1})
    if repeated:
        raise LabError(f"sweep-many got the same store x LM twice: {repeated[0][0]} x {repeated[0][1]}")
    names = [_run_name(store, lm) for store, lm in pairs]
    if out is not None and len(set(names)) < len(names):
        raise LabError("two store x LM pairs would share a run directory under --out (stores or LMs with the same "
                       "file name); give them distinct names or drop --out")
    address = scheduler_address(scheduler)
    width = parallel if parallel is not None else (len(pairs) if address is not None else 1)
    if width < 1:
        raise LabError(f"--parallel must be >= 1, got {parallel}")

    options = RunOptions(**{k: settings.pop(k) for k in list(settings) if k in RUN_OPTION_NAMES}
                         | {"scheduler": address, "show_progress": False})

    def one(store: str, lm: str, name: str) -> PairResult:
        try:
            spec = SweepSpec.of(store, lm, alphas, betas, method=method,
                                run_dir=None if out is None else Path(out) / name, **settings)
            result = sweep(spec, options=options)
        except LabError as exc:
            return PairResult(store, lm, None, str(exc))
        return PairResult(store, lm, result)

    done: dict[tuple[str, str], PairResult] = {}
    with ThreadPoolExecutor(max_workers=min(width, len(pairs))) as pool:
        futures = {pool.submit(one, store, lm, name): (store, lm) for (store, lm), name in zip(pairs, names)}
        for future in as_completed(futures):
            found = future.result()
            done[futures[future]] = found
            if on_done is not None:
                on_done(found)
    return [done[pair] for pair in pairs]


def _run_name(store: str, lm: str) -> str:
    return f"{Path(store).resolve().name}-{Path(lm).name.split('.')[0]}"
