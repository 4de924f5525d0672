"""`decode cache --scheduler tcp://HOST:PORT`: one data set cached by the workers of a Dask cluster, one part each.

The client plans the parts (acoustic.cache.plan_parts: contiguous runs of the single-process batches, about equal in
audio), each worker caches its part into a store of its own beside the output (`OUT.parts/part-NNN`, resumed like any
cache run when the command is run again), and the client merges the parts in the single-process order
(logits.store.merge_stores): the same utterances, logits and fingerprint as `decode cache` in one process gives when
the computation is the same (device, dtype, and torch's thread count: Dask workers run torch on one thread each, and
torch's sums differ in the last bits with the thread count).
Workers read the model and the audio at the absolute paths the client sees them at and write the parts there (a
shared file system); each uses its `--device` (start one worker per GPU, e.g. `CUDA_VISIBLE_DEVICES=N dask worker`).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from acoustic.cache import CacheError, CacheReport, cache_logits, plan_parts
from logits.cluster import ClusterError, check_versions, connect
from logits.files import check_writable_output
from logits.store import STORE_FILE, LogitsStore, merge_stores
from logits.text import combined_provenance

PARTS_SUFFIX = ".parts"


@dataclass(frozen=True)
class ClusterCacheReport:
    """The merged store and what each part's run did."""

    store: Path
    fingerprint: str
    utterances: int
    parts: tuple[CacheReport | None, ...]  # None: the part was complete already (a rerun)
    workers: int
    wall_seconds: float

    def summary(self) -> str:
        written = sum(p.written for p in self.parts if p)
        skipped = sum(len(p.skipped) for p in self.parts if p)
        return (f"cached   {written} utterances in {len(self.parts)} parts on {self.workers} Dask workers"
                + (f", {skipped} inputs skipped" if skipped else "")
                + f"\nstore    {self.store}: {self.utterances} utterances, fingerprint {self.fingerprint[:12]} "
                  f"({self.wall_seconds:.1f} s in all)")

    def to_dict(self) -> dict:
        return {"store": str(self.store), "fingerprint": self.fingerprint, "utterances": self.utterances,
                "workers": self.workers, "wall_seconds": self.wall_seconds,
                "parts": [None if p is None else p.to_dict() for p in self.parts]}


def cache_on_cluster(address: str, model: str, audio: str | Path, out: str | Path, batch_size: int = 8,
                     device: str = "cpu", dtype: str = "float32", store_dtype: str = "float32",
                     limit: int | None = None, split: str | None = None, config: str | None = None,
                     overwrite: bool = False) -> ClusterCacheReport:
    """Cache MODEL's log-probs of AUDIO into OUT on the Dask cluster at `address` (see the module docstring)."""
    started = time.perf_counter()
    out = Path(out).resolve()
    check_writable_output(out, "--out", folder=True)
    if (out / STORE_FILE).exists() and not overwrite:
        raise CacheError(f"{out} already holds a complete store; delete it or pass --force")
    client = connect(address)
    try:
        workers = len(client.scheduler_info().get("workers", {}))
        if not workers:
            raise ClusterError(f"the Dask scheduler at {address} has no workers; start some with "
                               f"`dask worker {address}`")
        check_versions(client)
        model, audio = _shared(model), _shared(audio)
        groups, order = plan_parts(model, audio, workers, batch_size, limit, split, config)
        parts_dir = out.parent / f"{out.name}{PARTS_SUFFIX}"
        if overwrite:
            shutil.rmtree(parts_dir, ignore_errors=True)
        paths = [parts_dir / f"part-{k:03d}" for k in range(len(groups))]
        options = {"batch_size": batch_size, "device": device, "dtype": dtype, "store_dtype": store_dtype,
                   "limit": limit, "split": split, "config": config}
        futures = [client.submit(_cache_part, model, audio, str(path), ids, options, pure=False, retries=1)
                   for path, ids in zip(paths, groups)]
        reports = tuple(client.gather(futures))
    finally:
        client.close()
    finished = [LogitsStore.open(path).provenance for path in paths]
    provenance = dict(finished[0]) | {
        "tool": "decode cache --scheduler", "scheduler": address, "parts": len(paths),
        "skipped": [s for part in finished for s in part.get("skipped", [])],
        "references": combined_provenance(part["references"] for part in finished if "references" in part),
    }
    provenance.pop("created", None)
    store = merge_stores(paths, out, order, provenance, overwrite=overwrite)
    shutil.rmtree(parts_dir)
    return ClusterCacheReport(store=out, fingerprint=store.fingerprint, utterances=len(store), parts=reports,
                              workers=workers, wall_seconds=time.perf_counter() - started)


def _shared(location: str | Path) -> str:
    """A local path as the absolute path the workers must see it at; a hub id or data set name as it is."""
    path = Path(location)
    return str(path.resolve()) if path.exists() else str(location)


def _cache_part(model: str, audio: str, out: str, ids: list[str], options: dict) -> CacheReport | None:
    """A worker's part: a normal cache run of those utterances (resumed if interrupted; nothing if complete)."""
    if (Path(out) / STORE_FILE).exists():
        return None
    return cache_logits(model, audio, Path(out), ids=ids, progress=False, **options)

