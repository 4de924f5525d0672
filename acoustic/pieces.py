"""Subword vocabularies made here: the pieces a SentencePiece (BPE) or WordPiece CTC model would output.

Real subword models (Parakeet-CTC, NeMo BPE, LASR) come with a tokenizer trained on their training text. For tests,
the synthetic model and tiny local models, `train_tokenizer` trains one the same way with Hugging Face `tokenizers`
on text the lab has (the default LM's training side), and `piece_vocabulary` turns it into the store's `Vocabulary`
with the CTC blank as the last column, as Parakeet lays it out. `PieceSplitter` spells words in a vocabulary's pieces
(longest piece first), which is what the synthetic model emits for a sentence.
"""

from __future__ import annotations

from typing import Any, Iterable

from logits.errors import LabError, VocabularyError
from logits.vocabulary import CONTINUATION, WORD_START, Vocabulary, is_special

BLANK_LABEL = "<blank>"
UNKNOWN = {"sentencepiece": "<unk>", "wordpiece": "[UNK]"}


def train_tokenizer(sentences: Iterable[str], size: int, kind: str = "sentencepiece", alphabet: str = "") -> Any:
    """A `tokenizers.Tokenizer` with about `size` pieces learnt from `sentences`: every character of the text and of
    `alphabet` as a piece of its own, and the most useful merges.

    sentencepiece: BPE over words marked with a leading "▁" (SentencePiece's Metaspace convention, as Parakeet's
    tokenizer has it); wordpiece: WordPiece with "##" continuations. The same sentences give the same pieces in
    the same order (checked by the tests; WordPiece's pieces are put in a sorted order of their own).
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    if kind not in UNKNOWN:
        raise VocabularyError(f"unknown subword kind {kind!r}; one of {', '.join(UNKNOWN)}")
    if size < 2:
        raise VocabularyError(f"a subword vocabulary needs at least 2 pieces, not {size}")
    unknown = UNKNOWN[kind]
    if kind == "sentencepiece":
        tokenizer = Tokenizer(models.BPE(unk_token=unknown))
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=WORD_START, prepend_scheme="always")
        tokenizer.decoder = decoders.Metaspace(replacement=WORD_START, prepend_scheme="always")
        trainer = trainers.BpeTrainer(vocab_size=size, special_tokens=[unknown], show_progress=False,
                                      initial_alphabet=sorted(set(alphabet)))
    else:
        tokenizer = Tokenizer(models.WordPiece(unk_token=unknown, continuing_subword_prefix=CONTINUATION))
        tokenizer.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
        tokenizer.decoder = decoders.WordPiece(prefix=CONTINUATION)
        trainer = trainers.WordPieceTrainer(vocab_size=size, special_tokens=[unknown], show_progress=False,
                                            continuing_subword_prefix=CONTINUATION,
                                            initial_alphabet=sorted(set(alphabet)))
    lines = [s for s in sentences if s.strip()]
    if not lines:
        raise LabError("no text to train a subword tokenizer on")
    tokenizer.train_from_iterator(lines, trainer)
    if kind == "wordpiece":
        # The WordPiece trainer numbers its pieces in an order that differs from run to run (hash order, and merges
        # of equal score); WordPiece splits words by the set of pieces alone, so sort them to give the same text
        # the same columns every time. Every character gets a "##" form, so that any word can be spelled.
        vocab = tokenizer.get_vocab()
        for piece in [p for p in vocab if len(p) == 1]:
            vocab.setdefault(CONTINUATION + piece, len(vocab))

        def rank(piece: str) -> tuple[int, int, str]:  # specials, letters, ## letters, longer pieces
            single = piece.removeprefix(CONTINUATION)
            group = 0 if piece == unknown else 1 if len(piece) == 1 else 2 if len(single) == 1 else 3
            return group, len(single), piece

        ordered = {piece: i for i, piece in enumerate(sorted(vocab, key=rank))}
        tokenizer.model = models.WordPiece(ordered, unk_token=unknown, continuing_subword_prefix=CONTINUATION)
    return tokenizer


def piece_vocabulary(tokenizer: Any, kind: str = "sentencepiece") -> Vocabulary:
    """The CTC output columns of a model with this tokenizer: its pieces in id order, then the blank."""
    vocab = tokenizer.get_vocab()
    labels = [piece for piece, _ in sorted(vocab.items(), key=lambda item: item[1])]
    return Vocabulary.from_labels([*labels, BLANK_LABEL], blank=len(labels), kind=kind)


def train_vocabulary(sentences: Iterable[str], size: int, kind: str = "sentencepiece",
                     alphabet: str = "") -> Vocabulary:
    """The CTC vocabulary of a tokenizer trained here (`train_tokenizer`, then `piece_vocabulary`)."""
    return piece_vocabulary(train_tokenizer(sentences, size, kind, alphabet), kind)


class PieceSplitter:
    """Spells words in a subword vocabulary's pieces, longest piece first (WordPiece's greedy matching)."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        if not vocabulary.is_subword:
            raise VocabularyError("PieceSplitter needs a sentencepiece or wordpiece vocabulary")
        self.vocabulary = vocabulary
        # piece text -> column, for pieces that begin a word and for those that continue one
        self._starts: dict[str, int] = {}
        self._continues: dict[str, int] = {}
        for column, (piece, begins) in enumerate(zip(vocabulary.pieces, vocabulary.word_starts)):
            if piece and not is_special(piece):  # the blank and a lone "▁" spell nothing
                (self._starts if begins else self._continues).setdefault(piece, column)

    def split(self, word: str) -> list[int]:
        """The columns that spell `word`, its first piece one that begins a word."""
        columns: list[int] = []
        first = self._longest(word, 0, self._starts)
        if first is None:
            # SentencePiece spells a word no piece begins as a lone "▁" and continuation pieces.
            if self.vocabulary.delimiter is None:
                raise VocabularyError(f"no piece of the vocabulary begins the word {word!r}")
            columns.append(self.vocabulary.delimiter)
            position = 0
        else:
            columns.append(first[0])
            position = first[1]
        while position < len(word):
            step = self._longest(word, position, self._continues)
            if step is None:
                raise VocabularyError(f"the vocabulary's pieces cannot spell {word[position:]!r} of {word!r}")
            columns.append(step[0])
            position = step[1]
        return columns

    @staticmethod
    def _longest(word: str, position: int, table: dict[str, int]) -> tuple[int, int] | None:
        for end in range(len(word), position, -1):
            column = table.get(word[position:end])
            if column is not None:
                return column, end
        return None

