"""The alpha x beta grid of a sweep, parsed from `START:STOP:STEP` ranges or `0.3,0.5,0.8` lists."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Iterator, Sequence

from decoders.constants import PARAM_RULES
from decoders.errors import DecoderConfigError
from decoders.params import check_param
from logits.errors import LabError

# More values than this is almost always a typo in the step (0:2:0.0001); a caller that means it passes max_values.
MAX_VALUES = 1000


class GridError(LabError):
    """A sweep range or list that cannot be turned into values."""


@dataclass(frozen=True)
class GridPoint:
    """One (alpha, beta) pair: LM weight and word insertion bonus."""

    alpha: float
    beta: float


@dataclass(frozen=True)
class Grid:
    """Every combination of `alphas` and `betas`, alpha-major (the order points are listed and scheduled in)."""

    alphas: tuple[float, ...]
    betas: tuple[float, ...]

    @classmethod
    def parse(cls, alpha: str, beta: str) -> "Grid":
        return cls(parse_values(alpha, "alpha"), parse_values(beta, "beta"))

    @classmethod
    def of(cls, alphas: Sequence[float] | str, betas: Sequence[float] | str) -> "Grid":
        """From specs or from numbers, whichever the caller has (the notebook passes lists of floats)."""
        return cls(
            parse_values(alphas, "alpha") if isinstance(alphas, str) else _checked(alphas, "alpha"),
            parse_values(betas, "beta") if isinstance(betas, str) else _checked(betas, "beta"),
        )

    @property
    def points(self) -> tuple[GridPoint, ...]:
        return tuple(GridPoint(a, b) for a in self.alphas for b in self.betas)

    def __iter__(self) -> Iterator[GridPoint]:
        return iter(self.points)

    def __len__(self) -> int:
        return len(self.alphas) * len(self.betas)

    def describe(self) -> str:
        return f"{len(self.alphas)} alpha x {len(self.betas)} beta = {len(self)} points"


def parse_values(spec: str, name: str = "value", max_values: int = MAX_VALUES) -> tuple[float, ...]:
    """`"0.2:1.0:0.2"` -> (0.2, 0.4, 0.6, 0.8, 1.0); `"0.3,0.5,0.8"` -> (0.3, 0.5, 0.8); `"0.5"` -> (0.5,).

    Ranges include STOP when it lies on the step (within rounding). The arithmetic is decimal, so 0.1 steps give
    0.3 and not 0.30000000000000004: the values are what the user typed and what results are keyed by.
    """
    text = spec.strip()
    if not text:
        raise GridError(f"--{name} is empty; give START:STOP:STEP (e.g. 0.2:1.0:0.2) or a list (e.g. 0.3,0.5,0.8)")
    if ":" in text:
        values = _parse_range(text, name, max_values)
    else:
        values = tuple(_number(part, name, text) for part in text.split(","))
    if len(values) > max_values:
        raise GridError(
            f"--{name} {spec!r} gives {len(values)} values, more than {max_values}; is the step too small?"
        )
    return _checked([float(v) for v in values], name)


def _parse_range(text: str, name: str, max_values: int = MAX_VALUES) -> tuple[Decimal, ...]:
    parts = text.split(":")
    if len(parts) != 3:
        raise GridError(
            f"--{name} {text!r}: a range has three parts START:STOP:STEP (e.g. 0.2:1.0:0.2), found {len(parts)}"
        )
    start, stop, step = (_number(part, name, text) for part in parts)
    if step <= 0:
        raise GridError(f"--{name} {text!r}: STEP must be > 0, found {step}; write ranges from low to high")
    if stop < start:
        raise GridError(f"--{name} {text!r}: the range is empty (STOP {stop} is below START {start}); swap them")
    count = int((stop - start) / step)
    # Decimal division of values written with few digits is exact, but a STOP written as 0.30000001 should still
    # count 0.3 as the last point rather than dropping it or adding a near-duplicate.
    if start + (count + 1) * step - stop <= step * Decimal("1e-9"):
        count += 1
    if count + 1 > max_values:  # decided before the tuple is built, so 0:1e9:1 does not allocate a billion floats
        raise GridError(f"--{name} {text!r} gives {count + 1} values, more than {max_values}; is the step too small?")
    return tuple(start + i * step for i in range(count + 1))


def _number(part: str, name: str, spec: str) -> Decimal:
    try:
        value = Decimal(part.strip())
    except InvalidOperation:
        raise GridError(
            f"--{name} {spec!r}: {part.strip()!r} is not a number; expected START:STOP:STEP (e.g. 0.2:1.0:0.2) "
            "or a comma-separated list (e.g. 0.3,0.5,0.8)"
        ) from None
    if not value.is_finite():
        _check_rule(name, float(value), f"--{name} {spec!r}")
        raise GridError(f"--{name} {spec!r}: {part.strip()!r} must be a finite number")
    return value


def _checked(values: Sequence[float], name: str) -> tuple[float, ...]:
    values = tuple(float(v) for v in values)
    if not values:
        raise GridError(f"no {name} values to sweep; give at least one")
    for value in values:
        _check_rule(name, value, f"{name} values")
        if not math.isfinite(value):
            raise GridError(f"{name} values must be finite numbers, found {value}")
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise GridError(f"{name} values repeat: {repeated}; list each value once")
    return values


def _check_rule(name: str, value: float, where: str) -> None:
    """The decoders' rule for the parameter (decoders.params), as a GridError."""
    if name not in PARAM_RULES:
        return
    try:
        check_param(name, value, where=where)
    except DecoderConfigError as exc:
        raise GridError(str(exc)) from None
