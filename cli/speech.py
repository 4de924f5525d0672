"""`decode speak`: speech from sentences with espeak-ng, as a LibriSpeech-style folder `decode cache` reads."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from acoustic.speech import TRAINING_FAMILIES, UNSEEN_FAMILIES, VoiceSettings
from acoustic.speech import speak as speak_sentences
from acoustic.sentences import read_sentences
from cli.console import emit_json, run_command
from cli.options import Json
from logits.files import check_writable_output
from logits.vocabulary import Vocabulary

# --voices names: the families the shipped model was trained on, and the accent kept out of its training.
VOICE_SETS = {"seen": TRAINING_FAMILIES, "unseen": UNSEEN_FAMILIES}


@run_command
def speak(
    text_file: Annotated[Path, typer.Argument(help="Sentences, one per line (e.g. lm/build/heldout.txt).")],
    out: Annotated[Path, typer.Option(help="Folder to write (LibriSpeech layout; an interrupted one is resumed).")],
    seed: Annotated[int, typer.Option(help="Seed of the voice draws; the same seed gives the same audio.")] = 0,
    voices: Annotated[str, typer.Option(help="seen (en-us, en-gb, en-gb-x-rp), unseen (en-gb-scotland), or a "
                                             "comma-separated list of espeak-ng voice families.")] = "seen",
    noise: Annotated[float, typer.Option(help="Share of utterances with white noise at 10-30 dB SNR.")] = 0.0,
    limit: Annotated[Optional[int], typer.Option(min=1, help="Only the first N sentences.")] = None,
    jobs: Annotated[int, typer.Option(min=1, help="espeak-ng processes at once.")] = 2,
    labels: Annotated[str, typer.Option(
        help="Labels of the model the speech is for (vocab.json, labels.txt or 'wav2vec2'): sentences are brought "
             "to what they spell (case, accents, numbers) before they are spoken and written.")] = "wav2vec2",
    json_: Json = False,
) -> None:
    """Speak each sentence in a voice drawn per utterance (family, variant, speed, pitch, amplitude, noise)."""
    check_writable_output(out, "--out", folder=True)
    sentences = read_sentences(text_file, limit)
    families = VOICE_SETS.get(voices) or tuple(v.strip() for v in voices.split(",") if v.strip())
    report = speak_sentences(sentences, out, seed=seed, voices=VoiceSettings(families=families, noise=noise),
                             jobs=jobs, on_skip=lambda s: typer.echo(f"skipped  {s}", err=True),
                             vocabulary=Vocabulary.load(labels))
    typer.echo(f"wrote {report.out}: {report.utterances} utterances ({report.written} now, "
               f"{report.audio_seconds / 60:.1f} min of audio), {len(report.skipped)} skipped")
    if json_:
        emit_json({"out": str(report.out), "utterances": report.utterances, "written": report.written,
                   "skipped": len(report.skipped), "audio_seconds": round(report.audio_seconds, 2)})
