"""The default data of `decode demo` and `decode bench --default`: built once when missing, checked when found."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from acoustic.synth import SynthSettings, synthesize_store
from experiments.bench.default_data import HARD_DIFFICULTY
from helpers import LM_SENTENCES, tiny_defaults
from logits.errors import LabError
from logits.store import LogitsStore


@pytest.fixture()
def defaults(tmp_path, monkeypatch):
    return tiny_defaults(tmp_path, monkeypatch)


def test_builds_missing_stores_once(defaults):
    regimes = defaults.ensure_stores()
    assert [name for name, _ in regimes] == ["default", "hard", "subword"]
    difficulties = [LogitsStore.open(path).provenance["synth"]["difficulty"] for _, path in regimes]
    assert difficulties == [1.0, HARD_DIFFICULTY, 1.0]
    kinds = [LogitsStore.open(path).vocabulary.kind for _, path in regimes]
    assert kinds == ["character", "character", "sentencepiece"]
    stamp = (regimes[1][1] / "store.json").stat().st_mtime_ns
    defaults.ensure_stores()
    assert (regimes[1][1] / "store.json").stat().st_mtime_ns == stamp


def test_refuses_a_store_of_another_difficulty(defaults):
    hard_path = defaults.stores["hard"].path
    synthesize_store(LM_SENTENCES[:2], hard_path, settings=SynthSettings(difficulty=1.0))
    with pytest.raises(LabError, match="difficulty"):
        defaults.ensure_stores()


def test_warns_about_a_store_of_older_rates(defaults):
    default_path = defaults.stores["default"].path
    synthesize_store(LM_SENTENCES[:2], default_path, settings=SynthSettings(confusion=0.03))
    said = []
    defaults.ensure_stores(say=said.append)
    assert any("confusion=0.03" in line and "Delete" in line for line in said)


def test_an_interrupted_store_is_made_again(defaults):
    default_path = defaults.stores["default"].path
    (default_path / "shards").mkdir(parents=True)
    (default_path / "pending.json").write_text("{}")
    said = []
    assert defaults.ensure_store("default", say=said.append) == default_path
    assert len(LogitsStore.open(default_path)) == 4
    assert any("incomplete" in line for line in said)


def test_builds_a_missing_lm_once(defaults, monkeypatch):
    built = []

    def build(out_dir):
        built.append(Path(out_dir))
        return SimpleNamespace(binary=Path(out_dir) / "tiny.arpa", heldout=Path(out_dir) / "heldout.txt")

    monkeypatch.setattr("experiments.bench.default_data.read_artifacts", lambda out_dir: None)
    monkeypatch.setattr("experiments.bench.default_data.build_default_lm", build)
    assert defaults.ensure_lm() == defaults.lm_dir / "tiny.arpa"
    defaults.ensure_stores()
    assert built == [defaults.lm_dir]
