"""The Hugging Face CTC model behind `decode cache`: any AutoModelForCTC (waveform or filterbank input) with its
feature extractor, and the store conventions derived from it (labels and blank, frame rate, attention mask).

    acoustic = load_acoustic_model("facebook/wav2vec2-large-960h", device="cuda")
    acoustic.log_probs([waveform])  # [frames, V] float32 log-softmax per waveform

The caching job (acoustic.cache) batches and resumes; this module only loads a model and runs one batch.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from logits.errors import LabError, VocabularyError
from logits.files import sha256_file
from logits.vocabulary import BLANK_NAMES, Vocabulary

COMPUTE_DTYPES = ("float32", "float16", "bfloat16")


class ModelError(LabError):
    """An acoustic model that cannot be loaded or run: a missing folder, no tokenizer or blank, an unknown device."""


@dataclass(frozen=True)
class AcousticModel:
    """A Hugging Face CTC model with its feature extractor and the store conventions derived from it."""

    name: str
    model: Any
    feature_extractor: Any
    vocabulary: Vocabulary
    sampling_rate: int
    frames_per_second: float
    uses_attention_mask: bool
    device: Any
    dtype: Any
    commit: str | None = None
    # What the network reads: "input_values" (a raw waveform: wav2vec2, HuBERT, WavLM, data2vec-audio) or
    # "input_features" (filterbank frames its feature extractor computes: Wav2Vec2-BERT, Parakeet, LASR).
    input_name: str = "input_values"

    def frames(self, samples: Sequence[int]) -> list[int]:
        """Output frames for inputs of these lengths (in samples at `sampling_rate`), as the model computes them."""
        if self.input_name == "input_values":
            return _output_lengths(self.model, list(samples))
        return _output_lengths(self.model, [self._feature_frames(n) for n in samples])

    def _feature_frames(self, samples: int) -> int:
        """How many feature frames the extractor makes of `samples` samples (its attention mask says; padding to a
        multiple of its stride does not count)."""
        found = self.feature_extractor(np.zeros(samples, np.float32), sampling_rate=self.sampling_rate,
                                       return_attention_mask=True, return_tensors="np")
        return int(found["attention_mask"].sum()) if "attention_mask" in found else found[self.input_name].shape[1]

    def log_probs(self, waveforms: Sequence[np.ndarray]) -> list[np.ndarray]:
        """One padded batch through the model: a float32 [frames, V] log-softmax per waveform, cut to its length."""
        import torch

        inputs, lengths = self._batch(waveforms)
        inputs = {name: torch.from_numpy(array).to(self.device) for name, array in inputs.items()}
        inputs[self.input_name] = inputs[self.input_name].to(self.dtype)
        with torch.inference_mode():
            logits = self.model(**inputs).logits
            logp = torch.log_softmax(logits.float(), dim=-1).cpu().numpy()
        frames = _output_lengths(self.model, lengths)
        if max(frames) > logp.shape[1]:
            raise ModelError(f"{self.name} returned {logp.shape[1]} frames for a batch that should give {max(frames)}")
        return [logp[row, :n] for row, n in enumerate(frames)]

    def _batch(self, waveforms: Sequence[np.ndarray]) -> tuple[dict[str, np.ndarray], list[int]]:
        """The network's padded inputs (and the attention mask where the extractor asks for one), and each
        utterance's input length (samples, or feature frames). Each utterance goes through the extractor on its own,
        so that its normalisation sees only its own samples."""
        extractor = self.feature_extractor
        features = [
            np.asarray(extractor(w, sampling_rate=self.sampling_rate, return_tensors="np")[self.input_name][0],
                       dtype=np.float32)
            for w in waveforms
        ]
        lengths = [f.shape[0] for f in features]
        batch = np.full((len(features), max(lengths), *features[0].shape[1:]), float(extractor.padding_value),
                        dtype=np.float32)
        mask = np.zeros(batch.shape[:2], dtype=np.int64)
        for row, feature in enumerate(features):
            batch[row, : feature.shape[0]] = feature
            mask[row, : feature.shape[0]] = 1
        inputs = {self.input_name: batch}
        if self.uses_attention_mask:
            inputs["attention_mask"] = mask
        return inputs, lengths


def load_acoustic_model(model: str, device: str = "cpu", dtype: str = "float32") -> AcousticModel:
    """Load MODEL (a hub id or a local `save_pretrained` folder) with AutoModelForCTC and its processor."""
    import torch
    from transformers import AutoFeatureExtractor, AutoModelForCTC, AutoProcessor, AutoTokenizer

    torch_device = _torch_device(device)
    if dtype not in COMPUTE_DTYPES:
        raise ModelError(f"--dtype must be one of {COMPUTE_DTYPES}, not {dtype!r}")
    torch_dtype = getattr(torch, dtype)
    where = Path(model)
    if where.exists() and not where.is_dir():
        raise ModelError(f"model {model} is a file; give a model folder (from save_pretrained) or a hub id")
    if not where.exists() and where.parent != Path(".") and where.parent.is_dir():
        raise ModelError(f"model folder {model} does not exist")
    hint = "" if where.is_dir() else " (not a local folder, so it was looked up on the Hugging Face hub)"
    if not where.is_dir():
        _check_hub_reachable(model)

    extractor = tokenizer = None
    try:
        processor = AutoProcessor.from_pretrained(model)
        extractor = getattr(processor, "feature_extractor", None)
        tokenizer = getattr(processor, "tokenizer", None)
    except Exception:  # some checkpoints save the two halves without a processor config
        pass
    try:
        extractor = extractor or AutoFeatureExtractor.from_pretrained(model)
        tokenizer = tokenizer or AutoTokenizer.from_pretrained(model)
        network = AutoModelForCTC.from_pretrained(model)
    except Exception as exc:
        raise ModelError(f"cannot load CTC model {model}{hint}: {_one_line(exc)}") from exc

    input_name = getattr(network, "main_input_name", "input_values")
    if input_name not in ("input_values", "input_features") or _length_function(network) is None:
        raise ModelError(f"{model} ({type(network).__name__}) reads {input_name!r} and has no output length "
                         "computation; decode cache runs CTC models that read waveforms (input_values) or filterbank "
                         "features (input_features)")
    if extractor is None:
        raise ModelError(f"{model} has no feature extractor (preprocessor_config.json), so its input is unknown")
    if not hasattr(extractor, "sampling_rate"):
        raise ModelError(f"{model}: its feature extractor {type(extractor).__name__} has no sampling rate")
    columns = _output_columns(network)
    vocabulary = vocabulary_from_tokenizer(tokenizer, columns, model)
    sampling_rate = int(extractor.sampling_rate)
    network = network.to(device=torch_device, dtype=torch_dtype).eval()
    return AcousticModel(
        name=model,
        model=network,
        feature_extractor=extractor,
        vocabulary=vocabulary,
        sampling_rate=sampling_rate,
        frames_per_second=sampling_rate / _hop_samples(network, extractor, input_name),
        uses_attention_mask=bool(getattr(extractor, "return_attention_mask", False)),
        input_name=input_name,
        device=torch_device,
        dtype=torch_dtype,
        commit=getattr(network.config, "_commit_hash", None),
    )


def weights_fingerprint(model: str | Path) -> str | None:
    """sha256 of a local model folder's weights (safetensors or PyTorch files, in name order), None for a hub id:
    a store records exactly which weights made it, so that a retrained model's stores are told apart."""
    folder = Path(model)
    files = sorted(f for pattern in ("*.safetensors", "pytorch_model*.bin") for f in folder.glob(pattern))
    if not folder.is_dir() or not files:
        return None
    if len(files) == 1:
        return sha256_file(files[0])
    return hashlib.sha256("".join(f"{f.name}:{sha256_file(f)}\n" for f in files).encode()).hexdigest()


def vocabulary_from_tokenizer(tokenizer: Any, columns: int, model: str = "the model") -> Vocabulary:
    """The store vocabulary of a model with `columns` outputs: its tokenizer's labels, the pad token as the blank.

    Tokens with ids past the model's outputs (special tokens a tokenizer added later) are not columns and are dropped.
    """
    if tokenizer is None:
        raise VocabularyError(f"{model} has no tokenizer, so its output labels are unknown")
    vocab = {token: int(i) for token, i in tokenizer.get_vocab().items() if int(i) < columns}
    ids = sorted(vocab.values())
    if ids != list(range(columns)):
        raise VocabularyError(
            f"{model}: its tokenizer names {len(set(ids))} of the model's {columns} output columns; "
            f"labels must cover ids 0..{columns - 1} exactly"
        )
    labels = [token for token, _ in sorted(vocab.items(), key=lambda item: item[1])]
    pad = getattr(tokenizer, "pad_token_id", None)
    delimiter_token = getattr(tokenizer, "word_delimiter_token", None)
    delimiter: int | None | str = vocab.get(delimiter_token, "auto") if delimiter_token else "auto"
    if pad is not None and 0 <= int(pad) < columns:
        return Vocabulary.from_labels(labels, blank=int(pad), delimiter=delimiter)
    try:
        return Vocabulary.from_labels(labels, delimiter=delimiter)
    except VocabularyError:
        why = ("has no pad token" if pad is None else
               f"has pad token {tokenizer.pad_token!r} at id {pad}, which is not one of the model's {columns} outputs")
        names = ", ".join(n for n in BLANK_NAMES if n)
        raise VocabularyError(
            f"{model} has no CTC blank: its tokenizer {why}, and none of its {columns} output labels is named "
            f"{names}. A CTC model's vocab.json must hold the blank (the pad token, '<pad>' at id 0 in wav2vec2)."
        ) from None


def _check_hub_reachable(model: str, timeout: float = 5.0) -> None:
    """Fail at once, rather than after minutes of retries, when MODEL must come from the hub and the hub cannot be
    reached (no network, a firewall) and it is not in the local Hugging Face cache either."""
    import os
    import socket
    from urllib.parse import urlparse

    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return  # transformers then reads the local cache only, and fails fast by itself
    try:
        from huggingface_hub import try_to_load_from_cache

        if isinstance(try_to_load_from_cache(model, "config.json"), str):
            return
    except Exception:  # a malformed id: let transformers explain it
        return
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    url = urlparse(endpoint)
    try:
        socket.create_connection((url.hostname, url.port or (443 if url.scheme == "https" else 80)),
                                 timeout=timeout).close()
    except OSError as exc:
        raise ModelError(
            f"model {model} is not a local folder and not in the Hugging Face cache, and the hub ({endpoint}) cannot "
            f"be reached ({_one_line(exc)}); give a model folder saved with save_pretrained, or run where the hub "
            "is reachable"
        ) from exc


def _torch_device(device: str) -> Any:
    import torch

    try:
        torch_device = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ModelError(f"--device {device!r} is not a torch device (use cpu or cuda)") from exc
    if torch_device.type == "cuda" and not torch.cuda.is_available():
        build = "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
        raise ModelError(f"--device {device}: torch sees no CUDA GPU here (torch {torch.__version__}, {build})")
    return torch_device


def _output_columns(network: Any) -> int:
    head = getattr(network, "lm_head", None)
    columns = getattr(head, "out_features", None) or getattr(network.config, "vocab_size", None)
    if not columns:
        raise ModelError(f"cannot tell how many labels {type(network).__name__} outputs")
    return int(columns)


def _hop_samples(network: Any, extractor: Any, input_name: str) -> int:
    """Input samples per output frame: for a waveform model, the network's downsampling; for a filterbank model, the
    extractor's hop (10 ms) times its frame stacking (Wav2Vec2-BERT's 2) times the encoder's subsampling (Parakeet's
    8). The downsampling is read off the model's own output length computation (its config's strides, kernels and
    adapters), on an input long enough that edge effects round away."""
    long = 1 << 20
    downsampling = max(1, round(long / _output_lengths(network, [long])[0]))
    if input_name == "input_values":
        return downsampling
    return int(getattr(extractor, "hop_length", 160)) * int(getattr(extractor, "stride", 1)) * downsampling


def _length_function(network: Any) -> Any:
    """The network's own computation of its output length from its input length (transformers names it after the
    model family), or None."""
    for name in ("_get_feat_extract_output_lengths", "_get_subsampling_output_length"):
        if callable(getattr(network, name, None)):
            return getattr(network, name)
    return None


def _output_lengths(network: Any, input_lengths: Sequence[int]) -> list[int]:
    import torch

    lengths = _length_function(network)(torch.tensor(list(input_lengths), dtype=torch.long))
    return [int(n) for n in lengths]


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 400 else text[:400] + " ..."
