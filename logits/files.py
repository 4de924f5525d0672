"""File helpers every layer shares: atomic writes, content hashes, a lock between processes.

A file the lab writes is either absent or complete: a reader, or a process that resumes after a crash, never sees
half of one. `atomic_write` gives that by writing a temporary sibling and renaming it over the target.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Callable, Iterator, TypeVar

from logits.errors import FileAccessError, describe_os_error

_CHUNK = 1 << 20
T = TypeVar("T")


@contextmanager
def atomic_write(path: str | Path, mode: str = "w", fsync: bool = False) -> Iterator[IO[Any]]:
    """Write `path` through a temporary sibling that replaces it only when the block ends without error.

    `mode` is "w" (text, UTF-8) or "wb"; `fsync` also flushes the data to disk before the rename, for files that
    other files vouch for (a store's shards). On an error the temporary file is removed and `path` is untouched.
    """
    path = Path(path)
    # A name of its own per writer: two processes writing one file (two sweeps into one run directory) must not
    # rename each other's half-written file.
    tmp = path.with_name(f"{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        handle = open(tmp, mode.replace("w", "x"), encoding=None if "b" in mode else "utf-8")
    except OSError as exc:
        raise FileAccessError(f"cannot write {path}: {describe_os_error(exc, path)}") from exc
    try:
        with handle:
            yield handle
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise FileAccessError(f"cannot write {path}: {describe_os_error(exc, path)}") from exc
        raise


def write_text_atomic(path: str | Path, text: str, fsync: bool = False) -> Path:
    with atomic_write(path, fsync=fsync) as handle:
        handle.write(text)
    return Path(path)


def write_json_atomic(path: str | Path, data: Any, indent: int = 1) -> Path:
    """JSON with sorted keys and a final newline, written atomically."""
    return write_text_atomic(path, json.dumps(data, indent=indent, sort_keys=True) + "\n")


def sha256_file(path: str | Path) -> str:
    """sha256 (hex) of a file's content, read in 1 MiB chunks so that multi-GB files do not fill memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@contextmanager
def exclusive(lock_path: str | Path) -> Iterator[None]:
    """Hold an exclusive flock on `lock_path`: two processes (`make install` and a test run, say) may both find a
    build missing; only one should build it, the other waits and then finds it done."""
    lock_path = Path(lock_path)
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_once(lock_path: str | Path, find: Callable[[], T | None], build: Callable[[], T]) -> T:
    """What `find()` finds, else what `build()` makes, built by one process at a time: `find` is asked again under
    the lock, so a process that waited for another's build uses it instead of building it twice."""
    found = find()
    if found is not None:
        return found
    with exclusive(lock_path):
        found = find()
        return found if found is not None else build()


def check_writable_output(path: str | Path, what: str = "output", folder: bool = False) -> Path:
    """Fail before any work when `path` cannot be written: inside a logits store (whose files it would replace), a
    folder where a file is wanted (unless `folder`: then `path` is a folder to write into), or in a folder this
    process may not write. Creates missing parent folders."""
    path = Path(path)
    for above in (path.parent, *path.parent.parents):
        if (above / "store.json").is_file() or ((above / "pending.json").is_file() and (above / "shards").is_dir()):
            raise FileAccessError(f"{what} {path} is inside the logits store {above}; write it somewhere else "
                                  "(the store's own files would be replaced)")
    if path.is_dir() and not folder:
        raise FileAccessError(f"{what} {path} is a folder; give a file name")
    if path.exists() and folder and not path.is_dir():
        raise FileAccessError(f"{what} {path} is a file; give a folder")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FileAccessError(f"cannot create the folder of {what} {path}: {describe_os_error(exc)}") from exc
    if not os.access(path.parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise FileAccessError(f"{what} {path} is not writable: permission denied")
    return path


def read_utf8_text(path: str | Path, what: str = "text file") -> str:
    """The whole of a UTF-8 text file, or a FileAccessError naming `what` and `path` and what the file holds instead:
    nothing (missing), a folder, a binary file (NUL bytes: an .npz, an LM binary), or text in another encoding."""
    path = Path(path)
    if path.is_dir():
        raise FileAccessError(f"{what} {path} is a folder; expected a UTF-8 text file")
    if not path.exists():
        raise FileAccessError(f"{what} {path} does not exist")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileAccessError(f"cannot read {what} {path}: {describe_os_error(exc, path)}") from exc
    check_text_bytes(data, path, what)
    return data.decode("utf-8")


def check_text_bytes(data: bytes, path: str | Path, what: str = "text file", partial: bool = False) -> None:
    """Refuse bytes that are not UTF-8 text, naming what they look like: the one rule of every text reader, LM corpora
    included. `partial`: `data` is the start of a file, which may cut a multi-byte character."""
    if b"\0" in data:
        raise FileAccessError(f"{what} {path} is a binary file (it holds NUL bytes, first at byte {data.index(0)}), "
                              "not UTF-8 text")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if partial and exc.start >= len(data) - 3 and exc.reason == "unexpected end of data":
            return  # a character cut by the end of the probe, not of the file
        raise FileAccessError(f"{what} {path} is not UTF-8 text ({exc.reason} at byte {exc.start}); convert it first, "
                              f"e.g. `iconv -f latin1 -t utf-8 {path}`") from exc


def json_shape(value: Any, limit: int = 40) -> str:
    """A JSON value as messages show what a file holds instead of what was expected: its type and its start."""
    if value is None:
        return "null"
    kinds = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    shown = json.dumps(value)
    return f"{kinds.get(type(value), 'null')} {shown[:limit]}{'...' if len(shown) > limit else ''}"
