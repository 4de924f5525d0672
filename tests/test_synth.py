import numpy as np

from acoustic.synth import SynthSettings, synthesize_store
from decoders.config import DecoderConfig
from decoders.greedy import GreedyDecoder

SENTENCES = ["IT IS A TRUTH UNIVERSALLY ACKNOWLEDGED", "HELLO WORLD", "ALL'S WELL THAT ENDS WELL"]


def test_same_seed_same_store_other_seed_other_store(tmp_path):
    a = synthesize_store(SENTENCES, tmp_path / "a", seed=3)
    b = synthesize_store(SENTENCES, tmp_path / "b", seed=3)
    c = synthesize_store(SENTENCES, tmp_path / "c", seed=4)
    assert a.fingerprint == b.fingerprint != c.fingerprint


def test_looks_like_a_peaky_ctc_model(tmp_path):
    store = synthesize_store(SENTENCES * 10, tmp_path / "s", seed=0)
    logprobs = np.concatenate([a for _, a in store])
    assert np.allclose(np.exp(logprobs).sum(axis=1), 1.0, atol=1e-4)
    blank_share = (logprobs.argmax(axis=1) == store.vocabulary.blank).mean()
    assert 0.5 < blank_share < 0.85, blank_share
    chars = sum(len(s) for s in SENTENCES * 10)
    assert 2.5 < store.total_frames / chars < 5.0  # ~50 frames/s at ~12-18 characters/s
    assert store.references[1] == "HELLO WORLD" and store.frames_per_second == 50.0


def test_errors_grow_with_difficulty(tmp_path, vocab):
    greedy = GreedyDecoder(DecoderConfig("greedy"), vocab)

    def char_errors(store):
        wrong = 0
        for utt, a in store:
            hyp = greedy.decode(a).text
            wrong += sum(x != y for x, y in zip(hyp, utt.reference)) + abs(len(hyp) - len(utt.reference))
        return wrong

    clean = synthesize_store(SENTENCES * 20, tmp_path / "clean", settings=SynthSettings(difficulty=0))
    easy = synthesize_store(SENTENCES * 20, tmp_path / "easy", settings=SynthSettings(difficulty=1))
    hard = synthesize_store(SENTENCES * 20, tmp_path / "hard", settings=SynthSettings(difficulty=3))
    assert char_errors(clean) == 0
    assert 0 < char_errors(easy) < char_errors(hard)


def test_text_is_cleaned_into_the_alphabet(tmp_path):
    store = synthesize_store(["Hello, world! 3 cats.", "", "   "], tmp_path / "s")
    assert store.references == ["HELLO WORLD THREE CATS"]  # the one text rule spells numbers (logits/text.py)
