"""One convention for the output columns of a CTC model.

Models disagree on where the blank lives (`<pad>` at 0 in Hugging Face wav2vec2, last in many others), on what
separates words (`|`, a space) and on case. `Vocabulary` records the model's own labels untouched and says which
column is the blank and which the word delimiter; `tokens` gives the text each column emits under the one convention
every decoder here uses: blank emits "", the delimiter emits " ".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from logits.errors import VocabularyError

BLANK_NAMES = ("<pad>", "<blank>", "<b>", "<eps>", "")
DELIMITER_NAMES = ("|", " ", "▁")

# facebook/wav2vec2-base-960h and -large-960h order their 32 outputs like this (vocab.json, ids 0..31).
WAV2VEC2_ENGLISH_LABELS = (
    "<pad>", "<s>", "</s>", "<unk>", "|", "E", "T", "A", "O", "N", "I", "H", "S", "R", "D", "L",
    "U", "M", "W", "C", "F", "G", "Y", "P", "B", "V", "K", "'", "X", "J", "Q", "Z",
)


@dataclass(frozen=True)
class Vocabulary:
    """The labels of a CTC model's output columns, in column order."""

    labels: tuple[str, ...]
    blank: int
    delimiter: int | None

    def __post_init__(self) -> None:
        if len(set(self.labels)) != len(self.labels):
            dupes = sorted({x for x in self.labels if self.labels.count(x) > 1})
            raise VocabularyError(f"labels must be unique; repeated: {dupes}")
        for name, index in (("blank", self.blank), ("delimiter", self.delimiter)):
            if index is not None and not 0 <= index < len(self.labels):
                raise VocabularyError(f"{name} index {index} is outside the {len(self.labels)} labels")
        if self.blank == self.delimiter:
            raise VocabularyError("the blank and the word delimiter must be different columns")

    @property
    def size(self) -> int:
        return len(self.labels)

    @property
    def tokens(self) -> tuple[str, ...]:
        """The text each column emits: "" for the blank, " " for the word delimiter, the label otherwise."""
        return tuple(
            "" if i == self.blank else " " if i == self.delimiter else label for i, label in enumerate(self.labels)
        )

    @property
    def characters(self) -> frozenset[str]:
        """Every character that some non-blank, non-delimiter column can spell (special tokens like <unk> excluded)."""
        return frozenset("".join(t for t in self.tokens if t.strip() and not _is_special(t)))

    @property
    def case(self) -> str:
        """'upper', 'lower', 'mixed' or 'none' (no cased letters), judged on the emitted characters."""
        letters = [c for c in self.characters if c.isalpha() and c.lower() != c.upper()]
        if not letters:
            return "none"
        if all(c.isupper() for c in letters):
            return "upper"
        if all(c.islower() for c in letters):
            return "lower"
        return "mixed"

    def in_case(self, text: str) -> str:
        """`text` in the labels' case (unchanged when they are mixed or caseless): a lower-case hotword or reference
        could never match upper-case labels, nor an upper-case one lower-case labels."""
        change = {"upper": str.upper, "lower": str.lower}.get(self.case)
        return change(text) if change else text

    @classmethod
    def from_labels(
        cls, labels: Sequence[str], blank: int | None = None, delimiter: int | None | str = "auto"
    ) -> "Vocabulary":
        """Build from labels in column order, finding the blank and delimiter by their usual names.

        `blank=None` looks for one of `<pad>`, `<blank>`, `<b>`, `<eps>` or "" and fails if there is none;
        `delimiter="auto"` looks for `|`, " " or `▁`; pass `None` for a vocabulary without word delimiter.
        """
        labels = tuple(labels)
        if blank is None:
            found = [i for i, label in enumerate(labels) if label in BLANK_NAMES]
            if len(found) != 1:
                raise VocabularyError(
                    f"cannot tell which of the {len(labels)} labels is the CTC blank "
                    f"(looked for one of {[n for n in BLANK_NAMES if n]} or an empty label, found {len(found)}); "
                    "name it explicitly (blank=INDEX, or --blank INDEX on the command line)"
                )
            blank = found[0]
        if delimiter == "auto":
            found = [i for i, label in enumerate(labels) if label in DELIMITER_NAMES and i != blank]
            delimiter = found[0] if found else None
        return cls(labels=labels, blank=blank, delimiter=delimiter)

    @classmethod
    def from_hf_vocab(cls, vocab: Mapping[str, int] | str | Path) -> "Vocabulary":
        """Build from a Hugging Face tokenizer `vocab.json` (a path or the loaded token -> id mapping)."""
        if not isinstance(vocab, Mapping):
            path = Path(vocab)
            try:
                vocab = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise VocabularyError(f"cannot read vocabulary file {path}: {exc}") from exc
        # Multilingual checkpoints nest {language: {token: id}}; a flat mapping is the common case.
        if vocab and all(isinstance(v, Mapping) for v in vocab.values()):
            raise VocabularyError("vocab.json holds several languages' vocabularies; pick one and pass its mapping")
        ids = sorted(vocab.values())
        if ids != list(range(len(ids))):
            raise VocabularyError(f"vocabulary ids must run 0..{len(ids) - 1} without gaps")
        labels = [token for token, _ in sorted(vocab.items(), key=lambda item: item[1])]
        return cls.from_labels(labels)

    @classmethod
    def load(cls, source: str | Path, blank: int | None = None) -> "Vocabulary":
        """Read labels from a `vocab.json` (token -> id), or a text file of one label per line in column order.

        The name `wav2vec2` stands for the 32-label English layout of facebook/wav2vec2-*-960h. In a text file the
        space label is written as `<space>` (a bare space would not survive editors) and the blank as `<blank>`.
        """
        if str(source) == "wav2vec2":
            return cls.from_labels(WAV2VEC2_ENGLISH_LABELS)
        path = Path(source)
        if not path.is_file():
            raise VocabularyError(f"labels file {path} does not exist (give a vocab.json, a labels.txt, or 'wav2vec2')")
        if path.suffix == ".json":
            vocabulary = cls.from_hf_vocab(path)
            return vocabulary if blank is None else cls.from_labels(vocabulary.labels, blank=blank)
        lines = path.read_text(encoding="utf-8").splitlines()
        labels = [" " if line == "<space>" else line for line in lines]
        return cls.from_labels(labels, blank=blank)

    def to_dict(self) -> dict:
        return {"labels": list(self.labels), "blank": self.blank, "delimiter": self.delimiter}

    @classmethod
    def from_dict(cls, data: Mapping) -> "Vocabulary":
        return cls(labels=tuple(data["labels"]), blank=int(data["blank"]), delimiter=data.get("delimiter"))


def _is_special(label: str) -> bool:
    """`<s>`, `</s>`, `<unk>`, `[UNK]`: tokens that name something rather than spell it."""
    return len(label) > 2 and label[0] + label[-1] in ("<>", "[]")


def normalize_transcript(text: str) -> str:
    """Collapse runs of whitespace so that hypotheses and references compare word by word."""
    return " ".join(text.split())
