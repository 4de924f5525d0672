"""Audio sources for `decode cache`: utterances with an id, a mono float32 waveform and (usually) a transcript.

`open_audio_source(SOURCE)` understands four kinds of SOURCE:

* a LibriSpeech-style folder: `**/*.trans.txt` files of "ID TEXT" lines, each audio file `ID.flac` (or `.wav`, ...)
  in the same folder as its transcript file;
* a folder of audio files with one transcript file in it (`transcripts.txt`, `transcripts.tsv`, `transcript.txt`,
  `transcript.tsv` or `text`; or name the transcript file itself as SOURCE): "ID<TAB>TEXT" or "ID TEXT" lines, where
  ID is an audio file's name without extension (or its path relative to the folder). A folder with audio files and no
  transcript file at all gives utterances without references;
* a dataset saved with `datasets` (`save_to_disk`): an audio column (`audio`, or any column of type `Audio`), an
  optional text column (`text`, `sentence`, `transcript`, `transcription`, `normalized_text`) and an optional id
  column (`id`, ...; otherwise the row number). A saved `DatasetDict` needs a split;
* a Hugging Face hub data set `NAME[:CONFIG]` (needs hub access and usually a split).

Audio is read with soundfile (never torchcodec: `datasets` columns are read with `Audio(decode=False)`), averaged to
mono, and resampled with scipy's polyphase filter when its rate is not the model's.

Bad input does not stop a run. Listing a source (`AudioSource.problems`) reports a transcript line whose audio file is
missing and an audio file that no transcript line names; reading (`info`, `read`) raises `AudioReadError` for a file
that cannot be decoded. The caller skips those utterances and reports them by file name.
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from logits.errors import LabError
from logits.transcripts import transcript_lines

AUDIO_EXTENSIONS = (".flac", ".wav", ".ogg", ".opus", ".mp3", ".aiff", ".aif")
TRANSCRIPT_NAMES = ("transcripts.txt", "transcripts.tsv", "transcript.txt", "transcript.tsv", "text")
TEXT_COLUMNS = ("text", "sentence", "transcript", "transcription", "normalized_text")
ID_COLUMNS = ("id", "utt_id", "utterance_id", "key", "segment_id")
_HUB_NAME = re.compile(r"^[\w.-]+(/[\w.-]+)?(:[\w.-]+)?$")


class AudioError(LabError):
    """An audio source that cannot be opened: missing, of no known layout, or a data set without audio."""


class AudioReadError(AudioError):
    """One utterance whose audio cannot be read; callers skip it and report it."""


@dataclass(frozen=True)
class Skipped:
    """An input left out of a run, named by file (or data set row), and why."""

    item: str
    reason: str

    def __str__(self) -> str:
        return f"{self.item}: {self.reason}"


@dataclass(frozen=True)
class AudioEntry:
    """One utterance of a source before its audio is read. `origin` names it for messages (a path or a row)."""

    id: str
    reference: str | None
    origin: str
    key: Any  # where the source finds the audio: a Path, or a row number


@dataclass(frozen=True)
class AudioInfo:
    """What the audio file's header says."""

    samples: int
    sample_rate: int
    channels: int

    @property
    def seconds(self) -> float:
        return self.samples / self.sample_rate

    def samples_at(self, sample_rate: int) -> int:
        """Samples after resampling to `sample_rate` (what `resample` returns)."""
        return resampled_length(self.samples, self.sample_rate, sample_rate)


@dataclass(frozen=True)
class AudioClip:
    """One utterance, read: mono float32 samples at `sample_rate`."""

    id: str
    waveform: np.ndarray
    sample_rate: int
    reference: str | None


class AudioSource:
    """Utterances in id order (`entries`), what listing them found wrong (`problems`), and how to read each."""

    description: str
    entries: tuple[AudioEntry, ...]
    problems: tuple[Skipped, ...]

    def info(self, entry: AudioEntry) -> AudioInfo:
        raise NotImplementedError

    def read(self, entry: AudioEntry) -> tuple[np.ndarray, int]:
        """Mono float32 samples at the file's own rate, and that rate."""
        raise NotImplementedError

    @property
    def labelled(self) -> bool:
        return any(entry.reference is not None for entry in self.entries)

    def clips(self, sample_rate: int | None = None, skipped: list[Skipped] | None = None) -> Iterator[AudioClip]:
        """Every readable utterance, resampled to `sample_rate` if given; unreadable ones go to `skipped`."""
        for entry in self.entries:
            try:
                waveform, rate = self.read(entry)
            except AudioReadError as exc:
                if skipped is not None:
                    skipped.append(Skipped(entry.origin, str(exc)))
                continue
            if sample_rate is not None and rate != sample_rate:
                waveform, rate = resample(waveform, rate, sample_rate), sample_rate
            yield AudioClip(entry.id, waveform, rate, entry.reference)

    def __iter__(self) -> Iterator[tuple[str, np.ndarray, int, str | None]]:
        """(id, waveform, sample_rate, reference) for every readable utterance, at the files' own rates."""
        for clip in self.clips():
            yield clip.id, clip.waveform, clip.sample_rate, clip.reference

    def __len__(self) -> int:
        return len(self.entries)


def open_audio_source(source: str | Path, split: str | None = None, config: str | None = None) -> AudioSource:
    """Open SOURCE: a folder, a transcript file, an audio file, a saved data set, or a hub data set NAME[:CONFIG]."""
    path = Path(source)
    if path.is_dir():
        if (path / "dataset_dict.json").is_file() or (path / "state.json").is_file():
            return DatasetSource.from_disk(path, split)
        if split is not None:
            raise AudioError(f"--split {split} applies to data sets; {path} is a folder of audio files")
        return FolderSource.from_folder(path)
    if path.is_file():
        if split is not None:
            raise AudioError(f"--split {split} applies to data sets; {path} is a file")
        if path.suffix.lower() in AUDIO_EXTENSIONS:
            return FolderSource(str(path), [AudioEntry(path.stem, None, str(path), path)], [])
        return FolderSource.from_transcript_file(path, path.parent)
    text = str(source)
    # "data/test-clean" beside a local data/ folder is a mistyped path, not a hub name: no need to ask the hub.
    local_parent = path.parent != Path(".") and path.parent.is_dir()
    if _HUB_NAME.match(text) and not text.startswith((".", "/")) and not local_parent:
        name, _, name_config = text.partition(":")
        return DatasetSource.from_hub(name, config or name_config or None, split)
    raise AudioError(f"audio source {text} does not exist (give a folder, a transcript file, a saved data set, "
                     "or a hub data set NAME[:CONFIG])")


# ---------------------------------------------------------------------------------------------------------- files


def read_audio_file(file: Any) -> tuple[np.ndarray, int]:
    """Decode a path or file-like object with soundfile: mono float32 (channels averaged) and its rate."""
    import soundfile

    try:
        data, rate = soundfile.read(file, dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises LibsndfileError, RuntimeError, TypeError... for a bad file
        raise AudioReadError(f"cannot read audio ({_one_line(exc)})") from exc
    if data.shape[0] == 0:
        raise AudioReadError("holds no samples")
    waveform = data[:, 0] if data.shape[1] == 1 else data.mean(axis=1, dtype=np.float32)
    if not np.isfinite(waveform).all():
        raise AudioReadError("holds NaN or infinite samples")
    return np.ascontiguousarray(waveform, dtype=np.float32), int(rate)


def audio_file_info(file: Any) -> AudioInfo:
    import soundfile

    try:
        found = soundfile.info(file)
    except Exception as exc:
        raise AudioReadError(f"cannot read audio ({_one_line(exc)})") from exc
    if found.frames <= 0:
        raise AudioReadError("holds no samples")
    return AudioInfo(int(found.frames), int(found.samplerate), int(found.channels))


class FolderSource(AudioSource):
    """Audio files on disk, each with the transcript line that names it (or none, for an unlabelled folder)."""

    def __init__(self, description: str, entries: Sequence[AudioEntry], problems: Sequence[Skipped]) -> None:
        self.description = description
        self.entries = tuple(sorted(entries, key=lambda e: e.id))
        self.problems = tuple(problems)

    def info(self, entry: AudioEntry) -> AudioInfo:
        return audio_file_info(entry.key)

    def read(self, entry: AudioEntry) -> tuple[np.ndarray, int]:
        return read_audio_file(entry.key)

    @classmethod
    def from_folder(cls, root: Path) -> "FolderSource":
        transcripts = sorted(root.rglob("*.trans.txt"))
        if transcripts:
            return cls._librispeech(root, transcripts)
        for name in TRANSCRIPT_NAMES:
            if (root / name).is_file():
                return cls.from_transcript_file(root / name, root)
        audio = _audio_files(root)
        if not audio:
            raise AudioError(
                f"{root} holds no audio files ({', '.join(AUDIO_EXTENSIONS)}), no *.trans.txt and no transcript "
                f"file ({', '.join(TRANSCRIPT_NAMES)}), and is not a saved data set"
            )
        entries, problems = [], []
        for ident, paths in _index_by_id(root, audio).items():
            if len(paths) > 1:
                problems.extend(Skipped(str(p), f"{len(paths)} audio files share the id {ident!r}") for p in paths)
            else:
                entries.append(AudioEntry(ident, None, str(paths[0]), paths[0]))
        return cls(f"{root} (no transcripts)", entries, problems)

    @classmethod
    def _librispeech(cls, root: Path, transcripts: list[Path]) -> "FolderSource":
        entries: dict[str, AudioEntry] = {}
        problems: list[Skipped] = []
        claimed: set[Path] = set()
        for trans in transcripts:
            for lineno, ident, text in transcript_lines(trans):
                where = f"{trans}:{lineno} ({ident})"
                found = [trans.parent / (ident + ext) for ext in AUDIO_EXTENSIONS]
                found = [p for p in found if p.is_file()]
                claimed.update(found)
                if ident in entries:
                    problems.append(Skipped(where, f"id {ident} already appears in {entries[ident].origin}"))
                elif not found:
                    problems.append(Skipped(where, f"transcript line without audio (no {ident}.flac/.wav/... "
                                                   f"in {trans.parent})"))
                elif len(found) > 1:
                    problems.append(Skipped(where, f"several audio files for one id: {[p.name for p in found]}"))
                else:
                    entries[ident] = AudioEntry(ident, text, str(found[0]), found[0])
        problems.extend(
            Skipped(str(p), "audio without a transcript line") for p in _audio_files(root) if p not in claimed
        )
        return cls(f"{root} (LibriSpeech layout, {len(transcripts)} transcript files)", list(entries.values()),
                   problems)

    @classmethod
    def from_transcript_file(cls, transcript: Path, root: Path) -> "FolderSource":
        audio = _audio_files(root)
        by_id = _index_by_id(root, audio)
        by_stem: dict[str, list[Path]] = {}
        for p in audio:
            by_stem.setdefault(p.stem, []).append(p)
        entries: dict[str, AudioEntry] = {}
        problems: list[Skipped] = []
        claimed: set[Path] = set()
        for lineno, token, text in transcript_lines(transcript, allow_header=True):
            where = f"{transcript}:{lineno} ({token})"
            direct = root / token
            if direct.suffix.lower() in AUDIO_EXTENSIONS and direct.is_file():
                ident, found = _id_of(root, direct), [direct]
            else:
                ident = token
                found = by_id.get(token) or by_stem.get(token) or []
            claimed.update(found)
            if ident in entries:
                problems.append(Skipped(where, f"id {ident} appears twice in {transcript}"))
            elif not found:
                problems.append(Skipped(where, f"transcript line without audio (no file {token}.* under {root})"))
            elif len(found) > 1:
                problems.append(Skipped(where, f"several audio files match: {[str(p) for p in found]}"))
            else:
                entries[ident] = AudioEntry(ident, text, str(found[0]), found[0])
        problems.extend(Skipped(str(p), f"audio without a transcript line in {transcript.name}")
                        for p in audio if p not in claimed)
        return cls(f"{root} (transcripts: {transcript.name})", list(entries.values()), problems)


def _audio_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_EXTENSIONS and p.is_file())


def _id_of(root: Path, path: Path) -> str:
    """An audio file's id: its path relative to the folder, without extension (just the name when at the top)."""
    return path.relative_to(root).with_suffix("").as_posix()


def _index_by_id(root: Path, audio: list[Path]) -> dict[str, list[Path]]:
    """Audio files by id; ids are file names without extension unless two files in different folders share one."""
    stems: dict[str, list[Path]] = {}
    for p in audio:
        stems.setdefault(p.stem, []).append(p)
    index: dict[str, list[Path]] = {}
    for stem, paths in stems.items():
        folders = {p.parent for p in paths}
        if len(paths) > 1 and len(folders) == len(paths):  # same name in different folders: relative paths tell apart
            for p in paths:
                index.setdefault(_id_of(root, p), []).append(p)
        else:
            index[stem] = paths
    return index


# ------------------------------------------------------------------------------------------------------- data sets


class DatasetSource(AudioSource):
    """A `datasets.Dataset` (saved to disk or from the hub). Audio is read from each row's bytes or path."""

    def __init__(self, dataset: Any, description: str) -> None:
        from datasets import Audio

        self.description = description
        columns = list(dataset.column_names)
        features = dataset.features
        audio_columns = [c for c in columns if isinstance(features.get(c), Audio)]
        audio_column = "audio" if "audio" in columns else (audio_columns[0] if audio_columns else None)
        if audio_column is None:
            raise AudioError(f"data set {description} has no audio column (columns: {columns})")
        if isinstance(features.get(audio_column), Audio):
            # decode=False: rows give {"bytes", "path"}; decoding goes through soundfile, not torchcodec.
            dataset = dataset.cast_column(audio_column, Audio(decode=False))
        text_column = next((c for c in TEXT_COLUMNS if c in columns), None)
        id_column = next((c for c in ID_COLUMNS if c in columns), None)
        self.audio_column, self.text_column, self.id_column = audio_column, text_column, id_column
        self._audio = dataset.select_columns([audio_column])

        n = len(dataset)
        ids = [str(x) for x in dataset[id_column]] if id_column else [f"{i:0{len(str(max(n - 1, 0)))}d}" for i in range(n)]
        texts = dataset[text_column] if text_column else [None] * n
        entries, problems, seen = [], [], {}
        for row, (ident, text) in enumerate(zip(ids, texts)):
            origin = f"{description} row {row} ({ident})"
            if ident in seen:
                problems.append(Skipped(origin, f"id {ident} already used by row {seen[ident]}"))
                continue
            seen[ident] = row
            entries.append(AudioEntry(ident, None if text is None else " ".join(str(text).split()), origin, row))
        self.entries = tuple(sorted(entries, key=lambda e: e.id))
        self.problems = tuple(problems)

    @classmethod
    def from_disk(cls, path: Path, split: str | None) -> "DatasetSource":
        import datasets

        try:
            loaded = datasets.load_from_disk(str(path))
        except Exception as exc:
            raise AudioError(f"cannot load the saved data set {path}: {_one_line(exc)}") from exc
        return cls(_pick_split(loaded, split, str(path)), str(path) + (f" [{split}]" if split else ""))

    @classmethod
    def from_hub(cls, name: str, config: str | None, split: str | None) -> "DatasetSource":
        import datasets

        label = name + (f":{config}" if config else "")
        try:
            loaded = datasets.load_dataset(name, config, split=split)
        except Exception as exc:
            raise AudioError(
                f"{label} is not a local path, and loading it as a Hugging Face hub data set failed: "
                f"{_one_line(exc)}"
            ) from exc
        return cls(_pick_split(loaded, split, label), label + (f" [{split}]" if split else ""))

    def _value(self, entry: AudioEntry) -> Any:
        value = self._audio[entry.key][self.audio_column]
        if isinstance(value, str):
            return value  # a bare path column
        if not isinstance(value, dict):
            raise AudioReadError(f"audio value of type {type(value).__name__} is neither a file nor bytes")
        if value.get("array") is not None:
            return value
        if value.get("bytes"):
            return io.BytesIO(value["bytes"])
        if value.get("path"):
            return value["path"]
        raise AudioReadError("row has neither audio bytes nor a path")

    def info(self, entry: AudioEntry) -> AudioInfo:
        value = self._value(entry)
        if isinstance(value, dict):
            array = np.asarray(value["array"])
            if array.size == 0:
                raise AudioReadError("holds no samples")
            return AudioInfo(int(array.shape[-1] if array.ndim > 1 else array.shape[0]),
                             int(value["sampling_rate"]), 1 if array.ndim == 1 else int(array.shape[0]))
        return audio_file_info(value)

    def read(self, entry: AudioEntry) -> tuple[np.ndarray, int]:
        value = self._value(entry)
        if isinstance(value, dict):  # already decoded: {"array", "sampling_rate"}, channels first if 2-D
            array = np.asarray(value["array"], dtype=np.float32)
            waveform = array if array.ndim == 1 else array.mean(axis=0)
            if waveform.size == 0:
                raise AudioReadError("holds no samples")
            return np.ascontiguousarray(waveform, dtype=np.float32), int(value["sampling_rate"])
        return read_audio_file(value)


def _pick_split(loaded: Any, split: str | None, label: str) -> Any:
    import datasets

    if isinstance(loaded, (datasets.DatasetDict, dict)):
        splits = sorted(loaded)
        if split is None:
            if len(splits) == 1:
                return loaded[splits[0]]
            raise AudioError(f"{label} has several splits {splits}: choose one with --split")
        if split not in loaded:
            raise AudioError(f"{label} has no split {split!r} (it has {splits})")
        return loaded[split]
    if isinstance(loaded, datasets.Dataset):
        return loaded
    raise AudioError(f"{label} is a {type(loaded).__name__}, not a data set with rows (streaming is not supported)")


# ------------------------------------------------------------------------------------------------------ resampling


def resampled_length(samples: int, from_rate: int, to_rate: int) -> int:
    if from_rate == to_rate:
        return samples
    g = math.gcd(from_rate, to_rate)
    up, down = to_rate // g, from_rate // g
    return -(-samples * up // down)  # ceil, as scipy.signal.resample_poly


def resample(waveform: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Band-limited polyphase resampling (scipy.signal.resample_poly, Kaiser-windowed FIR): float32 out."""
    if from_rate == to_rate:
        return waveform
    try:
        from scipy.signal import resample_poly
    except ImportError as exc:  # pragma: no cover - scipy is in requirements.lock
        raise AudioError(f"audio at {from_rate} Hz must be resampled to {to_rate} Hz, which needs scipy "
                         "(pip install -r requirements.lock)") from exc
    g = math.gcd(from_rate, to_rate)
    out = resample_poly(waveform.astype(np.float64), to_rate // g, from_rate // g)
    return np.ascontiguousarray(out, dtype=np.float32)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
