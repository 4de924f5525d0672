"""Raw prose -> language-model training text in the acoustic model's alphabet.

A CTC model for English (wav2vec2-960h and friends) emits only letters, the apostrophe and a word delimiter, in one
case. An LM trained on anything else wastes probability mass on words the decoder can never produce, and one in the
other case silently does nothing in pyctcdecode. So everything here ends as words over [A-Z'] (or [a-z']) separated
by single spaces, with the spoken form where it is cheap to get right: numbers become words, "Mr." becomes "MISTER"
(the form LibriSpeech transcripts use).
"""

from __future__ import annotations

import re
import unicodedata
from types import MappingProxyType

from lm.errors import LMError

CASES: tuple[str, ...] = ("upper", "lower")

# Letters NFKD does not decompose into an ASCII base letter plus accents.
_LIGATURES = MappingProxyType(str.maketrans({
    "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L",
    "đ": "d", "Đ": "D", "þ": "th", "Þ": "Th", "ð": "d", "Ð": "D", "ı": "i",
}))
# Typographic apostrophes and single quotes all become "'"; whether one survives is decided later (inside a word only).
_APOSTROPHES = re.compile("[\u2018\u2019\u201a\u201b\u02bc\u02b9\u2032\u0060\u00b4]")
_DOUBLE_QUOTES = re.compile("[\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033\u301d\u301e]")
# Hyphens, dashes and the minus sign separate words: "to-morrow" -> "TO MORROW", "well--I" -> "WELL I".
_DASHES = re.compile("[-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d]")

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

_ONES = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
)
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ((1_000_000, "million"), (1_000, "thousand"))
MAX_CARDINAL = 999_999_999
_IRREGULAR_ORDINALS = MappingProxyType({
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth", "nine": "ninth",
    "twelve": "twelfth",
})
# "1,000,000" (grouped thousands) or plain digits; an optional decimal part; an ordinal or plural suffix ("3rd",
# "1990s") when no further letter follows.
_NUMBER = re.compile(
    r"(\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.(\d+))?(?:(st|nd|rd|th|'?s)(?![A-Za-z]))?", re.IGNORECASE)
# Apostrophes only survive between two letters: "don't", "Elizabeth's"; quote marks and "'tis" lose theirs.
_STRAY_APOSTROPHE = re.compile(r"(?<![A-Za-z])'|'(?![A-Za-z])")
_NOT_ALPHABET = re.compile(r"[^A-Za-z' ]+")


def _check_case(case: str) -> None:
    if case not in CASES:
        raise LMError(f"case must be 'upper' or 'lower' (the case of the acoustic model's labels), got {case!r}")


def _under_thousand(n: int) -> list[str]:
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words += [_ONES[hundreds], "hundred"]
    if rest >= 20:
        tens, ones = divmod(rest, 10)
        words.append(_TENS[tens])
        if ones:
            words.append(_ONES[ones])
    elif rest or not words:
        words.append(_ONES[rest])
    return words


def number_to_words(n: int) -> str:
    """Cardinal in words, American style without "and": 1203 -> "one thousand two hundred three".

    Numbers above 999,999,999 are read digit by digit, which is how long codes and phone numbers are spoken anyway.
    """
    if n < 0:
        raise ValueError(f"number_to_words takes non-negative integers, got {n}")
    if n > MAX_CARDINAL:
        return " ".join(_ONES[int(d)] for d in str(n))
    if n == 0:
        return "zero"
    words: list[str] = []
    for scale, name in _SCALES:
        count, n = divmod(n, scale)
        if count:
            words += _under_thousand(count) + [name]
    if n:
        words += _under_thousand(n)
    return " ".join(words)


def ordinal_to_words(n: int) -> str:
    """Ordinal in words: 1 -> "first", 22 -> "twenty second", 100 -> "one hundredth", 40 -> "fortieth"."""
    *head, last = number_to_words(n).split(" ")
    if last in _IRREGULAR_ORDINALS:
        last = _IRREGULAR_ORDINALS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return " ".join([*head, last])


def _plural(words: str) -> str:
    *head, last = words.split(" ")
    if last.endswith("y"):
        last = last[:-1] + "ies"
    elif last.endswith("x"):
        last += "es"
    else:
        last += "s"
    return " ".join([*head, last])


def _spell_number(match: re.Match[str]) -> str:
    integer, fraction, suffix = match.group(1), match.group(2), match.group(3)
    value = int(integer.replace(",", ""))
    if suffix and suffix.lower().lstrip("'") == "s" and not fraction:
        words = _plural(number_to_words(value))  # "the 1960s", "in 10s and 20s"
    elif suffix and not fraction:
        words = ordinal_to_words(value)
    else:
        words = number_to_words(value)
        if fraction:
            words += " point " + " ".join(_ONES[int(d)] for d in fraction)
        if suffix:  # "2.5th" is not a thing; keep what was written rather than guess
            words += " " + suffix
    return f" {words} "


def _to_ascii(text: str) -> str:
    text = _APOSTROPHES.sub("'", text)
    text = _DOUBLE_QUOTES.sub('"', text)
    text = text.translate(_LIGATURES)
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


def normalize_words(text: str, case: str = "upper") -> list[str]:
    """The words of one piece of text in the LM alphabet: letters, inner apostrophes, numbers spelled out.

    Does not split sentences and does not expand titles; use `normalize_sentences` for prose.
    """
    _check_case(case)
    text = _to_ascii(text)
    text = _DASHES.sub(" ", text)
    text = _NUMBER.sub(_spell_number, text)
    text = text.replace("&", " and ").replace("%", " percent ")
    text = _NOT_ALPHABET.sub(" ", text)
    text = _STRAY_APOSTROPHE.sub(" ", text)
    words = text.split()
    return [w.upper() for w in words] if case == "upper" else [w.lower() for w in words]


def normalize_sentences(text: str, case: str = "upper") -> list[str]:
    """Raw prose -> one normalised sentence per item, words separated by single spaces, empty sentences dropped.

    >>> normalize_sentences('"Mr. Bennet, I\\u2019m 21!" said she.  It cost 3,500 pounds.')
    ["MISTER BENNET I'M TWENTY ONE SAID SHE", 'IT COST THREE THOUSAND FIVE HUNDRED POUNDS']
    """
    _check_case(case)
    sentences: list[str] = []
    for raw in split_sentences(text):
        words = normalize_words(raw, case)
        if words:
            sentences.append(" ".join(words))
    return sentences
