"""The training recipe (`decode train`, `make model`) at toy scale: held-out text stays out, runs resume, the model
loads as any transformers CTC model does."""

from __future__ import annotations

import csv
import random

import pytest

from audio_fixtures import have_tools

if not have_tools():
    pytest.skip("espeak-ng and sox are needed to make training speech", allow_module_level=True)
pytest.importorskip("transformers")

from acoustic.train import TrainingError, TrainSettings, train_model, train_and_dev_sentences  # noqa: E402

WORDS = "THE CAT DOG SAT ON A MAT LOG SHE SAW HE RAN TO BIG RED".split()
TOY = dict(sentences=12, dev_sentences=4, eval_every=2, checkpoint_every=2, layers=1, hidden_size=16, heads=2,
           intermediate_size=16, batch_frames=1200)


@pytest.fixture()
def lm_dir(tmp_path):
    rng = random.Random(0)
    sentences = sorted({" ".join(rng.choice(WORDS) for _ in range(rng.randint(4, 7))) for _ in range(60)})
    folder = tmp_path / "lm"
    folder.mkdir()
    (folder / "austen.txt").write_text(". ".join(s.capitalize() for s in sentences) + ".", encoding="utf-8")
    (folder / "heldout.txt").write_text("\n".join(sentences[:10]) + "\n", encoding="utf-8")
    return folder


def test_heldout_sentences_never_reach_training(lm_dir):
    held = set((lm_dir / "heldout.txt").read_text().splitlines())
    train, dev = train_and_dev_sentences(TrainSettings(**TOY), lm_dir)
    assert len(train) == 12 and len(dev) == 4 and not (set(train) | set(dev)) & held
    assert not set(train) & set(dev)
    assert train_and_dev_sentences(TrainSettings(**TOY), lm_dir) == (train, dev)  # seeded
    with pytest.raises(TrainingError, match="usable ones"):
        train_and_dev_sentences(TrainSettings(**{**TOY, "sentences": 1000}), lm_dir)


def test_a_run_resumes_from_its_checkpoint_and_saves_a_loadable_model(lm_dir, tmp_path):
    import torch
    from transformers import AutoModelForCTC, AutoProcessor

    work, out = tmp_path / "work", tmp_path / "model"
    train_model(TrainSettings(**TOY, steps=4), work, out, lm_dir=lm_dir)  # stopped after 4 steps ...
    train_model(TrainSettings(**TOY, steps=6), work, out, lm_dir=lm_dir)  # ... and continued to 6
    with open(work / "train_log.csv", encoding="utf-8") as handle:
        assert [int(row["step"]) for row in csv.DictReader(handle)] == [1, 2, 3, 4, 5, 6]
    assert (out / "training.png").read_bytes()[:4] == b"\x89PNG" and (out / "model.safetensors").is_file()
    model, processor = AutoModelForCTC.from_pretrained(out), AutoProcessor.from_pretrained(out)
    assert type(model).__name__ == "Wav2Vec2BertForCTC" and len(processor.tokenizer) == 32
    features = processor.feature_extractor(torch.zeros(16000).numpy(), sampling_rate=16000, return_tensors="pt")
    assert model(input_features=features["input_features"]).logits.shape[-1] == 32
    with pytest.raises(TrainingError, match="other settings.*seed"):
        train_model(TrainSettings(**TOY, steps=6, seed=1), work, out, lm_dir=lm_dir)
