"""Compile decoders/_kernels*.so: the C++ kernels in this folder (fastbeam's beam search, greedy's best path) plus
KenLM's query code from the kenlm sdist.

`decode native build` (run by `make install`) calls `ensure_built()`: a no-op when the .so is newer than every
source here, otherwise cmake configures decoders/native/build/ and compiles (about a minute and a half on two cores,
mostly KenLM). The kenlm==0.3.0 sdist is the one lm/kenlm_tools.py fetches for lmplz; both builds share lm/kenlm/src.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
import time
from pathlib import Path

from lm.kenlm_tools import DEFAULT_ROOT as KENLM_ROOT
from lm.kenlm_tools import cmake_build
from logits.console import say
from logits.errors import LabError
from logits.files import build_once

NATIVE_DIR = Path(__file__).resolve().parent
BUILD_DIR = NATIVE_DIR / "build"
OUTPUT_DIR = NATIVE_DIR.parent
_SOURCE_PATTERNS = ("*.cpp", "*.hpp", "CMakeLists.txt")
# The compiled module: named for what it holds, the decoders' native kernels (module.cpp binds them).
MODULE = "_kernels"


class BuildError(LabError):
    """The compiled decoder is missing and cannot be built here."""


def _say(message: str) -> None:
    say("native", message)


def extension_path() -> Path:
    """Where the compiled module goes (and is imported from): decoders/_kernels<EXT_SUFFIX>."""
    return OUTPUT_DIR / f"{MODULE}{sysconfig.get_config_var('EXT_SUFFIX')}"


def _sources() -> list[Path]:
    return sorted(p for pattern in _SOURCE_PATTERNS for p in NATIVE_DIR.glob(pattern))


def is_fresh() -> bool:
    """True when the .so exists and is newer than every C++ source and the CMakeLists.txt."""
    target = extension_path()
    if not target.is_file():
        return False
    built = target.stat().st_mtime
    return all(source.stat().st_mtime <= built for source in _sources())


def kenlm_source() -> Path:
    """The unpacked kenlm sdist under lm/kenlm/src: the same download lmplz is built from."""
    from lm.kenlm_tools import ensure_kenlm_source

    return ensure_kenlm_source(KENLM_ROOT)


def _pybind11_cmake_dir() -> str:
    try:
        import pybind11
    except ImportError as exc:
        raise BuildError("pybind11 is not installed in this environment; run `make install` "
                         "(requirements.lock pins it).") from exc
    return pybind11.get_cmake_dir()


def _discard_foreign_cache() -> None:
    """Empty the build folder if its CMake cache belongs to another checkout or another Python.

    cmake refuses a cache written for a different source folder (a copied repository), and would keep compiling
    against the old Python's headers after the venv is recreated with another version.
    """
    cache = BUILD_DIR / "CMakeCache.txt"
    if not cache.is_file():
        return
    expected = {"CMAKE_HOME_DIRECTORY": str(NATIVE_DIR), "Python_EXECUTABLE": sys.executable}
    for line in cache.read_text(encoding="utf-8", errors="replace").splitlines():
        name, _, value = line.partition(":")
        if name in expected and value.partition("=")[2] != expected[name]:
            _say(f"discarding {BUILD_DIR}: it was configured for {value.partition('=')[2]}")
            for entry in BUILD_DIR.iterdir():
                if entry.is_dir():
                    shutil.rmtree(entry)
                elif entry.name != ".lock":
                    entry.unlink()
            return


def ensure_built(force: bool = False, jobs: int = 2) -> Path:
    """Return the path of the compiled module, compiling it first when it is missing or older than its sources
    (or always, with `force`)."""
    target = extension_path()
    fresh = (lambda: None) if force else (lambda: target if is_fresh() else None)
    return build_once(BUILD_DIR / ".lock", fresh, lambda: _build(target, force, jobs))


def _build(target: Path, force: bool, jobs: int) -> Path:
    source = kenlm_source()
    _discard_foreign_cache()
    started = time.monotonic()
    _say(f"compiling KenLM, the beam search and the best-path kernel in {BUILD_DIR} with {jobs} jobs "
         "(about 1-2 minutes on two cores)")
    cmake_build(NATIVE_DIR, BUILD_DIR, "the decoders' kernels",
                [f"-DKENLM_ROOT={source}", f"-DOUTPUT_DIR={OUTPUT_DIR}", f"-DPython_EXECUTABLE={sys.executable}",
                 f"-Dpybind11_DIR={_pybind11_cmake_dir()}"], jobs=jobs, clean=force)
    if not target.is_file():
        raise BuildError(f"the build finished but {target} does not exist; delete {BUILD_DIR} and run "
                         "`decode native build` again.")
    # cmake may decide nothing needed relinking (e.g. only a comment changed): mark the .so current anyway, so
    # that the freshness check does not send every later call back to cmake.
    os.utime(target)
    _say(f"built {target.name} in {time.monotonic() - started:.0f} s")
    return target
