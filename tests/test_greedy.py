import numpy as np
import pytest

from decoders import DecoderConfig, build_decoder
from decoders.errors import DecoderConfigError, LogitsError
from decoders.greedy import GreedyDecoder
from helpers import peaky


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
    from decoders.store import StoreWriter
    from decoders.synth import SynthSettings, synthesize_all

    pairs = list(synthesize_all(["THE CAT SAT", "A DOG", "ALL'S WELL", "HE SAW"], vocab, seed=2,
                                settings=SynthSettings(difficulty=3)))
    with StoreWriter(tmp_path / "s", vocab, 50.0, shard_frames=150) as writer:  # several shards
        for i, (_, array) in enumerate(pairs):
            writer.add(f"u{i}", array)
            writer.add(f"empty{i}", np.zeros((0, vocab.size), np.float32))
    store = writer.store
    assert len({u.shard for u in store.utterances}) > 1
    assert greedy.decode_store(store) == [greedy.decode(a) for _, a in store]
