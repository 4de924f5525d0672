"""`decode cache` for CTC models that read filterbank features (Wav2Vec2-BERT, Parakeet) rather than waveforms:
frame counts and frame rate from the model, batched equal to unbatched (the attention mask is passed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from audio_fixtures import (
    UTTERANCES,
    build_librispeech,
    build_tiny_filterbank_model,
    have_tools,
    unbatched_filterbank_log_probs,
)

if not have_tools():
    pytest.skip("espeak-ng and sox are needed to make test speech", allow_module_level=True)
pytest.importorskip("transformers", reason="decode cache needs transformers")

import soundfile  # noqa: E402
import torch  # noqa: E402

from acoustic.audio import resample  # noqa: E402
from acoustic.cache import cache_logits  # noqa: E402
from logits.store import LogitsStore  # noqa: E402

# kind -> frames per second: the extractor's 10 ms hop times its frame stacking (2) or the encoder's subsampling (8).
KINDS = {"w2v-bert": 50.0, "parakeet": 12.5}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def libri(tmp_path_factory) -> Path:
    return build_librispeech(tmp_path_factory.mktemp("audio") / "LibriSpeech" / "test-tiny")


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_filterbank_models_cache_batched_exactly_as_unbatched(kind, libri, tmp_path):
    model = build_tiny_filterbank_model(tmp_path / kind, kind)
    report = cache_logits(str(model), libri, tmp_path / "store", batch_size=3, progress=False)
    store = LogitsStore.open(report.store)
    assert sorted(store.ids) == sorted(UTTERANCES) and store.frames_per_second == KINDS[kind]
    assert store.provenance["padding"] == "attention_mask"
    for utt in store.utterances:
        speaker, chapter, _ = utt.id.split("-")
        waveform, rate = soundfile.read(libri / speaker / chapter / f"{utt.id}.flac", dtype="float32")
        reference = unbatched_filterbank_log_probs(model, resample(waveform, rate, 16000))
        assert store[utt.id].shape == reference.shape, utt.id  # the model's own frame count, no padding frames
        np.testing.assert_allclose(store[utt.id], reference, atol=2e-5, err_msg=utt.id)
        assert abs(utt.frames / KINDS[kind] - waveform.shape[0] / rate) < 0.25  # the rate matches the audio
