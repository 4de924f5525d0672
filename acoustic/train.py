"""The training recipe of models/espeak-ctc: a small Wav2Vec2-BERT CTC model trained from scratch on espeak-ng speech.

    train_model(TrainSettings(), work="data/train-espeak", out="models/espeak-ctc")      # `make model`

1. Sentences: the training side of the default LM's corpus (lm/build/austen.txt, normalised as the LM's text was),
   never a sentence of lm/build/heldout.txt; a seeded draw of `sentences` for training and `dev_sentences` for the
   dev CER curve.
2. Speech: `acoustic.speech.speak` in the training voice families (espeak-ng's en-us, en-gb, en-gb-x-rp with their
   variants, some with noise); en-gb-scotland is kept out for the unseen-voice figure.
3. Features: the model's own processor (SeamlessM4TFeatureExtractor: 80 mel bins stacked in pairs, 160 values at 50
   frames per second) on the audio as `decode cache` reads it, in float32: features computed any other way (fp16,
   int16 audio) differ from what inference sees.
4. Model: `Wav2Vec2BertForCTC` (hidden 144, 6 conformer layers, rotary positions, no dropout, no SpecAugment) over the
   32 labels of facebook/wav2vec2-large-960h, so that every tool that loads that model loads this one.
5. Optimisation: AdamW, warm-up then cosine decay, gradient clipping, batches of at most `batch_frames` frames grouped
   by length, in a seeded order per epoch.

Long work shows progress (a bar with ETA) and keeps a log (WORK/train_log.csv, WORK/dev_log.csv) and a plot of the
loss and dev CER (WORK/training.png, copied beside the model). A checkpoint is written every `checkpoint_every` steps
(WORK/checkpoint.pt, atomically); rerunning the same command resumes from it. The model is written with
`save_pretrained` (safetensors) together with its processor only at the end.
"""

from __future__ import annotations

import csv
import json
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from acoustic.audio import open_audio_source, read_audio_file
from acoustic.speech import SAMPLE_RATE, UNSEEN_FAMILIES, VoiceSettings, speak
from lm.build import DEFAULT_CORPUS_FILENAME, DEFAULT_LM_DIR, HELDOUT_FILENAME
from lm.normalize import normalize_sentences
from logits.console import progress, say
from logits.errors import LabError
from logits.files import atomic_write, write_json_atomic
from logits.scoring import score
from logits.vocabulary import WAV2VEC2_ENGLISH_LABELS

CHECKPOINT = "checkpoint.pt"
SETTINGS_FILE = "train.json"


class TrainingError(LabError):
    """Missing inputs for the recipe, or a work folder from a run with other settings."""


@dataclass(frozen=True)
class TrainSettings:
    """Everything that decides the trained model (recorded in WORK/train.json and the model card)."""

    seed: int = 0
    sentences: int = 8000
    dev_sentences: int = 200
    min_words: int = 4
    max_words: int = 30
    noise: float = 0.2  # share of training utterances with white noise at 10-30 dB SNR
    steps: int = 2800
    batch_frames: int = 2400
    peak_lr: float = 2e-3
    final_lr: float = 2e-4
    warmup_steps: int = 200
    weight_decay: float = 0.01
    clip: float = 5.0
    hidden_size: int = 144
    layers: int = 6
    heads: int = 4
    intermediate_size: int = 576
    conv_kernel: int = 15
    threads: int = 1
    checkpoint_every: int = 100
    eval_every: int = 250


def train_and_dev_sentences(settings: TrainSettings, lm_dir: Path = DEFAULT_LM_DIR) -> tuple[list[str], list[str]]:
    """(training, dev) sentences: drawn from the LM corpus's sentences of min..max words that are not held out."""
    corpus, heldout = lm_dir / DEFAULT_CORPUS_FILENAME, lm_dir / HELDOUT_FILENAME
    if not corpus.is_file() or not heldout.is_file():
        raise TrainingError(f"{corpus} or {heldout} is missing; build the default LM first (`make lm`)")
    held = set(heldout.read_text(encoding="utf-8").splitlines())
    pool = sorted({s for s in normalize_sentences(corpus.read_text(encoding="utf-8"), "upper")
                   if settings.min_words <= len(s.split()) <= settings.max_words and s not in held})
    wanted = settings.sentences + settings.dev_sentences
    if wanted > len(pool):
        raise TrainingError(f"asked for {wanted} sentences but the corpus has {len(pool)} usable ones")
    chosen = random.Random(settings.seed).sample(pool, wanted)
    return chosen[: settings.sentences], chosen[settings.sentences :]


def build_processor() -> Any:
    """The processor the model ships with: SeamlessM4T filterbanks + the wav2vec2-960h character tokenizer."""
    import tempfile

    from transformers import SeamlessM4TFeatureExtractor, Wav2Vec2BertProcessor, Wav2Vec2CTCTokenizer

    with tempfile.TemporaryDirectory() as tmp:
        vocab = Path(tmp) / "vocab.json"
        vocab.write_text(json.dumps({label: i for i, label in enumerate(WAV2VEC2_ENGLISH_LABELS)}), encoding="utf-8")
        tokenizer = Wav2Vec2CTCTokenizer(str(vocab), unk_token="<unk>", pad_token="<pad>", word_delimiter_token="|",
                                         bos_token="<s>", eos_token="</s>")
    extractor = SeamlessM4TFeatureExtractor(sampling_rate=SAMPLE_RATE)
    return Wav2Vec2BertProcessor(feature_extractor=extractor, tokenizer=tokenizer)


def build_model(settings: TrainSettings, vocab_size: int) -> Any:
    from transformers import Wav2Vec2BertConfig, Wav2Vec2BertForCTC

    config = Wav2Vec2BertConfig(
        vocab_size=vocab_size, pad_token_id=0, hidden_size=settings.hidden_size, num_hidden_layers=settings.layers,
        num_attention_heads=settings.heads, intermediate_size=settings.intermediate_size,
        output_hidden_size=settings.hidden_size, conv_depthwise_kernel_size=settings.conv_kernel,
        position_embeddings_type="rotary", feature_projection_input_dim=160, add_adapter=False,
        hidden_dropout=0.0, activation_dropout=0.0, attention_dropout=0.0, feat_proj_dropout=0.0, final_dropout=0.0,
        layerdrop=0.0, conformer_conv_dropout=0.0, mask_time_prob=0.0, mask_feature_prob=0.0,
        ctc_loss_reduction="mean", ctc_zero_infinity=True,
    )
    return Wav2Vec2BertForCTC(config)


@dataclass
class Example:
    id: str
    features: np.ndarray  # [frames, 160] float32
    labels: list[int]
    text: str


def load_examples(folder: Path, processor: Any, desc: str) -> list[Example]:
    """Features and label ids of every utterance of a speech folder, read exactly as `decode cache` reads audio."""
    source = open_audio_source(folder)
    examples = []
    with progress(len(source.entries), desc) as bar:
        for entry in source.entries:
            waveform, rate = read_audio_file(entry.key)
            if rate != SAMPLE_RATE:
                raise TrainingError(f"{entry.origin} is at {rate} Hz, expected {SAMPLE_RATE}")
            features = processor.feature_extractor(waveform, sampling_rate=SAMPLE_RATE,
                                                   return_tensors="np")["input_features"][0]
            labels = processor.tokenizer(entry.reference.replace(" ", "|")).input_ids
            examples.append(Example(entry.id, np.asarray(features, dtype=np.float32), labels, entry.reference))
            bar.update(1)
    return examples


def length_batches(examples: Sequence[Example], batch_frames: int, seed: int, epoch: int) -> list[list[int]]:
    """Indices grouped by length into batches of at most `batch_frames` padded frames, in a seeded order."""
    order = sorted(range(len(examples)), key=lambda i: (examples[i].features.shape[0], examples[i].id))
    batches, current, longest = [], [], 0
    for i in order:
        frames = examples[i].features.shape[0]
        if current and max(longest, frames) * (len(current) + 1) > batch_frames:
            batches.append(current)
            current, longest = [], 0
        current.append(i)
        longest = max(longest, frames)
    if current:
        batches.append(current)
    random.Random(seed * 1_000_003 + epoch).shuffle(batches)
    return batches


def collate(examples: Sequence[Example]) -> dict[str, Any]:
    import torch

    frames = max(e.features.shape[0] for e in examples)
    features = np.zeros((len(examples), frames, examples[0].features.shape[1]), dtype=np.float32)
    mask = np.zeros((len(examples), frames), dtype=np.int64)
    longest = max(len(e.labels) for e in examples)
    labels = np.full((len(examples), longest), -100, dtype=np.int64)
    for row, example in enumerate(examples):
        features[row, : example.features.shape[0]] = example.features
        mask[row, : example.features.shape[0]] = 1
        labels[row, : len(example.labels)] = example.labels
    return {"input_features": torch.from_numpy(features), "attention_mask": torch.from_numpy(mask),
            "labels": torch.from_numpy(labels)}


def learning_rate(step: int, settings: TrainSettings) -> float:
    if step < settings.warmup_steps:
        return settings.peak_lr * (step + 1) / settings.warmup_steps
    progress_ = (step - settings.warmup_steps) / max(1, settings.steps - settings.warmup_steps)
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress_)))
    return settings.final_lr + (settings.peak_lr - settings.final_lr) * cosine


def greedy_texts(model: Any, processor: Any, examples: Sequence[Example], batch_frames: int = 8000) -> list[str]:
    """Best-path transcripts of `examples` (CTC collapse by the tokenizer), in their order."""
    import torch

    texts: dict[int, str] = {}
    model.eval()
    with torch.inference_mode():
        for batch in length_batches(examples, batch_frames, seed=0, epoch=0):
            inputs = collate([examples[i] for i in batch])
            logits = model(input_features=inputs["input_features"], attention_mask=inputs["attention_mask"]).logits
            ids = logits.argmax(dim=-1)
            for row, i in enumerate(batch):
                frames = int(inputs["attention_mask"][row].sum())
                texts[i] = " ".join(processor.tokenizer.decode(ids[row, :frames].tolist()).split())
    model.train()
    return [texts[i] for i in range(len(examples))]


def train_model(settings: TrainSettings, work: str | Path, out: str | Path, lm_dir: Path = DEFAULT_LM_DIR) -> Path:
    """Run (or resume) the recipe in WORK and save the model and processor in OUT. Returns OUT."""
    import torch

    work, out = Path(work), Path(out)
    work.mkdir(parents=True, exist_ok=True)
    _check_settings(work, settings)
    torch.set_num_threads(settings.threads)
    train_text, dev_text = train_and_dev_sentences(settings, lm_dir)
    voices = VoiceSettings(noise=settings.noise)
    say("train", f"speaking {len(train_text)} training and {len(dev_text)} dev sentences into {work / 'speech'}")
    speak(train_text, work / "speech" / "train", seed=settings.seed, voices=voices)
    speak(dev_text, work / "speech" / "dev", seed=settings.seed + 1, voices=VoiceSettings())
    processor = build_processor()
    train = load_examples(work / "speech" / "train", processor, "features (train)")
    dev = load_examples(work / "speech" / "dev", processor, "features (dev)")

    torch.manual_seed(settings.seed)
    model = build_model(settings, len(processor.tokenizer))
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.peak_lr, betas=(0.9, 0.98),
                                  weight_decay=settings.weight_decay)
    state = {"step": 0, "epoch": 0, "batch": 0, "seconds": 0.0}
    checkpoint = work / CHECKPOINT
    if checkpoint.is_file():
        saved = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        state = saved["state"]
        say("train", f"resuming from {checkpoint} at step {state['step']} of {settings.steps}")
    model.train()
    train_log, dev_log = work / "train_log.csv", work / "dev_log.csv"
    _truncate_log(train_log, state["step"])
    _truncate_log(dev_log, state["step"])

    started = time.perf_counter() - state["seconds"]
    with progress(settings.steps, "train", unit="step") as bar:
        bar.update(state["step"])
        while state["step"] < settings.steps:
            batches = length_batches(train, settings.batch_frames, settings.seed, state["epoch"])
            while state["batch"] < len(batches) and state["step"] < settings.steps:
                step = state["step"]
                for group in optimizer.param_groups:
                    group["lr"] = learning_rate(step, settings)
                inputs = collate([train[i] for i in batches[state["batch"]]])
                loss = model(**inputs).loss
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                value = loss.item()
                torch.nn.utils.clip_grad_norm_(model.parameters(), settings.clip)
                optimizer.step()
                state["step"], state["batch"] = step + 1, state["batch"] + 1
                state["seconds"] = time.perf_counter() - started
                _append(train_log, ["step", "epoch", "loss", "lr", "seconds"],
                        [step + 1, state["epoch"], round(value, 5), learning_rate(step, settings),
                         round(state["seconds"], 1)])
                bar.update(1)
                bar.set_postfix_str(f"loss {value:.3f}", refresh=False)
                if (step + 1) % settings.eval_every == 0 or step + 1 == settings.steps:
                    found = score([e.text for e in dev], greedy_texts(model, processor, dev))
                    # The log keeps its columns (step, cer, wer): a resumed run appends to the file it has.
                    _append(dev_log, ["step", "cer", "wer", "seconds"], [step + 1, round(found.cer, 5),
                                                                         round(found.wer, 5), round(state["seconds"], 1)])
                    say("train", f"step {step + 1}: dev greedy WER {100 * found.wer:.1f}%, CER {100 * found.cer:.1f}%",
                        bar)
                    plot_training(train_log, dev_log, work / "training.png")
                if (step + 1) % settings.checkpoint_every == 0:
                    _save_checkpoint(checkpoint, model, optimizer, state)
            if state["batch"] >= len(batches):
                state["epoch"], state["batch"] = state["epoch"] + 1, 0
    _save_checkpoint(checkpoint, model, optimizer, state)

    out.mkdir(parents=True, exist_ok=True)
    model.eval()
    model.save_pretrained(out, safe_serialization=True)
    processor.save_pretrained(out)
    plot_training(train_log, dev_log, out / "training.png")
    write_json_atomic(out / "training.json", {"settings": asdict(settings), "steps": state["step"],
                                              "train_seconds": round(state["seconds"], 1),
                                              "train_utterances": len(train), "dev_utterances": len(dev),
                                              "unseen_families": list(UNSEEN_FAMILIES)})
    say("train", f"saved {out} after {state['step']} steps ({state['seconds'] / 60:.1f} min of training)")
    return out


def plot_training(train_log: Path, dev_log: Path, path: Path) -> Path:
    """Training loss (smoothed) and dev greedy CER against the step, as a PNG."""
    from matplotlib.figure import Figure

    steps, losses = _columns(train_log, "step", "loss")
    dev_steps, cers = _columns(dev_log, "step", "cer")
    fig = Figure(figsize=(8, 3.5), layout="constrained")
    loss_ax, cer_ax = fig.subplots(1, 2)
    if losses:
        window = max(1, len(losses) // 50)
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
        loss_ax.plot(steps[window - 1 :], smooth)
    loss_ax.set_yscale("log")
    loss_ax.set(xlabel="step", ylabel="CTC loss (smoothed)", title="training loss")
    cer_ax.plot(dev_steps, [100 * c for c in cers], marker="o")
    cer_ax.set(xlabel="step", ylabel="CER (%)", title="dev greedy CER")
    with atomic_write(path, "wb") as handle:
        fig.savefig(handle, format="png", dpi=100)
    return path


def _columns(path: Path, x: str, y: str) -> tuple[list[float], list[float]]:
    if not path.is_file():
        return [], []
    with open(path, encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [float(r[x]) for r in rows], [float(r[y]) for r in rows]


def _append(path: Path, header: list[str], row: list[Any]) -> None:
    new = not path.is_file()
    with open(path, "a", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        if new:
            writer.writerow(header)
        writer.writerow(row)


def _truncate_log(path: Path, step: int) -> None:
    """Drop log rows past the checkpoint a resumed run starts from (they will be written again)."""
    if not path.is_file():
        return
    with open(path, encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    kept = [rows[0]] + [r for r in rows[1:] if int(r[0]) <= step]
    with atomic_write(path) as handle:
        csv.writer(handle).writerows(kept)


def _save_checkpoint(path: Path, model: Any, optimizer: Any, state: dict) -> None:
    import torch

    with atomic_write(path, "wb") as handle:
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "state": dict(state)}, handle)


def _check_settings(work: Path, settings: TrainSettings) -> None:
    """A work folder belongs to one set of settings (steps aside: a longer run may continue a shorter one)."""
    recorded = work / SETTINGS_FILE
    wanted = asdict(settings)
    if recorded.is_file():
        found = json.loads(recorded.read_text(encoding="utf-8"))
        differ = sorted(k for k in wanted if k not in ("steps", "threads", "eval_every", "checkpoint_every")
                        and found.get(k) != wanted[k])
        if differ:
            raise TrainingError(f"{work} holds a training run with other settings ({', '.join(differ)}); use "
                                "another --work folder, or delete it to start over")
    write_json_atomic(recorded, wanted)
