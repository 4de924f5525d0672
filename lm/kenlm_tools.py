"""KenLM's command-line builders, `lmplz` and `build_binary`, compiled on demand.

The `kenlm` Python module on PyPI can only query models, not build them. The same sdist (kenlm==0.3.0) carries the
whole C++ tree, so we fetch exactly that version with the venv's pip and compile just the two programs we need;
nothing outside `root` is touched and the result is reused on every later call.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from lm.errors import LMError
from logits.console import say
from logits.files import build_once, exclusive

KENLM_VERSION = "0.3.0"
DEFAULT_ROOT = Path(__file__).resolve().parent / "kenlm"
_PROGRAMS = ("lmplz", "build_binary")
# Enough of a failed command's output to show the compiler or pip error, not so much that it scrolls away.
_TAIL_LINES = 40


@dataclass(frozen=True)
class KenLMBinaries:
    """Paths of the two compiled KenLM programs."""

    lmplz: Path
    build_binary: Path


def _say(message: str) -> None:
    say("kenlm", message)


def _existing(bin_dir: Path) -> KenLMBinaries | None:
    paths = [bin_dir / name for name in _PROGRAMS]
    if all(p.is_file() and os.access(p, os.X_OK) for p in paths):
        return KenLMBinaries(lmplz=paths[0], build_binary=paths[1])
    return None


def _tail(text: str, lines: int = _TAIL_LINES) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def run_captured(command: Sequence[str | os.PathLike[str]], what: str,
                 cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command with stdout and stderr captured together; LMError only when it cannot be started at all.

    Output is captured rather than streamed because cmake, g++ and lmplz are verbose; the tail explains a failure.
    """
    args = [str(c) for c in command]
    try:
        return subprocess.run(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              errors="replace", check=False)
    except OSError as exc:
        raise LMError(f"{what}: could not run {args[0]!r} ({exc.strerror}). "
                      "Run `make install`, which installs and builds the KenLM tools.") from exc


def command_failure(result: subprocess.CompletedProcess[str], what: str) -> LMError:
    """The LMError for a command that exited non-zero: the command line and the last lines of its output."""
    return LMError(f"{what} failed (exit code {result.returncode}).\ncommand: {' '.join(result.args)}\n"
                   f"last lines of its output:\n{_tail(result.stdout)}")


def run_logged(command: Sequence[str | os.PathLike[str]], what: str, cwd: Path | None = None) -> str:
    """Run a command, capturing its output; on a non-zero exit raise LMError with the output's tail."""
    result = run_captured(command, what, cwd)
    if result.returncode != 0:
        raise command_failure(result, what)
    return result.stdout


def _download_sdist(download_dir: Path) -> Path:
    sdist = download_dir / f"kenlm-{KENLM_VERSION}.tar.gz"
    if sdist.is_file():
        return sdist
    download_dir.mkdir(parents=True, exist_ok=True)
    _say(f"downloading the kenlm=={KENLM_VERSION} sdist with pip into {download_dir}")
    # --no-build-isolation: otherwise pip builds cmake from source in an isolated env just to read the metadata.
    run_logged([sys.executable, "-m", "pip", "download", "--no-deps", "--no-build-isolation",
                "--disable-pip-version-check", f"kenlm=={KENLM_VERSION}", "-d", download_dir],
               "downloading the kenlm sdist")
    if not sdist.is_file():
        found = sorted(p.name for p in download_dir.iterdir())
        raise LMError(f"pip reported success but {sdist} is missing (found: {found}). "
                      f"Delete {download_dir} and run `decode lm tools` again.")
    return sdist


def _unpack(sdist: Path, src_root: Path) -> Path:
    source = src_root / f"kenlm-{KENLM_VERSION}"
    if (source / "CMakeLists.txt").is_file():
        return source
    _say(f"unpacking {sdist.name} into {src_root}")
    shutil.rmtree(src_root, ignore_errors=True)
    src_root.mkdir(parents=True)
    try:
        with tarfile.open(sdist) as archive:
            # The "data" filter refuses absolute paths and links out of src_root (Python >= 3.11.4 has it).
            if hasattr(tarfile, "data_filter"):
                archive.extractall(src_root, filter="data")
            else:
                archive.extractall(src_root)
    except (tarfile.TarError, OSError) as exc:
        sdist.unlink(missing_ok=True)  # a damaged download must not be reused on the next try
        raise LMError(f"{sdist} is not a readable tar.gz ({exc}); it was deleted, run `decode lm tools` "
                      "again to download it afresh.") from exc
    if not (source / "CMakeLists.txt").is_file():
        raise LMError(f"{sdist} unpacked without {source / 'CMakeLists.txt'}; expected the KenLM C++ tree. "
                      f"Delete {src_root.parent} and try again.")
    return source


def ensure_kenlm_source(root: Path = DEFAULT_ROOT) -> Path:
    """The unpacked kenlm sdist under root/src, downloaded and unpacked first if needed.

    For builds that compile KenLM themselves (the fastbeam extension). Taken under the lock the lmplz build holds,
    because unpacking empties the source folder first."""
    root = Path(root)
    with exclusive(root / ".build.lock"):
        return _unpack(_download_sdist(root / "download"), root / "src")


def cmake_build(source: Path, build_dir: Path, what: str, options: Sequence[str] = (),
                targets: Sequence[str] = (), jobs: int = 2, clean: bool = False) -> None:
    """Configure `source` into `build_dir` (Release, plus `options`) and build `targets` (all by default); LMError
    with the tail of cmake's output when a step fails, or when cmake is missing."""
    if shutil.which("cmake") is None:
        raise LMError(f"cmake was not found on PATH; it is needed to compile {what}. Run `make install`, which "
                      "installs cmake, a C++ compiler, boost and the other build dependencies.")
    run_logged(["cmake", "-S", source, "-B", build_dir, "-DCMAKE_BUILD_TYPE=Release", *options],
               f"configuring {what} with cmake")
    run_logged(["cmake", "--build", build_dir, f"-j{jobs}", *(["--target", *targets] if targets else []),
                *(["--clean-first"] if clean else [])], f"compiling {what}")


def ensure_kenlm_binaries(root: Path = DEFAULT_ROOT) -> KenLMBinaries:
    """Return KenLM's `lmplz` and `build_binary` under root/bin, building them first if they are missing."""
    root = Path(root)
    return build_once(root / ".build.lock", lambda: _existing(root / "bin"), lambda: _build_binaries(root))


def _build_binaries(root: Path) -> KenLMBinaries:
    bin_dir = root / "bin"
    source = _unpack(_download_sdist(root / "download"), root / "src")
    build_dir = root / "cmake-build"
    _say(f"compiling lmplz and build_binary in {build_dir} (about a minute on two cores)")
    cmake_build(source, build_dir, "KenLM's lmplz and build_binary", ["-DCOMPILE_TESTS=OFF", "-DENABLE_PYTHON=OFF"],
                targets=_PROGRAMS)
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in _PROGRAMS:
        built = build_dir / "bin" / name
        if not built.is_file():
            raise LMError(f"the KenLM build finished but {built} does not exist; expected cmake to put "
                          f"{name} there. Delete {root} and run `decode lm tools` again.")
        # Copy under a temporary name, then rename: a half-copied binary must never look installed.
        partial = bin_dir / f".{name}.partial"
        shutil.copy2(built, partial)
        partial.chmod(0o755)
        os.replace(partial, bin_dir / name)
    result = _existing(bin_dir)
    assert result is not None
    _say(f"lmplz and build_binary are in {bin_dir}")
    return result
