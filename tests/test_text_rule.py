"""The one text rule (logits/text.py): references, LM text and hotwords brought to what the labels spell, the same
through every entry point (import, synth, speak + cache, lm build, hotwords), with the same warning counts."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from cli.app import app
from decoders.beam_base import hotwords_in_case
from lm.normalize import normalize_words
from logits.scoring import score
from logits.store import LogitsStore
from logits.text import RULE, TextRule, UnspellableTextWarning, combined_provenance, normalise_texts
from logits.vocabulary import WAV2VEC2_ENGLISH_LABELS, Vocabulary

runner = CliRunner()
RAW = ["Café au lait", "The 3 Pigs", "don’t stop", "MiXeD Case", "東京 tower"]
EXPECTED = ["CAFE AU LAIT", "THE THREE PIGS", "DON'T STOP", "MIXED CASE", "TOWER"]
WARNING = "1 of 5 {noun} hold characters the labels cannot spell (京 x1, 東 x1): dropped"
WAV2VEC2 = Vocabulary.from_labels(WAV2VEC2_ENGLISH_LABELS)


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def warning_lines(result) -> list[str]:
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output and "error:" not in result.output, result.output
    return [line for line in result.output.splitlines() if line.startswith("warning: ")]


# ------------------------------------------------------------------------------------------------------- the rule

@pytest.mark.parametrize("raw, expected", [
    ("Café", "CAFE"),
    ("The 3 Pigs", "THE THREE PIGS"),
    ("don’t", "DON'T"),
    ("MiXeD cAsE", "MIXED CASE"),
    ("Hello, world!", "HELLO WORLD"),
    ("'Tis the 1990s—the 3rd time", "TIS THE ONE THOUSAND NINE HUNDRED NINETIES THE THIRD TIME"),
    ("Æsir naïve 3,500 2.5 & 50%", "AESIR NAIVE THREE THOUSAND FIVE HUNDRED TWO POINT FIVE AND FIFTY PERCENT"),
])
def test_the_rule_folds_case_accents_digits_and_apostrophes(raw, expected):
    rule = TextRule.for_vocabulary(WAV2VEC2)
    assert rule.apply(raw).text == expected
    assert rule.apply(expected).text == expected  # idempotent: a second pass changes nothing


def test_what_the_labels_cannot_spell_is_dropped_and_counted():
    found = TextRule.for_vocabulary(WAV2VEC2).apply("東京 costs $5 $")
    assert found.text == "COSTS FIVE"
    assert found.dropped == (("$", 2), ("京", 1), ("東", 1))
    texts, tally = normalise_texts(RAW + [None], TextRule.for_vocabulary(WAV2VEC2))
    assert texts == EXPECTED + [None]
    assert (tally.texts, tally.changed, tally.unspellable) == (5, 5, 1)
    assert tally.warning() == WARNING.format(noun="references")
    assert tally.provenance() == {"rule": RULE, "texts": 5, "normalised": 5, "unspellable": 1,
                                  "dropped": {"京": 1, "東": 1}}


def test_the_rule_follows_the_labels():
    lower = Vocabulary.from_labels(["<pad>", "|", *"abcdefghijklmnopqrstuvwxyz'é"])
    assert TextRule.for_vocabulary(lower).apply("CAFÉ The 3 Pigs").text == "café the three pigs"  # é is a label
    digits = Vocabulary.from_labels(["<pad>", "|", *"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"])
    assert TextRule.for_vocabulary(digits).apply("The 3 Pigs don’t").text == "THE 3 PIGS DON T"  # no "'" label
    mixed = Vocabulary.from_labels(["<pad>", "|", *"ABCabc"])
    assert TextRule.for_vocabulary(mixed).apply("Abc aBC").text == "Abc aBC"  # two cases: nothing to fold to


def test_hotwords_follow_the_rule_and_keep_what_the_labels_cannot_spell():
    assert hotwords_in_case(("Café", "the 3 pigs", "  ", "don’t"), WAV2VEC2) == ["CAFE", "THE THREE PIGS", "DON'T"]
    # Left to the decoder's parameter checks to name, not silently emptied.
    assert hotwords_in_case(("東京",), WAV2VEC2) == ["東京"]


def test_lm_text_and_references_meet_under_the_same_rule():
    rule = TextRule.for_vocabulary(WAV2VEC2)
    for raw in RAW:
        assert normalize_words(raw, "upper") == rule.apply(raw).text.split()


# ---------------------------------------------------------------------------------------------- the entry points

def by_id(store: LogitsStore) -> list[str | None]:
    """References in id order (a cached store is written longest utterance first)."""
    return [ref for _, ref in sorted(zip(store.ids, store.references))]


def _references_file(tmp_path: Path) -> Path:
    path = tmp_path / "refs.txt"
    path.write_text("".join(f"u{i} {text}\n" for i, text in enumerate(RAW)), encoding="utf-8")
    return path


def test_import_stores_the_references_under_the_rule_and_warns_with_counts(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "logits.npz", **{f"u{i}": rng.normal(size=(8, 32)).astype(np.float32) for i in range(5)})
    refs = _references_file(tmp_path)
    result = invoke("import", tmp_path / "logits.npz", "--labels", "wav2vec2", "--out", tmp_path / "store",
                    "--references", refs)
    assert warning_lines(result) == [f"warning: {refs}: {WARNING.format(noun='references')}"]
    store = LogitsStore.open(tmp_path / "store")
    assert store.references == EXPECTED
    assert store.provenance["references"] == {"file": str(refs), "rule": RULE, "texts": 5, "normalised": 5,
                                              "unspellable": 1, "dropped": {"京": 1, "東": 1}}


def test_synth_stores_the_same_text_and_warns_the_same(tmp_path):
    text = tmp_path / "sentences.txt"
    text.write_text("\n".join(RAW) + "\n", encoding="utf-8")
    result = invoke("synth", text, "--out", tmp_path / "store")
    assert warning_lines(result) == [f"warning: {text}: {WARNING.format(noun='sentences')}"]
    store = LogitsStore.open(tmp_path / "store")
    assert store.references == EXPECTED  # "Café" is no longer "CAF"
    assert store.provenance["references"]["dropped"] == {"京": 1, "東": 1}


def test_the_python_api_warns_with_a_warning_class(tmp_path):
    from acoustic.synth import synthesize_store

    with pytest.warns(UnspellableTextWarning, match="1 of 5 sentences"):
        store = synthesize_store(RAW, tmp_path / "store")
    assert store.references == EXPECTED
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        synthesize_store(EXPECTED, tmp_path / "clean")  # nothing to drop, nothing said


@pytest.mark.skipif(shutil.which("espeak-ng") is None or shutil.which("sox") is None, reason="needs espeak-ng")
def test_speak_then_cache_store_the_same_text(tmp_path):
    pytest.importorskip("transformers")
    from audio_fixtures import build_tiny_model

    text = tmp_path / "sentences.txt"
    text.write_text("\n".join(RAW) + "\n", encoding="utf-8")
    spoken = invoke("speak", text, "--out", tmp_path / "speech", "--jobs", "1")
    assert warning_lines(spoken) == [f"warning: the sentences: {WARNING.format(noun='sentences')}"]
    transcript = tmp_path / "speech" / "espeak" / "0000" / "espeak-0000.trans.txt"
    lines = transcript.read_text(encoding="utf-8").splitlines()
    assert [line.partition(" ")[2] for line in lines] == EXPECTED
    assert json.loads((tmp_path / "speech" / "speak.json").read_text())["text_rule"] == RULE

    model = build_tiny_model(tmp_path / "model", attention_mask=True)
    cached = invoke("cache", "--model", model, "--audio", tmp_path / "speech", "--out", tmp_path / "spoken")
    assert warning_lines(cached) == []  # speak already brought the text to the labels
    assert by_id(LogitsStore.open(tmp_path / "spoken")) == EXPECTED

    # A corpus whose transcripts were written by hand gets the same text, and the same warning, from cache.
    transcript.write_text("".join(f"{line.split()[0]} {raw}\n" for line, raw in zip(lines, RAW)), encoding="utf-8")
    cached = invoke("cache", "--model", model, "--audio", tmp_path / "speech", "--out", tmp_path / "raw")
    assert warning_lines(cached) == [
        f"warning: the transcripts of {tmp_path / 'speech'}: {WARNING.format(noun='references')}"]
    store = LogitsStore.open(tmp_path / "raw")
    assert by_id(store) == EXPECTED
    assert store.provenance["references"]["rule"] == RULE


def test_an_lm_built_from_the_same_text_spells_the_references_words(tmp_path):
    from lm.build import build_lm
    from lm.kenlm_tools import ensure_kenlm_binaries
    from lm.model import read_arpa_unigrams

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(RAW * 20) + "\n", encoding="utf-8")
    with pytest.warns(UnspellableTextWarning, match="20 of 100 sentences .* cannot spell"):
        built = build_lm(corpus, tmp_path / "lm", order=2, heldout=0, memory="10%",
                         binaries=ensure_kenlm_binaries())
    words = set(read_arpa_unigrams(built.arpa))
    references = normalise_texts(RAW, TextRule.for_vocabulary(WAV2VEC2))[0]
    assert {w for ref in references for w in ref.split()} <= words
    # The scorer sees the LM's sentences as exactly the references: no word lost to a second rule.
    lm_sentences = [" ".join(normalize_words(raw)) for raw in RAW]
    assert score(references, lm_sentences).wer == 0.0
    assert json.loads((tmp_path / "lm" / "build.json").read_text())["text_rule"]["dropped"] == {"京": 20, "東": 20}


def test_the_counts_of_a_cache_split_over_workers_add_up():
    rule = TextRule.for_vocabulary(WAV2VEC2)
    whole = normalise_texts(RAW, rule)[1].provenance()
    parts = [normalise_texts(RAW[:2], rule)[1].provenance(), normalise_texts(RAW[2:], rule)[1].provenance()]
    assert combined_provenance(parts) == whole
