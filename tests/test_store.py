import json

import numpy as np
import pytest

from helpers import peaky
from logits.errors import LogitsError, StoreError
from logits.store import LogitsStore, StoreWriter, write_store


def _arrays(vocab, n=3):
    return [peaky(vocab, text, seed=i) for i, text in enumerate(["THE CAT", "A DOG", "HE SAW"][:n])]


def test_roundtrip_memory_mapped(tmp_path, vocab):
    arrays = _arrays(vocab)
    store = write_store(tmp_path / "s", ["a", "b", "c"], arrays, vocab, references=["THE CAT", "A DOG", None])
    again = LogitsStore.open(tmp_path / "s")
    assert again.ids == ["a", "b", "c"] and again.references == ["THE CAT", "A DOG", None]
    assert isinstance(again["b"], np.memmap) or isinstance(again["b"].base, np.memmap)
    np.testing.assert_allclose(again["b"], arrays[1], atol=1e-6)
    assert again.vocabulary == vocab and again.fingerprint == store.fingerprint
    assert again.total_frames == sum(a.shape[0] for a in arrays)


def test_unnormalised_logits_are_log_softmaxed(tmp_path, vocab):
    logits = np.random.default_rng(0).normal(size=(7, vocab.size)).astype(np.float32) * 3
    store = write_store(tmp_path / "s", ["x"], [logits], vocab)
    np.testing.assert_allclose(np.exp(store["x"]).sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(store["x"].argmax(axis=1), logits.argmax(axis=1))


def test_fingerprint_depends_on_content_not_sharding(tmp_path, vocab):
    arrays = _arrays(vocab)
    one = write_store(tmp_path / "one", ["a", "b", "c"], arrays, vocab)
    writer = StoreWriter(tmp_path / "many", vocab, 50.0, shard_frames=1)
    with writer:
        for i, a in zip("abc", arrays):
            writer.add(i, a)
    assert len(list((tmp_path / "many" / "shards").glob("*.npy"))) == 3
    assert writer.store.fingerprint == one.fingerprint
    changed = write_store(tmp_path / "changed", ["a", "b", "c"], [arrays[0], arrays[1], arrays[0]], vocab)
    assert changed.fingerprint != one.fingerprint


def test_interrupted_store_is_refused_then_resumed(tmp_path, vocab):
    arrays = _arrays(vocab)
    with pytest.raises(KeyboardInterrupt):
        with StoreWriter(tmp_path / "s", vocab, 50.0, shard_frames=1) as writer:
            writer.add("a", arrays[0])
            raise KeyboardInterrupt
    with pytest.raises(StoreError, match="incomplete"):
        LogitsStore.open(tmp_path / "s")
    with StoreWriter(tmp_path / "s", vocab, 50.0) as writer:
        assert writer.done_ids == {"a"} and writer.resumed == 1
        for i, a in zip("bc", arrays[1:]):
            writer.add(i, a)
    assert writer.store.ids == ["a", "b", "c"]
    assert writer.store.fingerprint == write_store(tmp_path / "ref", list("abc"), arrays, vocab).fingerprint


def test_truncated_shard_is_refused(tmp_path, vocab):
    write_store(tmp_path / "s", ["a"], _arrays(vocab, 1), vocab)
    shard = tmp_path / "s" / "shards" / "00000.npy"
    shard.write_bytes(shard.read_bytes()[:200])
    with pytest.raises(StoreError, match="truncated or corrupt"):
        LogitsStore.open(tmp_path / "s")


def test_bad_arrays_name_the_utterance(tmp_path, vocab):
    bad = peaky(vocab, "A CAT")
    bad[3, 5] = np.nan
    with pytest.raises(LogitsError, match=r"utterance 'u2'.*NaN at frame 3, column 5"):
        write_store(tmp_path / "s", ["u1", "u2"], [peaky(vocab, "A"), bad], vocab)
    with pytest.raises(LogitsError, match="has 30 columns but the vocabulary has 32"):
        write_store(tmp_path / "t", ["u1"], [np.zeros((4, 30), np.float32)], vocab)
    inf = peaky(vocab, "A")
    inf[0, 0] = np.inf
    with pytest.raises(LogitsError, match=r"\+inf"):
        write_store(tmp_path / "u", ["u1"], [inf], vocab)
    # A failed write leaves no store that reads as complete.
    for name in "stu":
        with pytest.raises(StoreError):
            LogitsStore.open(tmp_path / name)


def test_empty_utterance_and_duplicate_ids(tmp_path, vocab):
    store = write_store(tmp_path / "s", ["empty"], [np.zeros((0, vocab.size), np.float32)], vocab)
    assert store["empty"].shape == (0, vocab.size)
    with pytest.raises(StoreError, match="twice"):
        write_store(tmp_path / "d", ["x", "x"], _arrays(vocab, 2), vocab)


def test_existing_store_needs_overwrite(tmp_path, vocab):
    write_store(tmp_path / "s", ["a"], _arrays(vocab, 1), vocab)
    with pytest.raises(StoreError, match="already holds a complete store"):
        write_store(tmp_path / "s", ["a"], _arrays(vocab, 1), vocab)
    assert len(write_store(tmp_path / "s", ["a", "b"], _arrays(vocab, 2), vocab, overwrite=True)) == 2


def test_float16_store(tmp_path, vocab):
    store = write_store(tmp_path / "s", ["a"], _arrays(vocab, 1), vocab, dtype="float16")
    assert store["a"].dtype == np.float16
    assert json.loads((tmp_path / "s" / "store.json").read_text())["dtype"] == "float16"


def test_not_a_store(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "file.txt").write_text("hi")
    with pytest.raises(StoreError, match="not a logits store"):
        LogitsStore.open(tmp_path / "x")
    with pytest.raises(StoreError, match="does not exist"):
        LogitsStore.open(tmp_path / "nope")


def test_values_are_checked_even_when_the_writer_is_told_they_are_normalised(tmp_path, vocab):
    bad = peaky(vocab, "A CAT")
    bad[2, 4] = np.nan
    with pytest.raises(LogitsError, match=r"utterance 'u1'.*NaN at frame 2, column 4"):
        with StoreWriter(tmp_path / "s", vocab, 50.0) as writer:
            writer.add("u1", bad, normalised=True)
    # Normalised input is stored as given; other input is log-softmaxed on the way in.
    with StoreWriter(tmp_path / "t", vocab, 50.0) as writer:
        writer.add("given", peaky(vocab, "A"), normalised=True)
        writer.add("scaled", 3.0 * peaky(vocab, "A"))
    store = writer.store
    np.testing.assert_array_equal(store["given"], peaky(vocab, "A"))
    np.testing.assert_allclose(np.exp(store["scaled"]).sum(axis=1), 1.0, rtol=1e-5)
