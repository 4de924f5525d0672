"""A decoder described by data: a name and its parameters, small enough to record, hash and rebuild."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Mapping


@dataclass(frozen=True)
class DecoderConfig:
    """`DecoderConfig("beam", {"lm": "lm/build/4gram.bin", "alpha": 0.5})`.

    Parameters are stored as sorted (key, value) pairs so that the config is hashable and two configs with the same
    parameters compare and digest equal whatever order they were given in. Lists become tuples.
    """

    name: str
    params: Mapping[str, Any] | tuple[tuple[str, Any], ...] = field(default=())

    def __post_init__(self) -> None:
        items = self.params.items() if isinstance(self.params, Mapping) else self.params
        frozen = tuple(sorted((str(k), _freeze(v)) for k, v in items))
        object.__setattr__(self, "params", frozen)

    def get(self, key: str, default: Any = None) -> Any:
        return dict(self.params).get(key, default)

    def replace(self, **params: Any) -> "DecoderConfig":
        """A copy with some parameters changed (e.g. `config.replace(alpha=0.8)`)."""
        return DecoderConfig(self.name, dict(self.params) | params)

    def to_dict(self) -> dict:
        return {"name": self.name, "params": {k: _thaw(v) for k, v in self.params}}

    @classmethod
    def from_dict(cls, data: Mapping) -> "DecoderConfig":
        return cls(data["name"], data.get("params", {}))

    def digest(self) -> str:
        """sha256 of the canonical JSON form: equal configs, equal digests."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()

    def label(self) -> str:
        """A short human-readable name, e.g. `beam(alpha=0.5, beta=1.0)`."""
        shown = ", ".join(f"{k}={_thaw(v)}" for k, v in self.params if v not in (None, ()))
        return f"{self.name}({shown})" if shown else self.name


def _freeze(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value
