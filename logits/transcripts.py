"""Transcript files: one `ID TEXT` (or `ID<TAB>TEXT`) line per utterance, as LibriSpeech's *.trans.txt and most
corpora write them. Read by `decode import --references` and by the folder audio sources of `decode cache`."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, NamedTuple

from logits.errors import FileAccessError, LabError
from logits.files import read_utf8_text
from logits.vocabulary import normalize_transcript

# A first line made of these words on both sides of the separator is a header ("id<TAB>text"), not an utterance.
HEADER_WORDS = frozenset({"id", "utt_id", "key", "path", "file", "filename", "audio", "text", "sentence",
                          "transcript", "transcription"})


class TranscriptError(LabError):
    """A transcript file that cannot be read, or that names an utterance twice."""


class TranscriptLine(NamedTuple):
    lineno: int
    id: str
    text: str


def transcript_lines(path: str | Path, allow_header: bool = False) -> Iterator[TranscriptLine]:
    """Each "ID<TAB>TEXT" or "ID TEXT" line, text with runs of whitespace collapsed; blank lines and # comments are
    skipped, and with `allow_header` a header line."""
    path = Path(path)
    try:
        lines = read_utf8_text(path, "transcript file").splitlines()
    except FileAccessError as exc:
        raise TranscriptError(str(exc)) from exc
    for lineno, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        ident, _, text = line.partition("\t") if "\t" in line else line.strip().partition(" ")
        ident, text = ident.strip(), normalize_transcript(text)
        if allow_header and lineno == 1 and ident.lower() in HEADER_WORDS and text.lower() in HEADER_WORDS:
            continue
        yield TranscriptLine(lineno, ident, text)


def read_transcripts(path: str | Path) -> dict[str, str]:
    """id -> text of a whole transcript file; an id on two lines is an error naming both."""
    path = Path(path)
    if not path.is_file():
        raise TranscriptError(f"transcript file {path} does not exist")
    transcripts: dict[str, str] = {}
    first_line: dict[str, int] = {}
    for line in transcript_lines(path):
        if line.id in transcripts:
            raise TranscriptError(f"{path}:{line.lineno}: utterance {line.id!r} has a second transcript line "
                                  f"(the first is line {first_line[line.id]})")
        transcripts[line.id], first_line[line.id] = line.text, line.lineno
    return transcripts
