"""Raw prose -> language-model training text in the acoustic model's alphabet.

A CTC model for English (wav2vec2-960h and friends) emits only letters, the apostrophe and a word delimiter, in one
case. An LM trained on anything else wastes probability mass on words the decoder can never produce, and one in the
other case silently does nothing in pyctcdecode. So everything here ends as words over [A-Z'] (or [a-z']) separated
by single spaces, with the spoken form where it is cheap to get right: numbers become words, "Mr." becomes "MISTER"
(the form LibriSpeech transcripts use). The words themselves follow the one text rule of `logits.text`, the rule
references and hotwords follow against the labels, so that LM words and reference words agree.
"""

from __future__ import annotations

import re
import unicodedata
from types import MappingProxyType

from lm.errors import LMError
from logits.text import APOSTROPHES, LIGATURES, MAX_CARDINAL, TextRule, TextTally, number_to_words, ordinal_to_words

__all__ = ["CASES", "MAX_CARDINAL", "normalize_sentences", "normalize_words", "number_to_words", "ordinal_to_words",
           "split_sentences"]

CASES: tuple[str, ...] = ("upper", "lower")

_DOUBLE_QUOTES = re.compile("[\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033\u301d\u301e]")
# Titles that are read out in full and must not end a sentence. The period is optional for the ones that are
# unambiguous without it (British style writes "Mr Bennet"); the rest need it, so e.g. the word "Col" is left alone.
_TITLES = MappingProxyType({
    "mr": "mister", "mrs": "missus", "dr": "doctor", "st": "saint", "messrs": "messieurs",
    "capt": "captain", "col": "colonel", "gen": "general", "lt": "lieutenant", "rev": "reverend",
    "prof": "professor", "ms": "ms",
})
_TITLES_WITHOUT_PERIOD = frozenset({"mr", "mrs", "dr", "messrs"})
_TITLE_RE = re.compile(r"\b(" + "|".join(sorted(_TITLES, key=len, reverse=True)) + r")\b(\.?)", re.IGNORECASE)

_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n")
# A run of terminators, then any closing quotes or brackets, then whitespace, a dash or the end of the text
# (Emma often runs sentences together as "rooted up.--The house").
_BOUNDARY = re.compile(r"""[.!?;]+["')\]_]*(?=\s|$|[-\u2013\u2014])""")
_LOWER_CONTINUATION = re.compile(r"""[\s"'(\[_\u2013\u2014-]*[a-z]""")


def _check_case(case: str) -> None:
    if case not in CASES:
        raise LMError(f"case must be 'upper' or 'lower' (the case of the acoustic model's labels), got {case!r}")


def _to_ascii(text: str) -> str:
    """Quotes, apostrophes and letters in ASCII, so that sentence ends and titles are found in any typography."""
    text = APOSTROPHES.sub("'", text)
    text = _DOUBLE_QUOTES.sub('"', text)
    text = text.translate(str.maketrans(dict(LIGATURES)))
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _expand_title(match: re.Match[str]) -> str:
    word, period = match.group(1), match.group(2)
    key = word.lower()
    # Only capitalised forms are titles: "st" or "dr" in lower case are something else (or noise).
    if not word[0].isupper() or (not period and key not in _TITLES_WITHOUT_PERIOD):
        return match.group(0)
    return _TITLES[key]


def _is_initial(text: str, dot: int) -> bool:
    """True when the '.' at `dot` follows a lone capital letter, as in "Colonel F. came": a name, not an ending.

    "I." is excluded because the pronoun ends sentences ("say I. And ...") far more often than it is an initial.
    """
    if dot < 1 or not text[dot - 1].isupper() or text[dot - 1] == "I":
        return False
    return dot < 2 or not text[dot - 2].isalpha()


def _split_paragraph(paragraph: str) -> list[str]:
    pieces: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(paragraph):
        mark = match.group(0)
        if ";" not in mark:
            # '"Is it?" said she.' keeps the attribution with its speech: a lower-case word does not start a sentence.
            if _LOWER_CONTINUATION.match(paragraph, match.end()):
                continue
            if mark[0] == "." and _is_initial(paragraph, match.start()):
                continue
        pieces.append(paragraph[start:match.end()])
        start = match.end()
    pieces.append(paragraph[start:])
    return pieces


def split_sentences(text: str) -> list[str]:
    """Split prose into raw sentences at . ! ? ; and at blank lines (paragraphs); titles such as Mr. are spelled
    out first so that their period does not end a sentence. Returns the pieces un-normalised, empty ones dropped."""
    text = _to_ascii(text)
    sentences: list[str] = []
    for paragraph in _PARAGRAPH_BREAK.split(text):
        paragraph = " ".join(paragraph.split())  # line breaks inside a paragraph are just wrapping
        if not paragraph:
            continue
        paragraph = _TITLE_RE.sub(_expand_title, paragraph)
        sentences += [s.strip() for s in _split_paragraph(paragraph) if s.strip()]
    return sentences


def normalize_words(text: str, case: str = "upper", tally: TextTally | None = None) -> list[str]:
    """The words of one piece of text in the LM alphabet under the one text rule (`logits.text`, the rule references
    follow against labels of the 26 letters and the apostrophe in `case`): numbers spelled out, accents stripped,
    punctuation and what the alphabet cannot spell dropped (counted in `tally` when one is given).

    Does not split sentences and does not expand titles; use `normalize_sentences` for prose.
    """
    _check_case(case)
    normalised = TextRule.for_case(case).apply(text)
    if tally is not None:
        tally.add(text, normalised)
    return normalised.text.split()


def normalize_sentences(text: str, case: str = "upper", tally: TextTally | None = None) -> list[str]:
    """Raw prose -> one normalised sentence per item, words separated by single spaces, empty sentences dropped.

    >>> normalize_sentences('"Mr. Bennet, I\\u2019m 21!" said she.  It cost 3,500 pounds.')
    ["MISTER BENNET I'M TWENTY ONE SAID SHE", 'IT COST THREE THOUSAND FIVE HUNDRED POUNDS']
    """
    _check_case(case)
    sentences: list[str] = []
    for raw in split_sentences(text):
        words = normalize_words(raw, case, tally)
        if words:
            sentences.append(" ".join(words))
    return sentences
