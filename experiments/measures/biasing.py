"""Does boosting a word recover it? Decode a store with and without hotwords and count what changed.

Besides whole utterances: B-WER and U-WER (the error rate on the reference words of the hotword list and on all
other words: boosting should lower the first without raising the second), and per hotword its recall and its false
alarms (hypothesis occurrences beyond the reference's)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from decoders.beam_base import hotwords_in_case
from decoders.config import DecoderConfig
from decoders.factory import build_decoder
from experiments.measures.evaluate import evaluate
from lm.model import LanguageModelCache
from logits.errors import LabError
from logits.files import read_utf8_text
from logits.scoring import word_alignment
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
    b_wer_plain: float | None = None  # on the hotwords' words in the references
    b_wer_boosted: float | None = None
    u_wer_plain: float | None = None  # on every other reference word
    u_wer_boosted: float | None = None
    per_hotword: tuple[dict, ...] = ()  # word, occurrences, recall and false alarms without and with boosting


@dataclass(frozen=True)
class BiasedRates:
    b_wer: float | None
    u_wer: float | None
    per_word: dict[str, tuple[int, int, int]]  # word -> (reference occurrences, recognised, false alarms)


def biased_rates(references: Sequence[str], hypotheses: Sequence[str], words: set[str]) -> BiasedRates:
    """B-WER over the reference words in `words`, U-WER over the others: a reference word not matched by the
    alignment is an error, and an inserted hypothesis word counts against B when it is a hotword, else against U.
    Per word: its occurrences, how many were recognised, and its false alarms (hypothesis occurrences beyond the
    reference's, utterance by utterance)."""
    b_total = b_errors = u_total = u_errors = 0
    per_word: dict[str, list[int]] = {w: [0, 0, 0] for w in words}
    for reference, hypothesis in zip(references, hypotheses, strict=True):
        ref, hyp = reference.split(), hypothesis.split()
        right: set[int] = set()
        for tag, r0, r1, h0, h1 in word_alignment(reference, hypothesis):
            if tag == "equal":
                right.update(range(r0, r1))
            elif tag == "insert":
                inserted = hyp[h0:h1]
                b_errors += sum(w in words for w in inserted)
                u_errors += sum(w not in words for w in inserted)
        for i, word in enumerate(ref):
            if word in words:
                b_total += 1
                b_errors += i not in right
                per_word[word][0] += 1
                per_word[word][1] += i in right
            else:
                u_total += 1
                u_errors += i not in right
        for word in words:
            per_word[word][2] += max(0, hyp.count(word) - ref.count(word))
    return BiasedRates(b_errors / b_total if b_total else None, u_errors / u_total if u_total else None,
                       {w: tuple(v) for w, v in per_word.items()})


def read_hotword_file(path: str | Path) -> tuple[list[str], float | None]:
    """Hotwords (or phrases), one per line, each optionally followed by a TAB and its weight. pyctcdecode applies
    one weight to all hotwords, so the weights given must agree; returns (hotwords, that weight or None)."""
    path = Path(path)
    lines = read_utf8_text(path, "hotword file").splitlines()
    hotwords, weights = [], set()
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        phrase, _, weight = line.partition("\t")
        hotwords.append(" ".join(phrase.split()))
        if weight.strip():
            try:
                weights.add(float(weight))
            except ValueError:
                raise LabError(f"{path}:{number}: the weight {weight.strip()!r} is not a number") from None
    if not hotwords:
        raise LabError(f"hotword file {path} lists no hotwords")
    if len(weights) > 1:
        raise LabError(f"{path} gives several weights {sorted(weights)}; pyctcdecode's search (and fastbeam's) applies "
                       "one weight to every hotword: give one, or none and --hotword-weight")
    return hotwords, weights.pop() if weights else None


def hotword_report(
    store: LogitsStore, config: DecoderConfig, hotwords: Sequence[str], weight: float = 10.0,
    lms: LanguageModelCache | None = None, on_progress: Callable[[int], None] | None = None,
) -> HotwordReport:
    """Decode `store` with `config` as given and again with `hotwords` boosted by `weight`; `on_progress(n)` is
    called after each utterance of either decode (2 x the store's utterances in all)."""
    lms = lms or LanguageModelCache()
    # The decoder's own reading of the hotwords (the one text rule), so that "Café" counts in references of "CAFE".
    words = tuple(hotwords_in_case(tuple(hotwords), store.vocabulary))
    plain = evaluate(store, build_decoder(config, store.vocabulary, lms), on_progress)
    boosted = evaluate(
        store, build_decoder(config.replace(hotwords=words, hotword_weight=weight), store.vocabulary, lms),
        on_progress,
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

    vocabulary_words = {w for phrase in words for w in phrase.split()}
    texts = [ref or "" for ref in store.references]
    before = biased_rates(texts, [h.text for h in plain.hypotheses], vocabulary_words)
    after = biased_rates(texts, [h.text for h in boosted.hypotheses], vocabulary_words)
    per_hotword = tuple(
        {"word": w, "occurrences": before.per_word[w][0],
         "recall_plain": before.per_word[w][1] / before.per_word[w][0] if before.per_word[w][0] else None,
         "recall_boosted": after.per_word[w][1] / after.per_word[w][0] if after.per_word[w][0] else None,
         "false_alarms_plain": before.per_word[w][2], "false_alarms_boosted": after.per_word[w][2]}
        for w in sorted(vocabulary_words)
    )
    return HotwordReport(
        b_wer_plain=before.b_wer, b_wer_boosted=after.b_wer, u_wer_plain=before.u_wer, u_wer_boosted=after.u_wer,
        per_hotword=per_hotword,
        hotwords=words,
        with_hotword=len(containing),
        recovered_plain=recovered(plain),
        recovered_boosted=recovered(boosted),
        without_hotword=len(others),
        changed_without=sum(plain.hypotheses[i].text != boosted.hypotheses[i].text for i in others),
        wer_plain=plain.wer,
        wer_boosted=boosted.wer,
    )
