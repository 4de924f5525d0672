"""A smaller store made of the first N utterances of another: for decoders too slow to run on everything."""

from __future__ import annotations

import shutil
from pathlib import Path

from logits.errors import StoreError
from logits.store import PENDING_FILE, STORE_FILE, LogitsStore, write_store


def subset_store(store: str | Path | LogitsStore, first: int, out: str | Path) -> LogitsStore:
    """The first `first` utterances of `store`, written as a store of its own at `out` (reused if already there).

    A real store rather than a view, so it has its own content fingerprint and sweep results on it are keyed
    correctly. Rebuilding is cheap, and deterministic: the same source and N always give the same fingerprint.
    """
    source = store if isinstance(store, LogitsStore) else LogitsStore.open(store)
    if first < 1:
        raise StoreError(f"a subset needs at least 1 utterance, got {first}")
    first = min(first, len(source))
    out = Path(out)
    provenance = {"subset_of": source.fingerprint, "source": str(source.path), "first": first}
    if (out / STORE_FILE).is_file():
        existing = LogitsStore.open(out)
        if all(existing.provenance.get(k) == v for k, v in provenance.items() if k != "source"):
            return existing
        if "subset_of" not in existing.provenance:
            raise StoreError(f"{out} holds a store that is not a subset made here; choose another directory")
    elif (out / PENDING_FILE).is_file():
        shutil.rmtree(out)  # a subset write that was interrupted: cheaper to redo than to resume
    kept = source.utterances[:first]
    return write_store(
        out,
        ids=[u.id for u in kept],
        arrays=(source[u.id] for u in kept),
        vocabulary=source.vocabulary,
        references=[u.reference for u in kept],
        frames_per_second=source.frames_per_second,
        provenance=dict(source.provenance) | provenance,
        dtype=source.dtype,
        overwrite=True,  # only an older subset made here reaches this point
        normalised=True,  # copied from a store, which normalised them when it was written
    )
