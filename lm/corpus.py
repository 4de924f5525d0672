"""LM corpora: reading any corpus as a stream of normalised sentences (prose or one sentence per line, plain or
gzip), and the default corpus, Jane Austen's six novels, from Debian's r-cran-janeaustenr.

It is public-domain prose of about 720k words that an apt package delivers offline, which is all the machines here
can reach. `austen_books()` would need dplyr, which Debian does not pull in, so we read the six plain data sets, each a
character vector with one line of the book per element.
"""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
from pathlib import Path
from typing import IO, Iterator

from logits.errors import FileAccessError
from logits.files import check_text_bytes
from lm.errors import LMError
from lm.normalize import normalize_sentences, normalize_words
from logits.text import TextTally

AUSTEN_BOOKS = ("prideprejudice", "sensesensibility", "emma", "mansfieldpark", "northangerabbey", "persuasion")
MIN_CORPUS_WORDS = 500_000
_INSTALL_HINT = "Run `make install`, which installs Debian's r-base-core (Rscript) and r-cran-janeaustenr."

# Books are separated by a blank line so that the last sentence of one never runs into the title of the next.
_R_EXPORT = (
    "suppressPackageStartupMessages(library(janeaustenr)); "
    "for (book in c({books})) {{ "
    "writeLines(enc2utf8(get(book)), con = stdout(), useBytes = TRUE); "
    "writeLines('', con = stdout()) }}"
)


def default_corpus_text() -> str:
    """The six novels as one UTF-8 string, line breaks as in the books, a blank line between books."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        raise LMError(f"Rscript was not found on PATH; it is needed to export the default corpus. {_INSTALL_HINT}")
    books = ", ".join(f"'{name}'" for name in AUSTEN_BOOKS)
    command = [rscript, "--vanilla", "-e", _R_EXPORT.format(books=books)]
    try:
        result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    except OSError as exc:
        raise LMError(f"could not run {rscript} ({exc}). {_INSTALL_HINT}") from exc
    errors = result.stderr.decode("utf-8", errors="replace").strip()
    if result.returncode != 0:
        if "janeaustenr" in errors:
            raise LMError(f"R cannot load the janeaustenr package ({errors.splitlines()[0]}). {_INSTALL_HINT}")
        raise LMError(f"exporting the Jane Austen corpus with Rscript failed (exit code {result.returncode}):\n"
                      f"{errors[-2000:]}")
    text = result.stdout.decode("utf-8", errors="replace")
    words = len(text.split())
    if words < MIN_CORPUS_WORDS:
        raise LMError(f"the janeaustenr export has {words:,} words, expected at least {MIN_CORPUS_WORDS:,} for the "
                      f"six novels; the R package looks incomplete. Reinstall it: `apt-get install --reinstall "
                      f"r-cran-janeaustenr`.")
    return text


# ------------------------------------------------------------------------------------------------- reading corpora

FORMATS = ("auto", "prose", "lines")
_GZIP_MAGIC = b"\x1f\x8b"
_SNIFF_LINES = 2000
_SENTENCE_END = tuple('.!?"\'')
_INNER_BOUNDARY = re.compile(r"[.!?][\"')]*\s+[\"']?[A-Z]")
# Text already in the LM alphabet (one case, letters, apostrophes, spaces) needs no normalisation: LibriSpeech's
# librispeech-lm-norm.txt is all like this, and skipping the regular expressions makes reading it several times faster.
_NORMALISED = {"upper": re.compile(r"[A-Z' ]*"), "lower": re.compile(r"[a-z' ]*")}


def open_corpus(path: Path) -> IO[str]:
    """A UTF-8 text file, plain or gzip-compressed (told by its first bytes, not its name)."""
    if not path.is_file():
        raise LMError(f"corpus {path} does not exist or is not a file; expected a UTF-8 text file.")
    with open(path, "rb") as probe:
        head = probe.read(4096)
    if head.startswith(_GZIP_MAGIC):
        return gzip.open(path, "rt", encoding="utf-8", newline=None)
    try:
        check_text_bytes(head, path, "corpus", partial=True)
    except FileAccessError as exc:
        raise LMError(f"{exc}; give the text corpus (an LM's .bin or .arpa is not a corpus).") from None
    return open(path, encoding="utf-8", newline=None)


def sniff_format(path: Path) -> str:
    """'lines' when the corpus holds one sentence per line, 'prose' for paragraphs. A line corpus either has (nearly)
    no sentence punctuation (normalised text such as librispeech-lm-norm.txt) or ends nearly every line with it and
    has no sentence boundary inside its lines."""
    lines: list[str] = []
    with open_corpus(path) as handle:
        for line in _decoded(handle, path):
            if line.strip():
                lines.append(line.strip())
            if len(lines) >= _SNIFF_LINES:
                break
    if not lines:
        return "lines"
    if sum(any(mark in line for mark in ".!?;") for line in lines) < 0.1 * len(lines):
        return "lines"  # (nearly) no sentence punctuation: normalised text, a sentence per line
    inner = sum(bool(_INNER_BOUNDARY.search(line)) for line in lines) / len(lines)
    ending = sum(line.endswith(_SENTENCE_END) for line in lines) / len(lines)
    # Several sentences on a line (a paragraph per line) or lines that stop mid-sentence (wrapped text): prose.
    return "lines" if inner < 0.2 and ending >= 0.8 else "prose"


class CorpusReader:
    """A corpus's normalised sentences, streamed: one per line for a line corpus, split at sentence ends within each
    paragraph for prose. Memory holds one paragraph at a time, whatever the corpus size. `position` is how far the
    reading has got in the file's stored (for gzip: compressed) bytes, for progress."""

    def __init__(self, path: Path, case: str, format: str = "auto") -> None:
        if format not in FORMATS:
            raise LMError(f"corpus format must be one of {FORMATS}, got {format!r}")
        self.path, self.case = Path(path), case
        self.tally = TextTally("sentences")  # what the text rule dropped, counted as the corpus streams past
        self.format = sniff_format(self.path) if format == "auto" else format
        self._raw: IO[bytes] | None = None

    @property
    def position(self) -> int:
        try:
            return self._raw.tell() if self._raw is not None else 0
        except (OSError, ValueError):
            return 0

    def __iter__(self) -> Iterator[str]:
        fast = _NORMALISED[self.case]
        with open_corpus(self.path) as handle:
            buffer = handle.buffer
            self._raw = getattr(buffer, "fileobj", None) or getattr(buffer, "raw", None)
            if self.format == "lines":
                for line in _decoded(handle, self.path):
                    if fast.fullmatch(line.rstrip("\n")):
                        words = line.split()
                        self.tally.texts += 1
                    else:
                        words = normalize_words(line, self.case, self.tally)
                    if words:
                        yield " ".join(words)
                return
            paragraph: list[str] = []
            for line in _decoded(handle, self.path):
                if line.strip():
                    paragraph.append(line)
                    continue
                yield from normalize_sentences("".join(paragraph), self.case, self.tally)
                paragraph = []
            yield from normalize_sentences("".join(paragraph), self.case, self.tally)


def corpus_sentences(path: Path, case: str, format: str = "auto") -> Iterator[str]:
    """The corpus's normalised sentences (see CorpusReader)."""
    return iter(CorpusReader(path, case, format))


def _decoded(handle: IO[str], path: Path) -> Iterator[str]:
    try:
        yield from handle
    except UnicodeDecodeError as exc:
        raise LMError(f"corpus {path} is not UTF-8 ({exc.reason} at byte {exc.start} of a block); expected UTF-8 "
                      f"text. Convert it first, e.g. `iconv -f latin1 -t utf-8 {path} > corpus.utf8.txt`.") from exc
    except (OSError, EOFError) as exc:  # a truncated gzip stream
        raise LMError(f"corpus {path} cannot be read to its end ({exc}); is the file complete?") from exc
