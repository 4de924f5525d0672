"""Test material for `decode cache`, made offline: espeak-ng speech in a LibriSpeech layout and tiny CTC models.

The models are random (untrained) but real `Wav2Vec2ForCTC`s with wav2vec2's 7-layer conv stack (about 50 frames/s),
saved with `save_pretrained` next to a `Wav2Vec2Processor` (feature extractor + CTC tokenizer from a vocab.json).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np

from logits.vocabulary import WAV2VEC2_ENGLISH_LABELS

# LibriSpeech-style ids: SPEAKER-CHAPTER-UTTERANCE. Lengths differ so that batches need padding.
UTTERANCES = {
    "1089-134686-0000": "HE HOPED THERE WOULD BE STEW FOR DINNER",
    "1089-134686-0001": "STUFF IT INTO YOU",
    "1089-134686-0002": "HELLO BERTIE ANY GOOD IN YOUR MIND",
    "1089-134686-0003": "NUMBER TEN FRESH NELLY IS WAITING ON YOU GOOD NIGHT HUSBAND",
    "121-121726-0000": "ALSO A POPULAR CONTRIVANCE",
    "121-121726-0001": "HARANGUE THE TIRESOME PRODUCT OF A TIRELESS TONGUE",
    "121-121726-0002": "ANGOR PAIN PAINFUL TO HEAR",
}
# This one stays at espeak-ng's own 22,050 Hz, to exercise resampling.
AT_22050 = "121-121726-0001"


def have_tools() -> bool:
    return shutil.which("espeak-ng") is not None and shutil.which("sox") is not None


def speak(text: str, wav: Path) -> Path:
    """espeak-ng's voice saying `text` (a 22,050 Hz mono WAV)."""
    subprocess.run(["espeak-ng", "-w", str(wav), text.lower()], check=True, capture_output=True)
    return wav


def sox(source: Path, target: Path, *effects: str, rate: int | None = None, channels: int | None = None) -> Path:
    """Convert with sox (format from the extension), optionally to another rate / channel count."""
    options = (["-r", str(rate)] if rate else []) + (["-c", str(channels)] if channels else [])
    subprocess.run(["sox", str(source), *options, str(target), *effects], check=True, capture_output=True)
    return target


def build_librispeech(root: Path, utterances: dict[str, str] = UTTERANCES, keep_22050: str | None = AT_22050) -> Path:
    """root/SPEAKER/CHAPTER/ID.flac (16 kHz, but `keep_22050` at 22,050 Hz) and SPEAKER-CHAPTER.trans.txt."""
    scratch = root / "_wav"
    scratch.mkdir(parents=True, exist_ok=True)
    by_chapter: dict[tuple[str, str], list[str]] = {}
    for utt_id, text in sorted(utterances.items()):
        speaker, chapter, _ = utt_id.split("-")
        folder = root / speaker / chapter
        folder.mkdir(parents=True, exist_ok=True)
        wav = speak(text, scratch / f"{utt_id}.wav")
        sox(wav, folder / f"{utt_id}.flac", rate=None if utt_id == keep_22050 else 16000)
        by_chapter.setdefault((speaker, chapter), []).append(f"{utt_id} {text}")
    for (speaker, chapter), lines in by_chapter.items():
        (root / speaker / chapter / f"{speaker}-{chapter}.trans.txt").write_text("\n".join(lines) + "\n")
    shutil.rmtree(scratch)
    return root


def write_vocab(path: Path, labels=WAV2VEC2_ENGLISH_LABELS) -> Path:
    path.write_text(json.dumps({label: i for i, label in enumerate(labels)}), encoding="utf-8")
    return path


def build_tiny_model(folder: Path, attention_mask: bool, labels=WAV2VEC2_ENGLISH_LABELS, seed: int = 0) -> Path:
    """A random 2-layer Wav2Vec2ForCTC + processor, saved in `folder`.

    attention_mask=True is shaped like wav2vec2-large-960h-lv60-self (layer norm in every conv layer, stable layer
    norm, feature extractor returns an attention mask); False like wav2vec2-base-960h (group norm, no mask).
    """
    import torch
    from transformers import (
        Wav2Vec2Config,
        Wav2Vec2CTCTokenizer,
        Wav2Vec2FeatureExtractor,
        Wav2Vec2ForCTC,
        Wav2Vec2Processor,
    )

    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = Wav2Vec2CTCTokenizer(str(write_vocab(folder / "labels.json", labels)))
    extractor = Wav2Vec2FeatureExtractor(sampling_rate=16000, return_attention_mask=attention_mask, do_normalize=True)
    Wav2Vec2Processor(feature_extractor=extractor, tokenizer=tokenizer).save_pretrained(folder)
    (folder / "labels.json").unlink()
    config = Wav2Vec2Config(
        vocab_size=len(labels),
        hidden_size=48,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        conv_dim=(32,) * 7,
        conv_stride=(5, 2, 2, 2, 2, 2, 2),
        conv_kernel=(10, 3, 3, 3, 3, 2, 2),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=4,
        feat_extract_norm="layer" if attention_mask else "group",
        do_stable_layer_norm=attention_mask,
        pad_token_id=0,
    )
    torch.manual_seed(seed)
    model = Wav2Vec2ForCTC(config)
    with torch.no_grad():  # a larger output layer than the default init: peakier, more varied log-probs
        model.lm_head.weight.mul_(20.0)
    model.save_pretrained(folder)
    return folder


def unbatched_log_probs(model_dir: Path, waveform: np.ndarray) -> np.ndarray:
    """The reference: one utterance through the Hugging Face model on its own, no padding, no code of ours."""
    import torch
    from transformers import Wav2Vec2FeatureExtractor

    model = _cached_model(model_dir)
    extractor = Wav2Vec2FeatureExtractor.from_pretrained(model_dir)
    inputs = extractor(waveform, sampling_rate=16000, return_tensors="pt")
    with torch.no_grad():
        return torch.log_softmax(model(inputs.input_values).logits[0], dim=-1).numpy()


_MODELS: dict = {}


def _cached_model(model_dir: Path):
    from transformers import Wav2Vec2ForCTC

    if model_dir not in _MODELS:
        _MODELS[model_dir] = Wav2Vec2ForCTC.from_pretrained(model_dir).eval()
    return _MODELS[model_dir]


# The encoder of the tiny Parakeet and LASR models: two small conformer layers, no dropout.
TINY_CONFORMER = {
    "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 2,
    "intermediate_size": 48, "subsampling_conv_channels": 16, "conv_kernel_size": 5, "layerdrop": 0.0,
    "dropout": 0.0, "activation_dropout": 0.0, "attention_dropout": 0.0,
}


def build_tiny_filterbank_model(folder: Path, kind: str, labels=WAV2VEC2_ENGLISH_LABELS, seed: int = 0,
                                pieces=None) -> Path:
    """A random tiny CTC model that reads filterbank features (`input_features`), saved with its feature extractor
    and a character tokenizer: kind "w2v-bert" (Wav2Vec2BertForCTC, 50 frames/s), "parakeet" (ParakeetForCTC, 8x
    subsampling: 12.5 frames/s) or "lasr" (LasrForCTC, 4x subsampling: 25 frames/s).

    `pieces`, a `tokenizers.Tokenizer` (acoustic.pieces.train_tokenizer), makes a parakeet a subword model as the
    real ones are: its SentencePiece tokenizer, with the CTC blank as the pad token after the last piece."""
    import torch
    from transformers import (
        LasrCTCConfig,
        LasrFeatureExtractor,
        LasrForCTC,
        ParakeetCTCConfig,
        ParakeetFeatureExtractor,
        ParakeetForCTC,
        SeamlessM4TFeatureExtractor,
        Wav2Vec2BertConfig,
        Wav2Vec2BertForCTC,
        Wav2Vec2CTCTokenizer,
    )

    folder.mkdir(parents=True, exist_ok=True)
    if pieces is not None:
        from transformers import ParakeetTokenizer

        if kind != "parakeet":
            raise ValueError("pieces are for the parakeet kind")
        tokenizer = ParakeetTokenizer(tokenizer_object=pieces, unk_token="<unk>", pad_token="<blank>")
        tokenizer.save_pretrained(folder)
        labels = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
        blank = tokenizer.pad_token_id
    else:
        Wav2Vec2CTCTokenizer(str(write_vocab(folder / "labels.json", labels))).save_pretrained(folder)
        (folder / "labels.json").unlink()
        blank = 0
    torch.manual_seed(seed)
    if kind == "w2v-bert":
        SeamlessM4TFeatureExtractor(sampling_rate=16000).save_pretrained(folder)
        model = Wav2Vec2BertForCTC(Wav2Vec2BertConfig(
            vocab_size=len(labels), pad_token_id=0, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
            intermediate_size=48, output_hidden_size=32, conv_depthwise_kernel_size=5,
            position_embeddings_type="rotary", feature_projection_input_dim=160, layerdrop=0.0))
    elif kind == "lasr":
        LasrFeatureExtractor(sampling_rate=16000).save_pretrained(folder)
        model = LasrForCTC(LasrCTCConfig(vocab_size=len(labels), pad_token_id=0, encoder_config=TINY_CONFORMER))
    elif kind == "parakeet":
        ParakeetFeatureExtractor(sampling_rate=16000).save_pretrained(folder)
        model = ParakeetForCTC(ParakeetCTCConfig(vocab_size=len(labels), pad_token_id=blank,
                                                 encoder_config=TINY_CONFORMER))
    else:
        raise ValueError(kind)
    model.eval()
    model.save_pretrained(folder)
    return folder


def unbatched_filterbank_log_probs(model_dir: Path, waveform: np.ndarray) -> np.ndarray:
    """The reference for a filterbank model: one utterance through its own extractor and model, nothing of ours."""
    import torch
    from transformers import AutoFeatureExtractor, AutoModelForCTC

    model = AutoModelForCTC.from_pretrained(model_dir).eval()
    extractor = AutoFeatureExtractor.from_pretrained(model_dir)
    inputs = extractor(waveform, sampling_rate=16000, return_tensors="pt")
    with torch.no_grad():
        logits = model(input_features=inputs["input_features"]).logits[0]
    return torch.log_softmax(logits, dim=-1).numpy()
