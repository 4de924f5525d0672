"""N-best lists and the oracle WER: how far the search's best hypothesis is from the best one it had.

The oracle picks, per utterance, the hypothesis of the N-best list with the fewest word errors; its WER is a floor
that better weights (or a rescoring LM) could reach without searching again.
"""

from __future__ import annotations

from typing import Callable, Sequence

from decoders.base import Decoder
from decoders.hypothesis import Hypothesis
from logits.scoring import count, score
from logits.store import LogitsStore


def nbest_lists(store: LogitsStore, decoder: Decoder, k: int,
                on_progress: Callable[[int], None] | None = None) -> list[list[Hypothesis]]:
    """The `k` best hypotheses of every utterance of `store`, in store order."""
    lists = []
    for utt, logprobs in store:
        lists.append(decoder.decode_nbest(logprobs, k, where=f"utterance {utt.id!r} of {store.path}"))
        if on_progress:
            on_progress(1)
    return lists


def oracle_wer(references: Sequence[str | None], lists: Sequence[Sequence[Hypothesis]]) -> float | None:
    """Corpus WER when each utterance takes the hypothesis of its list with the fewest word errors."""
    chosen = []
    for reference, hypotheses in zip(references, lists, strict=True):
        if reference is None:
            chosen.append(hypotheses[0].text)
            continue
        errors = count([reference] * len(hypotheses), [h.text for h in hypotheses]).word_errors
        chosen.append(hypotheses[int(errors.argmin())].text)
    if not any(r is not None for r in references):
        return None
    return score(references, chosen).wer

