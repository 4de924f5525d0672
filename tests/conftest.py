"""Fixtures shared across the suite: the wav2vec2 vocabulary and a tiny hand-written LM."""

from __future__ import annotations

from pathlib import Path

import pytest

from audio_fixtures import build_librispeech
from helpers import LM_SENTENCES, write_bigram_arpa
from logits.vocabulary import WAV2VEC2_ENGLISH_LABELS, Vocabulary
from sweep_helpers import make_lm, make_store


@pytest.fixture(scope="session")
def vocab() -> Vocabulary:
    return Vocabulary.from_labels(WAV2VEC2_ENGLISH_LABELS)


@pytest.fixture(scope="session")
def tiny_arpa(tmp_path_factory) -> Path:
    return write_bigram_arpa(tmp_path_factory.mktemp("lm") / "tiny.arpa", LM_SENTENCES)



@pytest.fixture()
def store(tmp_path):
    """A small store of noisy log-probs of the LM sentences (modules that need another store define their own)."""
    return make_store(tmp_path / "store")


@pytest.fixture()
def lm(tmp_path) -> Path:
    """The tiny bigram LM of those sentences, in a folder of its own."""
    return make_lm(tmp_path / "lm" / "tiny.arpa")


@pytest.fixture(scope="module")
def libri(tmp_path_factory) -> Path:
    """Seven spoken LibriSpeech-layout utterances (espeak-ng and sox make them; modules that use this skip without)."""
    return build_librispeech(tmp_path_factory.mktemp("audio") / "LibriSpeech" / "test-tiny")


@pytest.fixture(scope="module")
def torch_one_thread():
    """torch on one thread for the module: steady on shared 2-core machines, and what Dask workers run with (torch's
    sums differ in the last bits with the thread count)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
