"""Every file is checked for its kind before it is parsed: each bad file of issue 23's table gets one `error:` line
naming the file (and the line, key or utterance) with what was expected and what it holds, exit status 2, and
leaves nothing behind; outputs are checked before the work."""

from __future__ import annotations

import json
import shutil
import stat

import numpy as np
import pytest

from logits.store import METADATA_HASH, _metadata_hash
from test_errors import fill, invoke, one_error, small_disk  # noqa: F401 (small_disk: a fixture)

BINARY = bytes(range(256)) * 4  # NUL bytes and invalid UTF-8: what an .npz, an LM binary or an image holds


def rewrite_manifest(store_path, change) -> None:
    """Edit store.json and recompute its metadata hash, as someone covering their tracks would."""
    path = store_path / "store.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    manifest[METADATA_HASH] = _metadata_hash(manifest)
    path.write_text(json.dumps(manifest))


@pytest.fixture()
def logits_npz(tmp_path):
    path = tmp_path / "logits.npz"
    np.savez(path, u1=np.random.default_rng(0).normal(size=(12, 32)).astype(np.float32))
    return path


def test_an_npz_of_pickled_objects_is_refused_unloaded_and_leaves_no_folder(tmp_path):
    np.savez(tmp_path / "objects.npz", u1=np.array([{"a": 1}], dtype=object))
    one_error(invoke("import", tmp_path / "objects.npz", "--labels", "wav2vec2", "--out", tmp_path / "store"),
              "objects.npz", "'u1' holds Python objects (a pickle)")
    assert not (tmp_path / "store").exists()


def test_an_npz_member_cut_short_leaves_no_pending_store(tmp_path, logits_npz):
    cut = tmp_path / "cut.npz"
    data = logits_npz.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    one_error(invoke("import", cut, "--labels", "wav2vec2", "--out", tmp_path / "store"), "cut.npz")
    assert not (tmp_path / "store").exists()


def test_binary_labels_and_transcripts_are_named_as_binary(tmp_path, logits_npz):
    (tmp_path / "labels.txt").write_bytes(BINARY)
    one_error(invoke("import", logits_npz, "--labels", tmp_path / "labels.txt", "--out", tmp_path / "store"),
              f"labels file {tmp_path / 'labels.txt'} is a binary file (it holds NUL bytes")
    (tmp_path / "vocab.json").write_text("[1, 2]")
    one_error(invoke("import", logits_npz, "--labels", tmp_path / "vocab.json", "--out", tmp_path / "store"),
              "vocab.json: expected a JSON object of token -> id", "found a list [1, 2]")
    (tmp_path / "refs.txt").write_bytes("u1 CAF\xc9\n".encode("latin-1"))
    one_error(invoke("import", logits_npz, "--labels", "wav2vec2", "--references", tmp_path / "refs.txt", "--out",
                     tmp_path / "store"), "refs.txt is not UTF-8 text (invalid continuation byte at byte 6)")
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize("rate", ["0", "-50", "nan", "inf"])
def test_a_frame_rate_that_cannot_be_right_is_refused_when_written(tmp_path, logits_npz, rate):
    one_error(invoke("import", logits_npz, "--labels", "wav2vec2", "--out", tmp_path / "store",
                     "--frames-per-second", rate), "frames per second must be a positive finite number")
    assert not (tmp_path / "store").exists()


def test_a_frame_rate_that_cannot_be_right_is_refused_when_read(store):
    rewrite_manifest(store.path, lambda m: m.update(frames_per_second=0))
    for command in ("info", "run"):
        one_error(invoke(command, store.path), "store.json: key 'frames_per_second'",
                  "must be a positive finite number, found 0")


@pytest.mark.parametrize("text, fragments", [
    ("[1, 2]", ("store.json: expected a JSON object, found a list [1, 2]",)),
    ("\x00\x01", ("store.json is a binary file",)),
])
def test_a_store_json_of_the_wrong_kind_is_named(store, text, fragments):
    (store.path / "store.json").write_text(text)
    one_error(invoke("info", store.path), *fragments)


@pytest.mark.parametrize("change, fragments", [
    (lambda m: m["utterances"][0].update(frames="12"), ("key 'utterances[0].frames'", "expected a non-negative "
                                                        "integer, found a string \"12\"")),
    (lambda m: m.pop("dtype"), ("key 'dtype' is missing",)),
    (lambda m: m.update(vocabulary={"labels": "ABC", "blank": 0}), ("key 'vocabulary.labels'", "a list of strings")),
    (lambda m: m["utterances"][0].update(shard=7), ("key 'utterances[0].shard'", "a shard number below 1")),
])
def test_store_json_schema_names_the_key_expected_and_found(store, change, fragments):
    rewrite_manifest(store.path, change)
    one_error(invoke("info", store.path), "store.json", *fragments)


def test_verify_says_whether_the_metadata_or_a_shard_changed(store, tmp_path):
    shutil.copytree(store.path, tmp_path / "copy")
    rewrite_manifest(store.path, lambda m: m["utterances"][0].update(reference="EDITED"))
    assert invoke("info", store.path).exit_code == 0  # the metadata hash is all that an ordinary open checks
    one_error(invoke("info", store.path, "--verify"), f"{store.path / 'store.json'}: its metadata",
              "every shard matches its recorded hash", "metadata hash recomputed")
    shard = tmp_path / "copy" / "shards" / "00000.npy"
    values = np.load(shard)
    values[0, 0] -= 1
    np.save(shard, values)
    one_error(invoke("info", tmp_path / "copy", "--verify"), f"{shard}: its frames no longer match")


def test_speech_and_synthesis_texts_follow_one_rule(tmp_path):
    (tmp_path / "binary.txt").write_bytes(BINARY)
    (tmp_path / "empty.txt").write_text("\n  \n")
    for command in ("speak", "synth"):
        one_error(invoke(command, tmp_path / "binary.txt", "--out", tmp_path / command),
                  f"text file {tmp_path / 'binary.txt'} is a binary file")
        one_error(invoke(command, tmp_path / "empty.txt", "--out", tmp_path / command),
                  f"no sentences in {tmp_path / 'empty.txt'}")
        assert not (tmp_path / command).exists()


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")
def test_unknown_voices_are_refused_up_front_listing_the_known(tmp_path):
    (tmp_path / "text.txt").write_text("THE CAT SAT\n")
    one_error(invoke("speak", tmp_path / "text.txt", "--out", tmp_path / "speech", "--voices", "en-us,nosuch"),
              "espeak-ng has no voice 'nosuch'", "en-us", "en-gb-scotland")
    assert not (tmp_path / "speech").exists()


def test_hypothesis_files_are_checked_line_by_line(tmp_path, logits_npz):
    one_error(invoke("compare", logits_npz, logits_npz), f"hypothesis file {logits_npz} is a binary file")
    good = '{"id": "a", "reference": "THE CAT", "hypothesis": "THE CAT"}\n'
    cases = {
        "list.jsonl": (good + "[1, 2]\n", "list.jsonl:2: expected a JSON object with id, reference and hypothesis",
                       "found a list [1, 2]"),
        "text.jsonl": ("not json\n", "text.jsonl:1: expected a JSON object", "found text that is not JSON"),
        "twice.jsonl": (good + "\n" + good, "twice.jsonl:3: utterance 'a' appears a second time (first on line 1)"),
        "number.jsonl": ('{"id": "a", "hypothesis": 5}\n', "number.jsonl:1: expected id a string, hypothesis a "
                                                           "string", '"hypothesis": 5'),
        "empty.jsonl": ("", "hypothesis file", "empty.jsonl holds no hypotheses"),
    }
    (tmp_path / "good.jsonl").write_text(good)
    for name, (text, *fragments) in cases.items():
        (tmp_path / name).write_text(text)
        one_error(invoke("compare", tmp_path / "good.jsonl", tmp_path / name), *fragments)


def test_an_anchor_off_the_grid_is_legitimate(store, lm, tmp_path):
    """N-best lists decoded anywhere re-rank onto the grid; with none of it decoded the heatmap says so."""
    result = invoke("sweep", store.path, "--lm", lm, "--alpha", "0.5,1", "--beta", "0,1", "--method", "rescore",
                    "--anchor", "9,9", "--out", tmp_path / "run")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "wer_heatmap.png").stat().st_size > 0
    assert "re-ranked from 32-best lists decoded at (9, 9)" in result.output


def test_outputs_are_checked_before_the_input_is_read(tmp_path, lm):
    """A missing input behind a bad --out: the --out error comes first, so no work ran before it."""
    (tmp_path / "file").write_text("x")
    missing = tmp_path / "missing.txt"
    for args in (["synth", missing], ["speak", missing], ["import", missing, "--labels", "wav2vec2"],
                 ["lm", "build", "--corpus", missing, "--order", "2"], ["export", "--store", missing, "--lm", lm]):
        one_error(invoke(*args, "--out", tmp_path / "file"), f"--out {tmp_path / 'file'} is a file; give a folder")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        if _writable(locked):
            pytest.skip("root writes into read-only folders")
        one_error(invoke("synth", missing, "--out", locked / "store"), "is not writable: permission denied")
    finally:
        locked.chmod(stat.S_IRWXU)


def _writable(folder) -> bool:
    try:
        (folder / "probe").write_text("")
    except OSError:
        return False
    (folder / "probe").unlink()
    return True


def test_lm_build_onto_a_full_disk_names_the_folder(small_disk, tmp_path):  # noqa: F811 (the fixture)
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("".join(f"THE CAT NUMBER {i} SAT ON THE MAT OF DOG {i % 7}\n" for i in range(4000)))
    fill(small_disk, leave=16 * 1024)
    error = one_error(invoke("lm", "build", "--corpus", corpus, "--order", "2", "--out", small_disk / "lm"),
                      "no space left on the device holding")
    assert str(small_disk / "lm") in error and "a file" not in error


def test_a_binary_hotword_file_is_named(store, lm, tmp_path):
    (tmp_path / "hot.txt").write_bytes(BINARY)
    one_error(invoke("hotwords", store.path, "--hotword-file", tmp_path / "hot.txt", "--lm", lm),
              f"hotword file {tmp_path / 'hot.txt'} is a binary file")


def test_what_the_long_fuzz_found_stays_fixed(store, tmp_path, logits_npz):
    """Each case a `CTC_LAB_FUZZ=long` run found, made deterministic."""
    (tmp_path / "empty.npz").write_bytes(b"")  # was EOFError, which click reports as "Aborted." with exit 1
    one_error(invoke("import", tmp_path / "empty.npz", "--labels", "wav2vec2", "--out", tmp_path / "store"),
              "empty.npz as an .npz archive")
    shard = store.path / "shards" / "00000.npy"
    data = bytearray(shard.read_bytes())
    data[60] = 0  # a NUL inside the header's Python literal: was tokenize.TokenError
    shard.write_bytes(bytes(data))
    one_error(invoke("info", store.path), "00000.npy is truncated or corrupt")
    run = tmp_path / "run"
    from experiments.sweep.results import ResultsDB

    with ResultsDB(run) as db:
        db.conn.execute("CREATE TABLE filler (x)")
        db.conn.executemany("INSERT INTO filler VALUES (?)", [("x" * 500,)] * 200)
    database = run / "results.sqlite"
    data = bytearray(database.read_bytes())
    data[4096 * 3 : 4096 * 3 + 64] = bytes(64)  # a damaged page: was "database disk image is malformed" later on
    database.write_bytes(bytes(data))
    one_error(invoke("report", run), "results.sqlite is not a readable results database")
