"""`decode synth`, `decode import`, `decode info`: making and inspecting logits stores."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from acoustic.pieces import train_vocabulary
from acoustic.sentences import read_sentences
from acoustic.synth import SynthSettings, synthesize_store
from cli.console import emit_json, run_command
from cli.options import Json
from lm.build import DEFAULT_LM_DIR, corpus_sentences_without_heldout
from logits.errors import LabError
from logits.files import check_writable_output
from logits.npz import import_npz
from logits.store import LogitsStore
from logits.transcripts import read_transcripts
from logits.vocabulary import Vocabulary


@run_command
def synth(
    text_file: Annotated[Path, typer.Argument(help="Sentences, one per line (e.g. lm/build/heldout.txt).")],
    out: Annotated[Path, typer.Option(help="Store directory to write.")],
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same store.")] = 0,
    difficulty: Annotated[float, typer.Option(help="Multiplies every error rate (1 = default, 2 = harder).")] = 1.0,
    confusion: Annotated[float, typer.Option(help="Per-letter rate of a similar letter out-scoring the true one.")] = SynthSettings.confusion,
    drop: Annotated[float, typer.Option(help="Per-token rate of the blank out-scoring a weak letter.")] = SynthSettings.drop,
    double: Annotated[float, typer.Option(help="Per-letter rate of a letter emitted twice.")] = SynthSettings.double,
    uncertain: Annotated[float, typer.Option(help="Per-token rate of flat, unsure frames.")] = SynthSettings.uncertain,
    limit: Annotated[Optional[int], typer.Option(help="Use only the first N sentences.")] = None,
    pieces: Annotated[int, typer.Option(
        help="Simulate a subword model: a tokenizer of this many pieces is trained on --piece-text "
             "(0: wav2vec2's characters).")] = 0,
    piece_kind: Annotated[str, typer.Option(
        help="sentencepiece ('▁' word starts) or wordpiece ('##').")] = "sentencepiece",
    piece_text: Annotated[Optional[Path], typer.Option(
        help="Text to train the tokenizer on, one sentence per line; default: the default LM's training sentences "
             "(lm/build, held-out ones left out).")] = None,
    frames_per_second: Annotated[Optional[float], typer.Option(
        help="Frame rate of the simulated model (default 50 for characters, 25 for pieces).")] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing store.")] = False,
) -> None:
    """Turn sentences into a store of SYNTHETIC CTC log-probs, of characters or subword pieces (a stand-in for an
    acoustic model)."""
    check_writable_output(out, "--out", folder=True)
    sentences = read_sentences(text_file, limit)
    rate = frames_per_second or (25.0 if pieces else 50.0)
    settings = SynthSettings(difficulty, confusion, drop, double, uncertain, frames_per_second=rate)
    vocabulary = _piece_vocabulary(pieces, piece_kind, piece_text) if pieces else None
    store = synthesize_store(sentences, out, seed=seed, settings=settings, vocabulary=vocabulary, overwrite=force,
                             source=str(text_file))
    typer.echo(f"wrote {store.path}: {len(store)} utterances, {store.audio_seconds / 60:.1f} min of synthetic audio, "
               f"fingerprint {store.fingerprint[:12]}")


@run_command
def import_(
    npz: Annotated[Path, typer.Argument(help=".npz with one [T, V] array of logits or log-probs per utterance id.")],
    labels: Annotated[str, typer.Option(help="vocab.json (HF), labels.txt (one per line) or 'wav2vec2'.")],
    out: Annotated[Path, typer.Option(help="Store directory to write.")],
    references: Annotated[Optional[Path], typer.Option(help="Transcripts, 'ID TEXT' per line.")] = None,
    blank: Annotated[Optional[int], typer.Option(help="Index of the blank label, if it has no usual name.")] = None,
    kind: Annotated[str, typer.Option(
        help="Vocabulary kind: auto (told from the labels), character, sentencepiece ('▁' word starts) or "
             "wordpiece ('##' continuations).")] = "auto",
    frames_per_second: Annotated[float, typer.Option(help="Frames per second of the model.")] = 50.0,
    force: Annotated[bool, typer.Option(help="Replace an existing store.")] = False,
) -> None:
    """Write a store from logits computed elsewhere."""
    check_writable_output(out, "--out", folder=True)
    vocabulary = Vocabulary.load(labels, blank=blank, kind=kind)
    transcripts = read_transcripts(references) if references else None
    store = import_npz(npz, vocabulary, out, transcripts, frames_per_second, overwrite=force,
                       references_from=str(references) if references else None)
    typer.echo(f"wrote {store.path}: {len(store)} utterances, {store.total_frames} frames, "
               f"fingerprint {store.fingerprint[:12]}")


@run_command
def info(
    store: Annotated[Path, typer.Argument(help="Store directory.")],
    verify: Annotated[bool, typer.Option(
        "--verify", help="Read every frame and check it against the content fingerprint (a full read).")] = False,
    json_: Json = False,
) -> None:
    """Describe a store: vocabulary, size, provenance, fingerprint. Opening checks store.json against the hash
    recorded in it; --verify checks every frame too."""
    opened = LogitsStore.open(store)
    if verify:
        opened.verify()
    summary = {
        "path": str(opened.path),
        "utterances": len(opened),
        "frames": opened.total_frames,
        "audio_seconds": round(opened.audio_seconds, 2),
        "frames_per_second": opened.frames_per_second,
        "dtype": opened.dtype,
        "vocabulary": _describe_vocabulary(opened.vocabulary),
        "labels": _shown_labels(opened.vocabulary),
        "case": opened.vocabulary.case,
        "fingerprint": opened.fingerprint,
        "verified": verify,
        "provenance": dict(opened.provenance),
    }
    if json_:
        emit_json(summary)
    else:
        for key, value in summary.items():
            typer.echo(f"{key:>18}: {value}")


def _piece_vocabulary(pieces: int, kind: str, text: Path | None) -> Vocabulary:
    if text is None:
        sentences = corpus_sentences_without_heldout(DEFAULT_LM_DIR)
    elif not text.is_file():
        raise LabError(f"--piece-text {text} does not exist")
    else:
        sentences = read_sentences(text)
    return train_vocabulary(sentences, pieces, kind)


def _describe_vocabulary(vocabulary: Vocabulary) -> str:
    blank = f"blank {vocabulary.labels[vocabulary.blank]!r} at {vocabulary.blank}"
    return f"{vocabulary.kind}, {vocabulary.size} labels, {blank}"


def _shown_labels(vocabulary: Vocabulary, limit: int = 40) -> str:
    """Characters as one string (as they spell); pieces as the first few labels, their marks kept."""
    if not vocabulary.is_subword:
        return "".join(vocabulary.tokens)
    shown = [label for i, label in enumerate(vocabulary.labels) if i != vocabulary.blank][:limit]
    return " ".join(shown) + (" ..." if vocabulary.size - 1 > limit else "")
