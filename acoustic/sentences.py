"""Sentence files, the input of `decode speak` and `decode synth`: UTF-8 text, one sentence per line."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from logits.errors import LabError
from logits.files import read_utf8_text


def read_sentences(path: str | Path, limit: int | None = None) -> list[str]:
    """The first `limit` lines of a UTF-8 text file (all without a limit); not text, or no sentence in them, is an
    error naming the file."""
    lines = read_utf8_text(path, "text file").splitlines()[:limit]
    require_sentences(lines, str(path))
    return lines


def require_sentences(sentences: Sequence[str], source: str = "the text") -> None:
    """The one rule of speech and synthesis: a text without a non-blank line is an error, not an empty result."""
    if not any(s.strip() for s in sentences):
        raise LabError(f"no sentences in {source} (it is empty or blank); expected one sentence per line")
