"""Loading KenLM models for decoding, with their vocabulary and a content fingerprint.

pyctcdecode needs the LM's words ("unigrams") next to the model: an ARPA file lists them in its \\1-grams: section,
a binary does not, so for a binary they come from the `unigrams.txt` that `decode lm build` writes beside it.
The fingerprint (sha256 of the file) goes into run records so that results name the exact LM they used.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Iterable

import kenlm

from lm.errors import LMError
from lm.quiet import native_stderr_silenced
from logits.files import sha256_file

# Context tokens every KenLM model has; they are not words a decoder can emit.
SPECIAL_TOKENS = frozenset({"<s>", "</s>", "<unk>"})
UNIGRAMS_FILENAME = "unigrams.txt"
_BINARY_MAGIC = b"mmap lm "
_GZIP_MAGIC = b"\x1f\x8b"
_REBUILD_HINT = "Rebuild it with `make lm` (or `decode lm build ...`)."
# Below this share of spellable LM words the LM cannot help the decoder: it is for another alphabet or language.
MIN_SPELLABLE_SHARE = 0.5


@dataclass(frozen=True)
class LoadedLM:
    """A KenLM model ready for pyctcdecode: the model, its words, and what identifies the file."""

    path: Path
    model: kenlm.Model = field(repr=False, compare=False)
    unigrams: tuple[str, ...] = field(repr=False)
    fingerprint: str
    order: int
    # Where `unigrams` were read from when not from the model itself: what a word-list error names.
    unigrams_path: Path | None = None

    @property
    def words_source(self) -> str:
        return f"unigrams file {self.unigrams_path}" if self.unigrams_path is not None else str(self.path)


def lm_fingerprint(path: Path | str) -> str:
    """sha256 (hex) of the model file's content: what results record to name the exact LM."""
    return sha256_file(path)


def open_text(path: Path) -> IO[str]:
    """A text file, plain or gzip-compressed (told by its first bytes)."""
    with open(path, "rb") as probe:
        compressed = probe.read(2) == _GZIP_MAGIC
    if compressed:
        return gzip.open(path, "rt", encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def read_arpa_unigrams(path: Path | str) -> tuple[str, ...]:
    """The words of an ARPA file's \\1-grams: section, in file order, without <s> </s> <unk>.

    Reads only up to the \\2-grams: header, so it is fast even for large models. Plain or gzip-compressed ARPA.
    """
    path = Path(path)
    words: list[str] = []
    expected: int | None = None
    in_unigrams = False
    with open_text(path) as handle:
        for line in handle:
            line = line.strip()
            if not in_unigrams:
                if line.startswith("ngram 1="):
                    expected = int(line.partition("=")[2])
                elif line == "\\1-grams:":
                    in_unigrams = True
                continue
            if not line:
                continue
            if line.startswith("\\"):  # \2-grams: or \end\ closes the section
                break
            parts = line.split("\t") if "\t" in line else line.split()
            if len(parts) < 2:
                raise LMError(f"{path}: line {line[:80]!r} in the \\1-grams: section is not 'logprob<TAB>word'; "
                              f"the file is corrupt. {_REBUILD_HINT}")
            if parts[1] not in SPECIAL_TOKENS:
                words.append(parts[1])
        else:
            if not in_unigrams:
                raise LMError(f"{path}: expected an ARPA file with a \\1-grams: section, found none. "
                              f"The file is truncated or not an ARPA model. {_REBUILD_HINT}")
            raise LMError(f"{path}: the \\1-grams: section never ends (no \\2-grams: or \\end\\); "
                          f"the file is truncated. {_REBUILD_HINT}")
    if expected is not None and len(words) > expected:
        raise LMError(f"{path}: the header announces {expected} unigrams but the file lists {len(words)}; "
                      f"the file is corrupt. {_REBUILD_HINT}")
    return tuple(words)


def read_unigrams_file(path: Path | str) -> tuple[str, ...]:
    """One word per line (as written by `decode lm build`); blank lines and <s> </s> <unk> are skipped."""
    path = Path(path)
    if not path.is_file():
        raise LMError(f"unigrams file {path} does not exist; expected one LM word per line "
                      f"(`decode lm build` writes {UNIGRAMS_FILENAME} beside the model).")
    with open(path, encoding="utf-8", errors="replace") as handle:
        words = tuple(w for w in (line.strip() for line in handle) if w and w not in SPECIAL_TOKENS)
    if not words:
        raise LMError(f"unigrams file {path} is empty; expected one LM word per line. {_REBUILD_HINT}")
    return words


def _is_binary(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(len(_BINARY_MAGIC)) == _BINARY_MAGIC


def load_language_model(path: Path | str, unigrams: Path | str | None = None) -> LoadedLM:
    """Load a KenLM ARPA or binary model together with its words.

    unigrams: a file with one word per line. Optional for ARPA (the words are read from the file); for a binary it
    defaults to a sibling unigrams.txt.
    """
    path = Path(path)
    if path.is_dir():
        raise LMError(f"language model {path} is a folder but not a decoder folder: a decoder folder (as `decode "
                      "export` writes it) holds alphabet.json and language_model/ with attrs.json, unigrams.txt "
                      "and one KenLM .bin or .arpa file; or pass the KenLM file itself")
    if not path.is_file():
        raise LMError(f"language model {path} does not exist; expected a KenLM .arpa or .bin file. "
                      "Build the default one with `make lm`, or pass the path of an existing model.")
    if path.stat().st_size == 0:
        raise LMError(f"language model {path} is empty (0 bytes); expected a KenLM model. {_REBUILD_HINT}")
    binary = _is_binary(path)
    unigrams_path = Path(unigrams) if unigrams is not None else None
    if binary and unigrams_path is None:
        unigrams_path = path.parent / UNIGRAMS_FILENAME
        if not unigrams_path.is_file():
            raise LMError(f"{path} is a binary KenLM model, which does not list its words, and {unigrams_path} does "
                          "not exist. Pass the LM's word list with --unigrams FILE (one word per line), or use the "
                          "ARPA file instead.")
    try:
        with native_stderr_silenced():
            model = kenlm.Model(str(path))
    except Exception as exc:  # kenlm reports every load failure as OSError; anything else is no better news
        kind = "binary" if binary else "ARPA"
        raise LMError(f"cannot load {path}: expected a complete KenLM {kind} model, but the file is truncated or "
                      f"not a KenLM model ({exc}). {_REBUILD_HINT}") from exc
    words = read_unigrams_file(unigrams_path) if unigrams_path is not None else read_arpa_unigrams(path)
    return LoadedLM(path=path, model=model, unigrams=words, fingerprint=lm_fingerprint(path), order=model.order,
                    unigrams_path=unigrams_path)


def _cased_share(words: Iterable[str]) -> tuple[int, int]:
    upper = lower = 0
    for word in words:
        if word.isupper():
            upper += 1
        elif word.islower():
            lower += 1
    return upper, lower


def _examples(words: tuple[str, ...], keep: Callable[[str], bool], count: int = 3) -> str:
    return ", ".join(repr(w) for w in [w for w in words if keep(w)][:count])


def check_alphabet(unigrams: Iterable[str], characters: frozenset[str], source: Path | str | None = None) -> None:
    """Raise LMError when the LM's words do not fit the acoustic model's characters.

    characters: the labels that spell words (multi-character labels such as <pad> are ignored). Catches the two
    mistakes that make an LM silently useless in pyctcdecode: words in the other case than the labels, and an LM
    whose words mostly cannot be spelled with the labels at all.
    """
    words = tuple(w for w in unigrams if w not in SPECIAL_TOKENS)
    name = str(source) if source is not None else "the language model"
    if not words:
        raise LMError(f"{name} has no words (unigrams); expected its vocabulary. {_REBUILD_HINT}")
    letters = {c for c in characters if len(c) == 1 and c.isalpha()}
    labels_upper = any(c.isupper() for c in letters) and not any(c.islower() for c in letters)
    labels_lower = any(c.islower() for c in letters) and not any(c.isupper() for c in letters)
    upper, lower = _cased_share(words)
    if labels_upper and lower > upper:
        raise LMError(f"{name} is lower case ({lower:,} of {len(words):,} words, e.g. {_examples(words, str.islower)}) "
                      "but the acoustic model's labels are upper case; pyctcdecode would silently ignore the LM. "
                      "Rebuild the LM with `--case upper`.")
    if labels_lower and upper > lower:
        raise LMError(f"{name} is upper case ({upper:,} of {len(words):,} words, e.g. {_examples(words, str.isupper)}) "
                      "but the acoustic model's labels are lower case; pyctcdecode would silently ignore the LM. "
                      "Rebuild the LM with `--case lower`.")
    single = {c for c in characters if len(c) == 1}
    unspellable = [w for w in words if not set(w) <= single]
    share = 1 - len(unspellable) / len(words)
    if share < MIN_SPELLABLE_SHARE:
        raise LMError(f"only {share:.0%} of the {len(words):,} words of {name} can be spelled with the acoustic "
                      f"model's characters (expected at least {MIN_SPELLABLE_SHARE:.0%}); unspellable examples: "
                      f"{', '.join(repr(w) for w in unspellable[:8])}. Build the LM from text normalised to the "
                      "model's alphabet (`decode lm build` does this for English letters and apostrophes).")


class LanguageModelCache:
    """Loads each LM once per cache object; a file rebuilt on disk (new size or mtime) is loaded again.

    An object rather than a module-level dict so that each caller (a sweep, a test) owns its lifetime and memory.
    """

    def __init__(self) -> None:
        self._loaded: dict[tuple[str, str | None, int, int], LoadedLM] = {}
        self._derived: dict[tuple[int, str], tuple[LoadedLM, object]] = {}

    def derived(self, loaded: LoadedLM, kind: str, build: Callable[[LoadedLM], object]) -> object:
        """An object built once from `loaded` (e.g. a decoder's own native copy of the model) and kept as long as
        this cache keeps the LM, so that decoders sharing a cache share it too."""
        key = (id(loaded), kind)
        if key not in self._derived or self._derived[key][0] is not loaded:
            self._derived[key] = (loaded, build(loaded))
        return self._derived[key][1]

    def get(self, path: Path | str, unigrams: Path | str | None = None) -> LoadedLM:
        resolved = Path(path).resolve()
        try:
            stat = os.stat(resolved)
        except OSError:
            return load_language_model(path, unigrams)  # raises the LMError that explains the missing file
        key = (str(resolved), str(Path(unigrams).resolve()) if unigrams is not None else None,
               stat.st_size, stat.st_mtime_ns)
        if key not in self._loaded:
            self._loaded[key] = load_language_model(path, unigrams)
        return self._loaded[key]

    def __len__(self) -> int:
        return len(self._loaded)

    def clear(self) -> None:
        self._loaded.clear()
        self._derived.clear()
