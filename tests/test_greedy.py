import numpy as np
import pytest

from decoders import DecoderConfig, build_decoder
from decoders.errors import DecoderConfigError
from decoders.greedy import GreedyDecoder
from helpers import peaky
from logits.errors import LogitsError


@pytest.fixture
def greedy(vocab):
    return GreedyDecoder(DecoderConfig("greedy"), vocab)


def test_collapses_repeats_and_drops_blanks(greedy, vocab):
    # Columns: H H blank E L blank L L O | W  -> "HELLO W"
    index = {label: i for i, label in enumerate(vocab.labels)}
    path = [index[c] for c in "HH"] + [0] + [index["E"], index["L"], 0, index["L"], index["L"], index["O"], 4, index["W"]]
    logprobs = np.full((len(path), vocab.size), -20.0, np.float32)
    logprobs[np.arange(len(path)), path] = 0.0
    hyp = greedy.decode(logprobs)
    assert hyp.text == "HELLO W"
    assert [(w.word, w.start, w.end) for w in hyp.words] == [("HELLO", 0, 9), ("W", 10, 11)]
    assert hyp.acoustic_score == pytest.approx(0.0)


def test_spells_clean_input(greedy, vocab):
    assert greedy.decode(peaky(vocab, "THE CAT SAT ON THE MAT")).text == "THE CAT SAT ON THE MAT"


def test_empty_all_blank_and_single_frame(greedy, vocab):
    assert greedy.decode(np.zeros((0, vocab.size), np.float32)).text == ""
    blank = np.full((5, vocab.size), -10.0, np.float32)
    blank[:, vocab.blank] = 0.0
    assert greedy.decode(blank).text == ""
    one = np.full((1, vocab.size), -10.0, np.float32)
    one[0, 7] = 0.0
    assert greedy.decode(one).text == "A"


def test_bad_input_is_a_clear_error(greedy, vocab):
    nan = peaky(vocab, "A")
    nan[1, 2] = np.nan
    with pytest.raises(LogitsError, match="NaN at frame 1"):
        greedy.decode(nan)
    with pytest.raises(LogitsError, match="has 31 columns"):
        greedy.decode(np.zeros((3, 31), np.float32))
    with pytest.raises(LogitsError, match=r"\[frames, 32\]"):
        greedy.decode(np.zeros((3,), np.float32))


def test_config_is_recorded_and_validated(vocab):
    decoder = build_decoder(DecoderConfig("greedy"), vocab)
    assert decoder.config.to_dict() == {"name": "greedy", "params": {}}
    with pytest.raises(DecoderConfigError, match="no parameter"):
        build_decoder(DecoderConfig("greedy", {"alpha": 1}), vocab)
    with pytest.raises(DecoderConfigError, match="unknown decoder 'nope'"):
        build_decoder(DecoderConfig("nope"), vocab)


def test_config_digest_ignores_order():
    a = DecoderConfig("beam", {"alpha": 0.5, "beta": 1.0, "hotwords": ["X"]})
    b = DecoderConfig("beam", {"hotwords": ("X",), "beta": 1.0, "alpha": 0.5})
    assert a == b and a.digest() == b.digest() and hash(a) == hash(b)
    assert a.replace(alpha=0.7).get("alpha") == 0.7 and a.get("alpha") == 0.5
    assert DecoderConfig.from_dict(a.to_dict()) == a


def test_whole_store_path_equals_one_at_a_time(tmp_path, vocab, greedy):
    from acoustic.synth import SynthSettings, synthesize_all
    from logits.store import StoreWriter

    pairs = list(synthesize_all(["THE CAT SAT", "A DOG", "ALL'S WELL", "HE SAW"], vocab, seed=2,
                                settings=SynthSettings(difficulty=3)))
    with StoreWriter(tmp_path / "s", vocab, 50.0, shard_frames=150) as writer:  # several shards
        for i, (_, array) in enumerate(pairs):
            writer.add(f"u{i}", array)
            writer.add(f"empty{i}", np.zeros((0, vocab.size), np.float32))
    store = writer.store
    assert len({u.shard for u in store.utterances}) > 1
    assert greedy.decode_store(store) == [greedy.decode(a) for _, a in store]


def _odd_inputs(vocab):
    """Arrays that exercise the kernels' corners: ties, -inf columns, a run across a blank, all blank, one frame."""
    rng = np.random.default_rng(7)
    tie = np.zeros((3, vocab.size), np.float32)  # every column equal: the first (the blank) wins
    two_way = np.full((2, vocab.size), -5.0, np.float32)
    two_way[:, [9, 5]] = -1.0  # N and E tie: the lower column wins
    ruled_out = rng.normal(size=(40, vocab.size)).astype(np.float32)
    ruled_out[:, ::3] = -np.inf
    return [
        rng.normal(size=(300, vocab.size)).astype(np.float32) * 3,
        tie, two_way, ruled_out,
        peaky(vocab, "ALL'S WELL THAT ENDS WELL"),
        np.zeros((0, vocab.size), np.float32),
        peaky(vocab, "A")[:1],
    ]


def _both_kernels(vocabulary, arrays):
    from decoders.greedy import native_kernel, numpy_kernel

    frames = np.concatenate(arrays)
    ends = np.cumsum([a.shape[0] for a in arrays])
    starts = ends - [a.shape[0] for a in arrays]
    native = native_kernel(vocabulary)
    assert native is not None, "the compiled extension is missing: run `decode native build`"
    return native(frames, starts, ends), numpy_kernel(vocabulary)(frames, starts, ends)


@pytest.mark.parametrize("labels", [
    None,  # wav2vec2's 32 labels
    ("<pad>", "|", "A", "B", "É", "<unk>", "C"),  # 7 columns: the kernel's tail past its 4-column steps
    ("<pad>", "A", "B", "C", "D"),  # no word delimiter: one word per utterance
])
def test_compiled_and_numpy_kernels_agree(vocab, labels):
    from logits.vocabulary import Vocabulary

    vocabulary = vocab if labels is None else Vocabulary.from_labels(labels)
    rng = np.random.default_rng(3)
    arrays = _odd_inputs(vocab) if labels is None else [
        rng.normal(size=(n, vocabulary.size)).astype(np.float32) * 2 for n in (0, 1, 17, 250)
    ]
    native, reference = _both_kernels(vocabulary, arrays)
    assert native.texts == reference.texts and native.bad_utterance == reference.bad_utterance == -1
    assert native.word_frames.tolist() == reference.word_frames.tolist()
    assert native.word_offsets.tolist() == reference.word_offsets.tolist()
    np.testing.assert_allclose(native.scores, reference.scores, rtol=1e-9)
    if labels is None:
        assert native.texts[1:3] == ["", "E"] and native.texts[4] == "ALL'S WELL THAT ENDS WELL"
        assert native.texts[5] == "" and native.scores[5] == 0.0
    if labels and "É" in labels:
        assert any("É" in text for text in native.texts)


def test_compiled_kernel_reports_the_first_bad_utterance(vocab):
    arrays = _odd_inputs(vocab)
    arrays[3][5, 2] = np.inf
    arrays[4][0, :] = -np.inf
    native, reference = _both_kernels(vocab, arrays)
    assert native.bad_utterance == reference.bad_utterance == 3


@pytest.mark.parametrize("compiled", [True, False])
def test_bad_value_in_a_store_names_the_utterance(tmp_path, vocab, monkeypatch, compiled):
    import decoders.greedy as greedy_module
    from logits.store import LogitsStore, StoreWriter

    if not compiled:
        monkeypatch.setattr(greedy_module, "native_kernel", lambda vocabulary: None)
    with StoreWriter(tmp_path / "s", vocab, 50.0) as writer:
        for i, text in enumerate(["THE CAT", "A DOG", "HE SAW"]):
            writer.add(f"u{i}", peaky(vocab, text))
    store = LogitsStore.open(tmp_path / "s")
    row = store.utterances[1].offset + 4
    shard = np.load(tmp_path / "s" / "shards" / "00000.npy", mmap_mode="r+")
    shard[row, 6] = np.nan  # a store damaged after it was written
    shard.flush()
    del shard
    decoder = GreedyDecoder(DecoderConfig("greedy"), vocab)
    assert decoder.kernel == ("compiled" if compiled else "numpy")
    with pytest.raises(LogitsError, match=r"utterance 'u1' of .*NaN at frame 4, column 6"):
        decoder.decode_store(LogitsStore.open(tmp_path / "s"))


def test_words_are_built_from_the_frames_on_demand(greedy, vocab):
    from decoders.hypothesis import Hypothesis, frames_array

    hyp = greedy.decode(peaky(vocab, "THE CAT"))
    assert hyp.word_frames.shape == (2, 2) and not hyp.word_frames.flags.writeable
    assert [w.word for w in hyp.words] == ["THE", "CAT"] and hyp.words[0].end <= hyp.words[1].start
    assert hyp.to_dict()["words"] == [[w.word, w.start, w.end] for w in hyp.words]
    same = Hypothesis(hyp.text, hyp.score, hyp.acoustic_score, hyp.lm_score, frames_array(hyp.word_frames.tolist()))
    assert same == hyp and Hypothesis(hyp.text, hyp.score, hyp.acoustic_score, hyp.lm_score) != hyp
    with pytest.raises(ValueError):  # frames for more words than the text has
        Hypothesis("ONE", word_frames=frames_array([(0, 1), (2, 3)])).words
