"""Does boosting a word recover it? Decode a store with and without hotwords and count what changed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from decoders.config import DecoderConfig
from decoders.factory import build_decoder
from experiments.evaluate import evaluate
from lm.model import LanguageModelCache
from logits.store import LogitsStore


@dataclass(frozen=True)
class HotwordReport:
    hotwords: tuple[str, ...]
    with_hotword: int  # utterances whose reference contains a hotword
    recovered_plain: int  # ... of which the un-boosted decoder got every hotword right
    recovered_boosted: int  # ... and the boosted one
    without_hotword: int  # utterances whose reference does not contain a hotword even inside a word
    changed_without: int  # utterances without a hotword whose text boosting changed
    wer_plain: float
    wer_boosted: float


def hotword_report(
    store: LogitsStore, config: DecoderConfig, hotwords: Sequence[str], weight: float = 10.0,
    lms: LanguageModelCache | None = None,
) -> HotwordReport:
    """Decode `store` with `config` as given and again with `hotwords` boosted by `weight`."""
    lms = lms or LanguageModelCache()
    words = tuple(store.vocabulary.in_case(h) for h in hotwords)
    plain = evaluate(store, build_decoder(config, store.vocabulary, lms))
    boosted = evaluate(
        store, build_decoder(config.replace(hotwords=words, hotword_weight=weight), store.vocabulary, lms)
    )

    def has_all(text: str | None, wanted: Sequence[str]) -> bool:
        return text is not None and all(w in text.split() for w in wanted)

    refs = [ref or "" for ref in store.references]
    containing = [i for i, ref in enumerate(refs) if any(w in ref.split() for w in words)]
    # Utterances with a hotword only inside a longer word (NAPOLEON'S) count on neither side.
    others = [i for i, ref in enumerate(refs) if not any(w in ref for w in words)]

    def recovered(result) -> int:
        return sum(
            has_all(result.hypotheses[i].text, [w for w in words if w in store.references[i].split()])
            for i in containing
        )

    return HotwordReport(
        hotwords=words,
        with_hotword=len(containing),
        recovered_plain=recovered(plain),
        recovered_boosted=recovered(boosted),
        without_hotword=len(others),
        changed_without=sum(plain.hypotheses[i].text != boosted.hypotheses[i].text for i in others),
        wer_plain=plain.wer,
        wer_boosted=boosted.wer,
    )
