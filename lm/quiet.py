"""KenLM's loading banner ("Reading FILE", a progress bar of stars) kept off the terminal: it is written by C++
straight to file descriptor 2, where Python's sys.stderr cannot catch it. CTC_LAB_VERBOSE=1 lets it through."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator

VERBOSE_ENV = "CTC_LAB_VERBOSE"


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Descriptor 2 points at /dev/null inside the block (not when CTC_LAB_VERBOSE is set, or where the process
    has no descriptor 2). Not for threads that print meanwhile: their errors would vanish too; loads are short."""
    if os.environ.get(VERBOSE_ENV, "") not in ("", "0"):
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
