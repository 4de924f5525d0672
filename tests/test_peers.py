"""The peer decoders (ctc-beam-decoder, flashlight-text) behind the project's Decoder interface."""

from __future__ import annotations

import numpy as np
import pytest

from acoustic.synth import SynthSettings, synthesize_all
from decoders.beam import PyctcdecodeBeamDecoder
from decoders.config import DecoderConfig
from decoders.constants import BEAM_DEFAULTS
from decoders.errors import DecoderConfigError
from decoders.hypothesis import EMPTY
from helpers import LM_SENTENCES, peaky, write_bigram_arpa
from lm.errors import LMError
from lm.model import LanguageModelCache

pytest.importorskip("ctc_beam_decoder")
pytest.importorskip("flashlight.lib.text.decoder")

from decoders.peers import CtcBeamDecoder, FlashlightDecoder, peer_classes  # noqa: E402

LM_WORDS = {w for s in LM_SENTENCES for w in s.split()}
# Sentences of the tiny LM's words, some in orders it has never seen, and one with a word it does not know.
SYNTH_SENTENCES = LM_SENTENCES + ["THE DOG SAW A MAT", "A CAT SAT ON A LOG", "SHE IS ON THE DOG", "HE SAW A BIRD"]


@pytest.fixture()
def arpa(tmp_path):
    return write_bigram_arpa(tmp_path / "tiny.arpa", LM_SENTENCES)


def build(cls, vocab, **params):
    return cls(DecoderConfig(cls.name, params), vocab, LanguageModelCache())


def test_registry_names_and_interface():
    assert set(peer_classes()) == {"ctcbeam", "flashlight"}
    for cls in peer_classes().values():
        assert dict(cls.defaults) == BEAM_DEFAULTS  # interchangeable with "beam": same parameter names


@pytest.mark.parametrize("cls", [CtcBeamDecoder, FlashlightDecoder])
def test_peers_decode_clean_peaky_input(cls, vocab, arpa):
    decoder = build(cls, vocab, lm=str(arpa))
    for n, text in enumerate(["THE CAT SAT ON THE MAT", "A DOG", "SHE SAW THE DOG ON THE MAT"]):
        hyp = decoder.decode(peaky(vocab, text, seed=n))
        assert hyp.text == text
        assert [w.word for w in hyp.words] == text.split()
        starts = [w.start for w in hyp.words]
        assert starts == sorted(starts) and all(w.start < w.end for w in hyp.words)
        assert hyp.score is not None and hyp.acoustic_score <= 0
    assert decoder.decode(np.zeros((0, vocab.size), np.float32)) == EMPTY


def test_ctcbeam_without_lm_decodes_peaky_input(vocab):
    decoder = build(CtcBeamDecoder, vocab)
    assert decoder.decode(peaky(vocab, "ZEBRA QUARTZ JIG")).text == "ZEBRA QUARTZ JIG"


@pytest.mark.parametrize("params", [
    {},
    {"alpha": 1.2, "beta": 0.0},
    {"beam_width": 8, "token_min_logp": -3.0, "beam_prune_logp": -6.0},
    {"lm_score_boundary": False, "unk_score_offset": -4.0},
])
def test_ctcbeam_matches_pyctcdecode_on_synthetic_inputs(vocab, arpa, params):
    settings = SynthSettings(difficulty=3.0)  # plenty of confusions for the LM to arbitrate
    inputs = [lp for _, lp in synthesize_all(SYNTH_SENTENCES, vocab, seed=7, settings=settings)]
    for lm in (str(arpa), None):
        given = params | {"lm": lm}
        beam = build(PyctcdecodeBeamDecoder, vocab, **given)
        ctcbeam = build(CtcBeamDecoder, vocab, **given)
        for logprobs in inputs:
            ours, theirs = beam.decode(logprobs), ctcbeam.decode(logprobs)
            assert theirs.text == ours.text
            assert theirs.score == pytest.approx(ours.score, abs=1e-3)


def test_ctcbeam_hotwords_match_pyctcdecode(vocab, arpa):
    inputs = [lp for _, lp in synthesize_all(SYNTH_SENTENCES, vocab, seed=3, settings=SynthSettings(difficulty=3.0))]
    params = {"lm": str(arpa), "hotwords": ("dog", "mat"), "hotword_weight": 8.0}
    beam, ctcbeam = build(PyctcdecodeBeamDecoder, vocab, **params), build(CtcBeamDecoder, vocab, **params)
    plain = build(CtcBeamDecoder, vocab, lm=str(arpa))
    for logprobs in inputs:
        ours, theirs = beam.decode(logprobs), ctcbeam.decode(logprobs)
        assert theirs.text == ours.text and theirs.score == pytest.approx(ours.score, abs=1e-3)
    assert [ctcbeam.decode(lp).score for lp in inputs] != [plain.decode(lp).score for lp in inputs]


def test_flashlight_emits_only_lexicon_words_and_the_lm_matters(vocab, arpa):
    settings = SynthSettings(difficulty=3.0)
    inputs = [lp for _, lp in synthesize_all(SYNTH_SENTENCES, vocab, seed=11, settings=settings)]
    decoder = build(FlashlightDecoder, vocab, lm=str(arpa))
    assert decoder.lexicon_size == len(LM_WORDS)
    texts = [decoder.decode(lp).text for lp in inputs]
    assert all(set(t.split()) <= LM_WORDS for t in texts)
    assert texts[: len(LM_SENTENCES)] == LM_SENTENCES  # what the LM knows well comes back right


@pytest.mark.parametrize("alpha,beta", [(0.5, 1.0), (1.7, -0.5)])
def test_flashlight_scores_words_like_pyctcdecode(vocab, arpa, alpha, beta):
    """alpha weighs natural-log LM scores (flashlight's lm_weight = alpha * ln 10) and beta is paid per word, as in
    pyctcdecode: the search's LM part equals alpha * ln(10) * log10 P(sentence with <s> and </s>) + beta * words."""
    kenlm = pytest.importorskip("kenlm")
    model = kenlm.Model(str(arpa))
    decoder = build(FlashlightDecoder, vocab, lm=str(arpa), alpha=alpha, beta=beta)
    for n, text in enumerate(["THE CAT SAT ON THE MAT", "A DOG", "HE SAW A CAT"]):
        hyp = decoder.decode(peaky(vocab, text, seed=n))
        assert hyp.text == text
        expected = alpha * np.log(10) * model.score(text, bos=True, eos=True) + beta * len(text.split())
        assert hyp.lm_score == pytest.approx(expected, abs=1e-3)


def test_flashlight_rejects_what_it_cannot_do(vocab, arpa):
    with pytest.raises(DecoderConfigError, match="needs an LM"):
        build(FlashlightDecoder, vocab)
    with pytest.raises(DecoderConfigError, match="hotwords"):
        build(FlashlightDecoder, vocab, lm=str(arpa), hotwords=("CAT",))
    with pytest.raises(DecoderConfigError, match="lm_score_boundary"):
        build(FlashlightDecoder, vocab, lm=str(arpa), lm_score_boundary=False)


@pytest.mark.parametrize("cls", [CtcBeamDecoder, FlashlightDecoder])
def test_peer_errors_are_the_projects(cls, vocab, arpa, tmp_path):
    with pytest.raises(LMError, match="does not exist"):
        build(cls, vocab, lm=str(tmp_path / "missing.arpa"))
    lower = write_bigram_arpa(tmp_path / "lower.arpa", [s.lower() for s in LM_SENTENCES])
    with pytest.raises(LMError, match="lower case"):
        build(cls, vocab, lm=str(lower))
    with pytest.raises(DecoderConfigError, match="no parameter"):
        build(cls, vocab, lm=str(arpa), beam_size=4)
    with pytest.raises(DecoderConfigError, match="beam_width"):
        build(cls, vocab, lm=str(arpa), beam_width=0)


def test_lm_comes_from_the_shared_cache(vocab, arpa):
    lms = LanguageModelCache()
    for cls in (CtcBeamDecoder, FlashlightDecoder, CtcBeamDecoder):
        cls(DecoderConfig(cls.name, {"lm": str(arpa)}), vocab, lms)
    assert len(lms) == 1


@pytest.mark.parametrize("cls", [CtcBeamDecoder, FlashlightDecoder])
def test_reconfigured_peers_decode_as_if_built_with_the_new_weights(cls, vocab, arpa):
    lms = LanguageModelCache()
    first = cls(DecoderConfig(cls.name, {"lm": str(arpa), "alpha": 0.1}), vocab, lms)
    second = first.reconfigure(alpha=2.0, beta=0.0)
    fresh = cls(second.config, vocab, lms)
    arrays = [x for _, x in synthesize_all(SYNTH_SENTENCES, vocab, seed=5, settings=SynthSettings(difficulty=3.0))]
    assert [second.decode(x) for x in arrays] == [fresh.decode(x) for x in arrays]
    assert [first.decode(x) for x in arrays] != [second.decode(x) for x in arrays]


def test_flashlight_reweighting_keeps_its_lexicon_trie(vocab, arpa):
    first = build(FlashlightDecoder, vocab, lm=str(arpa))
    assert first.reconfigure(alpha=1.5)._trie is first._trie
    assert build(CtcBeamDecoder, vocab, lm=str(arpa)).reconfigure(beam_width=8).config.get("beam_width") == 8
