"""`fastbeam`: pyctcdecode's beam search in C++ (decoders/native), same outputs, an order of magnitude faster.

Same parameters as `beam` (decoders.constants.BEAM_DEFAULTS) and, on the same input, the same text, scores and word
frames: the C++ code reproduces pyctcdecode 0.5.0's algorithm step by step for character vocabularies and for
subword (BPE) ones, including its tie order. It reads the same LM file with its own copy of KenLM, loaded once per
LanguageModelCache and shared by every fastbeam decoder on that cache (alpha/beta sweeps) and by the threads of
`decode_batch`.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import numpy as np

from decoders.base import ProgressCallback
from decoders.beam_base import BeamDecoder
from decoders.constants import MIN_TOKEN_PROBABILITY
from decoders.errors import DecoderConfigError
from decoders.factory import register_decoder
from decoders.hypothesis import EMPTY, Hypothesis, ScoredText, frames_array
from lm.errors import LMError
from lm.model import LanguageModelCache, LoadedLM
from logits.checks import check_logprobs
from logits.system import usable_cores
from logits.vocabulary import CONTINUATION, WORD_START, Vocabulary, normalize_transcript

if TYPE_CHECKING:
    from logits.store import LogitsStore

# How pyctcdecode's Alphabet recognises special labels in a regular (character) vocabulary.
_BLANK_LABEL = re.compile(r"^[<\[]pad[>\]]$", flags=re.IGNORECASE)
_UNK_LABEL = re.compile(r"^[<\[]unk[>\]]$", flags=re.IGNORECASE)
_SPECIAL_LABEL = re.compile(r"^[<\[].+[>\]]$")
_UNK_CHARACTER = "⁇"
_UNK_WORD = "▁⁇▁"
# Utterances handed to the native threads at a time: bounds the memory of preprocessed copies of a long batch and
# sets how often progress is reported; each chunk ends with its slowest utterance, so not much smaller.
_CHUNK = 64


def native_module() -> Any:
    """The compiled extension, decoders/_kernels*.so."""
    try:
        from decoders import _kernels
    except ImportError as exc:
        raise DecoderConfigError(
            f"the fastbeam decoder is not compiled here ({exc}); build it with `decode native build` "
            "(`make install` does this)"
        ) from exc
    return _kernels


def search_labels(vocabulary: Vocabulary) -> tuple[list[str], bool]:
    """The labels pyctcdecode's Alphabet.build_alphabet makes of `vocabulary.decoder_labels`, and whether they are
    BPE-style (subword pieces, words marked by a leading "▁").

    Characters: the blank becomes "", the delimiter " ", <unk> the character "⁇"; <s> and </s> stay multi-character
    labels that the search spells out like any other (exactly as pyctcdecode does). Pieces: WordPiece's "##" marks
    become SentencePiece's "▁" on the other pieces, <unk> becomes the word "▁⁇▁".
    """
    labels = vocabulary.decoder_labels
    if len(set(labels)) != len(labels):
        raise DecoderConfigError("the decoder labels repeat an entry (two columns emit the same text)")
    bpe = vocabulary.is_subword
    if bpe:
        labels = _bpe_labels(labels, wordpiece=vocabulary.kind == "wordpiece")
    else:
        if any(label.startswith((CONTINUATION, WORD_START)) for label in labels):
            raise DecoderConfigError("the vocabulary is declared 'character' but its labels look like subword pieces "
                                     "(starting with '##' or '▁'); state its kind as sentencepiece or wordpiece")
        labels = _character_labels(labels)
    for label in labels:
        if label != " " and any(c.isspace() for c in label):
            raise DecoderConfigError(f"label {label!r} contains whitespace; only the word delimiter may")
    return labels, bpe


def _character_labels(labels: list[str]) -> list[str]:
    if "|" in labels and " " not in labels:
        labels[labels.index("|")] = " "
    labels = ["" if _BLANK_LABEL.match(label) else label for label in labels]
    if "_" in labels and "" not in labels:
        labels[labels.index("_")] = ""
    if "" not in labels:
        raise DecoderConfigError("the vocabulary has no CTC blank column")
    return [_UNK_CHARACTER if _UNK_LABEL.match(label) else label for label in labels]


def _bpe_labels(labels: list[str], wordpiece: bool) -> list[str]:
    if wordpiece:  # a piece without "##" begins a word: give it the "▁" a SentencePiece piece would have
        labels = [label[len(CONTINUATION):] if label.startswith(CONTINUATION)
                  else label if label in ("", WORD_START, _UNK_WORD) or _SPECIAL_LABEL.match(label)
                  else WORD_START + label for label in labels]
    labels = ["" if _BLANK_LABEL.match(label) else label for label in labels]
    return [_UNK_WORD if _UNK_LABEL.match(label) else label for label in labels]


def hotword_unigrams(hotwords: Sequence[str]) -> list[str]:
    """pyctcdecode scores hotword phrases word by word: each word of each phrase is a hotword on its own."""
    return [word for phrase in hotwords if phrase.strip() for word in phrase.strip().split()]


@dataclass(frozen=True)
class SearchInputs:
    """Arrays prepared for the native search (FastBeamDecoder.prepare_nbest): `count` arrays, of which those at
    `positions` have frames, as `inputs` (float32, search_input's)."""

    count: int
    positions: tuple[int, ...]
    inputs: list[np.ndarray]


def search_input(logprobs: np.ndarray) -> np.ndarray:
    """The array pyctcdecode's decode_beams actually searches, computed with the same numpy operations.

    Rows that average to probability-sum 1 are taken as probabilities and logged; anything else is log-softmaxed
    (max-shifted). Both are clipped at log(1e-15). Same dtype and same operations give the same bits, which matters:
    the search compares and sums these values, and equal-score ties decide between beams.
    """
    if math.isclose(logprobs.sum(axis=1).mean(), 1):
        out = np.log(np.clip(logprobs, MIN_TOKEN_PROBABILITY, 1))
    else:
        peak = np.amax(logprobs, axis=1, keepdims=True)
        peak[~np.isfinite(peak)] = 0
        shifted = logprobs - peak
        with np.errstate(divide="ignore"):
            norm = np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
        out = np.clip(shifted - norm, np.log(MIN_TOKEN_PROBABILITY), 0)
    return np.ascontiguousarray(out, dtype=np.float32)


def _native_lm(lms: LanguageModelCache, loaded: LoadedLM) -> Any:
    """The native KenLM model for `loaded`, loaded once per cache object and shared by its decoders."""

    def build(loaded: LoadedLM) -> Any:
        try:
            return native_module().LanguageModel(str(loaded.path), list(loaded.unigrams))
        except RuntimeError as exc:
            raise LMError(f"the fastbeam decoder cannot load {loaded.path} ({exc}), although the kenlm module "
                          "could; rebuild the kernels with `decode native build --force`.") from exc

    return lms.derived(loaded, "fastbeam", build)


def _hypothesis(result: tuple) -> Hypothesis:
    text, acoustic, total, words = result
    return Hypothesis(
        text=normalize_transcript(text),
        score=float(total),
        acoustic_score=float(acoustic),
        lm_score=float(total - acoustic),
        word_frames=frames_array((start, end) for _, start, end in words),
    )


@register_decoder
class FastBeamDecoder(BeamDecoder):
    """`fastbeam`: the `beam` decoder's search (pyctcdecode 0.5.0 semantics) compiled; `decode_batch` uses threads.

    Its built state is the native alphabet, the native LM (shared through the LM cache) and the hotword table; a
    reconfigured copy shares them and gets a new native `Search` with the new weights.
    """

    name = "fastbeam"
    threaded = True
    nbest = True

    def _build(self) -> None:
        self._native = native_module()
        labels, bpe = search_labels(self.vocabulary)  # before the LM: bad labels fail fast
        self._alphabet = self._native.Alphabet(labels, bpe=bpe)
        loaded = self.load_lm()
        self._lm = None if loaded is None else _native_lm(self.lms, loaded)
        self._hotword_table = self._native.Hotwords(hotword_unigrams(self.hotwords))

    def _apply_weights(self) -> None:
        params = self._native.SearchParams(
            beam_width=int(self.param("beam_width")),
            beam_prune_logp=float(self.param("beam_prune_logp")),
            token_min_logp=float(self.param("token_min_logp")),
            alpha=float(self.param("alpha")),
            beta=float(self.param("beta")),
            unk_score_offset=float(self.param("unk_score_offset")),
            lm_score_boundary=bool(self.param("lm_score_boundary")),
            hotword_weight=float(self.param("hotword_weight")),
            prune_history=bool(self.param("prune_history")),
        )
        self._search = self._native.Search(self._alphabet, self._lm, self._hotword_table, params)

    def _decode(self, logprobs: np.ndarray) -> Hypothesis:
        return _hypothesis(self._search.decode(search_input(logprobs)))

    def _decode_nbest(self, logprobs: np.ndarray, k: int) -> list[Hypothesis]:
        return [_hypothesis(result) for result in self._search.decode_nbest(search_input(logprobs), k)]

    def prepare_nbest(self, arrays: Sequence[np.ndarray], where: Sequence[str] | None = None) -> "SearchInputs":
        """The arrays checked and converted to what the search reads (search_input), once for every weight."""
        names = where or [f"batch item {i}" for i in range(len(arrays))]
        checked = [check_logprobs(x, self.vocabulary.size, w) for x, w in zip(arrays, names)]
        positions = tuple(i for i, logprobs in enumerate(checked) if logprobs.shape[0])
        return SearchInputs(len(checked), positions,
                            [search_input(np.asarray(checked[i], dtype=np.float32)) for i in positions])

    def scored_nbest(self, arrays: "Sequence[np.ndarray] | SearchInputs", k: int, threads: int | None = None,
                     where: Sequence[str] | None = None) -> list[list[ScoredText]]:
        """The `k` best final beams of each array with their LM parts, searched on `threads` native threads (default:
        the cores this process may use) without building word frames: the N-best lists of a rescoring sweep.
        `arrays` may be prepare_nbest's SearchInputs (of this decoder or one reconfigured from it)."""
        if k < 1:
            raise DecoderConfigError(f"N-best lists need k >= 1, got {k}")
        threads = usable_cores() if threads is None else int(threads)
        prepared = arrays if isinstance(arrays, SearchInputs) else self.prepare_nbest(arrays, where)
        lists: list[list[ScoredText]] = [[ScoredText("", 0.0, 0.0, 0.0, 0)]] * prepared.count  # 0 frames, as EMPTY
        positions, inputs = prepared.positions, prepared.inputs
        for i, entries in zip(positions, self._search.score_parts_batch(inputs, k, threads=threads)):
            lists[i] = [ScoredText(normalize_transcript(text), acoustic, score, lm, words)
                        for text, acoustic, score, lm, words in entries]
        return lists

    def decode_batch(self, batch: Sequence[np.ndarray], threads: int | None = None) -> list[Hypothesis]:
        """Decode many utterances on `threads` native threads (default: the cores this process may use).

        Results are in input order and identical to decoding one by one.
        """
        checked = (check_logprobs(x, self.vocabulary.size, f"batch item {i}") for i, x in enumerate(batch))
        return self._decode_many(checked, threads)

    def decode_store(
        self, store: "LogitsStore", on_progress: ProgressCallback | None = None, threads: int | None = None
    ) -> list[Hypothesis]:
        """Every utterance of a store, in store order, decoded like decode_batch (the store's arrays were checked
        when it was written)."""
        return self._decode_many((x for _, x in store), threads, on_progress)

    def _decode_many(
        self, arrays: Iterable[np.ndarray], threads: int | None, on_progress: ProgressCallback | None = None
    ) -> list[Hypothesis]:
        """Checked log-prob arrays -> hypotheses, a chunk at a time: preprocessed here with the GIL, then searched
        on native threads without it."""
        threads = usable_cores() if threads is None else int(threads)
        if threads < 1:
            raise DecoderConfigError(f"threads must be >= 1, got {threads}")
        results: list[Hypothesis] = []
        iterator = iter(arrays)
        while chunk := list(itertools.islice(iterator, _CHUNK)):
            hypotheses = [EMPTY] * len(chunk)  # an utterance of 0 frames stays EMPTY, as in Decoder.decode
            positions = [i for i, logprobs in enumerate(chunk) if logprobs.shape[0]]
            inputs = [search_input(np.asarray(chunk[i], dtype=np.float32)) for i in positions]
            for i, result in zip(positions, self._search.decode_batch(inputs, threads=threads)):
                hypotheses[i] = _hypothesis(result)
            results += hypotheses
            if on_progress:
                on_progress(len(chunk))
        return results
