"""`decode cache`: run a CTC acoustic model over an audio source once and keep its log-probs in a logits store.

    cache_logits("facebook/wav2vec2-large-960h", "LibriSpeech/test-clean", Path("stores/test-clean"), device="cuda")

How it batches. Utterances are sorted longest first (ties by id) and cut into batches of `batch_size`; each
utterance goes through the feature extractor on its own (so its normalisation sees only its own samples), then the
batch is zero-padded. The attention mask is passed only when the feature extractor asks for one
(`return_attention_mask`, e.g. wav2vec2-large-960h / lv60, `feat_extract_norm="layer"`): then padding changes
nothing and batched logits equal one-by-one logits. Models without one (wav2vec2-base-960h, `"group"` norm) are fed
zero-padded input as they expect, but their group norm and self-attention see the padding, so batched logits differ
from unbatched ones for every utterance but the longest of its batch; `--batch-size 1` gives the unbatched logits.
Each utterance keeps exactly `model._get_feat_extract_output_lengths(samples)` frames; logits are up-cast to float32
before the log-softmax.

How it resumes. The store is written with `StoreWriter`, which commits shards as it goes (here at least every
FLUSH_EVERY_BATCHES batches or FLUSH_EVERY_SECONDS seconds) and leaves a store that reads as incomplete until the end.
Rerunning the same command resumes: the batches are planned over the whole source exactly as before, batches whose
utterances are all committed are skipped, and a batch committed only in part is recomputed whole (so even a model
without attention mask gives the same logits as an uninterrupted run) with only its missing utterances written.
`cache-run.json` beside the store's files records the options while it is incomplete, so that a rerun with another
model or source is refused instead of mixed in.

Bad input. A transcript line without audio, an audio file without a transcript line, an unreadable audio file or one
too short for a single frame is skipped: listed on stderr, in the report and in the store's provenance. The run goes
on. Audio at another rate than the model's is resampled (scipy polyphase, noted once); multi-channel audio is averaged.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Collection, Sequence

import numpy as np

from acoustic.model import COMPUTE_DTYPES, AcousticModel, load_acoustic_model, weights_fingerprint
from acoustic.audio import AudioEntry, AudioInfo, AudioReadError, AudioSource, Skipped, open_audio_source, resample
from logits.console import progress as progress_bar
from logits.console import say
from logits.errors import LabError, StoreError
from logits.files import check_writable_output, write_json_atomic
from logits.store import DTYPES as STORE_DTYPES
from logits.store import PENDING_FILE, STORE_FILE, StoreWriter
from logits.text import TextRule, normalise_texts, warn_unspellable

FLUSH_EVERY_BATCHES = 8
FLUSH_EVERY_SECONDS = 60.0
SHARD_FRAMES = 500_000
RUN_FILE = "cache-run.json"
MAX_LISTED = 20  # skipped inputs printed one per line; the report and provenance hold them all


class CacheError(LabError):
    """A model that cannot be loaded or used for caching, or options that do not fit together."""


@dataclass(frozen=True)
class CacheReport:
    """What one `cache_logits` call did. `written` and `audio_seconds` count this run only (not resumed work)."""

    store: Path
    utterances: int  # in the finished store, resumed ones included
    written: int
    resumed: int
    skipped: tuple[Skipped, ...]
    audio_seconds: float
    wall_seconds: float  # the whole call: listing audio, loading the model, caching, finishing the store
    compute_seconds: float  # the caching loop: reading audio, the model, writing shards
    throughput: float  # audio seconds per second of the caching loop
    fingerprint: str

    def summary(self) -> str:
        lines = [
            f"cached   {self.written} utterances, {self.audio_seconds / 60:.1f} min of audio, in "
            f"{self.compute_seconds:.1f} s: {self.throughput:.1f} audio seconds per second",
            f"resumed  {self.resumed} utterances from an interrupted run" if self.resumed else None,
            f"skipped  {len(self.skipped)} inputs (listed above)" if self.skipped else None,
            f"store    {self.store}: {self.utterances} utterances, fingerprint {self.fingerprint[:12]} "
            f"({self.wall_seconds:.1f} s in all)",
        ]
        return "\n".join(line for line in lines if line)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["store"] = str(self.store)
        data["skipped"] = [asdict(s) for s in self.skipped]
        return data


@dataclass(frozen=True)
class _Item:
    entry: AudioEntry
    info: AudioInfo
    samples: int  # at the model's rate
    frames: int


def cache_logits(
    model: str,
    audio: str | Path,
    out: Path,
    batch_size: int = 8,
    device: str = "cpu",
    dtype: str = "float32",
    store_dtype: str = "float32",
    limit: int | None = None,
    split: str | None = None,
    config: str | None = None,
    progress: bool = True,
    overwrite: bool = False,
    ids: Collection[str] | None = None,
) -> CacheReport:
    """Cache MODEL's log-probs of every utterance of AUDIO in a logits store at OUT (resuming one left unfinished).

    `split` and `config` are for data sets (`config` is the data set configuration, like NAME:CONFIG); `limit` keeps
    the first N utterances in id order; `ids` keeps only those utterances (one worker's part, see `plan_parts`);
    `overwrite` starts over even if OUT holds a store, complete or not.
    """
    started = time.perf_counter()
    out = Path(out)
    check_writable_output(out, "--out", folder=True)  # before the model loads and the audio is read
    if batch_size < 1:
        raise CacheError(f"--batch-size must be at least 1, not {batch_size}")
    if limit is not None and limit < 1:
        raise CacheError(f"--limit must be at least 1, not {limit}")
    if dtype not in COMPUTE_DTYPES:
        raise CacheError(f"--dtype must be one of {COMPUTE_DTYPES}, not {dtype!r}")
    if store_dtype not in STORE_DTYPES:
        raise CacheError(f"--store-dtype must be one of {STORE_DTYPES}, not {store_dtype!r}")
    if overwrite and (out / PENDING_FILE).is_file() and not (out / STORE_FILE).exists():
        shutil.rmtree(out)  # an interrupted store: starting over means dropping what it committed
    if (out / STORE_FILE).exists() and not overwrite:
        raise StoreError(f"{out} already holds a complete store; delete it or pass overwrite (--force)")
    settings = {"model": str(model), "audio": str(audio), "split": split, "config": config, "dtype": dtype,
                "batch_size": batch_size, "limit": limit,
                "ids": None if ids is None else hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()}
    _check_interrupted_run(out, settings)

    source = open_audio_source(audio, split=split, config=config)
    acoustic = load_acoustic_model(model, device, dtype)
    skipped: list[Skipped] = list(source.problems)
    entries = _chosen(source, limit, ids)
    items = _probe(source, entries, acoustic, skipped)
    _note_conversions(items, acoustic.sampling_rate)
    _print_skipped(skipped)
    if not acoustic.uses_attention_mask and batch_size > 1:
        _say(f"note     {model}'s feature extractor takes no attention mask (like wav2vec2-base-960h): batches are "
             "zero-padded as it expects, so an utterance's logits depend slightly on its batch mates; "
             "--batch-size 1 gives unbatched logits")
    if not items:
        raise CacheError(f"nothing to cache in {audio}: all {len(skipped)} inputs were skipped (listed above)")
    batches = [items[i : i + batch_size] for i in range(0, len(items), batch_size)]
    # The rule runs over every chosen utterance, not only those this run writes, so a resumed run counts the same.
    rule = TextRule.for_vocabulary(acoustic.vocabulary)
    texts, tally = normalise_texts([item.entry.reference for item in items], rule)
    references = {item.entry.id: text for item, text in zip(items, texts)}
    warn_unspellable(tally, f"the transcripts of {audio}")

    import torch
    import transformers

    provenance = {
        "tool": "decode cache",
        "model": str(model),
        "model_commit": acoustic.commit,
        "model_weights_sha256": weights_fingerprint(model),
        "audio": str(audio),
        "audio_source": source.description,
        "split": split,
        "config": config,
        "limit": limit,
        "dtype": dtype,
        "batch_size": batch_size,
        "device": str(acoustic.device),
        "padding": "attention_mask" if acoustic.uses_attention_mask else "zeros",
        "sampling_rate": acoustic.sampling_rate,
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "references": tally.provenance(),
    }
    writer = StoreWriter(out, acoustic.vocabulary, acoustic.frames_per_second, provenance, dtype=store_dtype,
                         shard_frames=SHARD_FRAMES, overwrite=overwrite)
    written, audio_seconds, loop_seconds = 0, 0.0, 0.0
    with writer:
        done = writer.done_ids
        stray = done - {item.entry.id for item in items}
        if stray:
            raise StoreError(
                f"the interrupted store at {out} holds {len(stray)} utterance(s) this run would not write "
                f"(e.g. {sorted(stray)[0]!r}): it was started with another --audio or --limit; rerun that command, "
                "delete the store, or pass --force to start over"
            )
        _write_run_file(out, settings)
        todo = [batch for batch in batches if any(item.entry.id not in done for item in batch)]
        loop_started = time.perf_counter()
        bar = progress_bar(sum(len(b) for b in todo), "cache", disable=None if progress else True)
        with bar, ThreadPoolExecutor(1) as reader:
            last_flush, since_flush = time.perf_counter(), 0
            upcoming = reader.submit(_read_batch, source, todo[0], acoustic.sampling_rate) if todo else None
            for index in range(len(todo)):
                ready, failed = upcoming.result()
                upcoming = (reader.submit(_read_batch, source, todo[index + 1], acoustic.sampling_rate)
                            if index + 1 < len(todo) else None)
                for problem in failed:
                    skipped.append(problem)
                    _say(f"skipped  {problem}", bar)
                if ready:
                    log_probs = _forward(acoustic, [waveform for _, waveform in ready])
                    for (item, waveform), array in zip(ready, log_probs):
                        if item.entry.id in done:
                            continue  # committed by the interrupted run this one resumes
                        writer.add(item.entry.id, array, references[item.entry.id], normalised=True)
                        written += 1
                        audio_seconds += waveform.shape[0] / acoustic.sampling_rate
                since_flush += 1
                if since_flush >= FLUSH_EVERY_BATCHES or time.perf_counter() - last_flush >= FLUSH_EVERY_SECONDS:
                    writer.flush()
                    last_flush, since_flush = time.perf_counter(), 0
                bar.update(len(todo[index]))
                elapsed = time.perf_counter() - loop_started
                bar.set_postfix_str(f"{audio_seconds / elapsed:.1f} audio s/s" if elapsed > 0 else "", refresh=False)
        loop_seconds = time.perf_counter() - loop_started
        writer.provenance["skipped"] = [asdict(s) for s in skipped]
        writer.provenance["resampled"] = sum(1 for it in items if it.info.sample_rate != acoustic.sampling_rate)
    (out / RUN_FILE).unlink(missing_ok=True)
    store = writer.store
    return CacheReport(
        store=out,
        utterances=len(store),
        written=written,
        resumed=writer.resumed,
        skipped=tuple(skipped),
        audio_seconds=audio_seconds,
        wall_seconds=time.perf_counter() - started,
        compute_seconds=loop_seconds,
        throughput=audio_seconds / loop_seconds if loop_seconds > 0 else 0.0,
        fingerprint=store.fingerprint,
    )


def plan_parts(model: str, audio: str | Path, parts: int, batch_size: int = 8, limit: int | None = None,
               split: str | None = None, config: str | None = None) -> tuple[list[list[str]], list[str]]:
    """How `parts` workers share one cache run: each part's utterance ids, and the order of the whole store.

    The order is the one `cache_logits` writes in (longest first, ties by id). Parts are contiguous runs of its
    batches, cut where the audio is shared most evenly, so that every batch has the members it has in a single run
    (a model without an attention mask gives logits that depend on batch mates); the parts merged in that order
    (`logits.store.merge_stores`) fingerprint like a single run. Reads only the audio headers and the model's
    feature extractor (for its sampling rate).
    """
    from transformers import AutoFeatureExtractor

    if parts < 1:
        raise CacheError(f"the cache needs at least one part, not {parts}")
    if batch_size < 1:
        raise CacheError(f"--batch-size must be at least 1, not {batch_size}")
    try:
        rate = int(AutoFeatureExtractor.from_pretrained(model).sampling_rate)
    except (OSError, ValueError) as exc:
        raise CacheError(f"cannot read the feature extractor of {model} ({exc})") from exc
    source = open_audio_source(audio, split=split, config=config)
    sized = []
    for entry in _chosen(source, limit, None):
        try:
            sized.append((-source.info(entry).samples_at(rate), entry.id))
        except AudioReadError:
            continue  # the part that holds it would skip it; no part does, so nothing reports it twice
    order = [utt_id for _, utt_id in sorted(sized)]
    samples = {utt_id: -negative for negative, utt_id in sized}
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    total = sum(samples.values())
    groups: list[list[str]] = [[] for _ in range(min(parts, len(batches)) or 1)]
    done, part = 0, 0
    for batch in batches:
        # Move to the next part once this one holds its share of the audio (the last part takes the rest).
        if part < len(groups) - 1 and groups[part] and done >= total * (part + 1) / len(groups):
            part += 1
        groups[part].extend(batch)
        done += sum(samples[i] for i in batch)
    return [group for group in groups if group], order


def _chosen(source: AudioSource, limit: int | None, ids: Collection[str] | None) -> list[AudioEntry]:
    entries = source.entries[:limit] if limit is not None else list(source.entries)
    if ids is None:
        return entries
    wanted = set(ids)
    missing = wanted - {entry.id for entry in entries}
    if missing:
        raise CacheError(f"{len(missing)} utterance(s) asked for are not in the audio (e.g. {sorted(missing)[0]!r})")
    return [entry for entry in entries if entry.id in wanted]


def _forward(acoustic: AcousticModel, waveforms: list[np.ndarray]) -> list[np.ndarray]:
    """The model call of one batch (a seam for tests that simulate an interruption)."""
    return acoustic.log_probs(waveforms)


def _probe(source: AudioSource, entries: Sequence[AudioEntry], acoustic: AcousticModel,
           skipped: list[Skipped]) -> list[_Item]:
    """Read each file's header: its length at the model's rate and its frame count. Longest first, ties by id."""
    probed: list[tuple[AudioEntry, AudioInfo, int]] = []
    for entry in entries:
        try:
            info = source.info(entry)
        except AudioReadError as exc:
            skipped.append(Skipped(entry.origin, str(exc)))
            continue
        probed.append((entry, info, info.samples_at(acoustic.sampling_rate)))
    frames = acoustic.frames([samples for _, _, samples in probed]) if probed else []
    items = []
    for (entry, info, samples), count in zip(probed, frames):
        if count < 1:
            skipped.append(Skipped(entry.origin, f"too short for one frame ({info.seconds * 1000:.0f} ms)"))
        else:
            items.append(_Item(entry, info, samples, count))
    return sorted(items, key=lambda item: (-item.samples, item.entry.id))


def _read_batch(source: AudioSource, batch: Sequence[_Item], rate: int) -> tuple[list, list[Skipped]]:
    """Waveforms of one batch at the model's rate, and the utterances that could not be read."""
    ready, failed = [], []
    for item in batch:
        try:
            waveform, found_rate = source.read(item.entry)
        except AudioReadError as exc:
            failed.append(Skipped(item.entry.origin, str(exc)))
            continue
        ready.append((item, resample(waveform, found_rate, rate)))
    return ready, failed


def _check_interrupted_run(out: Path, settings: dict) -> None:
    run_file = out / RUN_FILE
    if not (out / PENDING_FILE).is_file() or not run_file.is_file():
        return
    try:
        before = json.loads(run_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return
    differ = {k: (before.get(k), v) for k, v in settings.items() if before.get(k) != v}
    if differ:
        listed = ", ".join(f"{k}: {old!r} then, {new!r} now" for k, (old, new) in differ.items())
        raise StoreError(
            f"{out} holds an interrupted cache run with other options ({listed}); rerun it with the same options "
            "to resume, or pass --force (or delete it) to start over"
        )


def _write_run_file(out: Path, settings: dict) -> None:
    write_json_atomic(out / RUN_FILE, settings)


def _note_conversions(items: Sequence[_Item], rate: int) -> None:
    rates = sorted({item.info.sample_rate for item in items if item.info.sample_rate != rate})
    if rates:
        count = sum(1 for item in items if item.info.sample_rate != rate)
        _say(f"note     {count} of {len(items)} audio files are at {', '.join(f'{r} Hz' for r in rates)}; "
             f"resampling them to the model's {rate} Hz")
    stereo = sum(1 for item in items if item.info.channels > 1)
    if stereo:
        _say(f"note     {stereo} audio files have several channels; averaging them to mono")


def _print_skipped(skipped: Sequence[Skipped]) -> None:
    for problem in skipped[:MAX_LISTED]:
        _say(f"skipped  {problem}")
    if len(skipped) > MAX_LISTED:
        _say(f"skipped  ... and {len(skipped) - MAX_LISTED} more (all listed in the report and store provenance)")


def _say(message: str, bar: Any = None) -> None:
    say("", message, bar)
