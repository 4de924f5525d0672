"""Speed and accuracy of every beam decoder on one store, LM and set of search parameters, side by side.

    from experiments.bench.bench import run_bench
    result = run_bench("data/heldout-store", "lm/build/4gram.bin", limit=150)

Decoders, one after the other in this process: pyctcdecode (`beam`, the reference), this project's own beam decoders
(every entry of `decoder_classes()` but greedy, e.g. `fastbeam`), the peers (`ctcbeam`, `flashlight`, from
decoders.peers) and `greedy`. For each:

- load_seconds: wall time to build the decoder from files, LM included (each decoder gets a fresh LM cache, so each
  pays for its own loading);
- cpu_seconds: `time.process_time()` around the loop that decodes the utterances one by one, after one untimed
  warm-up utterance; the median over repeats. It counts every thread of this process, so a decoder that used more
  than one core could not hide it; all of them run single-threaded here (one `decode` call at a time);
- rtfx: audio seconds per CPU second (single core);
- wer/cer: logits.scoring.score against the store's references;
- parity: the share of utterances whose text equals pyctcdecode's.

The utterances are copied into memory before timing, so page faults of the memory-mapped store are not timed.

Also measured: for each `threaded` decoder (fastbeam), the wall-clock speed-up of `decode_batch` with threads=2
over threads=1 on the bench's utterances topped up to PARALLEL_UTTERANCES from the store; greedy's frames per CPU
second over the whole store; and, when pyctcdecode and fastbeam are both benched, the drop-in comparison a
pyctcdecode user would make (`CompatComparison`): `decoders.compat`'s `decode_batch` on COMPAT_WORKERS native threads
against pyctcdecode's own `decode_batch` given a fork pool of as many processes, wall-clock, on the bench's
utterances.

The result is a frozen `BenchResult` (rows of `DecoderRow`, `Skipped`, `ParallelSpeedup`, `GreedyThroughput`);
`BenchResult.to_dict()` is the JSON written to runs/bench/*.json. The figures only: what counts as fast enough is
the README's business, not this module's.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, ContextManager, Mapping, Sequence

import numpy as np

from decoders.base import Decoder
from decoders.beam_base import check_beam_params
from decoders.config import DecoderConfig
from decoders.constants import BEAM_DEFAULTS
from decoders.errors import DecoderConfigError
from decoders.factory import decoder_classes
from decoders.hypothesis import Hypothesis
from decoders.peers import peer_classes
from logits.scoring import score
from logits.versions import versions
from lm.model import LanguageModelCache, LoadedLM, check_alphabet
from logits.errors import LabError
from logits.files import write_json_atomic
from logits.store import LogitsStore
from logits.system import usable_cores

REFERENCE = "beam"
GREEDY = "greedy"
# Keeps `decode bench --default` (two stores, every decoder) within about five minutes on a 2-core CI machine, where
# pyctcdecode takes 0.2-0.3 s per utterance at beam 100.
DEFAULT_LIMIT = 150
DEFAULT_REPEATS = 3
# pyctcdecode is 5-10x slower than the rest, so it runs fewer times by default; its figures are then one run's.
DEFAULT_REFERENCE_REPEATS = 1
PARALLEL_THREADS = (1, 2)
# Runs per thread count at least. On a shared machine the speed of one core drifts by a tenth within a minute, so
# the speed-up is the median of ratios of runs made back to back, not a ratio of medians.
PARALLEL_REPEATS = 7
# Utterances the parallel speed-up is measured on, at least (or the whole store if smaller): a batch of a few
# tenths of a second measures the machine's noise and the batch's last utterance as much as the threads.
PARALLEL_UTTERANCES = 400
# Threads of decoders.compat's decode_batch and processes of pyctcdecode's fork pool in the drop-in comparison.
COMPAT_WORKERS = 2
BENCH_DIR = Path("runs/bench")

Say = Callable[[str], None]
# progress(total, description, unit): a bar of `total` units, named in what they count ("utt", "frames").
Progress = Callable[[int, str, str], ContextManager[Any]]
LoadAverage = Callable[[], tuple[float, float, float]]


@dataclass(frozen=True)
class Contender:
    """A decoder in the bench: `kind` is reference (pyctcdecode), project, peer or baseline (greedy)."""

    name: str
    kind: str
    cls: type[Decoder]


@dataclass(frozen=True)
class DecoderRow:
    """One decoder's figures on the bench's utterances (see the module docstring for how each is measured)."""

    name: str
    kind: str
    config: dict[str, Any]
    utterances: int
    frames: int
    audio_seconds: float
    load_seconds: float
    cpu_seconds: float
    cpu_seconds_runs: tuple[float, ...]
    wall_seconds: float
    repeats: int
    rtfx: float | None
    ms_per_utterance: float
    wer: float | None  # None: the store has no references
    cer: float | None
    parity: float | None  # None: pyctcdecode was not benched
    deterministic: bool  # the same texts on every repeat
    parameter_mapping: dict[str, str] | None = None  # a peer's: how each parameter reaches it


@dataclass(frozen=True)
class Skipped:
    """A decoder that could not be built here (a peer whose package is missing), and why."""

    name: str
    kind: str
    reason: str


@dataclass(frozen=True)
class ParallelSpeedup:
    """Wall-clock time of one threaded decoder's `decode_batch` for each thread count (the keys of `wall_seconds`
    and `cpu_seconds`), and the speed-up of the last count over the first."""

    name: str
    utterances: int
    threads: tuple[int, ...]
    wall_seconds: dict[int, float]
    # CPU seconds of all threads: about equal across thread counts when threading adds no work; a low speed-up with
    # equal CPU means the cores were not free (see BenchResult.machine's load_average).
    cpu_seconds: dict[int, float]
    speedup: float | None
    cores_usable: int
    same_text: bool  # every thread count gave the same texts
    repeats: int
    # The 1-minute load average right before and right after the timed runs (None: the platform has none), and
    # whether other processes held a core the threads needed then (see `core_contention`): a speed-up measured
    # then is the machine's, not the decoder's.
    load_before: float | None = None
    load_after: float | None = None
    contended: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON keys are strings: the thread counts become "1", "2"."""
        return asdict(self) | {
            "wall_seconds": {str(n): s for n, s in self.wall_seconds.items()},
            "cpu_seconds": {str(n): s for n, s in self.cpu_seconds.items()},
        }


@dataclass(frozen=True)
class GreedyThroughput:
    """Greedy's frames per CPU second over a whole store, the kernel that did it, and numpy's argmax for scale."""

    utterances: int
    frames: int
    kernel: str
    cpu_seconds: float
    frames_per_second: int | None
    argmax_only_frames_per_second: int | None
    repeats: int


@dataclass(frozen=True)
class CompatComparison:
    """pyctcdecode's `decode_batch` with a fork pool of `workers` processes against `decoders.compat`'s (fastbeam on
    `workers` native threads), both built by their `build_ctcdecoder` with the same labels, LM, words and weights.

    Wall-clock seconds of one call over the bench's utterances: pyctcdecode's the median of `reference_repeats`
    calls, compat's of `repeats` calls after one untimed call. `parity`: the share of utterances where the two
    decode_batch texts agree (both prune beams by history, as pyctcdecode's decode does); `parity_with_decode_beams`:
    compat's texts against the `beam` row's (pyctcdecode's decode_beams best beam, searched without that pruning).
    """

    utterances: int
    workers: int
    cores_usable: int
    pyctcdecode_seconds: float
    compat_seconds: float
    speedup: float | None
    parity: float
    parity_with_decode_beams: float | None
    pyctcdecode_wer: float | None
    compat_wer: float | None
    repeats: dict[str, int]


@dataclass(frozen=True)
class StoreInfo:
    path: str
    name: str
    fingerprint: str
    utterances: int
    benched_utterances: int
    audio_seconds: float  # of the benched utterances
    synth: dict[str, Any] | None  # how a synthetic store was made (its difficulty, ...); None for a real one
    vocabulary: str = "character"  # the vocabulary's kind: character, sentencepiece or wordpiece


@dataclass(frozen=True)
class LMInfo:
    path: str
    unigrams: str | None
    fingerprint: str
    order: int
    words: int


@dataclass(frozen=True)
class BenchResult:
    """Everything one bench measured, with what it ran on; `to_dict()` is its JSON."""

    decoders: tuple[DecoderRow, ...]
    skipped: tuple[Skipped, ...]
    parallel: tuple[ParallelSpeedup, ...]
    greedy_throughput: GreedyThroughput | None
    store: StoreInfo
    lm: LMInfo
    params: dict[str, Any]
    repeats: dict[str, int]  # {"decoders": n, "reference": n}
    timing: str  # how the figures were taken, for whoever reads the JSON alone
    machine: dict[str, Any]  # machine_info() at the start, plus the load average at the end
    created: str
    command: list[str] = field(default_factory=list)
    regime: str | None = None  # `decode bench --default`: "default" or "hard"
    compat: CompatComparison | None = None  # when both pyctcdecode and fastbeam were benched

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"parallel": [p.to_dict() for p in self.parallel]}


def contenders(names: Sequence[str] | None = None) -> list[Contender]:
    """Every decoder the bench runs, reference first and greedy last; `names` picks some of them (any order)."""
    classes = decoder_classes()
    peers = peer_classes()
    if REFERENCE not in classes or GREEDY not in classes:
        raise LabError(f"decoder_classes() lacks {REFERENCE!r} or {GREEDY!r}; the bench needs both")
    found = [Contender(REFERENCE, "reference", classes[REFERENCE])]
    found += [
        Contender(name, "project", cls)
        for name, cls in sorted(classes.items())
        if name not in (REFERENCE, GREEDY) and name not in peers
    ]
    found += [Contender(name, "peer", classes.get(name, cls)) for name, cls in peers.items()]
    found.append(Contender(GREEDY, "baseline", classes[GREEDY]))
    if not names:
        return found
    known = {c.name: c for c in found}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise LabError(f"unknown decoder(s) {unknown} for the bench; known: {[c.name for c in found]}")
    wanted = set(names)
    return [c for c in found if c.name in wanted]


def parse_decoders(text: str | None) -> list[str] | None:
    """`beam,ctcbeam` -> ['beam', 'ctcbeam']; None or empty -> None (all)."""
    if not text:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    return names or None


def machine_info() -> dict:
    """CPU model, cores, Python and the versions of the decoding packages."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {
        "cpu": model,
        "load_average": load,
        "cores": os.cpu_count(),
        "cores_usable": usable_cores(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": versions(),
    }


def _median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def _nullcontext_progress(total: int, desc: str, unit: str = "utt"):
    class _Bar:
        def update(self, n: int = 1) -> None:
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc) -> None:
            return None

    return _Bar()


def _decode_all(decoder: Decoder, arrays: Sequence[np.ndarray], bar) -> tuple[list[Hypothesis], float, float]:
    hypotheses = []
    wall, cpu = time.perf_counter(), time.process_time()
    for array in arrays:
        hypotheses.append(decoder.decode(array))
        bar.update(1)
    return hypotheses, time.process_time() - cpu, time.perf_counter() - wall


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def bench_decoder(
    contender: Contender,
    params: Mapping[str, Any],
    vocabulary,
    arrays: Sequence[np.ndarray],
    references: Sequence[str | None],
    audio_seconds: float,
    repeats: int,
    progress: Progress,
) -> tuple[DecoderRow, Decoder, list[str]]:
    """Build one decoder, time `repeats` passes over `arrays`; returns its row (parity None: that needs the
    reference's texts, see run_bench), the decoder and its texts."""
    given = {k: v for k, v in params.items() if k in contender.cls.defaults}  # greedy takes none
    wall = time.perf_counter()
    decoder = contender.cls(DecoderConfig(contender.name, given), vocabulary, LanguageModelCache())
    load_seconds = time.perf_counter() - wall
    decoder.decode(arrays[0])  # warm-up: first-call costs (lazy tables, caches) are not decoding speed
    runs_cpu, runs_wall, texts, deterministic = [], [], None, True
    with progress(repeats * len(arrays), f"{contender.name} x{repeats}", "utt") as bar:
        for _ in range(repeats):
            hypotheses, cpu, elapsed = _decode_all(decoder, arrays, bar)
            runs_cpu.append(cpu)
            runs_wall.append(elapsed)
            run_texts = [h.text for h in hypotheses]
            if texts is None:
                texts = run_texts
            elif run_texts != texts:
                deterministic = False
    cpu_seconds = _median(runs_cpu)
    has_refs = any(r is not None and r.strip() for r in references)
    scores = score(references, texts) if has_refs else None
    mapping = getattr(decoder, "parameter_mapping", None)  # only peers have one
    row = DecoderRow(
        name=contender.name,
        kind=contender.kind,
        config=decoder.config.to_dict(),
        utterances=len(arrays),
        frames=int(sum(a.shape[0] for a in arrays)),
        audio_seconds=_round(audio_seconds, 2),
        load_seconds=_round(load_seconds),
        cpu_seconds=_round(cpu_seconds),
        cpu_seconds_runs=tuple(_round(c) for c in runs_cpu),
        wall_seconds=_round(_median(runs_wall)),
        repeats=repeats,
        rtfx=_round(audio_seconds / cpu_seconds, 2) if cpu_seconds > 0 else None,
        ms_per_utterance=_round(1000 * cpu_seconds / len(arrays), 3),
        wer=None if scores is None else _round(scores.wer, 5),
        cer=None if scores is None else _round(scores.cer, 5),
        parity=None,
        deterministic=deterministic,
        parameter_mapping=dict(mapping) if mapping else None,
    )
    return row, decoder, texts


def bench_parallel(decoder: Decoder, arrays: Sequence[np.ndarray], repeats: int, progress: Progress,
                   threads: Sequence[int] = PARALLEL_THREADS, load: LoadAverage | None = None) -> ParallelSpeedup:
    """Wall-clock time of `decode_batch(arrays, threads=n)` for each n, median of at least PARALLEL_REPEATS runs,
    after one untimed run at the most threads so that every thread's workspace is already made. Thread counts take
    turns, in reverse order every other round (1 2, 2 1, 1 2, ...) so that drift favours neither; the speed-up is
    the median over rounds of the first count's time over the last's. `load` (default os.getloadavg) is read
    before and after the timed runs, to say whether another process held a core meanwhile."""
    batch = list(arrays)
    repeats = max(repeats, PARALLEL_REPEATS)
    walls: dict[int, list[float]] = {n: [] for n in threads}
    cpus: dict[int, list[float]] = {n: [] for n in threads}
    outputs: dict[int, list[str]] = {}
    decoder.decode_batch(batch, threads=max(threads))
    load_before = _one_minute_load(load)
    with progress(repeats * len(threads) * len(batch), f"{decoder.name} decode_batch threads={list(threads)}",
                  "utt") as bar:
        for round_ in range(repeats):
            for n in threads if round_ % 2 == 0 else reversed(threads):
                start, cpu = time.perf_counter(), time.process_time()
                result = decoder.decode_batch(batch, threads=n)
                walls[n].append(time.perf_counter() - start)
                cpus[n].append(time.process_time() - cpu)
                outputs.setdefault(n, [h.text for h in result])
                bar.update(len(batch))
    load_after = _one_minute_load(load)
    medians = {n: _median(w) for n, w in walls.items()}
    base, top = threads[0], threads[-1]
    ratios = [a / b for a, b in zip(walls[base], walls[top]) if b > 0]
    speedup = _median(ratios) if ratios else None
    # With fewer usable cores than threads the speed-up says nothing about the decoder; the reader needs both.
    cores = machine_info()["cores_usable"] or 1
    return ParallelSpeedup(
        name=decoder.name,
        utterances=len(batch),
        threads=tuple(threads),
        wall_seconds={n: _round(medians[n]) for n in threads},
        cpu_seconds={n: _round(_median(cpus[n])) for n in threads},
        speedup=_round(speedup, 3),
        cores_usable=cores,
        same_text=all(outputs[n] == outputs[base] for n in threads),
        repeats=repeats,
        load_before=load_before,
        load_after=load_after,
        contended=core_contention(load_before, load_after, cores, threads),
    )


# Load that others may add before the bench calls a core taken: the 1-minute load average trails what ran before
# it (a bench's own single-threaded runs read as 1.1-1.2 on an idle two-core machine), so a few tenths of a core
# are its lag, not another process; a process that held a core reads as a whole one.
LOAD_MARGIN = 0.5


def core_contention(load_before: float | None, load_after: float | None, cores_usable: int,
                    threads: Sequence[int]) -> bool | None:
    """Whether other processes held a core that the bench's threads needed: their load (the 1-minute load average
    less the bench's own share) above the usable cores less the bench's most threads, by more than LOAD_MARGIN.
    The bench's share is one thread before the timed runs (it had been decoding one utterance at a time) and the
    mean thread count after them (the runs take turns). None when either reading is missing."""
    if load_before is None or load_after is None:
        return None
    others = max(load_before - 1.0, load_after - statistics.mean(threads), 0.0)
    return others > cores_usable - max(threads) + LOAD_MARGIN


def _one_minute_load(load: LoadAverage | None) -> float | None:
    try:
        return round(float((load or os.getloadavg)()[0]), 2)
    except OSError:  # no load average on this platform
        return None


def bench_compat(params: Mapping[str, Any], loaded: LoadedLM, vocabulary, arrays: Sequence[np.ndarray],
                 references: Sequence[str | None], beam_texts: Sequence[str] | None, repeats: int,
                 reference_repeats: int, progress: Progress, workers: int = COMPAT_WORKERS) -> CompatComparison:
    """The CompatComparison (see its docstring). pyctcdecode's pool is forked after its decoder is built, as its
    documentation asks, so that the workers inherit the loaded LM."""
    import multiprocessing

    import pyctcdecode

    from decoders import compat

    build = {"kenlm_model_path": str(loaded.path), "unigrams": list(loaded.unigrams), "alpha": params["alpha"],
             "beta": params["beta"], "unk_score_offset": params["unk_score_offset"],
             "lm_score_boundary": params["lm_score_boundary"]}
    search = {"beam_width": int(params["beam_width"]), "beam_prune_logp": float(params["beam_prune_logp"]),
              "token_min_logp": float(params["token_min_logp"]), "hotwords": list(params["hotwords"]) or None,
              "hotword_weight": float(params["hotword_weight"])}
    labels = vocabulary.decoder_labels
    reference = pyctcdecode.build_ctcdecoder(labels, **build)
    walls: dict[str, list[float]] = {"pyctcdecode": [], "compat": []}
    with (progress(reference_repeats * len(arrays), f"pyctcdecode decode_batch, fork pool of {workers}", "utt")
          as bar,
          multiprocessing.get_context("fork").Pool(workers) as pool):
        for _ in range(reference_repeats):
            started = time.perf_counter()
            reference_texts = reference.decode_batch(pool, arrays, **search)
            walls["pyctcdecode"].append(time.perf_counter() - started)
            bar.update(len(arrays))
    reference.cleanup()
    ours = compat.build_ctcdecoder(labels, **build)
    ours.decode_batch(None, arrays, threads=workers, **search)
    with progress(repeats * len(arrays), f"compat decode_batch, {workers} threads", "utt") as bar:
        for _ in range(repeats):
            started = time.perf_counter()
            texts = ours.decode_batch(None, arrays, threads=workers, **search)
            walls["compat"].append(time.perf_counter() - started)
            bar.update(len(arrays))
    has_refs = any(r is not None and r.strip() for r in references)
    pyctcdecode_seconds, compat_seconds = _median(walls["pyctcdecode"]), _median(walls["compat"])
    return CompatComparison(
        utterances=len(arrays),
        workers=workers,
        cores_usable=machine_info()["cores_usable"],
        pyctcdecode_seconds=_round(pyctcdecode_seconds),
        compat_seconds=_round(compat_seconds),
        speedup=_round(pyctcdecode_seconds / compat_seconds, 2) if compat_seconds > 0 else None,
        parity=_round(np.mean([a == b for a, b in zip(texts, reference_texts)]), 5),
        parity_with_decode_beams=None if beam_texts is None else _round(
            np.mean([a == b for a, b in zip(texts, beam_texts)]), 5),
        pyctcdecode_wer=_round(score(references, reference_texts).wer, 5) if has_refs else None,
        compat_wer=_round(score(references, texts).wer, 5) if has_refs else None,
        repeats={"pyctcdecode": reference_repeats, "compat": repeats},
    )


def bench_greedy_throughput(store: LogitsStore, repeats: int, progress: Progress) -> GreedyThroughput:
    """GreedyDecoder's frames per CPU second over the whole memory-mapped store (`decode_store`, a shard at a
    time), which kernel did it (compiled or numpy), and for scale the frames per CPU second of numpy's argmax alone
    over the same frames in one in-memory array."""
    decoder = decoder_classes()[GREEDY](DecoderConfig(GREEDY), store.vocabulary)
    arrays = [np.array(store[i], dtype=np.float32) for i in range(len(store))]
    frames = int(sum(a.shape[0] for a in arrays))
    decoder.decode_store(store)  # warm the page cache so the first repeat does not time the disk
    runs = []
    with progress(repeats * len(arrays), f"greedy whole store x{repeats}", "utt") as bar:
        for _ in range(repeats):
            start = time.process_time()
            decoder.decode_store(store, bar.update)
            runs.append(time.process_time() - start)
    whole = np.concatenate(arrays) if arrays else np.zeros((0, store.vocabulary.size), np.float32)
    argmax_runs = []
    for _ in range(repeats):
        start = time.process_time()
        whole.argmax(axis=1)
        argmax_runs.append(time.process_time() - start)
    cpu_seconds = _median(runs)
    argmax_seconds = _median(argmax_runs)
    return GreedyThroughput(
        utterances=len(arrays),
        frames=frames,
        kernel=decoder.kernel,
        cpu_seconds=_round(cpu_seconds),
        frames_per_second=round(frames / cpu_seconds) if cpu_seconds > 0 else None,
        argmax_only_frames_per_second=round(frames / argmax_seconds) if argmax_seconds > 0 else None,
        repeats=repeats,
    )


def run_bench(
    store: str | Path,
    lm: str | Path,
    unigrams: str | Path | None = None,
    params: Mapping[str, Any] | None = None,
    limit: int | None = DEFAULT_LIMIT,
    repeats: int = DEFAULT_REPEATS,
    reference_repeats: int = DEFAULT_REFERENCE_REPEATS,
    decoders: Sequence[str] | None = None,
    progress: Progress | None = None,
    say: Say | None = None,
) -> BenchResult:
    """Bench every decoder (or those named in `decoders`) on the first `limit` utterances of `store` (None: all).

    `params` are beam search parameters (alpha, beta, beam_width, ...) on top of BEAM_DEFAULTS; `lm` and `unigrams`
    name the LM. Returns the BenchResult (`to_dict()` for its JSON); raises LabError for a bad store, LM,
    parameter or decoder name before anything is decoded.
    """
    progress = progress or _nullcontext_progress
    say = say or (lambda message: None)
    if repeats < 1 or reference_repeats < 1:
        raise LabError(f"repeats must be >= 1 (got {repeats} and reference repeats {reference_repeats})")
    if limit is not None and limit < 1:
        raise LabError(f"--limit must be >= 1, got {limit}")
    chosen = contenders(decoders)
    opened = LogitsStore.open(store)
    if len(opened) == 0:
        raise LabError(f"store {opened.path} holds no utterances")
    loaded = LanguageModelCache().get(lm, unigrams)  # fails here, with the LM's own message, before any decoding
    check_alphabet(loaded.unigrams, opened.vocabulary.characters, loaded.path)
    given = dict(params or {}) | {"lm": str(lm), "unigrams": None if unigrams is None else str(unigrams)}
    unknown = sorted(set(given) - set(BEAM_DEFAULTS))
    if unknown:
        raise DecoderConfigError(f"unknown beam parameter(s) {unknown}; known: {sorted(BEAM_DEFAULTS)}")
    effective = DecoderConfig(REFERENCE, dict(BEAM_DEFAULTS) | given)
    check_beam_params(effective)

    count = len(opened) if limit is None else min(limit, len(opened))
    arrays = [np.array(opened[i], dtype=np.float32) for i in range(count)]
    references = opened.references[:count]
    audio_seconds = sum(a.shape[0] for a in arrays) / opened.frames_per_second
    say(f"{opened.path}: {count} of {len(opened)} utterances, {audio_seconds / 60:.1f} min of audio; "
        f"LM {loaded.path} ({loaded.order}-gram)")

    machine_at_start = machine_info()  # the load average before decoding: wall-clock figures mean little on a busy box
    rows, skipped, parallel, reference_texts = [], [], [], None
    for contender in chosen:
        n_repeats = reference_repeats if contender.kind == "reference" else repeats
        try:
            row, decoder, texts = bench_decoder(contender, given, opened.vocabulary, arrays, references,
                                                audio_seconds, n_repeats, progress)
        except DecoderConfigError as exc:
            if decoders and contender.name in decoders:
                raise
            say(f"skipping {contender.name}: {exc}")
            skipped.append(Skipped(contender.name, contender.kind, str(exc)))
            continue
        if contender.name == REFERENCE:
            reference_texts = texts
        if reference_texts is not None:
            row = replace(row, parity=_round(np.mean([a == b for a, b in zip(texts, reference_texts)]), 5))
        rows.append(row)
        if contender.kind != "baseline" and decoder.threaded:
            parallel_arrays = arrays + [np.array(opened[i], dtype=np.float32)
                                        for i in range(count, min(len(opened), max(count, PARALLEL_UTTERANCES)))]
            parallel.append(bench_parallel(decoder, parallel_arrays, repeats, progress))
        del decoder

    compat_row = None
    if {REFERENCE, "fastbeam"} <= {row.name for row in rows}:
        compat_row = bench_compat(effective.to_dict()["params"], loaded, opened.vocabulary, arrays, references,
                                  reference_texts, repeats, reference_repeats, progress)

    greedy = None
    if any(c.name == GREEDY for c in chosen):
        greedy = bench_greedy_throughput(opened, repeats, progress)

    return BenchResult(
        decoders=tuple(rows),
        skipped=tuple(skipped),
        parallel=tuple(parallel),
        greedy_throughput=greedy,
        store=StoreInfo(
            path=str(opened.path),
            name=opened.path.name,
            fingerprint=opened.fingerprint,
            utterances=len(opened),
            benched_utterances=count,
            audio_seconds=_round(audio_seconds, 2),
            synth=dict(opened.provenance.get("synth", {})) or None,
            vocabulary=opened.vocabulary.kind,
        ),
        lm=LMInfo(
            path=str(loaded.path),
            unigrams=None if unigrams is None else str(unigrams),
            fingerprint=loaded.fingerprint,
            order=loaded.order,
            words=len(loaded.unigrams),
        ),
        params=effective.to_dict()["params"],
        repeats={"decoders": repeats, "reference": reference_repeats},
        timing="cpu_seconds = median over repeats of time.process_time() around one-at-a-time decoding "
               "(single core), after one untimed warm-up utterance; load_seconds = wall time to build the "
               "decoder with a fresh LM cache; rtfx = audio_seconds / cpu_seconds",
        machine=machine_at_start | {"load_average_end": machine_info()["load_average"]},
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        command=list(sys.argv),
        compat=compat_row,
    )


def default_bench_path(store: str | Path) -> Path:
    return BENCH_DIR / f"{Path(store).name}.json"


def write_json(data: Mapping[str, Any], path: str | Path) -> Path:
    """Write `data` (a `BenchResult.to_dict()`, or several under "regimes") atomically: a reader never sees half
    a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_json_atomic(path, data)
