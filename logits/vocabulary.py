"""One convention for the output columns of a CTC model.

Models disagree on where the blank lives (`<pad>` at 0 in Hugging Face wav2vec2, last in many others), on what
separates words (`|`, a space) and on case. `Vocabulary` records the model's own labels untouched and says which
column is the blank and which the word delimiter; `tokens` gives the text each column emits under the one convention
every decoder here uses: blank emits "", the delimiter emits " ".

Columns are characters or subword pieces, and the `kind` says how pieces make words:
- `character`: one character per column (or a few special tokens); a delimiter column separates words;
- `sentencepiece`: pieces starting with `▁` begin a word (`▁THE`), others continue it (`RE`); a lone `▁` is a piece
  of its own (Parakeet, LASR, NeMo BPE models);
- `wordpiece`: pieces starting with `##` continue a word, all others begin one (BERT-style vocabularies).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from logits.errors import VocabularyError
from logits.files import json_shape, read_utf8_text

BLANK_NAMES = ("<pad>", "<blank>", "<b>", "<eps>", "")
DELIMITER_NAMES = ("|", " ", "▁")
WORD_START = "▁"  # SentencePiece's mark of a piece that begins a word
CONTINUATION = "##"  # WordPiece's mark of a piece that continues one
KINDS = ("character", "sentencepiece", "wordpiece")

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
    kind: str = "character"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise VocabularyError(f"unknown vocabulary kind {self.kind!r}; one of {', '.join(KINDS)}")
        if len(set(self.labels)) != len(self.labels):
            dupes = sorted({x for x in self.labels if self.labels.count(x) > 1})
            raise VocabularyError(f"labels must be unique; repeated: {dupes}")
        for name, index in (("blank", self.blank), ("delimiter", self.delimiter)):
            if index is not None and not 0 <= index < len(self.labels):
                raise VocabularyError(f"{name} index {index} is outside the {len(self.labels)} labels")
        if self.blank == self.delimiter:
            raise VocabularyError("the blank and the word delimiter must be different columns")
        if self.kind != "character":
            _check_pieces(self.labels, self.blank, self.kind)

    @property
    def is_subword(self) -> bool:
        return self.kind != "character"

    @property
    def size(self) -> int:
        return len(self.labels)

    @property
    def tokens(self) -> tuple[str, ...]:
        """The text each column emits when a transcript is written out column by column: "" for the blank, " " for
        the word delimiter; a piece that begins a word emits a space before its text."""
        return tuple(
            "" if i == self.blank else " " if i == self.delimiter else (" " if start else "") + piece
            for i, (piece, start) in enumerate(zip(self.pieces, self.word_starts))
        )

    @property
    def pieces(self) -> tuple[str, ...]:
        """The characters each column adds to the word it is part of: its label without the kind's word marks
        ("" for the blank and the delimiter)."""
        return tuple("" if i in (self.blank, self.delimiter) else _piece_text(label, self.kind)
                     for i, label in enumerate(self.labels))

    @property
    def word_starts(self) -> tuple[bool, ...]:
        """Whether each column ends the word before it: the delimiter, and for subword kinds every piece that begins
        a word (and special tokens like <unk>, which stand for a word of their own)."""
        return tuple(i == self.delimiter or (i != self.blank and _begins_word(label, self.kind))
                     for i, label in enumerate(self.labels))

    @property
    def decoder_labels(self) -> list[str]:
        """The labels in the form pyctcdecode's Alphabet expects: the blank as "", the delimiter as " " for
        characters; subword pieces keep their marks (pyctcdecode reads them itself), and a lone `▁` stays a piece."""
        if self.kind == "character":
            return list(self.tokens)
        return ["" if i == self.blank else label for i, label in enumerate(self.labels)]

    @property
    def characters(self) -> frozenset[str]:
        """Every character that some non-blank, non-delimiter column can spell (special tokens like <unk> excluded)."""
        return frozenset("".join(p for p in self.pieces if p.strip() and not is_special(p)))

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
        cls, labels: Sequence[str], blank: int | None = None, delimiter: int | None | str = "auto",
        kind: str = "auto",
    ) -> "Vocabulary":
        """Build from labels in column order, finding the blank and delimiter by their usual names.

        `blank=None` looks for one of `<pad>`, `<blank>`, `<b>`, `<eps>` or "" and fails if there is none;
        `delimiter="auto"` looks for `|`, " " or `▁`; pass `None` for a vocabulary without word delimiter.
        `kind="auto"` tells characters from SentencePiece or WordPiece pieces by their marks (`detect_kind`).
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
        if kind == "auto":
            kind = detect_kind(labels, blank)
        if delimiter == "auto":
            # A subword vocabulary's words are marked on its pieces; only SentencePiece's lone `▁` piece, which
            # begins a word and spells nothing, acts as a delimiter.
            names = {"character": DELIMITER_NAMES, "sentencepiece": (WORD_START,), "wordpiece": ()}[kind]
            found = [i for i, label in enumerate(labels) if label in names and i != blank]
            delimiter = found[0] if found else None
        return cls(labels=labels, blank=blank, delimiter=delimiter, kind=kind)

    @classmethod
    def from_hf_vocab(cls, vocab: Mapping[str, int] | str | Path, kind: str = "auto") -> "Vocabulary":
        """Build from a Hugging Face tokenizer `vocab.json` (a path or the loaded token -> id mapping)."""
        return cls.from_labels(hf_vocab_labels(vocab), kind=kind)

    @classmethod
    def load(cls, source: str | Path, blank: int | None = None, kind: str = "auto") -> "Vocabulary":
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
            labels = hf_vocab_labels(path)
        else:
            lines = read_utf8_text(path, "labels file").splitlines()
            labels = [" " if line == "<space>" else line for line in lines]
        try:
            return cls.from_labels(labels, blank=blank, kind=kind)
        except VocabularyError as exc:
            raise VocabularyError(f"{path}: {exc}") from exc

    def to_dict(self) -> dict:
        data = {"labels": list(self.labels), "blank": self.blank, "delimiter": self.delimiter}
        if self.kind != "character":  # stores written before kinds existed read as characters, and hash the same
            data["kind"] = self.kind
        return data

    @classmethod
    def from_dict(cls, data: Mapping) -> "Vocabulary":
        return cls(labels=tuple(data["labels"]), blank=int(data["blank"]), delimiter=data.get("delimiter"),
                   kind=data.get("kind", "character"))


def hf_vocab_labels(vocab: Mapping[str, int] | str | Path) -> list[str]:
    """The labels of a Hugging Face tokenizer `vocab.json` (a path or the loaded token -> id mapping), in id order."""
    if not isinstance(vocab, Mapping):
        path = Path(vocab)
        try:
            vocab = json.loads(read_utf8_text(path, "vocabulary file"))
        except json.JSONDecodeError as exc:
            raise VocabularyError(f"vocabulary file {path} is not valid JSON ({exc})") from exc
        if not isinstance(vocab, Mapping) or not all(isinstance(k, str) and type(v) is int for k, v in vocab.items()):
            raise VocabularyError(f"vocabulary file {path}: expected a JSON object of token -> id (an integer), "
                                  f"found {json_shape(vocab)}")
    # Multilingual checkpoints nest {language: {token: id}}; a flat mapping is the common case.
    if vocab and all(isinstance(v, Mapping) for v in vocab.values()):
        raise VocabularyError("vocab.json holds several languages' vocabularies; pick one and pass its mapping")
    ids = sorted(vocab.values())
    if ids != list(range(len(ids))):
        raise VocabularyError(f"vocabulary ids must run 0..{len(ids) - 1} without gaps")
    return [token for token, _ in sorted(vocab.items(), key=lambda item: item[1])]


def detect_kind(labels: Sequence[str], blank: int | None = None) -> str:
    """'sentencepiece' when pieces begin with `▁`, 'wordpiece' when they begin with `##`, 'character' otherwise.

    A lone `▁` among single characters is a character vocabulary's delimiter. Marks of both kinds, or pieces of
    several letters with no mark and no delimiter, cannot be read either way and are errors that say how to state
    the kind.
    """
    spelled = [label for i, label in enumerate(labels) if i != blank and label and not is_special(label)]
    sentencepiece = [x for x in spelled if x.startswith(WORD_START) and x != WORD_START]
    wordpiece = [x for x in spelled if x.startswith(CONTINUATION) and len(x) > len(CONTINUATION)]
    if sentencepiece and wordpiece:
        raise VocabularyError(
            f"the labels mix two subword conventions: {len(sentencepiece)} SentencePiece word starts "
            f"(e.g. {sentencepiece[0]!r}) and {len(wordpiece)} WordPiece continuations (e.g. {wordpiece[0]!r}); "
            "a model uses one of them: check the labels file"
        )
    if sentencepiece:
        return "sentencepiece"
    if wordpiece:
        return "wordpiece"
    multi = [x for x in spelled if len(x) > 1 and x not in DELIMITER_NAMES]
    if multi and not any(x in DELIMITER_NAMES for x in spelled):
        raise VocabularyError(
            f"{len(multi)} labels are pieces of several characters (e.g. {multi[:3]}) but none marks a word "
            "boundary (no '▁' word starts, no '##' continuations, no word delimiter), so words cannot be told "
            "apart; state the kind (kind='sentencepiece'|'wordpiece'|'character', or --kind on the command line)"
        )
    return "character"


def _check_pieces(labels: Sequence[str], blank: int, kind: str) -> None:
    spelled = [label for i, label in enumerate(labels) if i != blank]
    if any(" " in label for label in spelled):
        raise VocabularyError(f"a {kind} vocabulary cannot hold a label with a space "
                              f"({[x for x in spelled if ' ' in x][:3]}): its words are marked on the pieces")
    mark, name = (WORD_START, "'▁' word start") if kind == "sentencepiece" else (CONTINUATION, "'##' continuation")
    if not any(label.startswith(mark) for label in spelled):
        raise VocabularyError(f"a {kind} vocabulary needs {name} pieces to tell words apart, and none of the "
                              f"{len(labels)} labels has one; check --kind")
    other = CONTINUATION if kind == "sentencepiece" else WORD_START
    mixed = [x for x in spelled if x.startswith(other) and x != other]
    if mixed:
        raise VocabularyError(f"a {kind} vocabulary cannot also hold pieces marked {other!r} ({mixed[:3]}): "
                              "the labels mix two subword conventions")


def _piece_text(label: str, kind: str) -> str:
    if kind == "sentencepiece" and not is_special(label):
        return label.replace(WORD_START, "")
    if kind == "wordpiece" and label.startswith(CONTINUATION):
        return label[len(CONTINUATION):]
    return label


def _begins_word(label: str, kind: str) -> bool:
    if kind == "character":
        return False
    if is_special(label):
        return True
    return label.startswith(WORD_START) if kind == "sentencepiece" else not label.startswith(CONTINUATION)


def is_special(label: str) -> bool:
    """`<s>`, `</s>`, `<unk>`, `[UNK]`: tokens that name something rather than spell it."""
    return len(label) > 2 and label[0] + label[-1] in ("<>", "[]")


def normalize_transcript(text: str) -> str:
    """Collapse runs of whitespace so that hypotheses and references compare word by word."""
    return " ".join(text.split())

