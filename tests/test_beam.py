"""The pyctcdecode beam decoder: same answers as pyctcdecode called directly, LM repair, hotwords, LM errors."""

import numpy as np
import pytest
from pyctcdecode import build_ctcdecoder

from acoustic.synth import SynthSettings, synthesize_all
from decoders import DecoderConfig, build_decoder
from decoders.errors import DecoderConfigError
from helpers import LM_SENTENCES, peaky, write_bigram_arpa
from lm.model import LanguageModelCache
from logits.errors import LabError


def spell(vocab, text, override=None):
    """Clean log-probs for `text`; override = {char position: (wrong char, p_wrong, p_right)}."""
    index = {label: i for i, label in enumerate(vocab.labels)}
    rows = []
    for n, char in enumerate(text):
        column = vocab.delimiter if char == " " else index[char]
        probs = np.full(vocab.size, 1e-4)
        if override and n in override:
            wrong, p_wrong, p_right = override[n]
            probs[index[wrong]], probs[column] = p_wrong, p_right
        else:
            probs[column] = 0.95
        rows.append(probs)
        blank = np.full(vocab.size, 1e-4)
        blank[vocab.blank] = 0.95
        rows.append(blank)
    probs = np.array(rows)
    return np.log(probs / probs.sum(axis=1, keepdims=True)).astype(np.float32)


def test_identical_text_to_pyctcdecode_called_directly(vocab, tiny_arpa):
    reference = build_ctcdecoder(list(vocab.tokens), str(tiny_arpa), alpha=0.7, beta=1.5)
    ours = build_decoder(DecoderConfig("beam", {"lm": str(tiny_arpa), "alpha": 0.7, "beta": 1.5}), vocab)
    settings = SynthSettings(difficulty=4)
    for _, logprobs in synthesize_all(LM_SENTENCES * 3, vocab, seed=1, settings=settings):
        expected = reference.decode_beams(logprobs, beam_width=100)[0]
        hyp = ours.decode(logprobs)
        assert hyp.text == expected[0]
        assert hyp.score == pytest.approx(expected[4]) and hyp.acoustic_score == pytest.approx(expected[3])
        assert [(w.word, (w.start, w.end)) for w in hyp.words] == [(w, tuple(f)) for w, f in expected[2]]


def test_lm_repairs_what_greedy_gets_wrong(vocab, tiny_arpa):
    text = "THE CAT SAT ON THE MAT"
    logprobs = spell(vocab, text, override={len(text) - 1: ("D", 0.55, 0.4)})
    assert build_decoder(DecoderConfig("greedy"), vocab).decode(logprobs).text == "THE CAT SAT ON THE MAD"
    beam = build_decoder(DecoderConfig("beam", {"lm": str(tiny_arpa)}), vocab)
    assert beam.decode(logprobs).text == text
    no_lm = build_decoder(DecoderConfig("beam"), vocab)
    assert no_lm.decode(logprobs).text == "THE CAT SAT ON THE MAD"


def test_hotword_boosts_a_word_the_lm_never_saw(vocab, tiny_arpa):
    text = "THE ZEBRA SAT"
    logprobs = spell(vocab, text, override={4: ("S", 0.55, 0.4)})
    plain = build_decoder(DecoderConfig("beam", {"lm": str(tiny_arpa)}), vocab)
    assert plain.decode(logprobs).text == "THE SEBRA SAT"
    boosted = plain.reconfigure(hotwords=("zebra",), hotword_weight=10.0)  # case follows the labels
    assert boosted.decode(logprobs).text == text
    # Sentences without the hotword are left alone.
    clean = peaky(vocab, "THE CAT SAT ON THE MAT")
    assert boosted.decode(clean).text == plain.decode(clean).text == "THE CAT SAT ON THE MAT"


def test_reweighting_keeps_the_loaded_lm(vocab, tiny_arpa):
    lms = LanguageModelCache()
    first = build_decoder(DecoderConfig("beam", {"lm": str(tiny_arpa), "alpha": 0.1}), vocab, lms)
    second = first.reconfigure(alpha=2.0, beta=0.0)
    assert second._ctc is first._ctc and second.config.get("alpha") == 2.0
    assert lms.get(str(tiny_arpa)) is lms.get(str(tiny_arpa))
    # Interleaved calls still use each decoder's own weights.
    logprobs = spell(vocab, "A CAT", override={2: ("K", 0.5, 0.45)})
    assert first.decode(logprobs).score != second.decode(logprobs).score
    assert first.decode(logprobs).score == build_decoder(first.config, vocab).decode(logprobs).score


def test_empty_and_single_frame(vocab, tiny_arpa):
    beam = build_decoder(DecoderConfig("beam", {"lm": str(tiny_arpa)}), vocab)
    assert beam.decode(np.zeros((0, vocab.size), np.float32)).text == ""
    assert beam.decode(spell(vocab, "A")[:1]).text == "A"


def test_case_mismatch_is_an_error_not_a_silent_no_op(vocab, tmp_path):
    lower = write_bigram_arpa(tmp_path / "lower.arpa", [s.lower() for s in LM_SENTENCES])
    with pytest.raises(LabError, match="case"):
        build_decoder(DecoderConfig("beam", {"lm": str(lower)}), vocab)


def test_lm_that_barely_overlaps_the_labels_is_an_error(vocab, tmp_path):
    foreign = write_bigram_arpa(tmp_path / "digits.arpa", ["123 456 789", "12 34 56 78 90"])
    with pytest.raises(LabError):
        build_decoder(DecoderConfig("beam", {"lm": str(foreign)}), vocab)


def test_missing_and_truncated_lm_files(vocab, tiny_arpa, tmp_path):
    with pytest.raises(LabError, match="nope.arpa"):
        build_decoder(DecoderConfig("beam", {"lm": str(tmp_path / "nope.arpa")}), vocab)
    truncated = tmp_path / "cut.arpa"
    truncated.write_bytes(tiny_arpa.read_bytes()[: len(tiny_arpa.read_bytes()) // 2])
    with pytest.raises(LabError, match="cut.arpa"):
        build_decoder(DecoderConfig("beam", {"lm": str(truncated)}), vocab)


def test_bad_parameters(vocab):
    with pytest.raises(DecoderConfigError, match="beam_width"):
        build_decoder(DecoderConfig("beam", {"beam_width": 0}), vocab)
    with pytest.raises(DecoderConfigError, match="no parameter"):
        build_decoder(DecoderConfig("beam", {"alhpa": 0.5}), vocab)
