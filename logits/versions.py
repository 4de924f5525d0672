"""The versions of what decides a result, recorded with every sweep point and every bench run."""

from __future__ import annotations

import platform
from importlib import metadata

# The lab itself, the array library, the reference decoder and its LM, and the peers the bench compares.
PACKAGES = ("ctc-decoding-lab", "numpy", "pyctcdecode", "kenlm", "ctc-beam-decoder", "flashlight-text")


def versions() -> dict[str, str | None]:
    """Python's version and each of PACKAGES' (None where it is not installed)."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found
