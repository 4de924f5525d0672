"""Console output of long work, shared by every layer: tagged notes and progress bars, both on stderr.

stdout is left to results (tables, `--json` lines), so that scripts can read it while people watch stderr.
"""

from __future__ import annotations

import sys
from typing import Any


def say(tag: str, message: str, bar: Any = None) -> None:
    """`[tag] message` on stderr; through `bar` when one is showing, so that the bar is not torn."""
    line = f"[{tag}] {message}" if tag else message
    if bar is not None and not getattr(bar, "disable", True):
        bar.write(line, file=sys.stderr)
    else:
        print(line, file=sys.stderr, flush=True)


def progress(total: int, desc: str, unit: str = "utt", disable: bool | None = None):
    """A tqdm bar on stderr. `disable=None` (the default) hides it when stderr is not a terminal, so that logs and
    captured output stay free of carriage-return noise; True hides it, False always shows it."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=disable, dynamic_ncols=True,
                mininterval=0.5)
