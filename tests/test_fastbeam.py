"""The compiled `fastbeam` decoder: the same hypotheses as pyctcdecode (the `beam` decoder) on fixed inputs, fast paths
that must not change results (threads, shared LMs), and its errors."""

from __future__ import annotations

import math
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from pyctcdecode.alphabet import Alphabet

from acoustic.synth import SynthSettings, synthesize_all, synthesize_store
from decoders.beam import PyctcdecodeBeamDecoder
from decoders.config import DecoderConfig
from decoders.errors import DecoderConfigError
from decoders.fastbeam import FastBeamDecoder, native_module, search_labels
from decoders.native.build import ensure_built
from helpers import LM_SENTENCES, peaky
from lm.model import LanguageModelCache
from logits.errors import LogitsError
from logits.vocabulary import Vocabulary


@pytest.fixture(scope="module", autouse=True)
def compiled() -> None:
    ensure_built()  # a no-op when `make install` has built decoders/_kernels*.so from the current sources


@pytest.fixture(scope="module")
def lms() -> LanguageModelCache:
    return LanguageModelCache()


@pytest.fixture(scope="module")
def trigram_arpa(tmp_path_factory) -> Path:
    return write_ngram_arpa(tmp_path_factory.mktemp("lm3") / "tiny3.arpa", LM_SENTENCES, order=3)


def write_ngram_arpa(path: Path, sentences: list[str], order: int) -> Path:
    """A valid ARPA file of every n-gram (n <= order) of `sentences`: MLE probabilities, constant backoffs."""
    counts = [Counter() for _ in range(order + 1)]
    for sentence in sentences:
        words = ["<s>", *sentence.split(), "</s>"]
        for n in range(1, order + 1):
            counts[n].update(tuple(words[i:i + n]) for i in range(len(words) - n + 1))
    counts[1][("<unk>",)] = 1
    total = sum(counts[1].values())
    lines = ["\\data\\", *(f"ngram {n}={len(counts[n])}" for n in range(1, order + 1))]
    for n in range(1, order + 1):
        lines += ["", f"\\{n}-grams:"]
        for gram, count in sorted(counts[n].items()):
            base = total if n == 1 else counts[n - 1][gram[:-1]]
            prob = -99.0 if gram == ("<s>",) else math.log10(count / base)
            backoff = "\t-0.2500" if n < order and gram[-1] != "</s>" else ""
            lines.append(f"{prob:.4f}\t{' '.join(gram)}{backoff}")
    path.write_text("\n".join([*lines, "", "\\end\\", ""]), encoding="utf-8")
    return path


def random_logprobs(vocab: Vocabulary, frames: int, seed: int, tie_share: float = 0.15) -> np.ndarray:
    """Peaky but messy log-probs: mostly blank, random letters, runner-ups above token_min_logp, exact ties."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 1.5, (frames, vocab.size))
    weights = np.full(vocab.size, 1.0)
    weights[vocab.blank] = 25.0
    weights[list(np.flatnonzero(vocab.word_starts))] = 6.0  # the delimiter, or pieces that begin words
    peaks = rng.choice(vocab.size, frames, p=weights / weights.sum())
    rows = np.arange(frames)
    logits[rows, peaks] += rng.uniform(2.0, 9.0, frames)
    tied = rng.random(frames) < tie_share  # two columns with exactly the same top score
    logits[tied, rng.integers(0, vocab.size, frames)[tied]] = logits[tied, peaks[tied]]
    logits -= logits.max(axis=1, keepdims=True)
    return (logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))).astype(np.float32)


def inputs(vocab: Vocabulary, count: int = 3) -> list[np.ndarray]:
    """Synthetic sentences the LM knows, with errors to repair, and random gibberish (OOV words, ties)."""
    sentences = LM_SENTENCES[:count]
    synthetic = [x for _, x in synthesize_all(sentences, vocab, seed=5, settings=SynthSettings(difficulty=4))]
    return synthetic + [random_logprobs(vocab, 80, seed) for seed in range(count)]


def pair(vocab, lms, **params):
    """The reference (pyctcdecode) and the compiled decoder, same parameters."""
    return (PyctcdecodeBeamDecoder(DecoderConfig("beam", params), vocab, lms),
            FastBeamDecoder(DecoderConfig("fastbeam", params), vocab, lms))


def assert_same(ours, reference) -> None:
    assert ours.text == reference.text
    assert ours.words == reference.words
    for key in ("score", "acoustic_score", "lm_score"):
        assert getattr(ours, key) == pytest.approx(getattr(reference, key), rel=1e-12, abs=1e-9), key


def test_labels_are_those_pyctcdecode_builds(vocab):
    lower = Vocabulary.from_labels(["a", "b", "c", "'", " ", "<blank>"])
    bracketed = Vocabulary.from_labels(["[PAD]", "[UNK]", "|", "x", "y"], blank=0)
    no_delimiter = Vocabulary.from_labels(["<pad>", "a", "b"], delimiter=None)
    sentencepiece = Vocabulary.from_labels(["<blank>", "▁", "▁the", "▁a", "s", "<unk>"])
    wordpiece = Vocabulary.from_labels(["[PAD]", "[UNK]", "the", "a", "##s"], blank=0)
    for v in (vocab, lower, bracketed, no_delimiter, sentencepiece, wordpiece):
        alphabet = Alphabet.build_alphabet(v.decoder_labels)
        assert search_labels(v) == (alphabet.labels, alphabet.is_bpe)
    pieces_called_characters = Vocabulary.from_labels(["<pad>", "▁the", "▁a", "s"], kind="character")
    with pytest.raises(DecoderConfigError, match="declared 'character' but its labels look like subword"):
        FastBeamDecoder(DecoderConfig("fastbeam"), pieces_called_characters)


def test_candidate_order_is_cpythons_set_order():
    # pyctcdecode iterates set(np.where(col >= t)[0]) | {argmax}: hash-slot order, not ascending.
    rng = np.random.default_rng(0)
    for _ in range(3000):
        size = int(rng.choice([8, 13, 32, 64, 200]))
        column = rng.normal(0, rng.uniform(0.2, 4), size).astype(np.float32)
        above = np.flatnonzero(column >= rng.uniform(-2, 2))
        expected = [int(i) for i in set(above) | {column.argmax()}]
        assert native_module()._candidate_order([int(i) for i in above], int(column.argmax())) == expected


@pytest.mark.parametrize("params", [
    {},
    {"alpha": 0.9, "beta": 2.5, "beam_width": 24},
    {"alpha": 0.3, "beta": -1.0, "beam_width": 8, "lm_score_boundary": False},
    {"beam_width": 16, "beam_prune_logp": -4.0, "token_min_logp": -9.0, "unk_score_offset": -4.0},
])
@pytest.mark.parametrize("lm", ["bigram", "trigram"])
def test_same_hypotheses_as_pyctcdecode_with_an_lm(vocab, lms, tiny_arpa, trigram_arpa, lm, params):
    path = str(tiny_arpa if lm == "bigram" else trigram_arpa)
    reference, ours = pair(vocab, lms, lm=path, **params)
    for logprobs in inputs(vocab):
        assert_same(ours.decode(logprobs), reference.decode(logprobs))


def test_same_hypotheses_as_pyctcdecode_without_an_lm(vocab, lms):
    reference, ours = pair(vocab, lms, beam_width=20)
    for logprobs in inputs(vocab):
        assert_same(ours.decode(logprobs), reference.decode(logprobs))


@pytest.mark.parametrize("lm", [True, False])
def test_hotwords_as_pyctcdecode_scores_them(vocab, lms, trigram_arpa, lm):
    # A hotword the LM never saw, one it knows, and a phrase (pyctcdecode boosts each of its words).
    hotwords = ("zebra", "MAT", "black swan")
    params = {"hotwords": hotwords, "hotword_weight": 6.0, "beam_width": 24} | ({"lm": str(trigram_arpa)} if lm else {})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = PyctcdecodeBeamDecoder(DecoderConfig("beam", params), vocab, lms)
    # Like `beam`, it warns that the LM lacks hotwords that the default beam_prune_logp will then cut short.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ours = FastBeamDecoder(DecoderConfig("fastbeam", params), vocab, lms)
    assert any("['ZEBRA', 'BLACK', 'SWAN'] are not in the LM" in str(w.message) for w in caught) == lm
    plain = FastBeamDecoder(DecoderConfig("fastbeam", {k: v for k, v in params.items() if k != "hotwords"}), vocab,
                            lms)
    spoken = ["THE ZEBRA SAT ON THE MAT", "A BLACK SWAN AND A ZEBRA", "THE ZEBU SAW A BLACK SWAB"]
    changed = 0
    for logprobs in [x for _, x in synthesize_all(spoken, vocab, seed=2, settings=SynthSettings(difficulty=5))]:
        hypothesis = ours.decode(logprobs)
        assert_same(hypothesis, reference.decode(logprobs))
        changed += hypothesis.text != plain.decode(logprobs).text
    for logprobs in inputs(vocab, count=2):
        assert_same(ours.decode(logprobs), reference.decode(logprobs))
    assert changed > 0  # the hotwords did something on these inputs


def test_edge_inputs(vocab, lms, tiny_arpa):
    reference, ours = pair(vocab, lms, lm=str(tiny_arpa))
    empty = ours.decode(np.zeros((0, vocab.size), dtype=np.float32))
    assert empty.text == "" and empty.words == ()
    blank = np.full((40, vocab.size), np.log(0.01 / (vocab.size - 1)), dtype=np.float32)
    blank[:, vocab.blank] = np.log(0.99)
    single = peaky(vocab, "A", frames_per_char=1)[:1]
    probabilities = np.exp(peaky(vocab, "THE CAT", seed=3))  # rows summing to 1 are taken as probabilities
    for logprobs in (blank, single, probabilities, peaky(vocab, "THE DOG SAT", seed=1)):
        assert_same(ours.decode(logprobs), reference.decode(logprobs))
    assert ours.decode(blank).text == ""
    assert ours.decode(peaky(vocab, "THE DOG SAT", seed=1)).text == "THE DOG SAT"
    broken = peaky(vocab, "A CAT")
    broken[3, 5] = np.nan
    with pytest.raises(LogitsError, match="NaN"):
        ours.decode(broken)
    with pytest.raises(LogitsError, match="batch item 1"):
        ours.decode_batch([peaky(vocab, "A"), broken])


def test_batch_on_two_threads_equals_one_by_one(vocab, lms, trigram_arpa):
    decoder = FastBeamDecoder(DecoderConfig("fastbeam", {"lm": str(trigram_arpa), "hotwords": ("dog",)}), vocab, lms)
    batch = inputs(vocab) + [np.zeros((0, vocab.size), dtype=np.float32), peaky(vocab, "A DOG")]
    one_by_one = [decoder.decode(x) for x in batch]
    assert decoder.decode_batch(batch, threads=2) == one_by_one
    assert decoder.decode_batch(batch, threads=1) == one_by_one
    assert decoder.decode_batch([]) == []
    with pytest.raises(DecoderConfigError, match="threads"):
        decoder.decode_batch(batch, threads=0)


def test_store_on_two_threads_equals_one_by_one(vocab, lms, tiny_arpa, tmp_path):
    store = synthesize_store(LM_SENTENCES, tmp_path / "store", seed=3, vocabulary=vocab)
    decoder = FastBeamDecoder(DecoderConfig("fastbeam", {"lm": str(tiny_arpa)}), vocab, lms)
    progress = []
    assert decoder.decode_store(store, on_progress=progress.append, threads=2) == [decoder.decode(x) for _, x in store]
    assert sum(progress) == len(store)


def test_reweighting_shares_the_native_lm(vocab, lms, tiny_arpa):
    first = FastBeamDecoder(DecoderConfig("fastbeam", {"lm": str(tiny_arpa), "alpha": 0.1}), vocab, lms)
    second = first.reconfigure(alpha=2.0, beta=0.0)
    third = FastBeamDecoder(DecoderConfig("fastbeam", {"lm": str(tiny_arpa), "beta": 3.0}), vocab, lms)
    assert second._lm is first._lm and third._lm is first._lm
    assert second.config.get("alpha") == 2.0
    logprobs = random_logprobs(vocab, 80, seed=11)
    # Interleaved calls keep each decoder's own weights.
    assert first.decode(logprobs).score != second.decode(logprobs).score
    assert first.decode(logprobs) == FastBeamDecoder(first.config, vocab).decode(logprobs)
    no_lm = first.reconfigure(lm=None)
    assert no_lm._lm is None and no_lm.decode(logprobs).lm_score == pytest.approx(0.0)


def test_reconfigure_rebuilds_only_for_structural_parameters(vocab, lms, tiny_arpa):
    first = FastBeamDecoder(DecoderConfig("fastbeam", {"lm": str(tiny_arpa)}), vocab, lms)
    # Weights (and a value given again unchanged) keep the built alphabet and hotword table.
    cheap = first.reconfigure(alpha=0.9, beam_width=20, lm=str(tiny_arpa))
    assert cheap._alphabet is first._alphabet and cheap._hotword_table is first._hotword_table
    assert cheap._search is not first._search and first.config.get("alpha") == 0.5  # the original is unchanged
    rebuilt = first.reconfigure(hotwords=("cat",))
    assert rebuilt._alphabet is not first._alphabet and rebuilt.hotwords == ["CAT"]
    with pytest.raises(DecoderConfigError, match="beam_width"):
        first.reconfigure(beam_width=0)  # checked on the cheap path too


def test_parameter_errors(vocab, tiny_arpa):
    with pytest.raises(DecoderConfigError, match="beam_width"):
        FastBeamDecoder(DecoderConfig("fastbeam", {"beam_width": 0}), vocab)
    with pytest.raises(DecoderConfigError, match="no parameter"):
        FastBeamDecoder(DecoderConfig("fastbeam", {"threads": 2}), vocab)


@pytest.mark.parametrize("lm", [True, False])
def test_history_pruning_equals_pyctcdecode(vocab, lms, trigram_arpa, lm):
    """prune_history (what pyctcdecode's decode() uses) keeps, of beams that share their last LM-order - 1 words,
    unfinished word and last label, only the best; on these inputs it changes some results, identically."""
    params = {"lm": str(trigram_arpa) if lm else None, "beam_width": 12, "prune_history": True}
    reference, ours = pair(vocab, lms, **params)
    unpruned = FastBeamDecoder(DecoderConfig("fastbeam", params | {"prune_history": False}), vocab, lms)
    changed = 0
    for logprobs in inputs(vocab, count=6):
        hypothesis = ours.decode(logprobs)
        assert_same(hypothesis, reference.decode(logprobs))
        changed += hypothesis != unpruned.decode(logprobs)
    assert changed > 0
