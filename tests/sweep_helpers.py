"""Inputs for the sweep, results and notebook tests: small noisy stores and a tiny LM, built in tmp_path."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np

from helpers import LM_SENTENCES, peaky, write_bigram_arpa
from logits.store import LogitsStore, write_store
from logits.vocabulary import WAV2VEC2_ENGLISH_LABELS, Vocabulary

ROOT = Path(__file__).resolve().parent.parent
VOCAB = Vocabulary.from_labels(WAV2VEC2_ENGLISH_LABELS)


def noisy(text: str, seed: int) -> np.ndarray:
    """Peaky log-probs of `text` with some letters' peaks handed to a random other letter, so that the LM weights
    change the output and WER differs across the grid."""
    rng = np.random.default_rng(seed)
    logprobs = peaky(VOCAB, text, seed=seed).astype(np.float64)
    letters = [i for i, label in enumerate(VOCAB.labels) if label.isalpha()]
    peaks = np.flatnonzero(np.isin(logprobs.argmax(axis=1), letters))
    for frame in rng.choice(peaks, size=max(1, len(peaks) // 6), replace=False):
        true = logprobs[frame].argmax()
        wrong = rng.choice([c for c in letters if c != true])
        logprobs[frame, true], logprobs[frame, wrong] = np.log(0.35), np.log(0.55)
    return (logprobs - np.logaddexp.reduce(logprobs, axis=1, keepdims=True)).astype(np.float32)


def make_store(path: Path, copies: int = 1, sentences: list[str] = LM_SENTENCES) -> LogitsStore:
    texts = [s for _ in range(copies) for s in sentences]
    return write_store(
        path,
        ids=[f"utt{i:03d}" for i in range(len(texts))],
        arrays=[noisy(text, seed=i) for i, text in enumerate(texts)],
        vocabulary=VOCAB,
        references=texts,
    )


def make_lm(path: Path, backoff: float = -0.3) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_bigram_arpa(path, LM_SENTENCES, backoff=backoff)


def rows(run_dir: Path) -> list[sqlite3.Row]:
    with sqlite3.connect(run_dir / "results.sqlite") as conn:
        conn.row_factory = sqlite3.Row
        return conn.execute("SELECT key, decoder, alpha, beta FROM results").fetchall()


def integrity(run_dir: Path) -> str:
    with sqlite3.connect(run_dir / "results.sqlite") as conn:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]


def decode_cli(*args, **popen) -> subprocess.Popen:
    """`decode ARGS` in a child process, run from the repository root like a user would."""
    command = [sys.executable, "-c", "from cli.app import app; app()", *map(str, args)]
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **popen)
