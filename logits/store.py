"""The logits store: cached [T, V] log-probabilities of a data set, written once, decoded many times.

Layout of a store directory:

    store.json          vocabulary, frames/s, provenance, fingerprint, shard hashes, utterances. Written last, atomically:
                        a store is complete exactly when this file exists.
    pending.json        vocabulary and settings while the store is being written (lets a killed writer resume).
    shards/00000.npy    [frames, V] log-probs of consecutive utterances (float32 or float16), memory-mapped on read.
    shards/00000.json   which utterances shard 00000 holds. Written after its .npy: a shard counts once this exists.

No pickles anywhere: every file is JSON or a plain .npy array.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import tokenize
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

import numpy as np

from logits.checks import check_logprobs, to_logprobs
from logits.errors import FileAccessError, LogitsError, StoreError, VocabularyError, describe_os_error
from logits.files import atomic_write, json_shape, read_utf8_text, write_text_atomic
from logits.vocabulary import Vocabulary

FORMAT = "ctc-logits-store"
VERSION = 1
STORE_FILE = "store.json"
PENDING_FILE = "pending.json"
SHARDS = "shards"
# The key in store.json of the sha256 of the rest of store.json, checked on every open: a hand edit shows.
METADATA_HASH = "metadata_sha256"
DTYPES = ("float32", "float16")


@dataclass(frozen=True)
class Utterance:
    """One row of the utterance table: where its frames live in which shard."""

    id: str
    reference: str | None
    frames: int
    shard: int
    offset: int


@dataclass(frozen=True)
class LogitsStore:
    """A complete store opened for reading. Arrays are memory-mapped; slicing one utterance copies nothing."""

    path: Path
    vocabulary: Vocabulary
    frames_per_second: float
    dtype: str
    fingerprint: str
    provenance: Mapping
    utterances: tuple[Utterance, ...]
    # sha256 of each shard's frames (empty for stores written before they were recorded): lets `verify` say whether
    # the frames or store.json's metadata changed.
    shard_hashes: tuple[str, ...] = field(repr=False)
    _shards: tuple[np.ndarray, ...] = field(repr=False, compare=False)
    _index: Mapping[str, int] = field(repr=False, compare=False)

    @classmethod
    def open(cls, path: str | Path) -> "LogitsStore":
        path = Path(path)
        manifest_path = path / STORE_FILE
        if not manifest_path.is_file():
            if (path / PENDING_FILE).is_file() or (path / SHARDS).is_dir():
                done = len(_committed_shards(path))
                raise StoreError(
                    f"{path} is an incomplete logits store ({done} shard(s) written, no {STORE_FILE}): the process "
                    "writing it stopped before it finished. Rerun the command that wrote it to resume, or delete it."
                )
            what = "does not exist" if not path.exists() else f"is not a logits store (no {STORE_FILE} in it)"
            raise StoreError(f"logits store {path} {what}")
        try:
            manifest = json.loads(read_utf8_text(manifest_path, "store file"))
        except json.JSONDecodeError as exc:
            raise StoreError(f"{manifest_path} is not valid JSON ({exc}); the store is corrupt") from exc
        except FileAccessError as exc:
            raise StoreError(f"{exc}; the store is corrupt") from exc
        if not isinstance(manifest, dict):
            raise StoreError(f"{manifest_path}: expected a JSON object, found {json_shape(manifest)}; the store is "
                             "corrupt")
        recorded = manifest.get(METADATA_HASH)
        if recorded is not None and recorded != _metadata_hash(manifest):
            raise StoreError(
                f"{manifest_path} was modified after the store was written (its metadata no longer matches the hash "
                "recorded in it): edited references, ids or frame counts would make results keyed by the store's "
                "fingerprint wrong. Restore the file, or rebuild the store with the command that wrote it."
            )
        if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
            raise StoreError(
                f"{manifest_path}: expected format {FORMAT!r} version {VERSION}, "
                f"found {manifest.get('format')!r} version {manifest.get('version')}"
            )
        check_manifest(manifest, manifest_path)
        try:
            vocabulary = Vocabulary.from_dict(manifest["vocabulary"])
        except VocabularyError as exc:
            raise StoreError(f"{manifest_path}: key 'vocabulary': {exc}") from exc
        utterances = tuple(Utterance(**row) for row in manifest["utterances"])
        shards = tuple(
            _open_shard(path, n, vocabulary.size, manifest["dtype"]) for n in range(manifest["shards"])
        )
        for utt in utterances:
            if utt.offset + utt.frames > shards[utt.shard].shape[0]:
                raise StoreError(f"{path}: utterance {utt.id!r} runs past the end of shard {utt.shard}; store corrupt")
        return cls(
            path=path,
            vocabulary=vocabulary,
            frames_per_second=float(manifest["frames_per_second"]),
            dtype=manifest["dtype"],
            fingerprint=manifest["fingerprint"],
            provenance=manifest.get("provenance", {}),
            utterances=utterances,
            shard_hashes=tuple(manifest.get("shard_sha256", ())),
            _shards=shards,
            _index={utt.id: i for i, utt in enumerate(utterances)},
        )

    def __len__(self) -> int:
        return len(self.utterances)

    def __iter__(self) -> Iterator[tuple[Utterance, np.ndarray]]:
        for utt in self.utterances:
            yield utt, self._slice(utt)

    def __getitem__(self, key: int | str) -> np.ndarray:
        """The [T, V] log-probs of one utterance, by position or by id (a read-only view)."""
        if isinstance(key, str):
            if key not in self._index:
                raise KeyError(f"no utterance {key!r} in store {self.path}")
            key = self._index[key]
        return self._slice(self.utterances[key])

    def by_shard(self) -> Iterator[tuple[np.ndarray, list[Utterance]]]:
        """Each shard's whole [frames, V] array with its utterances, for decoders that work a shard at a time."""
        for n, shard in enumerate(self._shards):
            yield shard, [utt for utt in self.utterances if utt.shard == n]

    def _slice(self, utt: Utterance) -> np.ndarray:
        return self._shards[utt.shard][utt.offset : utt.offset + utt.frames]

    def verify(self) -> None:
        """Hash every frame again and compare with the content fingerprint recorded when the store was written (a
        full read of the store: `decode info --verify`); StoreError when they differ."""
        settings = {"format": FORMAT, "version": VERSION, "vocabulary": self.vocabulary.to_dict(),
                    "frames_per_second": self.frames_per_second, "dtype": self.dtype}
        changed = [n for n, (shard, recorded) in enumerate(zip(self._shards, self.shard_hashes))
                   if _shard_hash(shard) != recorded]
        if changed:
            raise StoreError(f"{self.path / SHARDS / f'{changed[0]:05d}.npy'}: its frames no longer match the hash "
                             f"recorded when the store was written ({len(changed)} shard(s) differ): a shard was "
                             "modified; rebuild the store")
        found = _fingerprint(settings, self.utterances, self._shards)
        if found == self.fingerprint:
            return
        if self.shard_hashes:
            raise StoreError(f"{self.path / STORE_FILE}: its metadata (settings, ids, references or frame counts) "
                             "differs from what was fingerprinted when the store was written, while every shard "
                             "matches its recorded hash: store.json was edited and its metadata hash recomputed. "
                             "Restore the file or rebuild the store")
        raise StoreError(f"{self.path}: its frames and metadata hash to {found[:12]}..., not to the recorded "
                         f"fingerprint {self.fingerprint[:12]}...: a shard or store.json was modified (a store this "
                         "old records no per-shard hashes to tell which); rebuild the store")

    @property
    def ids(self) -> list[str]:
        return [utt.id for utt in self.utterances]

    @property
    def references(self) -> list[str | None]:
        return [utt.reference for utt in self.utterances]

    @property
    def total_frames(self) -> int:
        return sum(utt.frames for utt in self.utterances)

    @property
    def audio_seconds(self) -> float:
        return self.total_frames / self.frames_per_second


class StoreWriter:
    """Writes a store utterance by utterance, in shards, so that a killed writer can resume where it stopped.

    Use as a context manager; the store becomes readable (store.json appears) only when the block ends without error.
    An error or interrupt still commits the utterances already added, for a later writer to resume from.
    """

    def __init__(
        self,
        path: str | Path,
        vocabulary: Vocabulary,
        frames_per_second: float,
        provenance: Mapping | None = None,
        dtype: str = "float32",
        shard_frames: int = 500_000,
        overwrite: bool = False,
    ) -> None:
        if dtype not in DTYPES:
            raise StoreError(f"store dtype must be one of {DTYPES}, not {dtype!r}")
        self.path = Path(path)
        self.vocabulary = vocabulary
        self.frames_per_second = check_frame_rate(frames_per_second, f"logits store {path}")
        self.provenance = dict(provenance or {})
        self.dtype = dtype
        self.shard_frames = shard_frames
        self._pending: list[tuple[str, str | None, np.ndarray]] = []
        self._pending_frames = 0
        self._rows: list[Utterance] = []
        self._prepare(overwrite)
        self._ids = {row.id for row in self._rows}

    @property
    def done_ids(self) -> frozenset[str]:
        """Ids already committed, by this writer or by an earlier one that was interrupted."""
        return frozenset(self._ids)

    @property
    def resumed(self) -> int:
        """How many utterances an earlier, interrupted writer had committed."""
        return self._resumed

    def _settings(self) -> dict:
        return {
            "format": FORMAT,
            "version": VERSION,
            "vocabulary": self.vocabulary.to_dict(),
            "frames_per_second": self.frames_per_second,
            "dtype": self.dtype,
        }

    def _prepare(self, overwrite: bool) -> None:
        path = self.path
        if path.exists() and not path.is_dir():
            raise StoreError(f"{path} is a file; a logits store is a folder: give another --out")
        if (path / STORE_FILE).exists():
            if not overwrite:
                raise StoreError(f"{path} already holds a complete store; delete it or pass overwrite (--force)")
            shutil.rmtree(path)
        elif path.exists() and not (path / PENDING_FILE).exists() and any(path.iterdir()):
            raise StoreError(f"{path} exists and is not a logits store; refusing to write into it")
        if (path / PENDING_FILE).exists():
            found = json.loads((path / PENDING_FILE).read_text(encoding="utf-8"))
            if found != self._settings():
                raise StoreError(
                    f"{path} holds an interrupted store written with other settings "
                    f"(vocabulary, frames/s or dtype differ); delete it to start over"
                )
            for n in _committed_shards(path):
                rows = json.loads((path / SHARDS / f"{n:05d}.json").read_text(encoding="utf-8"))
                self._rows.extend(Utterance(**row) for row in rows)
        else:
            (path / SHARDS).mkdir(parents=True, exist_ok=True)
            write_text_atomic(path / PENDING_FILE, json.dumps(self._settings(), indent=1), fsync=True)
        # Shards past the last committed index are leftovers of a crash mid-write: drop them.
        self._next_shard = len(_committed_shards(path))
        for leftover in (path / SHARDS).glob("*"):
            if leftover.name.split(".")[0].isdigit() and int(leftover.name.split(".")[0]) >= self._next_shard:
                leftover.unlink()
        self._resumed = len(self._rows)

    def add(self, utterance_id: str, logits: np.ndarray, reference: str | None = None, *,
            normalised: bool = False) -> None:
        """Queue one utterance. Its values are checked here, once (decoders trust a store's arrays); `logits` are
        log-softmaxed unless their rows are log-probabilities already, or the caller says they are (`normalised`:
        `decode cache` log-softmaxes the model's output itself)."""
        if utterance_id in self._ids:
            raise StoreError(f"utterance id {utterance_id!r} appears twice in {self.path}")
        where = f"utterance {utterance_id!r}"
        size = self.vocabulary.size
        array = check_logprobs(logits, size, where) if normalised else to_logprobs(logits, size, where)
        self._ids.add(utterance_id)
        self._pending.append((utterance_id, reference, array.astype(self.dtype)))
        self._pending_frames += array.shape[0]
        if self._pending_frames >= self.shard_frames:
            self.flush()

    def flush(self) -> None:
        """Commit queued utterances as one shard: the array first, then the index that makes it count."""
        if self._pending:
            self._write_shard()

    def _write_shard(self) -> None:
        n = self._next_shard
        arrays = [a for _, _, a in self._pending] or [np.zeros((0, self.vocabulary.size), self.dtype)]
        data = np.concatenate(arrays).astype(self.dtype, copy=False)
        rows, offset = [], 0
        for utt_id, reference, array in self._pending:
            rows.append(Utterance(utt_id, reference, int(array.shape[0]), n, offset))
            offset += array.shape[0]
        with atomic_write(self.path / SHARDS / f"{n:05d}.npy", "wb", fsync=True) as handle:
            np.save(handle, data)
        write_text_atomic(self.path / SHARDS / f"{n:05d}.json", json.dumps([r.__dict__ for r in rows]), fsync=True)
        self._rows.extend(rows)
        self._pending, self._pending_frames = [], 0
        self._next_shard += 1

    def finish(self) -> LogitsStore:
        """Commit what is queued, fingerprint the content and write store.json; returns the opened store."""
        self.flush()
        if self._next_shard == 0:  # an empty data set still gets one (empty) shard so the layout is uniform
            self._write_shard()
        shards = [_open_shard(self.path, n, self.vocabulary.size, self.dtype) for n in range(self._next_shard)]
        manifest = self._settings() | {
            "shards": self._next_shard,
            "fingerprint": _fingerprint(self._settings(), self._rows, shards),
            "shard_sha256": [_shard_hash(shard) for shard in shards],
            "provenance": {"created": datetime.now(timezone.utc).isoformat(timespec="seconds")} | self.provenance,
            "utterances": [r.__dict__ for r in self._rows],
        }
        manifest[METADATA_HASH] = _metadata_hash(manifest)
        write_text_atomic(self.path / STORE_FILE, json.dumps(manifest, indent=1), fsync=True)
        (self.path / PENDING_FILE).unlink(missing_ok=True)
        return LogitsStore.open(self.path)

    def __enter__(self) -> "StoreWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.store = self.finish()
        elif not issubclass(exc_type, (LogitsError, StoreError, FileAccessError)):
            # Interrupted (Ctrl-C, a crash elsewhere): keep what was decoded so a rerun resumes from here.
            self.flush()


def write_store(
    path: str | Path,
    ids: Sequence[str],
    arrays: Iterable[np.ndarray],
    vocabulary: Vocabulary,
    references: Sequence[str | None] | None = None,
    frames_per_second: float = 50.0,
    provenance: Mapping | None = None,
    dtype: str = "float32",
    overwrite: bool = False,
    normalised: bool = False,
) -> LogitsStore:
    """Write a store from arrays already in memory: one [T, V] array of logits or log-probs per id (`normalised`:
    they are log-probabilities already, as when copying from another store; see `StoreWriter.add`)."""
    references = list(references) if references is not None else [None] * len(ids)
    if len(references) != len(ids):
        raise StoreError(f"{len(ids)} ids but {len(references)} references")
    writer = StoreWriter(path, vocabulary, frames_per_second, provenance, dtype=dtype, overwrite=overwrite)
    with writer:
        for utt_id, array, reference in zip(ids, arrays, references, strict=True):
            writer.add(utt_id, array, reference, normalised=normalised)
    return writer.store


def merge_stores(parts: Sequence[str | Path], path: str | Path, order: Sequence[str],
                 provenance: Mapping | None = None, overwrite: bool = False) -> LogitsStore:
    """One store at `path` of the utterances of the complete stores `parts`, in the id order `order` (ids no part
    holds are left out): what several workers caching slices of one data set make together. The parts must agree on
    vocabulary, frames/s and dtype; the result fingerprints as a store written in that order by one writer would."""
    opened = [LogitsStore.open(part) for part in parts]
    if not opened:
        raise StoreError("no stores to merge")
    first = opened[0]
    for store in opened[1:]:
        if (store.vocabulary, store.frames_per_second, store.dtype) != (first.vocabulary, first.frames_per_second,
                                                                        first.dtype):
            raise StoreError(f"cannot merge {store.path} with {first.path}: their vocabulary, frames/s or dtype "
                             "differ")
    where: dict[str, tuple[LogitsStore, Utterance]] = {}
    for store in opened:
        for utt in store.utterances:
            if utt.id in where:
                raise StoreError(f"utterance {utt.id!r} is in both {where[utt.id][0].path} and {store.path}")
            where[utt.id] = (store, utt)
    unknown = sorted(set(where) - set(order))
    if unknown:
        raise StoreError(f"{len(unknown)} utterance(s) of the parts are not in the merge order (e.g. {unknown[0]!r})")
    writer = StoreWriter(path, first.vocabulary, first.frames_per_second, provenance, dtype=first.dtype,
                         overwrite=overwrite)
    with writer:
        for utt_id in order:
            if utt_id in where and utt_id not in writer.done_ids:
                store, utt = where[utt_id]
                writer.add(utt_id, store[utt_id], utt.reference, normalised=True)
    return writer.store


def check_frame_rate(frames_per_second, where: str) -> float:
    """Frames per second as a float, or a StoreError: a rate that is not a positive finite number would make every
    duration (and every decode's real-time factor) a division by zero or negative, so it is refused when a store is
    written and when one is read."""
    if isinstance(frames_per_second, bool) or not isinstance(frames_per_second, numbers.Real) or not (
            math.isfinite(frames_per_second) and frames_per_second > 0):
        raise StoreError(f"{where}: frames per second must be a positive finite number, found {frames_per_second!r}")
    return float(frames_per_second)


# store.json's keys and the JSON types their values must have (int for a float is fine: JSON does not tell them).
_MANIFEST_TYPES = {"vocabulary": dict, "frames_per_second": (int, float), "dtype": str, "shards": int,
                   "fingerprint": str, "utterances": list, "provenance": dict}
_ROW_TYPES = {"id": str, "reference": (str, type(None)), "frames": int, "shard": int, "offset": int}


def check_manifest(manifest: Mapping, manifest_path: Path) -> None:
    """store.json's schema: each key present with a value of its type and range, each utterance row complete and
    inside the shards; a StoreError names the file, the key, what was expected and what was found."""
    def refuse(key: str, expected: str, found) -> None:
        raise StoreError(f"{manifest_path}: key {key!r}: expected {expected}, found {json_shape(found)}; the store "
                         "is corrupt")

    for key, kind in _MANIFEST_TYPES.items():
        if key not in manifest and key != "provenance":
            raise StoreError(f"{manifest_path}: key {key!r} is missing; the store is corrupt")
        value = manifest.get(key, {})
        if isinstance(value, bool) or not isinstance(value, kind):
            refuse(key, _type_names(kind), value)
    check_frame_rate(manifest["frames_per_second"], f"{manifest_path}: key 'frames_per_second'")
    if manifest["dtype"] not in DTYPES:
        refuse("dtype", f"one of {DTYPES}", manifest["dtype"])
    if manifest["shards"] < 1:
        refuse("shards", "at least 1", manifest["shards"])
    hashes = manifest.get("shard_sha256", [""] * manifest["shards"])
    if not isinstance(hashes, list) or len(hashes) != manifest["shards"] or not all(isinstance(h, str) for h in hashes):
        refuse("shard_sha256", f"a list of {manifest['shards']} hex strings (one per shard)", hashes)
    vocabulary = manifest["vocabulary"]
    if not isinstance(vocabulary.get("labels"), list) or not all(isinstance(x, str) for x in vocabulary["labels"]):
        refuse("vocabulary.labels", "a list of strings", vocabulary.get("labels"))
    if type(vocabulary.get("blank")) is not int:
        refuse("vocabulary.blank", "an integer", vocabulary.get("blank"))
    for n, row in enumerate(manifest["utterances"]):
        key = f"utterances[{n}]"
        if not isinstance(row, dict) or set(row) != set(_ROW_TYPES):
            refuse(key, f"an object with keys {sorted(_ROW_TYPES)}", row)
        for field_name, kind in _ROW_TYPES.items():
            value = row[field_name]
            if isinstance(value, bool) or not isinstance(value, kind) or (kind is int and value < 0):
                refuse(f"{key}.{field_name}", "a non-negative integer" if kind is int else _type_names(kind), value)
        if row["shard"] >= manifest["shards"]:
            refuse(f"{key}.shard", f"a shard number below {manifest['shards']}", row["shard"])


def _type_names(kind) -> str:
    names = {dict: "an object", list: "a list", str: "a string", int: "an integer", float: "a number",
             type(None): "null"}
    return " or ".join(names[k] for k in (kind if isinstance(kind, tuple) else (kind,)))


def _committed_shards(path: Path) -> list[int]:
    """Shard numbers 0..k-1 whose index file exists (a gap ends the list: later ones are not trusted)."""
    done, n = [], 0
    while (path / SHARDS / f"{n:05d}.json").is_file() and (path / SHARDS / f"{n:05d}.npy").is_file():
        done.append(n)
        n += 1
    return done


def _open_shard(path: Path, n: int, vocab_size: int, dtype: str) -> np.ndarray:
    shard_path = path / SHARDS / f"{n:05d}.npy"
    try:
        array = np.load(shard_path, mmap_mode="r")
    except FileNotFoundError as exc:
        raise StoreError(f"{shard_path} is missing; the store is incomplete or was moved in part") from exc
    except (ValueError, EOFError, SyntaxError, tokenize.TokenError) as exc:  # EOFError: empty; the others: a
        # damaged header (numpy parses it as a Python literal)
        size = shard_path.stat().st_size
        raise StoreError(f"{shard_path} is truncated or corrupt ({size:,} bytes: {exc or 'no data'}); rebuild the "
                         "store") from exc
    except OSError as exc:
        raise StoreError(f"cannot read {shard_path}: {describe_os_error(exc, shard_path)}") from exc
    if array.ndim != 2 or array.shape[1] != vocab_size or array.dtype != np.dtype(dtype):
        raise StoreError(
            f"{shard_path}: expected [frames, {vocab_size}] {dtype}, found {list(array.shape)} {array.dtype}"
        )
    return array


def _fingerprint(settings: Mapping, rows: Sequence[Utterance], shards: Sequence[np.ndarray]) -> str:
    """sha256 over settings, the utterance table (ids, references, frame counts) and every frame, in table order.

    Independent of how the frames were split into shards, so a resumed store fingerprints like an uninterrupted one.
    """
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for row in rows:
        digest.update(json.dumps([row.id, row.reference, row.frames]).encode())
        digest.update(np.ascontiguousarray(shards[row.shard][row.offset : row.offset + row.frames]).tobytes())
    return digest.hexdigest()


def _shard_hash(shard: np.ndarray) -> str:
    """sha256 of a shard's frames, hashed in slices of the memory map so that a large shard is not copied whole."""
    digest = hashlib.sha256()
    step = max(1, (64 << 20) // max(1, shard.strides[0]))
    for start in range(0, shard.shape[0], step):
        digest.update(np.ascontiguousarray(shard[start : start + step]).tobytes())
    return digest.hexdigest()


def _metadata_hash(manifest: Mapping) -> str:
    """sha256 of store.json's canonical JSON without this hash itself: cheap enough to check on every open."""
    body = {key: value for key, value in manifest.items() if key != METADATA_HASH}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
