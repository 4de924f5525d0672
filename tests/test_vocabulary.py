import json

import pytest

from logits.errors import VocabularyError
from logits.vocabulary import WAV2VEC2_ENGLISH_LABELS, Vocabulary


def test_hf_vocab_json_maps_pad_to_blank_and_bar_to_space(tmp_path):
    path = tmp_path / "vocab.json"
    path.write_text(json.dumps({label: i for i, label in enumerate(WAV2VEC2_ENGLISH_LABELS)}))
    vocab = Vocabulary.load(path)
    assert vocab.blank == 0 and vocab.delimiter == 4
    assert vocab.tokens[0] == "" and vocab.tokens[4] == " " and vocab.tokens[5] == "E"
    assert vocab.case == "upper"
    assert vocab == Vocabulary.load("wav2vec2")


def test_blank_last_lower_case_layout():
    labels = [" ", *"abcdefghijklmnopqrstuvwxyz", "'", ""]
    vocab = Vocabulary.from_labels(labels)
    assert vocab.blank == 28 and vocab.delimiter == 0
    assert vocab.case == "lower"
    assert "a" in vocab.characters and "'" in vocab.characters and " " not in vocab.characters


def test_labels_txt_with_space_and_blank_markers(tmp_path):
    path = tmp_path / "labels.txt"
    path.write_text("<space>\na\nb\n<blank>\n")
    vocab = Vocabulary.load(path)
    assert vocab.labels == (" ", "a", "b", "<blank>") and vocab.blank == 3 and vocab.delimiter == 0


def test_missing_blank_is_a_clear_error():
    with pytest.raises(VocabularyError, match="blank"):
        Vocabulary.from_labels(["|", "A", "B"])


def test_explicit_blank_index_and_roundtrip():
    vocab = Vocabulary.from_labels(["|", "A", "B", "~"], blank=3)
    assert vocab.blank == 3
    assert Vocabulary.from_dict(json.loads(json.dumps(vocab.to_dict()))) == vocab


def test_duplicate_labels_rejected():
    with pytest.raises(VocabularyError, match="repeated"):
        Vocabulary.from_labels(["<pad>", "A", "A"])


def test_gaps_in_hf_ids_rejected():
    with pytest.raises(VocabularyError, match="without gaps"):
        Vocabulary.from_hf_vocab({"<pad>": 0, "A": 2})


def test_text_in_the_labels_case():
    assert Vocabulary.from_labels(WAV2VEC2_ENGLISH_LABELS).in_case("Napoleon's") == "NAPOLEON'S"
    lower = Vocabulary.from_labels(["", " ", "a", "b", "'"])
    assert lower.in_case("ABBA'S") == "abba's"
    assert Vocabulary.from_labels(["", " ", "1", "2"]).in_case("Mixed 12") == "Mixed 12"  # caseless labels
