"""pyctcdecode 0.5.0's API with `fastbeam` doing every search: change one import, keep the rest of the script.

    from decoders.compat import build_ctcdecoder        # was: from pyctcdecode import build_ctcdecoder

    decoder = build_ctcdecoder(labels, "lm.arpa", alpha=0.5, beta=1.0)
    text = decoder.decode(logits)
    beams = decoder.decode_beams(logits, beam_width=64, hotwords=["NAPOLEON"])
    texts = decoder.decode_batch(None, logits_list)      # native threads on every usable core

The decoder is a `pyctcdecode.BeamSearchDecoderCTC` (a subclass), so `transformers.Wav2Vec2ProcessorWithLM` and the
ASR pipeline's `decoder=` take it; it keeps pyctcdecode's alphabet, its `model_container` entry (holding a
`FastLanguageModel`: the KenLM file, its words and the weights) and its directory layout, but every decode runs in
the lab's `FastBeamDecoder`, character and BPE (subword) labels alike. `decode`/`decode_batch` prune beams by their
recent history as pyctcdecode's do (`prune_history=True`); `decode_beams` takes the argument. What pyctcdecode does
that fastbeam cannot is refused with a `CompatError` naming it; a difference the call cannot avoid is warned about
(`CompatWarning`).
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
import weakref
from collections.abc import Collection, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.pool import Pool
from pathlib import Path
from typing import Any

import kenlm
import numpy as np
from pyctcdecode.alphabet import Alphabet
from pyctcdecode.constants import (
    DEFAULT_ALPHA,
    DEFAULT_BEAM_WIDTH,
    DEFAULT_BETA,
    DEFAULT_HOTWORD_WEIGHT,
    DEFAULT_MIN_TOKEN_LOGP,
    DEFAULT_PRUNE_BEAMS,
    DEFAULT_PRUNE_LOGP,
    DEFAULT_SCORE_LM_BOUNDARY,
    DEFAULT_UNK_LOGP_OFFSET,
)
from pyctcdecode.decoder import BeamSearchDecoderCTC
from pyctcdecode.language_model import (
    AbstractLanguageModel,
    LanguageModel,
    load_unigram_set_from_arpa,
)

from decoders.config import DecoderConfig
from decoders.errors import DecoderConfigError
from decoders.fastbeam import FastBeamDecoder
from decoders.hypothesis import Hypothesis
from decoders.params import check_params
from lm.errors import LMError
from lm.model import LanguageModelCache, LoadedLM, lm_fingerprint
from lm.quiet import native_stderr_silenced
from logits.checks import check_logprobs
from logits.system import usable_cores
from logits.vocabulary import Vocabulary

# A beam as pyctcdecode's decode_beams returns it: text, last LM state, [(word, (start, end))], logit score, score.
OutputBeam = tuple[str, None, list[tuple[str, tuple[int, int]]], float, float]
# decode_beams_batch's beams, without the LM state (pyctcdecode drops it there so that beams can cross processes).
OutputBeamMPSafe = tuple[str, list[tuple[str, tuple[int, int]]], float, float]
# Searches kept per decoder, one per distinct set of call parameters (hotwords, beam width, weights): a script that
# alternates a few settings does not rebuild, one that sweeps many does not grow without bound.
_KEPT_SEARCHES = 16


class CompatError(DecoderConfigError, ValueError):
    """A pyctcdecode feature the fastbeam facade cannot give, or an argument it refuses. A ValueError too, as
    pyctcdecode's own argument errors are."""


class CompatWarning(UserWarning):
    """A documented difference from pyctcdecode that the call cannot avoid (see the module docstring)."""


def _load_kenlm(path: Path) -> kenlm.Model:
    if not path.is_file():
        raise LMError(f"language model {path} does not exist; expected a KenLM .arpa or .bin file")
    try:
        with native_stderr_silenced():
            return kenlm.Model(str(path))
    except Exception as exc:  # kenlm reports every load failure as OSError
        raise LMError(f"cannot load {path}: not a complete KenLM model ({exc})") from exc


class FastLanguageModel(AbstractLanguageModel):
    """What the decoder keeps in pyctcdecode's `model_container`: the KenLM file, its words and the four weights
    pyctcdecode's LanguageModel holds (`alpha`, `beta`, `unk_score_offset`, `score_boundary`: read at every decode,
    so `reset_params` and transformers' attribute writes take effect). Scoring happens in fastbeam's C++ copy of
    the model; the Python scoring methods refuse."""

    JSON_ATTRS = LanguageModel.JSON_ATTRS

    def __init__(
        self,
        kenlm_model_path: str | os.PathLike,
        unigrams: Collection[str] | None = None,
        alpha: float = DEFAULT_ALPHA,
        beta: float = DEFAULT_BETA,
        unk_score_offset: float = DEFAULT_UNK_LOGP_OFFSET,
        score_boundary: bool = DEFAULT_SCORE_LM_BOUNDARY,
    ) -> None:
        path = Path(kenlm_model_path)
        model = _load_kenlm(path)
        if unigrams is None:
            if path.suffix != ".arpa":
                raise CompatError(
                    f"{path} is a binary KenLM model and no unigrams were given: pyctcdecode would decode with every "
                    "partial word scored as unknown (it only warns); pass unigrams=[...] (the LM's words)")
            unigrams = sorted(load_unigram_set_from_arpa(str(path)))  # the words pyctcdecode itself reads
        self.loaded = LoadedLM(path=path, model=model, unigrams=tuple(unigrams), fingerprint=lm_fingerprint(path),
                               order=model.order)
        self.alpha = alpha
        self.beta = beta
        self.unk_score_offset = unk_score_offset
        self.score_boundary = score_boundary

    @classmethod
    def from_pyctcdecode(cls, model: LanguageModel) -> FastLanguageModel:
        """The same LM file, words and weights as one of pyctcdecode's LanguageModel objects."""
        return cls(model._kenlm_model.path.decode("utf-8"), sorted(model._unigram_set), model.alpha, model.beta,
                   model.unk_score_offset, model.score_boundary)

    @property
    def order(self) -> int:
        return self.loaded.order

    @property
    def weights(self) -> dict[str, Any]:
        """The lab's parameters of the current weights."""
        return {"alpha": float(self.alpha), "beta": float(self.beta),
                "unk_score_offset": float(self.unk_score_offset), "lm_score_boundary": bool(self.score_boundary)}

    def reset_params(self, **params: Any) -> None:
        """pyctcdecode's LanguageModel.reset_params: the same keys, the same type rules (floats must be floats)."""
        for key, kind in (("alpha", float), ("beta", float), ("unk_score_offset", float), ("score_boundary", bool)):
            value = params.get(key)
            if value is None:
                continue
            if not isinstance(value, kind):
                raise CompatError(f"{key} must be a {kind.__name__}. Got {type(value)}.")
            setattr(self, key, value)

    def _native_only(self, *args: Any, **kwargs: Any) -> Any:
        raise CompatError("this language model scores inside fastbeam's C++ search; it has no Python scoring "
                          "(get_start_state, score, score_partial_token)")

    get_start_state = score = score_partial_token = _native_only

    def save_to_dir(self, filepath: str) -> None:
        """pyctcdecode's language_model/ folder: attrs.json, unigrams.txt (the words KenLM knows, sorted) and a copy
        of the KenLM file under its own name."""
        folder = Path(filepath)
        attrs = {key: getattr(self, key) for key in self.JSON_ATTRS}
        (folder / "attrs.json").write_text(json.dumps(attrs), encoding="utf-8")
        known = sorted({word for word in self.loaded.unigrams if word in self.loaded.model})
        (folder / "unigrams.txt").write_text("".join(f"{word}\n" for word in known), encoding="utf-8")
        shutil.copy2(self.loaded.path, folder / self.loaded.path.name)

    @classmethod
    def load_from_dir(cls, filepath: str, unigram_encoding: str | None = None) -> FastLanguageModel:
        """A language_model/ folder as pyctcdecode writes it (its own parser checks the layout)."""
        files = LanguageModel.parse_directory_contents(filepath)
        attrs = json.loads(Path(files["json_attrs"]).read_text(encoding="utf-8"))
        if set(attrs) != set(cls.JSON_ATTRS):
            raise CompatError(f"{files['json_attrs']}: expected the keys {sorted(cls.JSON_ATTRS)}, found "
                              f"{sorted(attrs)}")
        with open(files["unigrams"], encoding=unigram_encoding) as handle:
            unigrams = handle.read().splitlines()
        return cls(files["kenlm"], unigrams, **attrs)


class _OneLM(LanguageModelCache):
    """The LM cache of one decoder: its one LM, already loaded with the words pyctcdecode would use (a list in
    memory, which the lab's file-based cache cannot take). fastbeam builds its native copy once through it."""

    def __init__(self, loaded: LoadedLM) -> None:
        super().__init__()
        self._one = loaded

    def get(self, path: Path | str, unigrams: Path | str | None = None) -> LoadedLM:
        if Path(path) != self._one.path:
            raise LMError(f"this decoder holds the LM {self._one.path}, not {path}")
        return self._one


def _vocabulary(alphabet: Alphabet) -> Vocabulary:
    """The lab's vocabulary of pyctcdecode's normalised labels: blank ""; for characters the delimiter " " where
    there is one; for BPE, pieces marked "▁" (pyctcdecode has turned WordPiece's "##" into that already)."""
    labels = alphabet.labels
    if alphabet.is_bpe:
        return Vocabulary.from_labels(labels, blank=labels.index(""), kind="sentencepiece")
    delimiter = labels.index(" ") if " " in labels else None
    return Vocabulary(labels=tuple(labels), blank=labels.index(""), delimiter=delimiter)


def _nbest(search: FastBeamDecoder, logits: np.ndarray, k: int) -> list[Hypothesis]:
    """The search's k best final beams. An input of 0 frames goes to the search too: pyctcdecode scores the empty
    sentence with the LM there, where the lab's Decoder answers an unscored empty text."""
    if len(logits) == 0:
        check_logprobs(logits, search.vocabulary.size)
        return search._decode_nbest(np.asarray(logits, dtype=np.float32), k)
    return search.decode_nbest(logits, k)


def _beam(hypothesis: Hypothesis) -> OutputBeam:
    frames = [(word.word, (word.start, word.end)) for word in hypothesis.words]
    return hypothesis.text, None, frames, float(hypothesis.acoustic_score), float(hypothesis.score)


class FastBeamSearchDecoderCTC(BeamSearchDecoderCTC):
    """pyctcdecode's BeamSearchDecoderCTC whose searches run in fastbeam (see the module docstring).

    Differences, all documented: the LM state slot of each beam is None (KenLM states stay in C++, and
    `lm_start_state` is refused); a `pool` is accepted and unused (native threads decode the
    batch, same results); log-probs are searched in float32 (warned once for other dtypes); bad input raises the
    lab's errors (a lower-case LM with upper-case labels, a hotword in the other case than the labels, NaN).
    """

    def __init__(self, alphabet: Alphabet, language_model: AbstractLanguageModel | None = None) -> None:
        if isinstance(language_model, LanguageModel):
            language_model = FastLanguageModel.from_pyctcdecode(language_model)
        elif language_model is not None and not isinstance(language_model, FastLanguageModel):
            raise CompatError(f"{type(language_model).__name__} is not supported by the fastbeam decoder: it takes one "
                              "KenLM model (pyctcdecode's LanguageModel); MultiLanguageModel has no fastbeam search")
        super().__init__(alphabet, language_model)
        # pyctcdecode parks the LM in a class-level dict until told to forget it; forget it with the decoder.
        weakref.finalize(self, BeamSearchDecoderCTC.model_container.pop, self._model_key, None)
        self._vocabulary = _vocabulary(alphabet)
        params: dict[str, Any] = {"lm": None}
        lms = LanguageModelCache()
        if isinstance(language_model, FastLanguageModel):
            params = {"lm": str(language_model.loaded.path)} | language_model.weights
            lms = _OneLM(language_model.loaded)
        try:
            self._base = FastBeamDecoder(DecoderConfig("fastbeam", params), self._vocabulary, lms)
        except DecoderConfigError as exc:
            raise CompatError(f"fastbeam cannot build this decoder: {exc}") from exc
        self._searches: dict[tuple, FastBeamDecoder] = {}
        self._warned_dtype = False

    def _search(self, beam_width: int, beam_prune_logp: float, token_min_logp: float,
                hotwords: Iterable[str] | None, hotword_weight: float, prune_history: bool) -> FastBeamDecoder:
        """The fastbeam decoder for these call parameters and the LM's current weights (kept for reuse)."""
        hotwords = tuple(hotwords or ())
        for hotword in hotwords:
            if self._vocabulary.in_case(hotword) != hotword:
                raise CompatError(f"hotword {hotword!r} is not in the labels' case ({self._vocabulary.case}): "
                                  f"pyctcdecode would silently never match it; pass "
                                  f"{self._vocabulary.in_case(hotword)!r}")
        given = {"beam_width": beam_width, "beam_prune_logp": beam_prune_logp, "token_min_logp": token_min_logp,
                 "hotword_weight": hotword_weight, "prune_history": bool(prune_history)}
        try:
            check_params(given)  # before the conversions below, which would turn 1.5 into 1 and "x" into a crash
        except DecoderConfigError as exc:
            raise CompatError(str(exc)) from None
        params = {"beam_width": int(beam_width), "beam_prune_logp": float(beam_prune_logp),
                  "token_min_logp": float(token_min_logp), "hotwords": hotwords,
                  "hotword_weight": float(hotword_weight), "prune_history": bool(prune_history)}
        language_model = self._language_model
        if isinstance(language_model, FastLanguageModel):
            params |= language_model.weights
        key = tuple(sorted(params.items()))
        if key not in self._searches:
            if len(self._searches) >= _KEPT_SEARCHES:
                self._searches.pop(next(iter(self._searches)))
            try:
                self._searches[key] = self._base.reconfigure(**params)
            except DecoderConfigError as exc:
                raise CompatError(str(exc)) from exc
        return self._searches[key]

    def _checked(self, logits: np.ndarray) -> np.ndarray:
        logits = np.asarray(logits)  # a CPU tensor too, as pyctcdecode's numpy calls take one
        self._check_logits_dimension(logits)  # pyctcdecode's own shape check and message
        if logits.dtype != np.float32 and not self._warned_dtype:
            self._warned_dtype = True
            warnings.warn(f"log-probs of dtype {logits.dtype} are searched in float32 (pyctcdecode keeps the input's "
                          "dtype): scores differ in about the sixth decimal, and an exact tie may resolve otherwise",
                          CompatWarning, stacklevel=3)
        return logits

    @staticmethod
    def _refuse(lm_start_state: Any) -> None:
        if lm_start_state is not None:
            raise CompatError("lm_start_state is not supported: fastbeam keeps KenLM states inside its C++ search, "
                              "so decoding cannot continue from a state")

    def decode_beams(self, logits: np.ndarray, beam_width: int = DEFAULT_BEAM_WIDTH,
                     beam_prune_logp: float = DEFAULT_PRUNE_LOGP, token_min_logp: float = DEFAULT_MIN_TOKEN_LOGP,
                     prune_history: bool = DEFAULT_PRUNE_BEAMS, hotwords: Iterable[str] | None = None,
                     hotword_weight: float = DEFAULT_HOTWORD_WEIGHT, lm_start_state: Any = None) -> list[OutputBeam]:
        """The final beams, best first, as pyctcdecode lists them (up to beam_width)."""
        self._refuse(lm_start_state)
        search = self._search(beam_width, beam_prune_logp, token_min_logp, hotwords, hotword_weight, prune_history)
        return [_beam(h) for h in _nbest(search, self._checked(logits), int(beam_width))]

    def decode(self, logits: np.ndarray, beam_width: int = DEFAULT_BEAM_WIDTH,
               beam_prune_logp: float = DEFAULT_PRUNE_LOGP, token_min_logp: float = DEFAULT_MIN_TOKEN_LOGP,
               hotwords: Iterable[str] | None = None, hotword_weight: float = DEFAULT_HOTWORD_WEIGHT,
               lm_start_state: Any = None) -> str:
        """The best beam's text, searched with history pruning as pyctcdecode's decode does."""
        self._refuse(lm_start_state)
        search = self._search(beam_width, beam_prune_logp, token_min_logp, hotwords, hotword_weight, True)
        return search.decode(self._checked(logits)).text

    def decode_batch(self, pool: Pool | None, logits_list: Sequence[np.ndarray], beam_width: int = DEFAULT_BEAM_WIDTH,
                     beam_prune_logp: float = DEFAULT_PRUNE_LOGP, token_min_logp: float = DEFAULT_MIN_TOKEN_LOGP,
                     hotwords: Iterable[str] | None = None, hotword_weight: float = DEFAULT_HOTWORD_WEIGHT, *,
                     threads: int | None = None) -> list[str]:
        """decode() of every item, in order, on `threads` native threads (default: every usable core). `pool` is
        accepted for pyctcdecode's signature and not used: threads sharing one LM replace its processes."""
        search = self._search(beam_width, beam_prune_logp, token_min_logp, hotwords, hotword_weight, True)
        return [h.text for h in search.decode_batch([self._checked(x) for x in logits_list], threads=threads)]

    def decode_beams_batch(self, pool: Pool | None, logits_list: Sequence[np.ndarray],
                           beam_width: int = DEFAULT_BEAM_WIDTH, beam_prune_logp: float = DEFAULT_PRUNE_LOGP,
                           token_min_logp: float = DEFAULT_MIN_TOKEN_LOGP, prune_history: bool = DEFAULT_PRUNE_BEAMS,
                           hotwords: Iterable[str] | None = None, hotword_weight: float = DEFAULT_HOTWORD_WEIGHT, *,
                           threads: int | None = None) -> list[list[OutputBeamMPSafe]]:
        """decode_beams() of every item without the LM state, as pyctcdecode returns them; items are searched
        concurrently on `threads` threads (the search releases the GIL). `pool` is accepted and not used."""
        search = self._search(beam_width, beam_prune_logp, token_min_logp, hotwords, hotword_weight, prune_history)
        arrays = [self._checked(logits) for logits in logits_list]

        def beams(logits: np.ndarray) -> list[OutputBeamMPSafe]:
            return [(text, frames, logit_score, score)
                    for text, _, frames, logit_score, score in map(_beam, _nbest(search, logits, beam_width))]

        workers = usable_cores() if threads is None else int(threads)
        if workers < 1:
            raise CompatError(f"threads must be >= 1, got {workers}")
        with ThreadPoolExecutor(max_workers=workers) as executor:
            return list(executor.map(beams, arrays))

    def _decode_beams_mp_safe(self, logits: np.ndarray, beam_width: int, beam_prune_logp: float,
                              token_min_logp: float, prune_history: bool, hotwords: Iterable[str] | None,
                              hotword_weight: float) -> list[OutputBeamMPSafe]:
        return self.decode_beams_batch(None, [logits], beam_width, beam_prune_logp, token_min_logp, prune_history,
                                       hotwords, hotword_weight, threads=1)[0]

    def _decode_logits(self, *args: Any, **kwargs: Any) -> Any:
        raise CompatError("pyctcdecode's Python search is not used here: call decode_beams (fastbeam searches)")

    @classmethod
    def load_from_dir(cls, filepath: str, unigram_encoding: str | None = None) -> FastBeamSearchDecoderCTC:
        """A decoder folder as pyctcdecode's save_to_dir writes it (alphabet.json, language_model/ if any)."""
        files = cls.parse_directory_contents(filepath)
        alphabet = Alphabet.loads(Path(files["alphabet"]).read_text())
        folder = files["language_model"]
        language_model = None if folder is None else FastLanguageModel.load_from_dir(folder, unigram_encoding)
        return cls(alphabet, language_model)


def build_ctcdecoder(
    labels: list[str],
    kenlm_model_path: str | None = None,
    unigrams: Collection[str] | None = None,
    alpha: float = DEFAULT_ALPHA,
    beta: float = DEFAULT_BETA,
    unk_score_offset: float = DEFAULT_UNK_LOGP_OFFSET,
    lm_score_boundary: bool = DEFAULT_SCORE_LM_BOUNDARY,
) -> FastBeamSearchDecoderCTC:
    """pyctcdecode's build_ctcdecoder, same arguments, defaults and label conventions (blank "" or <pad>, space " "
    or "|", <unk>), returning a decoder whose searches run in fastbeam."""
    alphabet = Alphabet.build_alphabet(list(labels))
    language_model = None
    if kenlm_model_path is not None:
        language_model = FastLanguageModel(kenlm_model_path, unigrams, alpha=alpha, beta=beta,
                                           unk_score_offset=unk_score_offset, score_boundary=lm_score_boundary)
    return FastBeamSearchDecoderCTC(alphabet, language_model)
