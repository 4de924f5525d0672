"""Speed and parity of `fastbeam` against pyctcdecode (the `beam` decoder) and the ctc-beam-decoder package.

    python -m decoders.native.benchmark [--utterances 50] [--frames 500] [--lm lm/build/4gram.bin]

Inputs are synthetic log-probs (decoders.synth, which mimics a peaky character model with LM-repairable errors) of
held-out sentences, cut to exactly --frames frames. Times are wall-clock seconds for the whole set, the best of
--repeats runs for the fast decoders (one run of pyctcdecode, which is slow). Pin the process to cores with
`taskset -c 0,1` for numbers comparable across machines, and run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Callable

import numpy as np

from decoders.beam import PyctcdecodeBeamDecoder
from decoders.config import DecoderConfig
from decoders.fastbeam import FastBeamDecoder
from decoders.synth import SynthSettings, synthesize_all
from decoders.vocabulary import WAV2VEC2_ENGLISH_LABELS, Vocabulary
from lm.model import LanguageModelCache


def make_inputs(text_file: Path, count: int, frames: int, difficulty: float, vocab: Vocabulary) -> list[np.ndarray]:
    """`count` utterances of exactly `frames` frames: consecutive sentences joined until long enough, then cut."""
    lines = [line.strip() for line in text_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    settings = SynthSettings(difficulty=difficulty)
    chars = frames // 3 + 20  # synth emits ~3 frames per character; a margin so that every utterance can be cut
    texts, current = [], ""
    for line in lines * (1 + count * chars // max(1, sum(map(len, lines)))):
        current = f"{current} {line}".strip()
        if len(current) >= chars:
            texts.append(current)
            current = ""
        if len(texts) == count:
            break
    arrays = [x for _, x in synthesize_all(texts, vocab, seed=7, settings=settings)]
    return [x[:frames] for x in arrays if len(x) >= frames]


def best_of(repeats: int, run: Callable[[], list]) -> tuple[float, list]:
    best, out = float("inf"), []
    for _ in range(repeats):
        started = time.perf_counter()
        out = run()
        best = min(best, time.perf_counter() - started)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lm", default="lm/build/4gram.bin")
    parser.add_argument("--unigrams", default=None)
    parser.add_argument("--text", default="lm/build/heldout.txt", help="sentences to synthesize (one per line)")
    parser.add_argument("--utterances", type=int, default=50)
    parser.add_argument("--frames", type=int, default=500)
    parser.add_argument("--difficulty", type=float, default=1.0)
    parser.add_argument("--beam-width", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-pyctcdecode", action="store_true")
    args = parser.parse_args()

    vocab = Vocabulary.from_labels(WAV2VEC2_ENGLISH_LABELS)
    batch = make_inputs(Path(args.text), args.utterances, args.frames, args.difficulty, vocab)
    params = {"lm": args.lm, "unigrams": args.unigrams, "alpha": 0.5, "beta": 1.0, "beam_width": args.beam_width}
    print(f"{len(batch)} utterances x {args.frames} frames, beam {args.beam_width}, LM {args.lm}, "
          f"synth difficulty {args.difficulty}")
    lms = LanguageModelCache()
    fast = FastBeamDecoder(DecoderConfig("fastbeam", params), vocab, lms)
    fast.decode(batch[0])  # warm up: page in the LM

    rows: list[tuple[str, float]] = []
    t_loop, ours = best_of(args.repeats, lambda: [fast.decode(x) for x in batch])
    rows.append(("fastbeam, decode() per utterance", t_loop))
    t_one, one = best_of(args.repeats, lambda: fast.decode_batch(batch, threads=1))
    rows.append(("fastbeam, decode_batch 1 thread", t_one))
    t_many, many = best_of(args.repeats, lambda: fast.decode_batch(batch, threads=args.threads))
    rows.append((f"fastbeam, decode_batch {args.threads} threads", t_many))
    assert one == ours == many, "threaded results differ from sequential ones"

    try:
        import ctc_beam_decoder
    except ImportError:
        ctc_beam_decoder = None
    other = None
    if ctc_beam_decoder is not None:
        loaded = lms.get(args.lm, args.unigrams)
        cbd = ctc_beam_decoder.build_ctcdecoder(list(vocab.tokens), args.lm, unigrams=list(loaded.unigrams),
                                                alpha=0.5, beta=1.0)
        cbd.decode_beams(batch[0], beam_width=args.beam_width)
        t_cbd, other = best_of(args.repeats, lambda: [cbd.decode_beams(x, beam_width=args.beam_width)[0][0]
                                                      for x in batch])
        rows.append(("ctc-beam-decoder 0.2.0", t_cbd))

    reference = None
    if not args.skip_pyctcdecode:
        beam = PyctcdecodeBeamDecoder(DecoderConfig("beam", params), vocab, lms)
        t_ref, reference = best_of(1, lambda: [beam.decode(x) for x in batch])
        rows.append(("pyctcdecode 0.5.0 (`beam`)", t_ref))

    slowest = max(t for _, t in rows)
    for name, seconds in rows:
        print(f"  {name:36s} {seconds:8.3f} s  {1000 * seconds / len(batch):7.1f} ms/utt  x{slowest / seconds:6.1f}")
    print(f"  threads: decode_batch x{t_one / t_many:.2f} faster on {args.threads} threads than on 1")
    if reference is not None:
        same_text = sum(a.text == b.text for a, b in zip(ours, reference))
        same_all = sum(a == b for a, b in zip(ours, reference))
        print(f"  parity with pyctcdecode: identical text {same_text}/{len(batch)}, "
              f"identical hypothesis (scores, word frames) {same_all}/{len(batch)}")
    if other is not None:
        print(f"  ctc-beam-decoder texts identical to fastbeam: "
              f"{sum(a.text == ' '.join(b.split()) for a, b in zip(ours, other))}/{len(batch)}")


if __name__ == "__main__":
    main()
