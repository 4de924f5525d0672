"""Decode a whole store with one decoder and score it: the unit of work behind `decode run` and every sweep point."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from decoders.base import Decoder
from decoders.hypothesis import Hypothesis
from logits.scoring import Scores, score
from logits.files import atomic_write
from logits.store import LogitsStore


@dataclass(frozen=True)
class Evaluation:
    """The result of decoding a store: scores, timing and every hypothesis in store order."""

    config: dict
    store_fingerprint: str
    scores: Scores | None
    seconds: float
    audio_seconds: float
    ids: tuple[str, ...]
    references: tuple[str | None, ...]
    hypotheses: tuple[Hypothesis, ...]

    @property
    def wer(self) -> float | None:
        return None if self.scores is None else self.scores.wer

    @property
    def cer(self) -> float | None:
        return None if self.scores is None else self.scores.cer

    def summary(self) -> dict:
        return {
            "decoder": self.config,
            "store": self.store_fingerprint,
            "wer": self.wer,
            "cer": self.cer,
            "utterances": len(self.ids),
            "seconds": round(self.seconds, 4),
            "rtfx": round(self.audio_seconds / self.seconds, 2) if self.seconds > 0 else None,
        }

    def write_jsonl(self, path: str | Path, nbest: Sequence[Sequence[Hypothesis]] | None = None) -> None:
        """One line per utterance: id, reference, hypothesis (and its score), written atomically; with `nbest` (a
        list per utterance, in store order) also each list, best first, as `nbest` beside the hypothesis, so that an
        N-best file is still a hypothesis file that `decode compare` and the measures read."""
        if nbest is not None and len(nbest) != len(self.ids):
            raise ValueError(f"{len(nbest)} N-best lists for {len(self.ids)} utterances")
        with atomic_write(path) as handle:
            for i, (utt_id, ref, hyp) in enumerate(zip(self.ids, self.references, self.hypotheses)):
                row = {"id": utt_id, "reference": ref, "hypothesis": hyp.text, "score": hyp.score}
                if nbest is not None:
                    row["nbest"] = [{"text": h.text, "score": h.score, "acoustic_score": h.acoustic_score,
                                     "lm_score": h.lm_score, "words": len(h.text.split())} for h in nbest[i]]
                handle.write(json.dumps(row) + "\n")


def evaluate(
    store: LogitsStore, decoder: Decoder, on_progress: Callable[[int], None] | None = None
) -> Evaluation:
    """Decode every utterance of `store` with `decoder`; `on_progress(n)` is called after each utterance."""
    start = time.perf_counter()
    hypotheses = decoder.decode_store(store, on_progress)
    seconds = time.perf_counter() - start
    references = store.references
    has_refs = any(r is not None for r in references)
    return Evaluation(
        config=decoder.config.to_dict(),
        store_fingerprint=store.fingerprint,
        scores=score(references, [h.text for h in hypotheses]) if has_refs else None,
        seconds=seconds,
        audio_seconds=store.audio_seconds,
        ids=tuple(store.ids),
        references=tuple(references),
        hypotheses=tuple(hypotheses),
    )
