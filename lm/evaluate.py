"""How well an LM predicts a text: perplexity and out-of-vocabulary rate, by KenLM's own scoring.

A user can see why an LM helps one set and not another: a high OOV rate means words the decoder can only produce
as unknowns; a high perplexity means text unlike the LM's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import kenlm

from lm.corpus import corpus_sentences
from lm.errors import LMError
from lm.quiet import native_stderr_silenced


@dataclass(frozen=True)
class LMEvaluation:
    lm: str
    text: str
    sentences: int
    words: int
    oov: int  # running words the LM does not know
    log10_prob: float  # of every word and each sentence end
    perplexity: float  # 10 ** (-log10_prob / (words + sentences)): each sentence end is predicted too

    @property
    def oov_rate(self) -> float:
        return self.oov / self.words if self.words else 0.0

    def to_dict(self) -> dict:
        return asdict(self) | {"oov_rate": self.oov_rate}


def evaluate_lm(lm_path: str | Path, text: str | Path, case: str = "upper", format: str = "auto") -> LMEvaluation:
    """Score every normalised sentence of `text` (prose or lines, plain or gzip) with the KenLM model at `lm_path`."""
    lm_path, text = Path(lm_path), Path(text)
    if not lm_path.is_file():
        raise LMError(f"language model {lm_path} does not exist; expected a KenLM .arpa or .bin file")
    try:
        with native_stderr_silenced():
            model = kenlm.Model(str(lm_path))
    except Exception as exc:  # kenlm reports every load failure as OSError
        raise LMError(f"cannot load {lm_path} as a KenLM model ({exc})") from exc
    sentences = words = oov = 0
    total = 0.0
    for sentence in corpus_sentences(text, case, format):
        tokens = sentence.split()
        total += model.score(sentence, bos=True, eos=True)
        sentences += 1
        words += len(tokens)
        oov += sum(token not in model for token in tokens)
    if not sentences:
        raise LMError(f"{text} has no words after normalisation; nothing to score")
    return LMEvaluation(str(lm_path), str(text), sentences, words, oov, total,
                        10 ** (-total / (words + sentences)))
