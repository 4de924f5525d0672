"""Console output of long work, shared by every layer: tagged notes and progress, both on stderr.

stdout is left to results (tables, `--json` lines), so that scripts can read it while people watch stderr. On a
terminal progress is a tqdm bar; elsewhere (a log file, CI, nohup) it is a plain line every LINE_INTERVAL seconds, so
that long work is never silent and logs are not filled with carriage returns.
"""

from __future__ import annotations

import sys
import time
from typing import Any

LINE_INTERVAL = 10.0


def percent(rate: float | None) -> str:
    """A rate as tables print it: `0.0853` -> `8.53%`; `-` for none (nothing scored)."""
    return "-" if rate is None else f"{100 * rate:.2f}%"


def say(tag: str, message: str, bar: Any = None) -> None:
    """`[tag] message` on stderr; through `bar` when one is showing, so that the bar is not torn."""
    line = f"[{tag}] {message}" if tag else message
    if bar is not None and not getattr(bar, "disable", True):
        bar.write(line, file=sys.stderr)
    else:
        print(line, file=sys.stderr, flush=True)


def progress(total: int, desc: str, unit: str = "utt", disable: bool | None = None) -> Any:
    """Progress of `total` units: a tqdm bar on a terminal, plain lines elsewhere. `disable=True` shows nothing;
    `disable=False` forces the tqdm bar."""
    if disable is None and not sys.stderr.isatty():
        return LineProgress(total, desc, unit)
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=bool(disable), dynamic_ncols=True,
                mininterval=0.5)


class LineProgress:
    """tqdm's interface (update, set_postfix_str, write, context manager) as a line every `interval` seconds:
    `desc: done/total unit (percent), rate/s, ETA`. Work shorter than one interval prints nothing."""

    disable = False

    def __init__(self, total: int, desc: str, unit: str = "utt", interval: float = LINE_INTERVAL) -> None:
        self.total, self.desc, self.unit, self.interval = total, desc, unit, interval
        self.n, self.postfix = 0, ""
        self.started = self.last = time.monotonic()
        self.printed = False

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            self._line(now)

    def set_postfix_str(self, text: str, refresh: bool = True) -> None:
        self.postfix = text

    def write(self, line: str, file: Any = None) -> None:
        print(line, file=file or sys.stderr, flush=True)

    def _line(self, now: float) -> None:
        elapsed = now - self.started
        rate = self.n / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.n) / rate if rate > 0 and self.total else None
        eta = "?" if left is None else f"{int(left // 60)}:{int(left % 60):02d}"
        share = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        extra = f", {self.postfix}" if self.postfix else ""
        print(f"{self.desc}: {self.n}/{self.total} {self.unit}{share}, {rate:.2f} {self.unit}/s, ETA {eta}{extra}",
              file=sys.stderr, flush=True)
        self.printed = True

    def close(self) -> None:
        if self.printed:  # a closing line, so the log shows where it ended
            self._line(time.monotonic())

    def __enter__(self) -> "LineProgress":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
