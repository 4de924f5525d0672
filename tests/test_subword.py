"""Subword vocabularies (SentencePiece "▁" pieces, WordPiece "##" pieces) through the store, greedy, `beam` and
`fastbeam`: kinds told from the labels, words joined from pieces, and fastbeam equal to pyctcdecode on subword input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from typer.testing import CliRunner

from acoustic.pieces import PieceSplitter, train_vocabulary
from acoustic.synth import SynthSettings, synthesize_all, synthesize_store
from cli.app import app
from decoders.config import DecoderConfig
from decoders.greedy import GreedyDecoder, native_kernel, numpy_kernel
from helpers import LM_SENTENCES
from lm.errors import LMError
from lm.model import LanguageModelCache
from logits.errors import VocabularyError
from logits.store import LogitsStore
from logits.vocabulary import Vocabulary, detect_kind
from test_fastbeam import assert_same, pair, random_logprobs, write_ngram_arpa

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ'"
SPOKEN = LM_SENTENCES + ["THE ZEBRA SAT ON THE MAT", "A DOG SAW THE CATS", "SHE AND HE SAT"]


@pytest.fixture(scope="module")
def lms() -> LanguageModelCache:
    return LanguageModelCache()


@pytest.fixture(scope="module")
def trigram(tmp_path_factory):
    return write_ngram_arpa(tmp_path_factory.mktemp("lm") / "tri.arpa", LM_SENTENCES, order=3)


@pytest.fixture(scope="module", params=["sentencepiece", "wordpiece"])
def pieces(request) -> Vocabulary:
    """A tokenizer trained on the LM sentences: whole words for the frequent ones, letters for the rest."""
    return train_vocabulary(LM_SENTENCES * 3, 60, request.param, LETTERS)


# ------------------------------------------------------------------------------------------------------- vocabulary


def test_kinds_are_told_from_the_labels():
    sentencepiece = Vocabulary.from_labels(["<blank>", "▁", "▁THE", "▁A", "T", "HE", "<unk>"])
    assert (sentencepiece.kind, sentencepiece.delimiter) == ("sentencepiece", 1)
    assert sentencepiece.pieces == ("", "", "THE", "A", "T", "HE", "<unk>")
    assert sentencepiece.word_starts == (False, True, True, True, False, False, True)
    assert sentencepiece.tokens == ("", " ", " THE", " A", "T", "HE", " <unk>")
    wordpiece = Vocabulary.from_labels(["[PAD]", "THE", "A", "##T", "##HE"], blank=0)
    assert (wordpiece.kind, wordpiece.delimiter) == ("wordpiece", None)
    assert wordpiece.pieces == ("", "THE", "A", "T", "HE")
    assert wordpiece.word_starts == (False, True, True, False, False)
    assert sentencepiece.characters == wordpiece.characters == frozenset("THEA")  # <unk> spells nothing
    # A lone "▁" among letters is a character vocabulary's delimiter, as before.
    assert detect_kind(["<pad>", "▁", "A", "B"]) == "character"
    assert Vocabulary.from_labels(["<pad>", "▁", "A", "B"]).tokens == ("", " ", "A", "B")


def test_ambiguous_vocabularies_are_errors_that_say_how_to_state_the_kind():
    with pytest.raises(VocabularyError, match="mix two subword conventions"):
        Vocabulary.from_labels(["<pad>", "▁THE", "##HE"])
    with pytest.raises(VocabularyError, match="none marks a word boundary.*--kind"):
        Vocabulary.from_labels(["<pad>", "TH", "HE", "A"])
    assert Vocabulary.from_labels(["<pad>", "TH", "HE", "A"], kind="character").kind == "character"
    with pytest.raises(VocabularyError, match="needs '▁' word start pieces"):
        Vocabulary.from_labels(["<pad>", "TH", "HE"], kind="sentencepiece")
    with pytest.raises(VocabularyError, match="cannot hold a label with a space"):
        Vocabulary.from_labels(["<pad>", " ", "▁THE"])


def test_store_records_the_kind_and_old_stores_read_as_characters(pieces, tmp_path, vocab):
    store = synthesize_store(LM_SENTENCES, tmp_path / "s", vocabulary=pieces)
    assert LogitsStore.open(store.path).vocabulary == pieces
    assert "kind" not in vocab.to_dict() and Vocabulary.from_dict(vocab.to_dict()) == vocab
    shown = CliRunner().invoke(app, ["info", str(store.path)])
    assert shown.exit_code == 0 and f"{pieces.kind}, {pieces.size} labels, blank '<blank>'" in shown.stdout


def test_import_refuses_mixed_pieces_in_one_line(tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("<blank>\n▁THE\n##HE\n")
    np.savez(tmp_path / "x.npz", u=np.zeros((3, 3), np.float32))
    result = CliRunner().invoke(app, ["import", str(tmp_path / "x.npz"), "--labels", str(labels),
                                      "--out", str(tmp_path / "s")])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {labels}: the labels mix two subword conventions")
    assert not (tmp_path / "s").exists()


def test_tokenizer_training_is_deterministic_and_the_splitter_spells_every_word(pieces):
    again = train_vocabulary(LM_SENTENCES * 3, 60, pieces.kind, LETTERS)
    assert again == pieces
    splitter = PieceSplitter(pieces)
    for word in ("THE", "ZEBRA", "CATS"):
        columns = splitter.split(word)
        assert "".join(pieces.pieces[c] for c in columns) == word
        assert pieces.word_starts[columns[0]] and not any(pieces.word_starts[c] for c in columns[1:])


# ----------------------------------------------------------------------------------------------------------- greedy


def test_greedy_joins_pieces_into_words(pieces, tmp_path):
    store = synthesize_store(SPOKEN, tmp_path / "s", vocabulary=pieces, settings=SynthSettings(difficulty=0))
    hypotheses = GreedyDecoder(DecoderConfig("greedy"), pieces).decode_store(store)
    assert [h.text for h in hypotheses] == [u.reference for u in store.utterances]
    assert all(len(h.words) == len(h.text.split()) for h in hypotheses)


def test_compiled_and_numpy_greedy_agree_on_pieces(pieces, tmp_path):
    store = synthesize_store(SPOKEN * 2, tmp_path / "s", vocabulary=pieces, settings=SynthSettings(difficulty=4))
    for shard, utterances in store.by_shard():
        starts = np.array([u.offset for u in utterances])
        ends = starts + np.array([u.frames for u in utterances])
        compiled, numpy = native_kernel(pieces)(shard, starts, ends), numpy_kernel(pieces)(shard, starts, ends)
        assert compiled.texts == numpy.texts
        np.testing.assert_array_equal(compiled.word_frames, numpy.word_frames)
        np.testing.assert_array_equal(compiled.word_offsets, numpy.word_offsets)


# ----------------------------------------------------------------------------------- fastbeam against pyctcdecode


def subword_inputs(vocabulary: Vocabulary) -> list[np.ndarray]:
    synthetic = [x for _, x in synthesize_all(SPOKEN, vocabulary, seed=5, settings=SynthSettings(difficulty=4))]
    return synthetic + [random_logprobs(vocabulary, 80, seed) for seed in range(4)]


@pytest.mark.parametrize("lm", [True, False])
def test_fastbeam_equals_pyctcdecode_on_pieces(pieces, lms, trigram, lm):
    params = {"lm": str(trigram) if lm else None, "beam_width": 16}
    reference, ours = pair(pieces, lms, **params)
    decoded = [ours.decode(x) for x in subword_inputs(pieces)]
    for hypothesis, logprobs in zip(decoded, subword_inputs(pieces)):
        assert_same(hypothesis, reference.decode(logprobs))
    assert decoded[0].text == "THE CAT SAT ON THE MAT"
    nbest = ours.decode_nbest(subword_inputs(pieces)[1], 5)
    for a, b in zip(nbest, reference.decode_nbest(subword_inputs(pieces)[1], 5)):
        assert_same(a, b)


def test_fastbeam_equals_pyctcdecode_with_hotwords_on_pieces(pieces, lms, trigram):
    params = {"lm": str(trigram), "hotwords": ("zebra", "black swan"), "beam_prune_logp": -20.0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the LM lacks the hotwords; both decoders say so
        reference, ours = pair(pieces, lms, **params)
    assert ours.hotwords == ["ZEBRA", "BLACK SWAN"]  # in the pieces' case
    for logprobs in subword_inputs(pieces):
        assert_same(ours.decode(logprobs), reference.decode(logprobs))


def test_a_piece_that_forces_the_next_word_break(lms, trigram):
    """pyctcdecode's "▁⁇▁" (the <unk> piece) ends a word and makes the next piece begin one; random inputs full of
    <unk> exercise that flag, which pyctcdecode shares across the beams of an utterance."""
    vocabulary = Vocabulary.from_labels(["<unk>", "▁THE", "▁CAT", "▁A", "S", "AT", "M", "▁", "<blank>"])
    reference, ours = pair(vocabulary, lms, lm=str(trigram), beam_width=8)
    for seed in range(12):
        logprobs = random_logprobs(vocabulary, 60, seed, tie_share=0.05)
        assert_same(ours.decode(logprobs), reference.decode(logprobs))


def test_an_lm_the_pieces_cannot_spell_is_refused(lms, tmp_path, pieces):
    lower = write_ngram_arpa(tmp_path / "lower.arpa", [s.lower() for s in LM_SENTENCES], order=2)
    for name in ("beam", "fastbeam"):
        with pytest.raises(LMError, match="lower case"):
            pair(pieces, lms, lm=str(lower))[name == "fastbeam"]


def test_cli_run_on_a_subword_store_with_an_lm_of_the_other_case_is_one_error_line(pieces, tmp_path):
    store = synthesize_store(LM_SENTENCES, tmp_path / "s", vocabulary=pieces)
    lower = write_ngram_arpa(tmp_path / "lower.arpa", [s.lower() for s in LM_SENTENCES], order=2)
    result = CliRunner().invoke(app, ["run", str(store.path), "--decoder", "fastbeam", "--lm", str(lower)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {lower} is lower case") and len(result.stderr.splitlines()) == 1


def test_history_pruning_on_pieces_equals_pyctcdecode(pieces, lms, trigram):
    reference, ours = pair(pieces, lms, lm=str(trigram), beam_width=12, prune_history=True)
    for logprobs in subword_inputs(pieces):
        assert_same(ours.decode(logprobs), reference.decode(logprobs))
