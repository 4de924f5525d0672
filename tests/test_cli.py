"""The `decode` command end to end: exit codes, one-line errors, --json output."""

import json

import numpy as np
from typer.testing import CliRunner

from cli.app import app
from helpers import peaky

runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_synth_then_run_greedy_json(tmp_path):
    text = tmp_path / "s.txt"
    text.write_text("THE CAT SAT ON THE MAT\nA DOG\n")
    result = invoke("synth", text, "--out", tmp_path / "store", "--difficulty", "0")
    assert result.exit_code == 0, result.output
    result = invoke("run", tmp_path / "store", "--json", "--out", tmp_path / "hyp.jsonl")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["wer"] == 0.0 and summary["cer"] == 0.0 and summary["utterances"] == 2
    assert summary["seconds"] >= 0
    rows = [json.loads(line) for line in (tmp_path / "hyp.jsonl").read_text().splitlines()]
    assert rows[1] == {"id": "synth-00001", "reference": "A DOG", "hypothesis": "A DOG", "score": rows[1]["score"]}


def test_import_npz_with_labels_and_references(tmp_path, vocab):
    arrays = {"u1": peaky(vocab, "THE CAT"), "u2": np.zeros((0, vocab.size), np.float32)}
    np.savez(tmp_path / "logits.npz", **arrays)
    (tmp_path / "refs.txt").write_text("u1 THE CAT\nu2 \n")
    result = invoke("import", tmp_path / "logits.npz", "--labels", "wav2vec2", "--references",
                    tmp_path / "refs.txt", "--out", tmp_path / "store")
    assert result.exit_code == 0, result.output
    result = invoke("run", tmp_path / "store", "--json")
    assert json.loads(result.stdout)["wer"] == 0.0


def test_import_bad_columns_is_one_line_error(tmp_path):
    np.savez(tmp_path / "logits.npz", u1=np.zeros((5, 29), np.float32))
    result = invoke("import", tmp_path / "logits.npz", "--labels", "wav2vec2", "--out", tmp_path / "store")
    assert result.exit_code == 2
    assert "utterance 'u1': has 29 columns but the vocabulary has 32 labels" in result.output
    assert "Traceback" not in result.output
    assert invoke("info", tmp_path / "store").exit_code == 2  # nothing that reads as a store was left


def test_missing_store_and_half_written_store(tmp_path, vocab):
    result = invoke("run", tmp_path / "nope")
    assert result.exit_code == 2 and "does not exist" in result.output
    (tmp_path / "half" / "shards").mkdir(parents=True)
    (tmp_path / "half" / "pending.json").write_text("{}")
    result = invoke("run", tmp_path / "half")
    assert result.exit_code == 2 and "incomplete logits store" in result.output
