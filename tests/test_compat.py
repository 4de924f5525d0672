"""decoders.compat, pyctcdecode's API over fastbeam: the same beams as pyctcdecode 0.5.0 itself through both APIs,
its decoder folders read and written both ways, its features fastbeam lacks refused by name, and the decoder working
inside transformers' Wav2Vec2ProcessorWithLM and ASR pipeline."""

from __future__ import annotations

import multiprocessing
import warnings
from pathlib import Path

import numpy as np
import pyctcdecode
import pytest
from pyctcdecode.decoder import BeamSearchDecoderCTC
from pyctcdecode.language_model import LanguageModel, MultiLanguageModel

from acoustic.pieces import train_vocabulary
from acoustic.synth import SynthSettings, synthesize_all
from decoders import compat
from decoders.compat import CompatError, CompatWarning, FastBeamSearchDecoderCTC
from decoders.native.build import ensure_built
from helpers import LM_SENTENCES, write_bigram_arpa
from lm.kenlm_tools import ensure_kenlm_binaries, run_logged
from logits.vocabulary import WAV2VEC2_ENGLISH_LABELS, Vocabulary
from sweep_helpers import noisy
from test_fastbeam import random_logprobs, write_ngram_arpa

LOWER_LABELS = [*"abcdefghijklmnopqrstuvwxyz", "'", "|", "<unk>", "<pad>"]  # blank last, "|" for the space
HOTWORDS = ["ZEBRA", "MAT", "BLACK SWAN"]


@pytest.fixture(scope="module", autouse=True)
def compiled() -> None:
    ensure_built()


@pytest.fixture(autouse=True)
def quiet():
    # pyctcdecode logs about <s>-like labels and small unigram lists.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CompatWarning)
        yield


def upper_inputs() -> list[np.ndarray]:
    """The conftest store's utterances (noisy log-probs of the LM sentences) and noisier copies of them."""
    return [noisy(text, seed=i) for i, text in enumerate(LM_SENTENCES)] + [
        noisy(text, seed=100 + i) * 1.8 for i, text in enumerate(LM_SENTENCES)]


def lower_inputs() -> list[np.ndarray]:
    """The same utterances in the blank-last lower-case layout (<s> and </s> dropped, renormalised)."""
    columns = [WAV2VEC2_ENGLISH_LABELS.index(label.upper() if len(label) == 1 else label) for label in LOWER_LABELS]
    out = []
    for logprobs in upper_inputs():
        picked = logprobs[:, columns].astype(np.float64)
        out.append((picked - np.logaddexp.reduce(picked, axis=1, keepdims=True)).astype(np.float32))
    return out


@pytest.fixture(scope="module")
def layouts(tmp_path_factory) -> dict[str, tuple[list[str], Path, list[np.ndarray]]]:
    """name -> (labels, an ARPA LM in the labels' case, log-probs)."""
    folder = tmp_path_factory.mktemp("compat-lm")
    upper = write_bigram_arpa(folder / "upper.arpa", LM_SENTENCES)
    lower = write_bigram_arpa(folder / "lower.arpa", [s.lower() for s in LM_SENTENCES])
    return {"wav2vec2": (list(WAV2VEC2_ENGLISH_LABELS), upper, upper_inputs()),
            "blank-last-lower": (LOWER_LABELS, lower, lower_inputs())}


def both(labels, lm: Path | None, **weights):
    """pyctcdecode's decoder and ours, built by the same call."""
    arguments = {"kenlm_model_path": None if lm is None else str(lm)} | weights
    return pyctcdecode.build_ctcdecoder(labels, **arguments), compat.build_ctcdecoder(labels, **arguments)


def assert_same_beams(ours: list[tuple], reference: list[tuple]) -> None:
    """Every beam: text, word frames, logit score and combined score (the LM state slot is None in ours)."""
    assert [b[0] for b in ours] == [b[0] for b in reference]
    assert [b[-3] for b in ours] == [b[-3] for b in reference]
    for mine, theirs in zip(ours, reference):
        assert mine[-2] == pytest.approx(theirs[-2], rel=1e-12, abs=1e-9)
        assert mine[-1] == pytest.approx(theirs[-1], rel=1e-12, abs=1e-9)


@pytest.mark.parametrize("layout", ["wav2vec2", "blank-last-lower"])
@pytest.mark.parametrize("with_lm", [True, False])
@pytest.mark.parametrize("hotwords", [False, True])
def test_same_beams_and_texts_as_pyctcdecode(layouts, layout, with_lm, hotwords):
    labels, lm, inputs = layouts[layout]
    reference, ours = both(labels, lm if with_lm else None, alpha=0.7, beta=1.5)
    case = str.lower if layout == "blank-last-lower" else str
    options = {"beam_width": 24} | ({"hotwords": [case(h) for h in HOTWORDS], "hotword_weight": 6.0} if hotwords
                                    else {})
    if hotwords and with_lm:
        options["beam_prune_logp"] = -20.0  # the LM lacks ZEBRA: the lab warns at the default -10
    for logprobs in inputs:
        expected = reference.decode_beams(logprobs, **options)
        assert_same_beams(ours.decode_beams(logprobs, **options), expected)
        pruned = reference.decode_beams(logprobs, prune_history=True, **options)
        assert_same_beams(ours.decode_beams(logprobs, prune_history=True, **options), pruned)
        assert ours.decode(logprobs, **options) == reference.decode(logprobs, **options)
    expected_texts = [reference.decode(x, **options) for x in inputs]
    assert ours.decode_batch(None, inputs, **options) == expected_texts
    assert ours.decode_batch(None, inputs, threads=1, **options) == expected_texts
    assert [b[0][0] for b in ours.decode_beams_batch(None, inputs, **options)] == [
        reference.decode_beams(x, **options)[0][0] for x in inputs]


def test_beams_batch_equals_pyctcdecode_and_ignores_the_pool(layouts):
    labels, lm, inputs = layouts["wav2vec2"]
    reference, ours = both(labels, lm)
    expected = reference.decode_beams_batch(None, inputs, beam_width=16)
    with multiprocessing.get_context("fork").Pool(1) as pool:
        got = ours.decode_beams_batch(pool, inputs, beam_width=16)
        assert ours.decode_batch(pool, inputs, beam_width=16) == [beams[0][0] for beams in expected]
    assert len(got) == len(expected)
    for mine, theirs in zip(got, expected):
        assert all(len(beam) == 4 for beam in mine)  # (text, frames, logit score, score): no LM state, as theirs
        assert_same_beams(mine, theirs)


def test_decode_prunes_history_as_pyctcdecode_decode_does(layouts, tmp_path):
    """pyctcdecode's decode() searches with prune_history=True, decode_beams() without; on these inputs the two
    differ, and the facade gives each one's text."""
    labels, _, inputs = layouts["wav2vec2"]
    trigram = write_ngram_arpa(tmp_path / "tri.arpa", LM_SENTENCES, order=3)
    reference, ours = both(labels, trigram)
    vocabulary = Vocabulary.from_labels(labels)
    wide = [random_logprobs(vocabulary, 80, seed) for seed in range(6)]  # messy: many beams for the pruning to cut
    decoded = [reference.decode(x, beam_width=6) for x in inputs + wide]
    assert [ours.decode(x, beam_width=6) for x in inputs + wide] == decoded
    assert ours.decode_batch(None, inputs + wide, beam_width=6) == decoded
    unpruned = [reference.decode_beams(x, beam_width=6)[0][0] for x in inputs + wide]
    assert [b[0][0] for b in ours.decode_beams_batch(None, inputs + wide, beam_width=6)] == unpruned
    assert decoded != unpruned


def test_bpe_labels_decode_as_pyctcdecode_does():
    """SentencePiece pieces (and WordPiece ones, which pyctcdecode rewrites to "▁" style) through both APIs."""
    for kind in ("sentencepiece", "wordpiece"):
        vocabulary = train_vocabulary(LM_SENTENCES * 3, 50, kind, "ABCDEFGHIJKLMNOPQRSTUVWXYZ'")
        labels = vocabulary.decoder_labels  # the blank as "", as pyctcdecode names it
        arrays = [x for _, x in synthesize_all(LM_SENTENCES, vocabulary, seed=1, settings=SynthSettings(difficulty=4))]
        reference, ours = both(labels, None)
        for logprobs in arrays:
            assert_same_beams(ours.decode_beams(logprobs, beam_width=16), reference.decode_beams(logprobs,
                                                                                                 beam_width=16))
        assert ours.decode_batch(None, arrays) == [reference.decode(x) for x in arrays]


def test_reset_params_and_language_model_attributes(layouts):
    labels, lm, inputs = layouts["wav2vec2"]
    reference, ours = both(labels, lm)
    for decoder in (reference, ours):
        decoder.reset_params(alpha=1.2, beta=-0.5, unk_score_offset=-4.0, lm_score_boundary=False)
    for logprobs in inputs[:4]:
        assert_same_beams(ours.decode_beams(logprobs), reference.decode_beams(logprobs))
    # transformers reads and writes the weights through model_container[_model_key]
    model = ours.model_container[ours._model_key]
    assert (model.alpha, model.beta, model.unk_score_offset, model.score_boundary) == (1.2, -0.5, -4.0, False)
    model.alpha = 0.3
    reference.model_container[reference._model_key].alpha = 0.3
    assert_same_beams(ours.decode_beams(inputs[0]), reference.decode_beams(inputs[0]))
    with pytest.raises(ValueError, match="alpha must be a float"):
        ours.reset_params(alpha=1)  # as pyctcdecode: an int is refused
    with pytest.raises(CompatError):
        ours.reset_params(lm_score_boundary="yes")


def test_defaults_are_pyctcdecodes(layouts):
    labels, lm, inputs = layouts["wav2vec2"]
    reference, ours = both(labels, lm)  # beta 1.5, as pyctcdecode.constants.DEFAULT_BETA
    assert ours.model_container[ours._model_key].beta == reference.model_container[reference._model_key].beta == 1.5
    assert_same_beams(ours.decode_beams(inputs[1]), reference.decode_beams(inputs[1]))


def folder_files(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


@pytest.mark.parametrize("with_lm", [True, False])
def test_decoder_folders_load_both_ways(layouts, tmp_path, with_lm):
    labels, lm, inputs = layouts["blank-last-lower"]
    reference, ours = both(labels, lm if with_lm else None, alpha=0.8, beta=2.0, unk_score_offset=-6.0)
    (tmp_path / "ours").mkdir()
    (tmp_path / "theirs").mkdir()
    ours.save_to_dir(str(tmp_path / "ours"))
    reference.save_to_dir(str(tmp_path / "theirs"))
    assert folder_files(tmp_path / "ours") == folder_files(tmp_path / "theirs")
    for name in folder_files(tmp_path / "ours"):
        if (tmp_path / "ours" / name).is_file():
            assert (tmp_path / "ours" / name).read_bytes() == (tmp_path / "theirs" / name).read_bytes(), name
    theirs_from_ours = BeamSearchDecoderCTC.load_from_dir(str(tmp_path / "ours"))
    ours_from_theirs = FastBeamSearchDecoderCTC.load_from_dir(str(tmp_path / "theirs"))
    assert isinstance(ours_from_theirs, FastBeamSearchDecoderCTC)
    for logprobs in inputs[:5]:
        expected = reference.decode_beams(logprobs, beam_width=16)
        assert_same_beams(theirs_from_ours.decode_beams(logprobs, beam_width=16), expected)
        assert_same_beams(ours_from_theirs.decode_beams(logprobs, beam_width=16), expected)


def test_a_pyctcdecode_language_model_is_taken_over(layouts):
    labels, lm, inputs = layouts["wav2vec2"]
    reference = pyctcdecode.build_ctcdecoder(labels, str(lm), alpha=0.6, beta=0.5)
    language_model = reference.model_container[reference._model_key]
    ours = FastBeamSearchDecoderCTC(reference._alphabet, language_model)
    assert_same_beams(ours.decode_beams(inputs[2]), reference.decode_beams(inputs[2]))


def test_unsupported_features_are_named(layouts, tmp_path):
    labels, lm, inputs = layouts["wav2vec2"]
    ours = compat.build_ctcdecoder(labels, str(lm))
    with pytest.raises(CompatError, match="lm_start_state is not supported"):
        ours.decode(inputs[0], lm_start_state=object())
    with pytest.raises(CompatError, match="hotword 'zebra' is not in the labels' case"):
        ours.decode(inputs[0], hotwords=["zebra"])
    kenlm_model = ours.model_container[ours._model_key].loaded.model
    multi = MultiLanguageModel([LanguageModel(kenlm_model), LanguageModel(kenlm_model)])
    with pytest.raises(CompatError, match="MultiLanguageModel"):
        FastBeamSearchDecoderCTC(ours._alphabet, multi)
    binary = tmp_path / "lm.bin"
    binary.write_bytes(b"mmap lm " + b"\0" * 8)
    with pytest.raises(Exception, match="lm.bin"):
        compat.build_ctcdecoder(labels, str(binary))
    with pytest.raises(ValueError, match="vocabulary is size"):
        ours.decode(inputs[0][:, :-1])  # pyctcdecode's own shape check and message
    with pytest.raises(CompatError, match="beam_width"):
        ours.decode_beams(inputs[0], beam_width=0)


def test_a_binary_lm_needs_its_unigrams(layouts, tmp_path):
    labels, lm, inputs = layouts["wav2vec2"]
    binary = tmp_path / "tiny.bin"
    run_logged([ensure_kenlm_binaries().build_binary, lm, binary], "build_binary")  # `make install` built it
    with pytest.raises(CompatError, match="no unigrams were given"):
        compat.build_ctcdecoder(labels, str(binary))
    words = sorted({w for s in LM_SENTENCES for w in s.split()})
    reference, ours = both(labels, binary, unigrams=words)
    assert_same_beams(ours.decode_beams(inputs[3]), reference.decode_beams(inputs[3]))


def test_wav2vec2_processor_with_lm_and_the_asr_pipeline(layouts, tmp_path):
    pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    if not hasattr(transformers, "Wav2Vec2ProcessorWithLM"):
        pytest.skip("this transformers no longer ships Wav2Vec2ProcessorWithLM")
    import torch

    from audio_fixtures import build_tiny_model

    model_dir = build_tiny_model(tmp_path / "model", attention_mask=True)
    model = transformers.Wav2Vec2ForCTC.from_pretrained(model_dir).eval()
    extractor = transformers.Wav2Vec2FeatureExtractor.from_pretrained(model_dir)
    tokenizer = transformers.Wav2Vec2CTCTokenizer.from_pretrained(model_dir)
    labels = [token for token, _ in sorted(tokenizer.get_vocab().items(), key=lambda item: item[1])]
    _, lm, _ = layouts["wav2vec2"]
    reference, ours = both(labels, lm, alpha=0.5, beta=1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # transformers' deprecation of the processor
        processors = [transformers.Wav2Vec2ProcessorWithLM(extractor, tokenizer, decoder=d) for d in (reference, ours)]
    rng = np.random.default_rng(0)
    audio = [rng.normal(0, 0.1, n).astype(np.float32) for n in (16000, 11000)]
    inputs = extractor(audio, sampling_rate=16000, return_tensors="pt", padding=True)
    with torch.no_grad():
        logits = model(**inputs).logits.numpy()
    assert processors[1].language_model.alpha == 0.5
    single = [p.decode(logits[0], beam_width=16, output_word_offsets=True) for p in processors]
    assert single[1].text == single[0].text and single[1].word_offsets == single[0].word_offsets
    assert single[1].lm_score == pytest.approx(single[0].lm_score, rel=1e-9)
    batch = [p.batch_decode(logits, beam_width=16, alpha=0.9, num_processes=1) for p in processors]
    assert batch[1].text == batch[0].text and batch[1].logit_score == pytest.approx(batch[0].logit_score, rel=1e-9)
    assert processors[1].language_model.alpha == 0.9  # batch_decode reset it through reset_params

    outputs = []
    for decoder in (reference, ours):
        asr = transformers.pipeline("automatic-speech-recognition", model=model, tokenizer=tokenizer,
                                    feature_extractor=extractor, decoder=decoder)
        outputs.append(asr(audio[0], return_timestamps="word"))
    assert outputs[1] == outputs[0]
    assert outputs[1]["text"] and len(outputs[1]["chunks"]) == len(outputs[1]["text"].split())  # word timestamps


def test_empty_and_float64_inputs(layouts):
    labels, lm, inputs = layouts["wav2vec2"]
    reference, ours = both(labels, lm)
    empty = np.zeros((0, len(labels)), dtype=np.float32)
    # pyctcdecode scores the empty sentence with the LM; so does the facade
    assert_same_beams(ours.decode_beams(empty), reference.decode_beams(empty))
    assert_same_beams(ours.decode_beams_batch(None, [empty])[0], reference.decode_beams_batch(None, [empty])[0])
    assert ours.decode(empty) == reference.decode(empty) == ""
    torch = pytest.importorskip("torch")
    assert ours.decode_beams(torch.from_numpy(inputs[0]))[0][0] == reference.decode_beams(inputs[0])[0][0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CompatWarning)
        for logprobs in inputs[:4]:
            wide = logprobs.astype(np.float64)  # pyctcdecode searches these in float64, fastbeam in float32
            mine, theirs = ours.decode_beams(wide)[0], reference.decode_beams(wide)[0]
            assert mine[0] == theirs[0] and mine[2] == theirs[2]
            assert mine[-1] == pytest.approx(theirs[-1], abs=1e-4)
    assert [str(w.message) for w in caught] == [
        ("log-probs of dtype float64 are searched in float32 (pyctcdecode keeps the input's dtype): scores differ in "
         "about the sixth decimal, and an exact tie may resolve otherwise")]
