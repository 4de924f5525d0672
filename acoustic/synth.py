"""A synthetic acoustic model: sentences in, log-probs that look like a character (or subword) CTC model's out.

Until a real acoustic model runs here this is the embedded default for tests and demos, and it is plainly synthetic.
Each character becomes a short peak (1-3 frames) followed by blank frames, at about 50 frames per second, so the output
is blank-dominated and peaky like wav2vec2's. Errors are drawn per token and are the kind an LM can repair: the peak
lands on a similar-sounding letter with the true one close behind (confusion), the blank out-scores a weak letter
(drop), a letter is emitted twice (double), and some frames are flat and unsure (uncertain). The same sentences and
seed always give the same store.

With a subword vocabulary (acoustic/pieces.py) each token is a piece instead of a letter (words spelled longest
piece first), and a confusion lands on a piece of the same length that differs by one similar letter.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from acoustic.pieces import PieceSplitter
from acoustic.sentences import require_sentences
from logits.errors import LabError
from logits.store import LogitsStore, write_store
from logits.text import TextRule, normalise_texts, warn_unspellable
from logits.vocabulary import WAV2VEC2_ENGLISH_LABELS, Vocabulary

# Letters a character model plausibly mistakes for each other (sound or spelling neighbours).
CONFUSABLE = {
    "A": "EO", "B": "PD", "C": "KS", "D": "TB", "E": "IA", "F": "VP", "G": "KJ", "H": "E", "I": "EY", "J": "G",
    "K": "CG", "L": "R", "M": "N", "N": "M", "O": "UA", "P": "BF", "Q": "K", "R": "L", "S": "ZC", "T": "D",
    "U": "OW", "V": "FW", "W": "V", "X": "S", "Y": "I", "Z": "S", "'": "S",
}


@dataclass(frozen=True)
class SynthSettings:
    """How hard the synthetic model is. Rates are per token and multiplied by `difficulty`."""

    difficulty: float = 1.0
    confusion: float = 0.02
    drop: float = 0.012
    double: float = 0.005
    uncertain: float = 0.05
    frames_per_second: float = 50.0

    def __post_init__(self) -> None:
        if self.difficulty < 0:
            raise LabError(f"difficulty must be >= 0, got {self.difficulty}")
        if self.frames_per_second <= 0:
            raise LabError(f"frames_per_second must be > 0, got {self.frames_per_second}")

    def rate(self, name: str) -> float:
        return min(getattr(self, name) * self.difficulty, 0.9)


def clean_sentence(line: str, vocabulary: Vocabulary) -> str:
    """The sentence under the one text rule against the labels (`logits.text`): what the model can emit."""
    return TextRule.for_vocabulary(vocabulary).apply(line).text


class Speller:
    """What the synthetic model emits for a sentence: (text, column) per token, and each column's confusables."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.vocabulary = vocabulary
        self._index = {label: i for i, label in enumerate(vocabulary.labels)}
        self._splitter = PieceSplitter(vocabulary) if vocabulary.is_subword else None
        self._neighbours = _piece_neighbours(vocabulary) if vocabulary.is_subword else {}

    def tokens(self, sentence: str) -> list[tuple[str, int]]:
        if self._splitter is None:
            return _tokens(sentence, self.vocabulary, self._index)
        labels = self.vocabulary.labels
        return [(labels[c], c) for word in sentence.split() for c in self._splitter.split(word)]

    def confusable(self, text: str, column: int) -> list[int]:
        if self._splitter is not None:
            return self._neighbours.get(column, [])
        index = self._index
        return [index[c] for c in CONFUSABLE.get(text.upper(), "") if c in index or c.lower() in index]


def _piece_neighbours(vocabulary: Vocabulary) -> dict[int, list[int]]:
    """Column -> the pieces a model could mistake it for: same length, same word-start mark, one letter swapped for
    a confusable one."""
    by_shape: dict[tuple[int, bool], list[int]] = {}
    for column, (piece, begins) in enumerate(zip(vocabulary.pieces, vocabulary.word_starts)):
        if piece:
            by_shape.setdefault((len(piece), begins), []).append(column)
    pieces = vocabulary.pieces
    neighbours: dict[int, list[int]] = {}
    for group in by_shape.values():
        for a in group:
            near = []
            for b in group:
                differ = [(x, y) for x, y in zip(pieces[a], pieces[b]) if x != y]
                if len(differ) == 1 and differ[0][1].upper() in CONFUSABLE.get(differ[0][0].upper(), ""):
                    near.append(b)
            if near:
                neighbours[a] = near
    return neighbours


def synthesize(sentence: str, vocabulary: Vocabulary, rng: np.random.Generator, settings: SynthSettings,
               speller: Speller | None = None) -> np.ndarray:
    """[T, V] log-probs for one cleaned sentence."""
    speller = speller or Speller(vocabulary)
    frames: list[dict[int, float]] = []
    blank = vocabulary.blank

    def blank_frames(n: int, leak: int | None = None) -> None:
        for _ in range(n):
            p = rng.uniform(0.85, 0.99)
            frames.append({blank: p} if leak is None else {blank: p, leak: (1 - p) * 0.5})

    blank_frames(int(rng.integers(3, 12)))
    tokens = speller.tokens(sentence)
    for n, (char, label) in enumerate(tokens):
        emit = 1 + int(rng.random() < 0.35) + int(rng.random() < 0.1)
        draw = rng.random()
        confusable = speller.confusable(char, label)
        cut = np.cumsum([settings.rate(k) for k in ("confusion", "drop", "double", "uncertain")])
        if draw < cut[0] and confusable:
            wrong = int(rng.choice(confusable))
            for _ in range(emit):
                p_wrong = rng.uniform(0.42, 0.6)
                frames.append({wrong: p_wrong, label: p_wrong * rng.uniform(0.5, 0.95), blank: 0.04})
        elif draw < cut[1]:
            for _ in range(emit):
                p_blank = rng.uniform(0.5, 0.65)
                frames.append({blank: p_blank, label: p_blank * rng.uniform(0.55, 0.95)})
        elif draw < cut[2] and label != vocabulary.delimiter:
            frames.append({label: rng.uniform(0.75, 0.97), blank: 0.02})
            p_blank = rng.uniform(0.48, 0.6)
            frames.append({blank: p_blank, label: p_blank * rng.uniform(0.7, 0.95)})
            frames.append({label: rng.uniform(0.5, 0.7), blank: 0.1})
        elif draw < cut[3]:
            other = int(rng.choice(confusable)) if confusable else blank
            for _ in range(emit):
                p = rng.uniform(0.36, 0.5)
                frames.append({label: p, other: p * rng.uniform(0.4, 0.8), blank: 0.08})
        else:
            for _ in range(emit):
                p = rng.uniform(0.75, 0.98)
                frames.append({label: p, blank: (1 - p) * 0.6})
        # Repeated letters need a blank between them to survive CTC collapsing.
        repeat_next = n + 1 < len(tokens) and tokens[n + 1][1] == label
        blank_frames(int(rng.integers(1 if repeat_next else 0, 4)), leak=label if rng.random() < 0.3 else None)
    blank_frames(int(rng.integers(3, 12)))
    return _to_logprobs(frames, vocabulary.size, rng)


def _tokens(sentence: str, vocabulary: Vocabulary, index: dict[str, int]) -> list[tuple[str, int]]:
    """(character, column) per emitted token; spaces become the word delimiter."""
    if vocabulary.delimiter is None:
        raise LabError("the synthetic model needs a vocabulary with a word delimiter")
    tokens = []
    for char in sentence:
        if char == " ":
            tokens.append((" ", vocabulary.delimiter))
        elif char in index:
            tokens.append((char, index[char]))
    return tokens


def _to_logprobs(frames: list[dict[int, float]], vocab_size: int, rng: np.random.Generator) -> np.ndarray:
    """Fill each frame's named probabilities, spread the rest over the other labels at random, take logs."""
    probs = np.zeros((len(frames), vocab_size))
    named = np.zeros((len(frames), vocab_size), dtype=bool)
    for t, frame in enumerate(frames):
        for label, p in frame.items():
            probs[t, label] = p
            named[t, label] = True
    residual = np.clip(1.0 - probs.sum(axis=1, keepdims=True), 1e-4, None)
    noise = np.where(named, 0.0, rng.gamma(0.3, 1.0, probs.shape)) + 1e-9 * ~named
    probs += noise / noise.sum(axis=1, keepdims=True) * residual
    probs = np.maximum(probs, 1e-7)
    return np.log(probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)


def synthesize_all(
    sentences: Sequence[str], vocabulary: Vocabulary, seed: int = 0, settings: SynthSettings = SynthSettings()
) -> Iterator[tuple[str, np.ndarray]]:
    """(cleaned sentence, log-probs) per sentence; sentence i's randomness depends only on (seed, i)."""
    speller = Speller(vocabulary)
    rule = TextRule.for_vocabulary(vocabulary)
    for i, line in enumerate(sentences):
        sentence = rule.apply(line).text
        rng = np.random.default_rng([seed, i])
        yield sentence, synthesize(sentence, vocabulary, rng, settings, speller)


def synthesize_store(
    sentences: Sequence[str],
    out: str | Path,
    seed: int = 0,
    settings: SynthSettings = SynthSettings(),
    vocabulary: Vocabulary | None = None,
    overwrite: bool = False,
    source: str | None = None,
) -> LogitsStore:
    """Write a store of synthetic log-probs for `sentences` (one utterance each, blank lines skipped)."""
    vocabulary = vocabulary or Vocabulary.from_labels(WAV2VEC2_ENGLISH_LABELS)
    require_sentences(sentences, source or "the text")
    sentences = [s for s in sentences if s.strip()]
    texts, tally = normalise_texts(sentences, TextRule.for_vocabulary(vocabulary), "sentences")
    warn_unspellable(tally, source or "the sentences")
    pairs = list(synthesize_all(texts, vocabulary, seed, settings))
    return write_store(
        out,
        ids=[f"synth-{i:05d}" for i in range(len(pairs))],
        arrays=[array for _, array in pairs],
        references=[sentence for sentence, _ in pairs],
        vocabulary=vocabulary,
        frames_per_second=settings.frames_per_second,
        provenance={"model": "synthetic", "dataset": source, "seed": seed, "synth": asdict(settings),
                    "references": tally.provenance()},
        overwrite=overwrite,
    )
