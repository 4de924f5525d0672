"""The one text rule: references, LM text and hotwords brought to what a vocabulary's labels can spell.

A reference in another case than the labels, with an accent the labels lack, or with "3" where the labels have no
digits can never be matched by a hypothesis, so every such word counts as an error (WER 99-180% on a store imported
raw). The rule, applied against the labels' characters in this order:

1. apostrophes: typographic ones (’ ‘ ʼ ...) become "'" when the labels have "'";
2. accents: a character the labels lack whose NFKD decomposition without combining marks they can spell ("é" -> "e",
   "æ" -> "ae", "２" -> "2") becomes that decomposition;
3. digits: when the labels have no digits (but the letters of English number words), numbers are spelled out the way
   LM training text spells them ("3" -> "three", "3rd" -> "third", "1990s", "3,500", "2.5"), "&" and "%" too;
4. case: folded to the labels' case when they have one (upper or lower);
5. punctuation the labels lack separates words (is replaced by a space), and an apostrophe that is not between two
   letters is a quote mark and separates words too: none of it is spoken;
6. whatever is left that the labels cannot spell (東京, "$", "é" when the labels have no "e") is dropped (replaced by
   a space) and counted: the entry points warn with the counts ("2 of 5 references hold characters the labels cannot
   spell (東 x1, 京 x1)"), and stores record them in their provenance.

Steps 1-5 change nothing a CTC model with these labels could emit; step 6 is not safe, hence the warning. The rule is
idempotent: text it produced comes through it unchanged.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections import Counter
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Iterable

# The name stores and LM manifests record for text that went through this rule; a change of the rule renames it.
RULE = "labels-text-1"

# Letters NFKD does not decompose into a base letter plus accents.
LIGATURES = MappingProxyType({
    "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss", "ø": "o", "Ø": "O", "ł": "l", "Ł": "L",
    "đ": "d", "Đ": "D", "þ": "th", "Þ": "Th", "ð": "d", "Ð": "D", "ı": "i",
})
# Typographic apostrophes and single quotes all become "'"; whether one survives is decided later (inside a word only).
APOSTROPHES = re.compile("[\u2018\u2019\u201a\u201b\u02bc\u02b9\u2032\u0060\u00b4]")
# Dashes and the minus sign separate words like punctuation ("to-morrow" -> "to morrow"), though Unicode files the
# minus among the symbols.
_DASHES = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d")
_STRAY_APOSTROPHE = re.compile(r"(?<!\w)'|'(?!\w)")

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
_SPOKEN_SYMBOLS = MappingProxyType({"&": " and ", "%": " percent "})
# Every letter the spelled numbers and symbols use: labels without one of them cannot take spelled numbers.
_NUMBER_LETTERS = frozenset("".join(_ONES + _TENS) + "hundredthousandmillionpointfirstsecondthirdieth" + "andpercent")
# "1,000,000" (grouped thousands) or plain digits; an optional decimal part; an ordinal or plural suffix ("3rd",
# "1990s") when no further letter follows.
_NUMBER = re.compile(
    r"(\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.(\d+))?(?:(st|nd|rd|th|'?s)(?![A-Za-z]))?", re.IGNORECASE)


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


def spell_numbers(text: str) -> str:
    """Every number of `text` in words (cardinals, ordinals, plurals such as "1990s", decimals digit by digit)."""
    return _NUMBER.sub(_spell_number, text)


@dataclass(frozen=True)
class Normalised:
    """One text after the rule, and the characters of it the labels could not spell (dropped), with their counts."""

    text: str
    dropped: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class TextRule:
    """The rule against one set of characters (those the labels spell) and one case ('upper', 'lower', or 'mixed' /
    'none': no folding). Build it with `for_vocabulary` (references, hotwords) or `for_case` (LM text)."""

    characters: frozenset[str]
    case: str

    @classmethod
    def for_vocabulary(cls, vocabulary) -> "TextRule":
        """The rule for a `logits.vocabulary.Vocabulary`'s labels."""
        return cls(frozenset(vocabulary.characters), vocabulary.case)

    @classmethod
    def for_case(cls, case: str) -> "TextRule":
        """The rule for labels of the 26 English letters in `case` and the apostrophe: what LM text is written in."""
        letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
        return cls(frozenset((letters if case == "upper" else letters.lower()) + "'"), case)

    @property
    def spells_numbers(self) -> bool:
        """Numbers are spelled out when the labels have no digit but every letter the number words use."""
        return (not any(c.isdigit() for c in self.characters)
                and all(self._fold(c) in self.characters for c in _NUMBER_LETTERS))

    def apply(self, text: str, drop: bool = True) -> Normalised:
        """`text` under the rule, its unspellable characters dropped and counted (`drop=False` keeps them, still
        counted: a hotword the labels cannot spell is an error for the decoder's checks to name, not to hide)."""
        chars, spelled = self.characters, self.spells_numbers
        if "'" in chars:
            text = APOSTROPHES.sub("'", text)
        replace = {c: self._decomposed(c, spelled) for c in set(text) if c not in chars and not c.isspace()}
        text = text.translate({ord(c): r for c, r in replace.items() if r is not None})
        if spelled:
            text = spell_numbers(text)
            text = text.translate({ord(c): w for c, w in _SPOKEN_SYMBOLS.items() if c not in chars})
        text = self._fold(text)
        separators = {c for c in set(text) if c not in chars and (c in _DASHES or unicodedata.category(c)[0] == "P")}
        text = text.translate({ord(c): " " for c in separators})
        left = Counter(c for c in text if c not in chars and not c.isspace())
        if left and drop:
            text = text.translate({ord(c): " " for c in left})
        if "'" in chars:
            text = _STRAY_APOSTROPHE.sub(" ", text)
        return Normalised(" ".join(text.split()), tuple(sorted(left.items(), key=lambda kv: (-kv[1], kv[0]))))

    def _fold(self, text: str) -> str:
        return text.upper() if self.case == "upper" else text.lower() if self.case == "lower" else text

    def _decomposed(self, char: str, spelled: bool) -> str | None:
        """The character's NFKD form without combining marks (ligatures spelled out) when the labels spell all of it
        (digits and spoken symbols count as spellable when numbers are spelled); None when they do not, or when the
        labels spell it in their case ("É" for lower-case labels with "é")."""
        if self._fold(char) in self.characters:
            return None
        base = LIGATURES.get(char) or "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        ok = base and all(self._fold(c) in self.characters or (spelled and (c.isdigit() or c in _SPOKEN_SYMBOLS))
                          or c in _DASHES or unicodedata.category(c)[0] == "P" for c in base)
        return base if ok and base != char else None


@dataclass
class TextTally:
    """What the rule did to a collection of texts (references of a store, sentences of an LM corpus): how many it
    changed, how many held characters the labels cannot spell, and those characters with their counts. Not frozen:
    an LM corpus is counted as it streams past."""

    noun: str = "references"
    texts: int = 0
    changed: int = 0
    unspellable: int = 0
    dropped: Counter = field(default_factory=Counter)

    def add(self, raw: str, normalised: Normalised) -> str:
        """Count one text; returns its normalised text."""
        self.texts += 1
        self.changed += normalised.text != " ".join(raw.split())
        if normalised.dropped:
            self.unspellable += 1
            self.dropped.update(dict(normalised.dropped))
        return normalised.text

    def warning(self, limit: int = 8) -> str | None:
        """"2 of 5 references hold characters the labels cannot spell (東 x1, $ x1): dropped", or None."""
        if not self.unspellable:
            return None
        shown = ", ".join(f"{c} x{n}" for c, n in self.dropped.most_common(limit))
        more = f", {len(self.dropped) - limit} more" if len(self.dropped) > limit else ""
        return (f"{self.unspellable:,} of {self.texts:,} {self.noun} hold characters the labels cannot spell "
                f"({shown}{more}): dropped")

    def provenance(self) -> dict:
        """What a store or LM manifest records: the rule, and what it changed and dropped."""
        return {"rule": RULE, "texts": self.texts, "normalised": self.changed, "unspellable": self.unspellable,
                "dropped": dict(self.dropped.most_common())}


def normalise_texts(texts: Iterable[str | None], rule: TextRule, noun: str = "references"
                    ) -> tuple[list[str | None], TextTally]:
    """Each text under `rule` (None stays None: no transcript), and the tally to warn with and record."""
    tally = TextTally(noun)
    return [None if t is None else tally.add(t, rule.apply(t)) for t in texts], tally


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


class UnspellableTextWarning(UserWarning):
    """Texts held characters the labels cannot spell; they were dropped (the CLI prints one `warning:` line)."""


def warn_unspellable(tally: TextTally, where: str) -> None:
    """Warn once with the tally's counts, naming where the texts came from; nothing when every text was spellable."""
    message = tally.warning()
    if message:
        warnings.warn(f"{where}: {message}", UnspellableTextWarning, stacklevel=3)


def combined_provenance(parts: Iterable[dict]) -> dict:
    """The `TextTally.provenance` of texts counted in parts (a cache run split over Dask workers): counts summed."""
    parts = list(parts)
    dropped: Counter = Counter()
    for part in parts:
        dropped.update(part.get("dropped", {}))
    totals = {key: sum(part.get(key, 0) for part in parts) for key in ("texts", "normalised", "unspellable")}
    return {"rule": RULE, **totals, "dropped": dict(dropped.most_common())}
