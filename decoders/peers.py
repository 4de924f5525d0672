"""Other projects' CTC beam decoders behind this project's `Decoder` interface, so that `decode bench` (and anything
else that builds decoders by name) can put them side by side with pyctcdecode and our own.

`ctcbeam`    the `ctc-beam-decoder` package: a C++ prefix beam search that sets out to reproduce pyctcdecode output
             string for string. It takes every parameter of `BEAM_DEFAULTS` with pyctcdecode's meaning.
`flashlight` flashlight-text's `LexiconDecoder` with a KenLM word LM. A different search (see `FlashlightDecoder`):
             it can only emit words of its lexicon, so expect different output from pyctcdecode, not a bug.

Both packages are optional (`pip install -e .[bench]`); a missing one fails when the decoder is built, with an install
hint, never at import of this module. Each decoder loads its language model once, when it is constructed: the unigram
list, its checks and their error messages come from the project's `LanguageModelCache`; the peer then loads the model
file again with its own KenLM build (neither can use the `kenlm` Python module's model object).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from decoders.base import Decoder
from decoders.beam_base import BeamDecoder
from decoders.constants import LN_10
from decoders.errors import DecoderConfigError
from decoders.factory import register_decoder
from decoders.hypothesis import Hypothesis, WordSpan, frames_array, hypothesis_from_beam

# Stands for "pruned" in flashlight's emissions: finite so that sums stay finite, far below any beam threshold.
_MASKED = -1.0e9


def _optional(module: str, package: str, decoder: str):
    """Import a peer's module, or fail with a message that says which package to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise DecoderConfigError(
            f"decoder {decoder!r} needs the {package!r} package, which is not importable here ({exc}). "
            f"Install the benchmark extras: pip install -e '.[bench]'"
        ) from None


@register_decoder
class CtcBeamDecoder(BeamDecoder):
    """`ctcbeam`: ctc-beam-decoder's prefix beam search; same parameters, same meaning, as pyctcdecode's `beam`.

    Decoded with `decode_beams(..., prune_history=False)` and the top beam taken, exactly as `beam` drives pyctcdecode
    (the package's own `decode()` turns history pruning on, which changes some outputs). The package takes the LM
    weights when the decoder is built and has no way to change them, so a new alpha or beta builds it anew.
    """

    name = "ctcbeam"
    nbest = True
    cheap_params = frozenset({"beam_width", "beam_prune_logp", "token_min_logp", "hotword_weight"})

    def _build(self) -> None:
        vocabulary = self.vocabulary
        ctc_beam_decoder = _optional("ctc_beam_decoder", "ctc-beam-decoder", self.name)
        loaded = self.load_lm()
        try:
            self._search = ctc_beam_decoder.build_ctcdecoder(
                vocabulary.decoder_labels,
                kenlm_model_path=None if loaded is None else str(loaded.path),
                unigrams=None if loaded is None else list(loaded.unigrams),
                alpha=float(self.param("alpha")),
                beta=float(self.param("beta")),
                unk_score_offset=float(self.param("unk_score_offset")),
                lm_score_boundary=bool(self.param("lm_score_boundary")),
            )
        except (OSError, RuntimeError, ValueError) as exc:
            raise DecoderConfigError(f"ctc-beam-decoder could not be built for {self.config.label()}: {exc}") from exc
        if self._search.n_columns != vocabulary.size:
            raise DecoderConfigError(
                f"ctc-beam-decoder reads these {vocabulary.size} labels as {self._search.n_columns} columns "
                "(it found no blank among them); give the vocabulary an explicit blank"
            )

    def _decode(self, logprobs: np.ndarray) -> Hypothesis:
        return self._decode_nbest(logprobs, 1)[0]

    def _decode_nbest(self, logprobs: np.ndarray, k: int) -> list[Hypothesis]:
        beams = self._search.decode_beams(
            logprobs,
            beam_width=int(self.param("beam_width")),
            beam_prune_logp=float(self.param("beam_prune_logp")),
            token_min_logp=float(self.param("token_min_logp")),
            prune_history=bool(self.param("prune_history")),
            hotwords=self.hotwords or None,
            hotword_weight=float(self.param("hotword_weight")),
        )
        if not beams:  # pyctcdecode raises here; ctc-beam-decoder returns no beam when nothing survives pruning
            return [Hypothesis(text="", score=float("-inf"), acoustic_score=float("-inf"), lm_score=0.0)]
        return [hypothesis_from_beam(beam) for beam in beams[:k]]


@register_decoder
class FlashlightDecoder(BeamDecoder):
    """`flashlight`: flashlight-text's lexicon-constrained beam search with a KenLM word LM.

    The lexicon is the LM's unigram list, each word spelled letter by letter with the labels (words the labels
    cannot spell are left out); the word delimiter is flashlight's silence token, the blank its CTC blank.

    How the project's beam parameters map onto flashlight's options:

        alpha            -> lm_weight = alpha * ln(10): flashlight adds KenLM's log10 scores to natural-log
                            acoustic scores unconverted, pyctcdecode converts them first; this keeps alpha's meaning.
        beta             -> word_score (a bonus per emitted word, as pyctcdecode's beta).
        beam_width       -> beam_size.
        beam_prune_logp  -> beam_threshold = -beam_prune_logp (both prune hypotheses this far below the best).
        token_min_logp   -> applied to the emissions before the search, as pyctcdecode applies it: a token below it
                            (unless it is its frame's best) is set to -1e9, so no hypothesis survives taking it;
                            beam_size_token = the most tokens any frame of the utterance keeps (so none is lost).
        unk_score_offset -> not used: the search emits lexicon words only (unk_score = -inf), where pyctcdecode lets
                            out-of-vocabulary words through at this penalty.
        lm_score_boundary-> must be True: flashlight always scores <s> and </s>.
        hotwords         -> not supported (must be empty).

    Each lexicon word is spelled with a closing delimiter (as pyctcdecode, a word ends at `|`), and a final frame that
    is surely the delimiter is appended to each utterance, so that its last word closes too (it costs nothing and
    moves no word's frames). Without the closing delimiter a word's last letter could not last two frames: after a
    completed word flashlight only lets the silence token repeat.

    The search itself differs from pyctcdecode's prefix search, so equal parameters do not give equal text: only
    lexicon words exist, hypotheses merge on (LM state, lexicon node, last token) with log-add, and a partial word is
    scored ahead by the best unigram score of the words it can still become (smeared max), where pyctcdecode only
    penalises a partial word that begins no known word.
    """

    name = "flashlight"
    # For records (`decode bench` copies it into its row): how each parameter reaches flashlight.
    parameter_mapping: ClassVar[dict[str, str]] = {
        "alpha": "lm_weight = alpha * ln(10)",
        "beta": "word_score",
        "beam_width": "beam_size",
        "beam_prune_logp": "beam_threshold = -beam_prune_logp",
        "token_min_logp": "emissions below it (but each frame's best) set to -1e9; beam_size_token = most kept",
        "unk_score_offset": "unused: lexicon words only (unk_score = -inf)",
        "lm_score_boundary": "must be True",
        "hotwords": "unsupported",
    }

    def _build(self) -> None:
        vocabulary = self.vocabulary
        if self.param("lm") is None:
            raise DecoderConfigError("decoder 'flashlight' needs an LM (--lm): its lexicon is the LM's word list")
        if self.param("hotwords"):
            raise DecoderConfigError("decoder 'flashlight' does not support hotwords")
        if not self.param("lm_score_boundary"):
            raise DecoderConfigError("decoder 'flashlight' always scores sentence boundaries; lm_score_boundary "
                                     "must be True")
        if self.param("prune_history"):
            raise DecoderConfigError("decoder 'flashlight' has no history pruning; prune_history must be False")
        if vocabulary.is_subword:
            raise DecoderConfigError(f"decoder 'flashlight' is wired here for character vocabularies, and this one "
                                     f"is {vocabulary.kind}; use beam or fastbeam")
        if vocabulary.delimiter is None:
            raise DecoderConfigError("decoder 'flashlight' needs a word delimiter label (e.g. '|') in the vocabulary")
        fl_decoder = _optional("flashlight.lib.text.decoder", "flashlight-text", self.name)
        fl_kenlm = _optional("flashlight.lib.text.decoder.kenlm", "flashlight-text", self.name)
        fl_dictionary = _optional("flashlight.lib.text.dictionary", "flashlight-text", self.name)
        loaded = self.load_lm()

        # Words are spelled character by character with the one-character labels (not the blank or the delimiter).
        spelling = {
            label: i for i, label in enumerate(vocabulary.labels)
            if len(label) == 1 and i not in (vocabulary.blank, vocabulary.delimiter)
        }
        lexicon = [w for w in dict.fromkeys(loaded.unigrams) if all(c in spelling for c in w)]
        if not lexicon:
            raise DecoderConfigError(f"none of the words of {loaded.path} can be spelled with the labels")
        self.lexicon_size = len(lexicon)
        self._words = fl_dictionary.Dictionary([*lexicon, "<unk>"])
        self._words.set_default_index(len(lexicon))
        try:
            self._lm = fl_kenlm.KenLM(str(loaded.path), self._words)
        except Exception as exc:  # the binding raises bare RuntimeErrors for anything KenLM rejects
            raise DecoderConfigError(f"flashlight-text could not load {loaded.path}: {exc}") from exc

        # The trie's look-ahead: each word's unigram score (log10 as KenLM gives it), smeared up to its prefixes.
        self._trie = fl_decoder.Trie(vocabulary.size, vocabulary.delimiter)
        start = self._lm.start(False)
        for index, word in enumerate(lexicon):
            _, unigram_score = self._lm.score(start, index)
            self._trie.insert([*(spelling[c] for c in word), vocabulary.delimiter], index, unigram_score)
        self._trie.smear(fl_decoder.SmearingMode.MAX)
        self._fl = fl_decoder

    def _apply_weights(self) -> None:
        # The searches hold the weights in their options; a reconfigured copy makes its own.
        self._searches: dict[int, Any] = {}

    def _search(self, tokens_per_frame: int):
        """The search keeping `tokens_per_frame` tokens per frame (flashlight's beam_size_token): enough for every
        token that survives token_min_logp, so it drops none of them and skips the masked rest (faster)."""
        if tokens_per_frame not in self._searches:
            fl = self._fl
            options = fl.LexiconDecoderOptions(
                beam_size=int(self.param("beam_width")),
                beam_size_token=tokens_per_frame,
                beam_threshold=-float(self.param("beam_prune_logp")),
                lm_weight=float(self.param("alpha")) * LN_10,
                word_score=float(self.param("beta")),
                unk_score=float("-inf"),
                sil_score=0.0,
                log_add=True,
                criterion_type=fl.CriterionType.CTC,
            )
            self._searches[tokens_per_frame] = fl.LexiconDecoder(
                options, self._trie, self._lm, self.vocabulary.delimiter, self.vocabulary.blank, self.lexicon_size,
                [], False,
            )
        return self._searches[tokens_per_frame]

    def _emissions(self, logprobs: np.ndarray) -> tuple[np.ndarray, int]:
        """The search's input: pyctcdecode's token pruning done on the emissions (tokens below token_min_logp, but
        the frame's best, are out of reach), and one closing frame that is surely the word delimiter, so that the
        utterance's last word is completed like the others. Also returns the most tokens any frame keeps."""
        frames = logprobs.shape[0]
        keep = logprobs >= float(self.param("token_min_logp"))
        keep[np.arange(frames), logprobs.argmax(axis=1)] = True
        emissions = np.full((frames + 1, logprobs.shape[1]), _MASKED, dtype=np.float32)
        np.copyto(emissions[:frames], logprobs, where=keep)
        emissions[frames, self.vocabulary.delimiter] = 0.0
        return emissions, int(keep.sum(axis=1).max())

    def _decode(self, logprobs: np.ndarray) -> Hypothesis:
        emissions, tokens_per_frame = self._emissions(logprobs)
        results = self._search(tokens_per_frame).decode(emissions.ctypes.data, *emissions.shape)
        if not results:
            return Hypothesis(text="", score=float("-inf"), acoustic_score=float("-inf"), lm_score=0.0)
        best = results[0]
        words = self._word_spans(list(best.tokens), list(best.words))
        # best.lmScore is the raw log10 LM sum; best.score also holds the log-add of merged alignments, which is
        # acoustic (pyctcdecode's logit score sums merged beams the same way).
        lm_score = float(self.param("alpha")) * LN_10 * float(best.lmScore) + float(self.param("beta")) * len(words)
        return Hypothesis(
            text=" ".join(w.word for w in words),
            score=float(best.score),
            acoustic_score=float(best.score) - lm_score,
            lm_score=lm_score,
            word_frames=frames_array((w.start, w.end) for w in words),
        )

    def _word_spans(self, tokens: list[int], words: list[int]) -> tuple[WordSpan, ...]:
        """Words with the frames of their letters, `end` exclusive. Flashlight's per-step arrays have one extra step
        at the start (step i is frame i - 1); a word is recorded at the step of the delimiter that completed it."""
        spans, start, last = [], None, None
        skip = {self.vocabulary.blank, self.vocabulary.delimiter}
        for step, (token, word) in enumerate(zip(tokens, words)):
            if step > 0 and token >= 0 and token not in skip:
                start = step - 1 if start is None else start
                last = step - 1
            if word >= 0:
                spans.append(WordSpan(self._words.get_entry(word), start or 0, (last or 0) + 1))
                start = last = None
        return tuple(spans)


def peer_classes() -> dict[str, type[Decoder]]:
    """The peers' decoders by name (their packages are imported only when one is built)."""
    return {cls.name: cls for cls in (CtcBeamDecoder, FlashlightDecoder)}
