"""What a sweep is (`SweepSpec`) and how one run of it goes (`RunOptions`).

    spec = SweepSpec.of("data/heldout-store", "lm/build/4gram.bin", "0.2:1.0:0.2", "0:2:0.5",
                        params={"beam_width": 50})
    sweep(spec, options=RunOptions(workers=4))

A spec names the store, the LM, the decoder (its config: every parameter held fixed, such as beam_width or
prune_history, travels there), the grid and its extra swept parameters, the method with its rescoring settings, the
test store and the run directory: what the results depend on. The options change how fast and how loudly the same
results come (workers, a Dask scheduler, progress), or allow a long run (`yes`). Both are frozen: a refined or
re-measured sweep is a `dataclasses.replace` of its spec.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from decoders.config import DecoderConfig
from decoders.constants import DEFAULT_DECODER
from experiments.sweep.constants import DEFAULT_ALPHAS, DEFAULT_BETAS, DEFAULT_EXACT, DEFAULT_NBEST, DEFAULT_RADIUS
from experiments.sweep.grid import Grid
from experiments.sweep.rescore import Anchor
from logits.errors import LabError

METHODS = ("grid", "rescore")
# Set by the sweep itself (the LM and word list are the spec's own fields; alpha and beta are the grid's).
SWEPT_BY_THE_SWEEP = frozenset({"lm", "unigrams", "alpha", "beta"})


@dataclass(frozen=True)
class SweepSpec:
    """A sweep: decode `store` with `decoder` and `lm` at every (alpha, beta) of `grid` (and every combination of
    `extra`'s values), and with greedy once.

    `decoder` holds the parameters kept fixed, never lm, unigrams, alpha or beta. `extra` sweeps more parameters
    ({"beam_width": (10, 100)}). `refine` N zooms N times around the best point at half the step. `method` "rescore"
    decodes only at `anchors` with `nbest` hypotheses, re-ranks them at every point, then decodes up to `exact`
    points within `radius` grid steps of a decoded one (experiments.sweep.search). `test` is decoded once at the
    best point. `run_dir` defaults to runs/<store dir name>-<short LM fingerprint>.
    """

    store: Path
    lm: Path
    grid: Grid
    decoder: DecoderConfig = field(default_factory=lambda: DecoderConfig(DEFAULT_DECODER))
    unigrams: Path | None = None
    extra: Mapping[str, Sequence[Any]] | tuple[tuple[str, tuple], ...] = ()
    method: str = "grid"
    nbest: int = DEFAULT_NBEST
    anchors: tuple[Anchor, ...] | None = None
    exact: int = DEFAULT_EXACT
    radius: float = DEFAULT_RADIUS
    refine: int = 0
    test: Path | None = None
    run_dir: Path | None = None

    def __post_init__(self) -> None:
        # Paths and tuples whatever the caller passed, so that equal specs compare equal.
        for name in ("store", "lm", "unigrams", "test", "run_dir"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, Path(value))
        items = self.extra.items() if isinstance(self.extra, Mapping) else self.extra
        object.__setattr__(self, "extra", tuple(sorted((str(k), tuple(v)) for k, v in items)))
        if self.anchors is not None:
            object.__setattr__(self, "anchors", tuple(self.anchors))
        self._check()

    @classmethod
    def of(cls, store: str | Path, lm: str | Path, alphas: str | Sequence[float] = DEFAULT_ALPHAS,
           betas: str | Sequence[float] = DEFAULT_BETAS, *, decoder: str = DEFAULT_DECODER,
           params: Mapping[str, Any] | None = None, **settings: Any) -> "SweepSpec":
        """The spec from what a person types: grid specs ("0.2:1.0:0.2", "0.3,0.5") or numbers, a decoder name and
        its fixed `params`; `settings` are the other fields (unigrams, extra, method, nbest, ..., run_dir)."""
        return cls(Path(store), Path(lm), Grid.of(alphas, betas), DecoderConfig(decoder, dict(params or {})),
                   **settings)

    @property
    def params(self) -> dict[str, Any]:
        """The decoder parameters held fixed."""
        return dict(self.decoder.params)

    @property
    def swept(self) -> dict[str, tuple]:
        """The extra swept parameters and their values."""
        return dict(self.extra)

    def _check(self) -> None:
        if self.method not in METHODS:
            raise LabError(f"unknown sweep method {self.method!r}; known: grid (decode every point), rescore "
                           "(re-rank N-best lists, decode the best few)")
        if self.method == "rescore" and (self.refine or self.extra):
            raise LabError("--method rescore sweeps alpha and beta only; drop --refine and --param (or use "
                           "--method grid)")
        clash = sorted(set(self.params) & SWEPT_BY_THE_SWEEP)
        if clash:
            raise LabError(f"params {clash} are set by the sweep itself; pass lm/unigrams/alphas/betas as arguments")
        if int(self.refine) < 0:
            raise LabError(f"--refine must be >= 0, got {self.refine}")
        for name in ("nbest", "exact"):
            if int(getattr(self, name)) < 1:
                raise LabError(f"--{name} must be >= 1, got {getattr(self, name)}")
        if not (float(self.radius) > 0 and math.isfinite(float(self.radius))):
            raise LabError(f"--radius must be a number of grid steps > 0, got {self.radius}")


@dataclass(frozen=True)
class RunOptions:
    """How one run of a spec goes; none of it changes a result. `workers` defaults to the usable cores (1 decodes
    in this process); `scheduler` (tcp://HOST:PORT; default $DASK_SCHEDULER_ADDRESS, else none) decodes on that Dask
    cluster; `show_progress` None shows a bar on a terminal and lines elsewhere; `yes` runs more points than
    CONFIRM_POINTS; `on_point` is called with each point decoded; `command` is what the run records as its command
    (default: the Python call, spelled out)."""

    workers: int | None = None
    scheduler: str | None = None
    show_progress: bool | None = None
    yes: bool = False
    on_point: Callable[[Any], None] | None = None
    command: Sequence[str] | None = None


RUN_OPTION_NAMES = frozenset(f.name for f in fields(RunOptions))
