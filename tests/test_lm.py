"""Tests for the `lm` package: text normalisation, LM builds, loading and alphabet checks.

The build tests need KenLM's lmplz and build_binary (`make install` builds them into lm/kenlm/bin; the fixture
builds them if they are missing). Every LM here is built from a few inline sentences with 32 MB of sort memory,
so each build takes a fraction of a second.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import lm.build
import lm.kenlm_tools
from lm import (
    KenLMBinaries,
    LanguageModelCache,
    LMError,
    build_default_lm,
    build_lm,
    check_alphabet,
    ensure_kenlm_binaries,
    lm_fingerprint,
    load_language_model,
    normalize_sentences,
    normalize_words,
    number_to_words,
    ordinal_to_words,
    read_arpa_unigrams,
    select_heldout,
)
from lm.kenlm_tools import run_logged
from logits.errors import LabError

REPO = Path(__file__).resolve().parents[1]
UPPER_LABELS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ'|")
MEMORY = "32M"  # lmplz -S; the default 20% of RAM costs seconds of page-zeroing for nothing on tiny text

# Each sentence carries a marker word found nowhere else, so a marker missing from the LM's vocabulary proves that
# every occurrence of its sentence was held out. Each sentence appears twice, far apart.
MARKERS = ("ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO", "FOXTROT", "GOLF", "HOTEL", "INDIA", "JULIET", "KILO",
           "LIMA")
SENTENCES = [f"The {m.lower()} cat sat on the mat with a dog." for m in MARKERS]
TINY_CORPUS = " ".join(SENTENCES) + "\n\nA short one. " + " ".join(reversed(SENTENCES)) + "\n"


# --- normalisation --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("n", "words"), [
    (0, "zero"), (7, "seven"), (13, "thirteen"), (20, "twenty"), (42, "forty two"), (100, "one hundred"),
    (105, "one hundred five"), (999, "nine hundred ninety nine"), (1000, "one thousand"),
    (1203, "one thousand two hundred three"), (40_000, "forty thousand"),
    (1_000_001, "one million one"),
    (999_999_999, "nine hundred ninety nine million nine hundred ninety nine thousand nine hundred ninety nine"),
    (1_234_567_890, "one two three four five six seven eight nine zero"),
])
def test_number_to_words(n: int, words: str) -> None:
    assert number_to_words(n) == words


@pytest.mark.parametrize(("n", "words"), [
    (1, "first"), (2, "second"), (3, "third"), (4, "fourth"), (5, "fifth"), (8, "eighth"), (9, "ninth"),
    (11, "eleventh"), (12, "twelfth"), (20, "twentieth"), (21, "twenty first"), (22, "twenty second"),
    (100, "one hundredth"), (103, "one hundred third"),
])
def test_ordinal_to_words(n: int, words: str) -> None:
    assert ordinal_to_words(n) == words


@pytest.mark.parametrize(("text", "expected"), [
    # numbers: grouped thousands, ordinals, decimals, decades
    ("It cost 3,500 pounds on the 22nd, or 1st.", ["IT COST THREE THOUSAND FIVE HUNDRED POUNDS ON THE TWENTY SECOND "
                                                   "OR FIRST"]),
    ("Chapter 12", ["CHAPTER TWELVE"]),
    ("pi is 3.14", ["PI IS THREE POINT ONE FOUR"]),
    ("the 1960s", ["THE ONE THOUSAND NINE HUNDRED SIXTIES"]),
    # apostrophes survive inside words only; quote marks of both kinds go
    ("\u201cDon\u2019t,\u201d said Elizabeth\u2019s sister.", ["DON'T SAID ELIZABETH'S SISTER"]),
    ("'Tis the Bennets' house, 'quoted'.", ["TIS THE BENNETS HOUSE QUOTED"]),
    ('"I am," said she', ["I AM SAID SHE"]),
    # accents and ligatures
    ("Caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00c6sop Stra\u00dfe", ["CAFE NAIVE RESUME AESOP STRASSE"]),
    # hyphens and dashes separate words; other punctuation goes
    ("to-morrow--well\u2014I (think) _so_ & 50%", ["TO MORROW WELL I THINK SO AND FIFTY PERCENT"]),
    # titles are spelled out and do not end a sentence; initials do not either; "I." does
    ("Mr. Bennet met Mrs. Long and Dr. Jones.", ["MISTER BENNET MET MISSUS LONG AND DOCTOR JONES"]),
    ("Colonel F. came. So did I. Then St. Paul's.", ["COLONEL F CAME", "SO DID I", "THEN SAINT PAUL'S"]),
    # sentence ends: . ! ? ; and blank lines, not line wrapping; speech keeps its lower-case attribution
    ("How are you? I am fine! Really; truly.", ["HOW ARE YOU", "I AM FINE", "REALLY", "TRULY"]),
    ('"Is it?" said she. "Yes."', ["IS IT SAID SHE", "YES"]),
    ("One line\nwrapped here\n\nNew paragraph", ["ONE LINE WRAPPED HERE", "NEW PARAGRAPH"]),
    ("had rooted up.--The house", ["HAD ROOTED UP", "THE HOUSE"]),
    # empty sentences are dropped
    ("... !!! ?\n\n\n* * *", []),
])
def test_normalize_sentences(text: str, expected: list[str]) -> None:
    assert normalize_sentences(text) == expected


def test_normalize_lower_case() -> None:
    assert normalize_sentences("Mr. Darcy's 2 HORSES.", case="lower") == ["mister darcy's two horses"]
    assert normalize_words("It's 5 O'Clock!", "lower") == ["it's", "five", "o'clock"]


def test_normalize_keeps_only_the_alphabet() -> None:
    nasty = "\u00bfQu\u00e9? \u00a1S\u00ed! \u03b1\u03b2\u03b3 \u2116 5\u00bd \u00a3100 <b>x</b> \t \u00e5ngstr\u00f6m \u201ca\u201d"
    for sentence in normalize_sentences(nasty):
        assert re.fullmatch(r"[A-Z']+( [A-Z']+)*", sentence), sentence


def test_normalize_rejects_unknown_case() -> None:
    with pytest.raises(LMError, match="upper"):
        normalize_sentences("text", case="title")


# --- building -------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def binaries() -> KenLMBinaries:
    return ensure_kenlm_binaries()


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "tiny.txt"
    path.write_text(TINY_CORPUS, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tiny_lm(binaries: KenLMBinaries, tiny_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> lm.LMArtifacts:
    out = tmp_path_factory.mktemp("tiny_lm")
    return build_lm(tiny_corpus, out, order=3, heldout=3, seed=1, memory=MEMORY, binaries=binaries)


def _arpa_orders(path: Path) -> list[int]:
    text = path.read_text(encoding="utf-8")
    return [int(n) for n in re.findall(r"^ngram (\d+)=\d+$", text, flags=re.MULTILINE)]


def test_ensure_binaries_is_idempotent(binaries: KenLMBinaries) -> None:
    again = ensure_kenlm_binaries()
    assert again == binaries
    assert again.lmplz.is_file() and again.build_binary.is_file()


def test_ensure_binaries_without_cmake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lm.kenlm_tools.shutil, "which", lambda name: None)
    with pytest.raises(LMError, match="make install"):
        ensure_kenlm_binaries(tmp_path / "kenlm")


def test_failed_command_shows_its_output_tail() -> None:
    with pytest.raises(LMError, match=r"(?s)exit code 3.*line 59\nline 60") as info:
        run_logged(["sh", "-c", "seq -f 'line %g' 60; exit 3"], "counting")
    assert "line 1\n" not in str(info.value)  # only the tail, not the whole output


def test_build_writes_complete_outputs(tiny_lm: lm.LMArtifacts) -> None:
    out = tiny_lm.arpa.parent
    assert tiny_lm.arpa == out / "3gram.arpa" and tiny_lm.binary == out / "3gram.bin"
    assert tiny_lm.heldout == out / "heldout.txt"
    # nothing half-written or temporary is left behind
    assert sorted(p.name for p in out.iterdir()) == ["3gram.arpa", "3gram.bin", "build.json", "heldout.txt",
                                                     "unigrams.txt"]
    assert _arpa_orders(tiny_lm.arpa) == [1, 2, 3]
    assert load_language_model(tiny_lm.binary).order == 3


def test_build_json_records_provenance(tiny_lm: lm.LMArtifacts, tiny_corpus: Path) -> None:
    record = json.loads((tiny_lm.arpa.parent / "build.json").read_text(encoding="utf-8"))
    assert record == tiny_lm.stats
    assert record["corpus"] == str(tiny_corpus.resolve())
    assert record["corpus_sha256"] == hashlib.sha256(tiny_corpus.read_bytes()).hexdigest()
    assert (record["order"], record["case"], record["seed"], record["heldout"]) == (3, "upper", 1, 3)
    assert record["sentences"] == 2 * len(SENTENCES) + 1
    assert record["heldout_occurrences_removed"] == 6  # each held-out sentence occurs twice
    assert record["discount_fallback"] is True  # tiny text cannot estimate Kneser-Ney discounts
    assert record["kenlm_version"] == "0.3.0"


def test_heldout_sentences_are_absent_from_the_lm(tiny_lm: lm.LMArtifacts) -> None:
    assert tiny_lm.heldout is not None
    held = tiny_lm.heldout.read_text(encoding="utf-8").splitlines()
    assert len(held) == 3 and len(set(held)) == 3
    vocabulary = set(tiny_lm.unigrams.read_text(encoding="utf-8").split())
    held_markers = {m for m in MARKERS if any(m in s.split() for s in held)}
    assert len(held_markers) == 3
    assert not held_markers & vocabulary
    assert set(MARKERS) - held_markers <= vocabulary


def test_unigrams_file_is_the_lm_vocabulary(tiny_lm: lm.LMArtifacts) -> None:
    assert tiny_lm.heldout is not None
    held = set(tiny_lm.heldout.read_text(encoding="utf-8").splitlines())
    lm_sentences = [s for s in normalize_sentences(TINY_CORPUS) if s not in held]
    expected = sorted({w for s in lm_sentences for w in s.split()})
    assert tiny_lm.unigrams.read_text(encoding="utf-8").splitlines() == expected
    assert sorted(read_arpa_unigrams(tiny_lm.arpa)) == expected


def test_same_seed_same_heldout(binaries: KenLMBinaries, tiny_corpus: Path, tiny_lm: lm.LMArtifacts,
                                tmp_path: Path) -> None:
    again = build_lm(tiny_corpus, tmp_path / "again", order=3, heldout=3, seed=1, memory=MEMORY, binaries=binaries)
    assert again.heldout is not None and tiny_lm.heldout is not None
    assert again.heldout.read_bytes() == tiny_lm.heldout.read_bytes()
    assert again.unigrams.read_bytes() == tiny_lm.unigrams.read_bytes()


def test_select_heldout_is_seeded() -> None:
    sentences = normalize_sentences(TINY_CORPUS)
    first = select_heldout(sentences, 4, seed=7)
    assert first == select_heldout(list(sentences), 4, seed=7)
    assert any(select_heldout(sentences, 4, seed=s) != first for s in range(1, 6))
    assert all(4 <= len(s.split()) <= 30 for s in first)
    assert "A SHORT ONE" not in {s for seed in range(20) for s in select_heldout(sentences, 4, seed)}
    with pytest.raises(LMError, match="--heldout"):
        select_heldout(sentences, 13, seed=0)


def test_rebuild_without_heldout_removes_stale_file(binaries: KenLMBinaries, tiny_corpus: Path,
                                                    tmp_path: Path) -> None:
    build_lm(tiny_corpus, tmp_path, order=2, heldout=2, memory=MEMORY, binaries=binaries)
    assert (tmp_path / "heldout.txt").is_file()
    artifacts = build_lm(tiny_corpus, tmp_path, order=2, heldout=0, memory=MEMORY, binaries=binaries)
    assert artifacts.heldout is None and not (tmp_path / "heldout.txt").exists()
    assert set(MARKERS) <= set(artifacts.unigrams.read_text(encoding="utf-8").split())


def test_build_lower_case(binaries: KenLMBinaries, tiny_corpus: Path, tmp_path: Path) -> None:
    artifacts = build_lm(tiny_corpus, tmp_path, order=2, case="lower", memory=MEMORY, binaries=binaries)
    words = artifacts.unigrams.read_text(encoding="utf-8").split()
    assert "alpha" in words and all(w == w.lower() for w in words)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"order": 9}, "order"), ({"case": "title"}, "case"), ({"heldout": -1}, "heldout"),
    ({"memory": "lots"}, "memory"),
])
def test_build_rejects_bad_arguments(tiny_corpus: Path, tmp_path: Path, binaries: KenLMBinaries,
                                     kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(LMError, match=message):
        build_lm(tiny_corpus, tmp_path, binaries=binaries, **kwargs)  # type: ignore[arg-type]


def test_build_rejects_missing_and_non_utf8_corpus(tmp_path: Path, binaries: KenLMBinaries) -> None:
    missing = tmp_path / "nope.txt"
    with pytest.raises(LMError, match=re.escape(str(missing))):
        build_lm(missing, tmp_path / "out", binaries=binaries)
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("caf\u00e9 au lait".encode("latin-1"))
    with pytest.raises(LMError, match="UTF-8"):
        build_lm(latin1, tmp_path / "out", binaries=binaries)


def test_build_default_is_a_no_op_when_up_to_date(binaries: KenLMBinaries, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # 512 distinct five-word sentences: enough for the default's 400 held-out sentences, small enough to be quick.
    words = ("red", "green", "blue", "grey", "pale", "dark", "odd", "tall")
    text = " ".join(f"The {a} {b}s saw {c}." for a in words for b in words for c in words)
    calls: list[Path] = []
    real_build = lm.build.build_lm

    def small_build(corpus: Path, out_dir: Path, **kwargs: object) -> lm.LMArtifacts:
        calls.append(corpus)
        return real_build(corpus, out_dir, **{**kwargs, "memory": MEMORY, "binaries": binaries})  # type: ignore

    monkeypatch.setattr(lm.build, "default_corpus_text", lambda: text)
    monkeypatch.setattr(lm.build, "build_lm", small_build)
    first = build_default_lm(tmp_path)
    assert (first.stats["order"], first.stats["heldout"], first.stats["case"]) == (4, 400, "upper")
    assert build_default_lm(tmp_path) == first and len(calls) == 1
    monkeypatch.setattr(lm.build, "default_corpus_text", lambda: text + " The end.")
    build_default_lm(tmp_path)
    assert len(calls) == 2


# --- loading --------------------------------------------------------------------------------------------------------

def test_load_arpa_and_binary(tiny_lm: lm.LMArtifacts) -> None:
    arpa = load_language_model(tiny_lm.arpa)
    binary = load_language_model(tiny_lm.binary)  # unigrams from the sibling unigrams.txt
    assert arpa.order == binary.order == 3
    assert set(arpa.unigrams) == set(binary.unigrams)
    assert not {"<s>", "</s>", "<unk>"} & set(arpa.unigrams)
    assert binary.fingerprint == hashlib.sha256(tiny_lm.binary.read_bytes()).hexdigest()
    assert binary.model.score("THE ALPHA CAT SAT", bos=True, eos=False) < 0


def test_lm_fingerprint_streams_large_files(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    data = bytes(range(256)) * 9000  # > 2 MiB: several chunks
    path.write_bytes(data)
    assert lm_fingerprint(path) == hashlib.sha256(data).hexdigest()


def test_load_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.arpa"
    with pytest.raises(LMError, match=re.escape(str(missing))) as info:
        load_language_model(missing)
    assert isinstance(info.value, LabError)


@pytest.mark.parametrize("kind", ["arpa", "binary"])
def test_load_truncated_model(tiny_lm: lm.LMArtifacts, tmp_path: Path, kind: str) -> None:
    source = tiny_lm.arpa if kind == "arpa" else tiny_lm.binary
    truncated = tmp_path / source.name
    data = source.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    shutil.copy(tiny_lm.unigrams, tmp_path / "unigrams.txt")
    with pytest.raises(LMError, match=re.escape(str(truncated))) as info:
        load_language_model(truncated)
    assert "truncated" in str(info.value) and "make lm" in str(info.value)


def test_load_file_that_is_not_a_model(tmp_path: Path) -> None:
    path = tmp_path / "notes.arpa"
    path.write_text("hello\n", encoding="utf-8")
    with pytest.raises(LMError, match="not a KenLM model"):
        load_language_model(path)


def test_binary_without_unigrams(tiny_lm: lm.LMArtifacts, tmp_path: Path) -> None:
    lonely = tmp_path / "model.bin"
    shutil.copy(tiny_lm.binary, lonely)
    with pytest.raises(LMError, match="--unigrams") as info:
        load_language_model(lonely)
    assert str(lonely) in str(info.value)
    loaded = load_language_model(lonely, unigrams=tiny_lm.unigrams)
    assert loaded.unigrams == tuple(tiny_lm.unigrams.read_text(encoding="utf-8").split())


def test_read_arpa_unigrams_stops_at_bigrams(tmp_path: Path) -> None:
    arpa = tmp_path / "hand.arpa"
    arpa.write_text(
        "\n\\data\\\nngram 1=5\nngram 2=1\n\n\\1-grams:\n-1.0\t<unk>\t0\n0\t<s>\t-0.3\n-1.0\t</s>\t0\n"
        "-0.5\tHELLO\t-0.2\n-0.5\tWORLD'S\n\n\\2-grams:\nnot a valid line at all\n\\end\\\n", encoding="utf-8")
    assert read_arpa_unigrams(arpa) == ("HELLO", "WORLD'S")
    no_section = tmp_path / "empty.arpa"
    no_section.write_text("\\data\\\nngram 1=1\n", encoding="utf-8")
    with pytest.raises(LMError, match=re.escape(str(no_section))):
        read_arpa_unigrams(no_section)


def test_cache_loads_each_model_once(tiny_lm: lm.LMArtifacts) -> None:
    cache = LanguageModelCache()
    first = cache.get(tiny_lm.binary)
    assert cache.get(str(tiny_lm.binary)) is first
    assert cache.get(tiny_lm.arpa) is not first
    assert len(cache) == 2
    with pytest.raises(LMError):
        cache.get(tiny_lm.arpa.parent / "absent.bin")


# --- alphabet checks ------------------------------------------------------------------------------------------------

def test_check_alphabet_accepts_matching_lm() -> None:
    check_alphabet(("HELLO", "WORLD'S", "A"), UPPER_LABELS)
    check_alphabet(("hello", "world's"), frozenset("abcdefghijklmnopqrstuvwxyz' ") | {"<pad>"})


def test_check_alphabet_case_mismatch() -> None:
    with pytest.raises(LMError, match="lower case.*--case upper"):
        check_alphabet(("hello", "world", "a"), UPPER_LABELS, source="x.arpa")
    with pytest.raises(LMError, match="upper case.*--case lower"):
        check_alphabet(("HELLO", "WORLD"), frozenset("abcdefghijklmnopqrstuvwxyz'"))


def test_check_alphabet_low_overlap() -> None:
    words = ("HELLO", "\u00c9T\u00c9", "GR\u00dcN", "NA\u00cfVE", "STRA\u00dfE")
    with pytest.raises(LMError, match=r"20%.*'\u00c9T\u00c9'") as info:
        check_alphabet(words, UPPER_LABELS, source="german.bin")
    assert "german.bin" in str(info.value)
    with pytest.raises(LMError, match="no words"):
        check_alphabet(("<s>", "</s>", "<unk>"), UPPER_LABELS)


# --- command line ---------------------------------------------------------------------------------------------------

def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`decode lm ...` as a user runs it: the installed entry point, in a process of its own."""
    decode = Path(sys.executable).with_name("decode")
    return subprocess.run([decode, "lm", *args], cwd=REPO, capture_output=True, text=True, check=False)


def test_cli_reports_user_errors_without_traceback(tmp_path: Path) -> None:
    result = _cli("build", "--corpus", str(tmp_path / "nope.txt"), "--order", "3", "--out", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].startswith("error: corpus ")
    assert "Traceback" not in result.stderr


def test_cli_build(binaries: KenLMBinaries, tiny_corpus: Path, tmp_path: Path) -> None:
    result = _cli("build", "--corpus", str(tiny_corpus), "--order", "2", "--out", str(tmp_path), "--heldout", "1",
                  "--seed", "4", "--memory", MEMORY, "--case", "lower")
    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "build.json").read_text(encoding="utf-8"))
    assert (record["order"], record["heldout"], record["seed"], record["case"]) == (2, 1, 4, "lower")
    assert "lmplz" in result.stderr  # stages are shown on stderr


# --- corpus formats -------------------------------------------------------------------------------------------------

LINES = [f"THE {m} CAT SAT ON THE MAT" for m in MARKERS] + ["a dog, and 2 cats!", "SHE SAW HIM"]


def test_a_line_corpus_gives_one_sentence_per_line_plain_or_gzip(binaries: KenLMBinaries, tmp_path: Path) -> None:
    import gzip

    plain = tmp_path / "lines.txt"
    plain.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    packed = tmp_path / "lines.txt.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    built = [lm.build_lm(path, tmp_path / path.name.replace(".", "-"), order=2, memory=MEMORY, binaries=binaries)
             for path in (plain, packed)]
    for artifacts in built:
        assert (artifacts.stats["format"], artifacts.stats["sentences"]) == ("lines", len(LINES))
    assert built[0].arpa.read_bytes() == built[1].arpa.read_bytes()
    assert "TWO" in lm.read_unigrams_file(built[0].unigrams)  # "2 cats" was normalised, the rest passed as is


def test_formats_are_told_apart_and_prose_streams_like_the_whole_text(tiny_corpus: Path, tmp_path: Path) -> None:
    from lm.corpus import corpus_sentences, sniff_format

    lines = tmp_path / "lines.txt"
    lines.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    normalised = tmp_path / "norm.txt"
    normalised.write_text("THE CAT SAT\nON THE MAT\nA DOG\n", encoding="utf-8")
    assert (sniff_format(tiny_corpus), sniff_format(lines), sniff_format(normalised)) == ("prose", "lines", "lines")
    assert list(corpus_sentences(lines, "upper"))[-2:] == ["A DOG AND TWO CATS", "SHE SAW HIM"]
    assert list(corpus_sentences(tiny_corpus, "upper")) == lm.normalize_sentences(TINY_CORPUS, "upper")
    assert list(corpus_sentences(normalised, "lower", format="lines")) == ["the cat sat", "on the mat", "a dog"]


def test_a_binary_or_empty_corpus_is_one_clear_error(binaries: KenLMBinaries, tiny_lm, tmp_path: Path) -> None:
    with pytest.raises(LMError, match="is a binary file"):
        lm.build_lm(tiny_lm.binary, tmp_path / "a", order=2, memory=MEMORY, binaries=binaries)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(LMError, match="no words after normalisation"):
        lm.build_lm(empty, tmp_path / "b", order=2, memory=MEMORY, binaries=binaries)
    assert not list((tmp_path / "b").glob(".lm-build-*"))  # nothing half-written is left
    with pytest.raises(LMError, match="format must be one of"):
        lm.build_lm(empty, tmp_path / "c", order=2, memory=MEMORY, binaries=binaries, format="csv")


def test_pruning_quantising_and_the_heldout_report(binaries: KenLMBinaries, tiny_corpus: Path, tmp_path: Path) -> None:
    import kenlm

    full = lm.build_lm(tiny_corpus, tmp_path / "full", order=3, heldout=2, memory=MEMORY, binaries=binaries)
    small = lm.build_lm(tiny_corpus, tmp_path / "small", order=3, heldout=2, memory=MEMORY, binaries=binaries,
                        prune=(0, 1, 1), quantize=True)
    assert small.stats["ngrams"]["3"] < full.stats["ngrams"]["3"] and small.stats["quantized"] is True
    assert small.binary.read_bytes()[:8] == b"mmap lm "  # a KenLM binary (the trie's size pays off on real LMs)
    assert kenlm.Model(str(small.binary)).order == 3
    for stats in (full.stats, small.stats):
        assert stats["heldout_perplexity"] > 1 and stats["heldout_oov_rate"] > 0  # each held-out marker is unseen
    with pytest.raises(LMError, match="prune takes up to 3 non-decreasing"):
        lm.build_lm(tiny_corpus, tmp_path / "bad", order=3, memory=MEMORY, binaries=binaries, prune=(1, 0))


def test_lm_eval_reports_perplexity_and_oov(tiny_lm, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from cli.app import app
    from lm.evaluate import evaluate_lm

    text = tmp_path / "text.txt"
    text.write_text("THE ALPHA CAT SAT ON THE MAT\nTHE ZYZZYVA CAT\n", encoding="utf-8")
    found = evaluate_lm(tiny_lm.arpa, text, format="lines")
    assert (found.sentences, found.words, found.oov) == (2, 10, 1) and found.perplexity > 1
    result = CliRunner().invoke(app, ["lm", "eval", str(tiny_lm.arpa), str(text), "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["oov_rate"] == 0.1
    missing = CliRunner().invoke(app, ["lm", "eval", str(tmp_path / "none.bin"), str(text)])
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_a_vocabulary_cap_keeps_the_most_frequent_words(binaries: KenLMBinaries, tiny_corpus: Path,
                                                         tmp_path: Path) -> None:
    capped = lm.build_lm(tiny_corpus, tmp_path / "capped", order=2, memory=MEMORY, binaries=binaries, vocab_top=4)
    words = set(lm.read_unigrams_file(capped.unigrams))
    assert capped.stats["vocabulary"] == 4 and words <= {"THE", "CAT", "SAT", "ON", "MAT", "WITH", "A", "DOG"}
    with pytest.raises(LMError, match="at least 1 word"):
        lm.build_lm(tiny_corpus, tmp_path / "none", order=2, memory=MEMORY, binaries=binaries, vocab_top=0)


def test_convert_an_existing_gzip_arpa(binaries: KenLMBinaries, tiny_lm, tmp_path: Path) -> None:
    import gzip

    from lm.build import convert_arpa

    packed = tmp_path / "tiny.arpa.gz"
    packed.write_bytes(gzip.compress(tiny_lm.arpa.read_bytes()))
    made = convert_arpa(packed, tmp_path / "out", binaries=binaries)
    assert made.binary.name == "tiny.bin" and made.unigrams.read_text() == tiny_lm.unigrams.read_text()
    assert lm.load_language_model(made.binary).order == tiny_lm.stats["order"]
    broken = tmp_path / "broken.arpa"
    broken.write_text("not an arpa file\n")
    with pytest.raises(LMError, match="expected an ARPA file"):
        convert_arpa(broken, tmp_path / "bad", binaries=binaries)
    assert not (tmp_path / "bad" / "broken.bin").exists()
