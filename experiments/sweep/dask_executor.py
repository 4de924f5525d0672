"""Sweeps on a Dask cluster (`decode sweep --scheduler tcp://HOST:PORT`, or $DASK_SCHEDULER_ADDRESS).

Workers may run on other machines, without the run directory: the client (the sweep's process) claims each point and
stores each result, exactly as a local sweep does, so the rows and the resuming are the same. A worker plugin keeps,
per worker process, one LanguageModelCache and one opened store per path, so each LM is loaded once per worker.
Workers read the store and the LM at the absolute paths the client sees them at (a shared file system, or copies at
the same paths), need this project's code importable (started from the repository root, or with it installed) and
the same package versions (checked on connect, as one line). A worker that dies mid-task has its tasks rescheduled on
the others by Dask's scheduler; results record the host that decoded them.

Imported only when a scheduler is given: distributed takes a second to import.
"""

from __future__ import annotations

import dataclasses
import socket
import uuid
from pathlib import Path
from typing import Iterator, Sequence

from distributed import WorkerPlugin, get_worker
from distributed import as_completed as dask_completed

from experiments.sweep.executors import Outcome, PointRunner, RescoreOutcome, RescorePlan, Task
from experiments.sweep.results import PointResult, ResultsDB
from logits.cluster import ClusterError, check_versions
from logits.errors import LabError
from logits.store import LogitsStore

PLUGIN_NAME = "ctc-decoding-lab"


class DaskExecutor:
    """The points as tasks of a Dask cluster; the client (this process) claims and stores them."""

    def __init__(self, client, store: LogitsStore, db: ResultsDB) -> None:
        self.client, self.store, self.db = client, store, db
        self.address = client.scheduler.address
        workers = client.scheduler_info().get("workers", {})
        if not workers:
            raise ClusterError(f"the Dask scheduler at {self.address} has no workers; start some with "
                               f"`dask worker {self.address}`")
        self.workers = len(workers)
        check_versions(client)
        client.register_plugin(LabWorkerPlugin(), name=PLUGIN_NAME)
        self._store_path = str(Path(store.path).resolve())
        unreadable = {w: e for w, e in client.run(_check_store, self._store_path, store.fingerprint).items() if e}
        if unreadable:
            worker, error = min(unreadable.items())
            raise ClusterError(f"Dask worker {worker} cannot read the store at {self._store_path}: {error}; workers "
                               "read the store at the path the client sees it at (share it, or copy it there)")

    def describe(self) -> str:
        return f"the Dask cluster at {self.address}"

    def close(self) -> None:
        self.client.close()

    def run(self, todo: list[Task]) -> Iterator[Outcome]:
        claimed = []
        for task in todo:  # as a local worker would, but here: the workers may not see the run directory
            if self.db.has(task.key) or not self.db.claim(task.key):
                yield Outcome(task.key, None)
            else:
                claimed.append(task)
        if not claimed:
            return
        tag = uuid.uuid4().hex[:8]
        futures = {self.client.submit(_dask_decode, _portable(task), self._store_path, self.store.fingerprint,
                                      key=f"decode-{task.key[:16]}-{tag}", pure=False): task for task in claimed}
        try:
            for future in dask_completed(list(futures), loop=self.client.loop):
                task = futures[future]
                result = future.result()
                # Recorded as a local sweep records it: the config and store path as this process gave them.
                yield Outcome(task.key, dataclasses.replace(result, config=task.config,
                                                            store_path=str(self.store.path)))
        finally:
            pending = [f for f in futures if not f.done()]
            if pending:
                self.client.cancel(pending)

    def rescore(self, tasks: Sequence[Task], plan: RescorePlan) -> RescoreOutcome:
        """The rescoring search as one task of the cluster, on one worker's threads (its decodes follow each other:
        each needs the lists of the one before)."""
        future = self.client.submit(_dask_rescore, [_portable(t) for t in tasks], plan, self._store_path,
                                    self.store.fingerprint, key=f"rescore-{uuid.uuid4().hex[:12]}", pure=False)
        try:
            outcome = future.result()
        finally:
            if not future.done():
                self.client.cancel([future])
        configs = {task.key: task.config for task in tasks}
        return dataclasses.replace(outcome, results=tuple(
            dataclasses.replace(r, config=configs[r.key], store_path=str(self.store.path)) for r in outcome.results))


def _portable(task: Task) -> Task:
    """The task as a worker needs it: the LM and word list at absolute paths (a worker's working directory is not
    this process's)."""
    params = {}
    for name in ("lm", "unigrams"):
        value = task.config.get(name)
        if value is not None:
            params[name] = str(Path(value).resolve())
    return dataclasses.replace(task, config=task.config.replace(**params)) if params else task


class LabWorkerPlugin(WorkerPlugin):
    """Per Dask worker: one LanguageModelCache (each LM loaded once per worker) and one PointRunner per store."""

    name = PLUGIN_NAME

    def __init__(self) -> None:
        self._runners: dict[tuple[str, str], PointRunner] = {}
        self._lms = None

    def setup(self, worker) -> None:
        from lm.model import LanguageModelCache

        self._lms = LanguageModelCache()

    def teardown(self, worker) -> None:
        self._runners.clear()

    def runner(self, store_path: str, fingerprint: str) -> PointRunner:
        key = (store_path, fingerprint)
        if key not in self._runners:
            store = _open_store(store_path, fingerprint)
            self._runners[key] = PointRunner(store, self._lms)
        return self._runners[key]


def _open_store(store_path: str, fingerprint: str) -> LogitsStore:
    host = socket.gethostname()
    try:
        store = LogitsStore.open(store_path)
    except LabError as exc:
        raise ClusterError(f"Dask worker on {host} cannot read the store at {store_path}: {exc}") from None
    if store.fingerprint != fingerprint:
        raise ClusterError(f"the store at {store_path} on {host} is not the client's (its fingerprint differs); "
                           "workers must see the same store at the same path")
    return store


def _check_store(store_path: str, fingerprint: str) -> str | None:
    """Run on every worker before any task: None when it reads the store, else why not."""
    try:
        _open_store(store_path, fingerprint)
    except LabError as exc:
        return str(exc)
    return None


def _dask_decode(task: Task, store_path: str, fingerprint: str) -> PointResult:
    plugin = get_worker().plugins[PLUGIN_NAME]
    return plugin.runner(store_path, fingerprint).decode(task)


def _dask_rescore(tasks: list[Task], plan: RescorePlan, store_path: str, fingerprint: str) -> RescoreOutcome:
    worker = get_worker()
    runner = worker.plugins[PLUGIN_NAME].runner(store_path, fingerprint)
    return runner.rescore(tasks, plan, threads=max(1, worker.state.nthreads))
