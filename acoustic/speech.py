"""Speech from text with espeak-ng: a corpus in the LibriSpeech folder layout that `decode cache` reads like any other.

    speak(sentences, "data/speech/heldout", seed=0)

Utterance i of the sentences gets a voice drawn from a generator seeded with (seed, i): a voice family, a variant, a
speed, a pitch, an amplitude and, for some, white noise at a drawn signal-to-noise ratio. The same sentences and seed
give the same draws and the same audio. espeak-ng writes 22,050 Hz; the audio is resampled to 16 kHz (the rate of
wav2vec2-style models) and written as 16-bit FLAC.

Layout (LibriSpeech's): OUT/<speaker>/<chapter>/<speaker>-<chapter>-<utterance>.flac with one
<speaker>-<chapter>.trans.txt of "ID TEXT" lines per chapter of CHAPTER_SIZE utterances, plus a voices.tsv per
chapter recording each draw and OUT/speak.json recording the settings. A chapter counts once its trans.txt exists (it
is written last); an interrupted run resumes at the first unfinished chapter, keeping the audio files already
written in it. Sentences that are empty or that espeak-ng cannot speak are skipped and listed.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from acoustic.audio import Skipped, resample
from acoustic.sentences import require_sentences
from logits.console import progress
from logits.errors import LabError
from logits.files import atomic_write, write_json_atomic, write_text_atomic
from logits.text import RULE, TextRule, normalise_texts, warn_unspellable
from logits.vocabulary import WAV2VEC2_ENGLISH_LABELS, Vocabulary

SAMPLE_RATE = 16_000
CHAPTER_SIZE = 100
SPEAKER = "espeak"
MANIFEST = "speak.json"
# espeak-ng's English voice families the training recipe uses, and one held out of training to measure how the model
# does on an accent it never heard. Each is combined with one of VARIANTS (none: the family's own voice).
TRAINING_FAMILIES = ("en-us", "en-gb", "en-gb-x-rp")
UNSEEN_FAMILIES = ("en-gb-scotland",)
VARIANTS = ("", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "klatt", "klatt2")


class SpeechError(LabError):
    """espeak-ng is missing, or the options or the output folder do not fit together."""


@dataclass(frozen=True)
class VoiceSettings:
    """What the voice of each utterance is drawn from (uniformly; SNR in dB, `noise` the share of noisy utterances)."""

    families: tuple[str, ...] = TRAINING_FAMILIES
    variants: tuple[str, ...] = VARIANTS
    speed: tuple[int, int] = (130, 200)  # words per minute
    pitch: tuple[int, int] = (30, 70)
    amplitude: tuple[int, int] = (60, 160)
    noise: float = 0.0
    snr_db: tuple[float, float] = (10.0, 30.0)

    def __post_init__(self) -> None:
        if not self.families or not self.variants:
            raise SpeechError("give at least one voice family and one variant")
        if not 0.0 <= self.noise <= 1.0:
            raise SpeechError(f"noise is the share of noisy utterances, between 0 and 1; got {self.noise}")


@dataclass(frozen=True)
class Voice:
    """One utterance's draw."""

    family: str
    variant: str
    speed: int
    pitch: int
    amplitude: int
    snr_db: float | None  # None: no noise

    @property
    def name(self) -> str:
        return f"{self.family}+{self.variant}" if self.variant else self.family

    def command(self, text: str) -> list[str]:
        return ["espeak-ng", "-v", self.name, "-s", str(self.speed), "-p", str(self.pitch), "-a", str(self.amplitude),
                "--stdout", text]


def draw_voice(settings: VoiceSettings, seed: int, index: int) -> Voice:
    """Utterance `index`'s voice: depends only on (seed, index), so a resumed or re-chunked run draws the same."""
    rng = np.random.default_rng([seed, index])
    noisy = rng.random() < settings.noise
    snr = round(float(rng.uniform(*settings.snr_db)), 1)
    return Voice(
        family=settings.families[int(rng.integers(len(settings.families)))],
        variant=settings.variants[int(rng.integers(len(settings.variants)))],
        speed=int(rng.integers(settings.speed[0], settings.speed[1] + 1)),
        pitch=int(rng.integers(settings.pitch[0], settings.pitch[1] + 1)),
        amplitude=int(rng.integers(settings.amplitude[0], settings.amplitude[1] + 1)),
        snr_db=snr if noisy else None,
    )


@dataclass(frozen=True)
class SpeechReport:
    out: Path
    utterances: int  # in the corpus, resumed ones included
    written: int  # by this run
    skipped: tuple[Skipped, ...] = field(default=())
    audio_seconds: float = 0.0  # of this run's utterances


def speak(
    sentences: Sequence[str],
    out: str | Path,
    seed: int = 0,
    voices: VoiceSettings = VoiceSettings(),
    jobs: int = 2,
    show_progress: bool | None = None,
    on_skip: Callable[[Skipped], None] | None = None,
    vocabulary: Vocabulary | None = None,
) -> SpeechReport:
    """Speak every sentence into OUT (resuming an interrupted run); `jobs` espeak-ng processes at a time.

    Each sentence first goes through the one text rule against `vocabulary` (default: wav2vec2's English labels;
    `logits.text`), and what is spoken is what the transcript says: "The 3 Pigs" is spoken and written as
    "THE THREE PIGS", so espeak-ng's own reading of digits cannot disagree with the reference."""
    if shutil.which("espeak-ng") is None:
        raise SpeechError("espeak-ng was not found on PATH; install it (`make install` does: apt-get install "
                          "espeak-ng)")
    if jobs < 1:
        raise SpeechError(f"jobs must be >= 1, got {jobs}")
    require_sentences(sentences)
    check_voices(voices.families)
    out = Path(out)
    vocabulary = vocabulary or Vocabulary.from_labels(WAV2VEC2_ENGLISH_LABELS)
    sentences, tally = normalise_texts(sentences, TextRule.for_vocabulary(vocabulary), "sentences")
    settings = {"seed": seed, "voices": asdict(voices), "sample_rate": SAMPLE_RATE, "chapter_size": CHAPTER_SIZE,
                "sentences": len(sentences), "text_rule": RULE, "labels": "".join(sorted(vocabulary.characters))}
    _check_or_start(out, settings)
    warn_unspellable(tally, "the sentences")
    chapters = [range(start, min(start + CHAPTER_SIZE, len(sentences)))
                for start in range(0, len(sentences), CHAPTER_SIZE)]
    todo = [c for c in chapters if not _transcript_path(out, c.start // CHAPTER_SIZE).is_file()]
    skipped: list[Skipped] = []
    written, seconds = 0, 0.0
    with progress(sum(len(c) for c in todo), "speak", disable=None if show_progress is None else not show_progress) \
            as bar, ThreadPoolExecutor(jobs) as pool:
        for chapter in todo:
            number = chapter.start // CHAPTER_SIZE
            folder = out / SPEAKER / f"{number:04d}"
            folder.mkdir(parents=True, exist_ok=True)
            draws = [draw_voice(voices, seed, i) for i in chapter]
            results = pool.map(lambda job: _speak_one(*job), [
                (sentences[i], draws[k], folder / f"{_utterance_id(number, i)}.flac", (seed, i))
                for k, i in enumerate(chapter)
            ])
            lines, table = [], ["id\tvoice\tspeed\tpitch\tamplitude\tsnr_db"]
            for i, voice, result in zip(chapter, draws, results):
                utt_id = _utterance_id(number, i)
                bar.update(1)
                if isinstance(result, str):
                    problem = Skipped(f"sentence {i + 1} ({sentences[i][:60]!r})", result)
                    skipped.append(problem)
                    if on_skip:
                        on_skip(problem)
                    continue
                written += result[0]
                seconds += result[1]
                lines.append(f"{utt_id} {' '.join(sentences[i].split())}")
                table.append(f"{utt_id}\t{voice.name}\t{voice.speed}\t{voice.pitch}\t{voice.amplitude}\t"
                             f"{'' if voice.snr_db is None else voice.snr_db}")
            write_text_atomic(folder / "voices.tsv", "\n".join(table) + "\n")
            write_text_atomic(_transcript_path(out, number), "".join(line + "\n" for line in lines))
    total = sum(len(_transcript_path(out, c.start // CHAPTER_SIZE).read_text(encoding="utf-8").splitlines())
                for c in chapters)
    return SpeechReport(out, total, written, tuple(skipped), seconds)


def check_voices(families: Sequence[str]) -> None:
    """Refuse voice families espeak-ng does not have before any sentence is spoken (each would be skipped), listing
    the English ones it has."""
    try:
        listed = subprocess.run(["espeak-ng", "--voices"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise SpeechError(f"cannot list espeak-ng's voices ({exc})") from exc
    rows = [line.split() for line in listed.splitlines()[1:] if len(line.split()) >= 5]
    # A voice is named by its language (en-us), its name, or its file (gmw/en-US) or the file's last part.
    known = {name.lower() for row in rows for name in (row[1], row[3], row[4], row[4].rsplit("/", 1)[-1])}
    unknown = [family for family in families if family.lower() not in known]
    if unknown:
        english = sorted({row[1] for row in rows if row[1].startswith("en")})
        raise SpeechError(f"espeak-ng has no voice {', '.join(map(repr, unknown))}; English ones it has: "
                          f"{', '.join(english)} (`espeak-ng --voices` lists all)")


def _utterance_id(chapter: int, index: int) -> str:
    return f"{SPEAKER}-{chapter:04d}-{index:06d}"


def _transcript_path(out: Path, chapter: int) -> Path:
    return out / SPEAKER / f"{chapter:04d}" / f"{SPEAKER}-{chapter:04d}.trans.txt"


def _check_or_start(out: Path, settings: dict) -> None:
    manifest = out / MANIFEST
    if manifest.is_file():
        found = json.loads(manifest.read_text(encoding="utf-8"))
        if found != json.loads(json.dumps(settings)):
            differ = sorted(k for k in settings if found.get(k) != json.loads(json.dumps(settings[k])))
            raise SpeechError(f"{out} holds speech made with other settings ({', '.join(differ)} differ); use "
                              "another folder, or delete it to start over")
        return
    if out.exists() and any(out.iterdir()):
        raise SpeechError(f"{out} exists and is not a speech folder made by `decode speak`; refusing to write into it")
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(manifest, settings)


def _speak_one(text: str, voice: Voice, path: Path, noise_seed: tuple[int, int]) -> tuple[int, float] | str:
    """Write one utterance's FLAC (unless an interrupted run did): (1 if written now, seconds), or why it failed."""
    import soundfile

    if not text.strip():
        return "empty sentence"
    if path.is_file():
        return 0, soundfile.info(path).duration
    try:
        result = subprocess.run(voice.command(text), capture_output=True, timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"espeak-ng failed ({exc})"
    if result.returncode != 0 or len(result.stdout) < 100:
        why = result.stderr.decode("utf-8", errors="replace").strip().splitlines()[:1] or ["no audio"]
        return f"espeak-ng could not speak it with voice {voice.name} ({why[0]})"
    try:
        waveform, rate = soundfile.read(io.BytesIO(result.stdout), dtype="float32")
    except Exception as exc:  # soundfile raises several types for a bad stream
        return f"espeak-ng wrote no readable audio ({exc})"
    if waveform.ndim > 1:
        waveform = waveform.mean(axis=1)
    if not np.any(waveform):
        return f"espeak-ng wrote silence for it with voice {voice.name}"
    waveform = resample(waveform, int(rate), SAMPLE_RATE)
    if voice.snr_db is not None:
        rng = np.random.default_rng([*noise_seed, 1])
        power = float(np.mean(waveform.astype(np.float64) ** 2))
        waveform = waveform + rng.normal(0.0, np.sqrt(power / 10 ** (voice.snr_db / 10)), waveform.shape)
    peak = float(np.max(np.abs(waveform)))
    if peak > 0.99:  # loud voices and noise can clip 16-bit samples; scale down instead
        waveform = waveform * (0.99 / peak)
    with atomic_write(path, "wb") as handle:
        soundfile.write(handle, waveform.astype(np.float32), SAMPLE_RATE, format="FLAC", subtype="PCM_16")
    return 1, waveform.shape[0] / SAMPLE_RATE
