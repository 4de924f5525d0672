"""Test helpers: known inputs built in code (a tiny ARPA LM, clean peaky log-probs)."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from experiments.bench.default_data import DefaultData
from logits.vocabulary import Vocabulary

LM_SENTENCES = [
    "THE CAT SAT ON THE MAT",
    "THE DOG SAT ON THE LOG",
    "A CAT AND A DOG",
    "THE CAT IS ON THE MAT",
    "SHE SAW THE DOG ON THE MAT",
    "HE SAW A CAT",
]


def write_bigram_arpa(path: Path, sentences: list[str], backoff: float = -0.3) -> Path:
    """A small but valid bigram ARPA file (add-one unigrams, MLE bigrams) that KenLM loads."""
    unigrams, bigrams = Counter(), Counter()
    for sentence in sentences:
        words = ["<s>", *sentence.split(), "</s>"]
        unigrams.update(words)
        bigrams.update(zip(words, words[1:]))
    vocab = sorted(unigrams) + ["<unk>"]
    total = sum(unigrams.values()) + len(vocab)
    lines = ["\\data\\", f"ngram 1={len(vocab)}", f"ngram 2={len(bigrams)}", "", "\\1-grams:"]
    for word in vocab:
        prob = -99.0 if word == "<s>" else math.log10((unigrams[word] + 1) / total)
        lines.append(f"{prob:.4f}\t{word}\t{backoff:.4f}" if word != "</s>" else f"{prob:.4f}\t{word}")
    lines += ["", "\\2-grams:"]
    for (w1, w2), count in sorted(bigrams.items()):
        lines.append(f"{math.log10(count / unigrams[w1]):.4f}\t{w1} {w2}")
    lines += ["", "\\end\\", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def peaky(vocab: Vocabulary, text: str, seed: int = 0, frames_per_char: int = 2) -> np.ndarray:
    """Clean log-probs that spell `text`: each character peaks for some frames, then a blank."""
    rng = np.random.default_rng(seed)
    index = {label: i for i, label in enumerate(vocab.labels)}
    columns = []
    for char in text:
        columns += [vocab.delimiter if char == " " else index[char]] * frames_per_char + [vocab.blank]
    probs = rng.dirichlet(np.full(vocab.size, 0.3), size=len(columns)) * 0.1
    probs[np.arange(len(columns)), columns] += 0.9
    return np.log(probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)


def tiny_defaults(tmp_path: Path, monkeypatch) -> DefaultData:
    """The default data laid out under tmp_path, with a tiny bigram LM (and four held-out sentences) standing in for
    the default 4-gram, which the tests do not build."""
    lm_dir = tmp_path / "lm"
    lm_dir.mkdir()
    write_bigram_arpa(lm_dir / "tiny.arpa", LM_SENTENCES)
    (lm_dir / "heldout.txt").write_text("\n".join(LM_SENTENCES[:4]) + "\n")
    (lm_dir / "austen.txt").write_text("".join(f"{s.capitalize()}.\n\n" for s in LM_SENTENCES))
    stores = {name: replace(regime, path=tmp_path / "data" / regime.path.name)
              for name, regime in DefaultData().stores.items()}
    built = SimpleNamespace(binary=lm_dir / "tiny.arpa", heldout=lm_dir / "heldout.txt")
    monkeypatch.setattr("experiments.bench.default_data.read_artifacts", lambda out_dir: built)
    monkeypatch.chdir(tmp_path)
    return DefaultData(lm_dir=lm_dir, stores=stores)
