"""Dask clusters, as every layer that uses one meets them: the scheduler's address, a client that fails as one line,
and the version check that keeps a worker with other packages from decoding differently.

Imported only when a scheduler is given: distributed takes a second to import.
"""

from __future__ import annotations

import os
import warnings

from logits.errors import LabError
from logits.versions import PACKAGES

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
# Seconds to wait for a Dask scheduler before saying it cannot be reached.
CONNECT_TIMEOUT_S = 5


class ClusterError(LabError):
    """A Dask cluster that cannot be reached or used: no scheduler, no workers, workers that differ or cannot see
    the store."""


def connect(address: str, timeout: float | None = None):
    """A Dask Client of the scheduler at `address`, or a ClusterError within `timeout` seconds (CONNECT_TIMEOUT_S)."""
    timeout = CONNECT_TIMEOUT_S if timeout is None else timeout
    from distributed import Client
    from distributed.versions import VersionMismatchWarning

    try:
        with warnings.catch_warnings():  # checked below, as one line, with the lab's packages too
            warnings.simplefilter("ignore", VersionMismatchWarning)
            return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address} ({_first_line(exc)}); start one with "
                           f"`dask scheduler` and workers with `dask worker {address}`, or check the address "
                           f"(--scheduler or ${SCHEDULER_ENV})") from None


def scheduler_address(given: str | None) -> str | None:
    """The Dask scheduler to use: `given` (--scheduler), else $DASK_SCHEDULER_ADDRESS, else None (run locally)."""
    address = given if given is not None else os.environ.get(SCHEDULER_ENV)
    return (address.strip() or None) if address is not None else None


def check_versions(client) -> None:
    """Dask's own version check (distributed.versions.error_message) over its packages and the lab's, as one line:
    a worker with another numpy or KenLM could decode differently, and one with another dask may not run at all."""
    from distributed.versions import error_message

    found = client.get_versions(packages=[p for p in PACKAGES if p != "ctc-decoding-lab"] + ["ctc-decoding-lab"])
    if not error_message(found["scheduler"], found["workers"], found["client"])["warning"]:
        return
    mine = found["client"]["packages"]
    differing = []
    for name in sorted(mine):
        theirs = {(info or {}).get("packages", {}).get(name) for info in found["workers"].values()}
        theirs.add(found["scheduler"]["packages"].get(name) if name in ("python", "dask", "distributed") else
                   mine[name])
        if theirs != {mine[name]}:
            differing.append(f"{name} {mine[name]} here, {', '.join(sorted(map(str, theirs - {mine[name]})))} on "
                             "the cluster")
    raise ClusterError("the Dask cluster's package versions differ from this client's (Dask's check): "
                       + "; ".join(differing) + "; install the same versions (requirements.lock) everywhere")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
