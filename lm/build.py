"""Build a KenLM n-gram model from prose: normalise, hold out test sentences, lmplz, build_binary.

Outputs in out_dir: {order}gram.arpa, {order}gram.bin, unigrams.txt (the words pyctcdecode needs beside a binary),
heldout.txt (sentences kept out of the LM, for perplexity and for synthesising test utterances the LM has never
seen) and build.json (provenance). Everything is written under temporary names and renamed at the very end, with
build.json last, so a directory with a build.json always holds a complete build.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Sequence

from lm.corpus import FORMATS, CorpusReader, default_corpus_text
from lm.errors import LMError
from lm.evaluate import evaluate_lm
from lm.kenlm_tools import KENLM_VERSION, KenLMBinaries, command_failure, ensure_kenlm_binaries, run_captured
from lm.model import UNIGRAMS_FILENAME, open_text, read_arpa_unigrams
from lm.normalize import CASES
from logits.console import progress, say
from logits.errors import describe_os_error
from logits.files import atomic_write, sha256_file, write_json_atomic
from logits.text import TextTally, warn_unspellable

BUILD_JSON = "build.json"
# Where `make lm` puts the default LM, relative to the working directory (the repository root).
DEFAULT_LM_DIR = Path("lm/build")
HELDOUT_FILENAME = "heldout.txt"
DEFAULT_CORPUS_FILENAME = "austen.txt"
DEFAULT_ORDER = 4
DEFAULT_CASE = "upper"
DEFAULT_HELDOUT = 400
DEFAULT_SEED = 0
# Held-out sentences should be real utterances: long enough to exercise the LM, short enough to synthesise.
HELDOUT_MIN_WORDS = 4
HELDOUT_MAX_WORDS = 30
# KenLM's Kneser-Ney discount estimation fails on small text; below this many words we ask for fallback discounts
# up front instead of waiting for lmplz to fail (it is also retried with them whenever lmplz asks for it).
SMALL_TEXT_WORDS = 10_000
MAX_ORDER = 6  # the `kenlm` Python module is compiled with KENLM_MAX_ORDER=6: it could not load anything higher
_MEMORY = re.compile(r"^\d+(\.\d+)?[%bkmgtpezyBKMGTPEZY]?$")


@dataclass(frozen=True)
class LMArtifacts:
    """The files of one LM build and what build.json records about it."""

    arpa: Path
    binary: Path
    unigrams: Path
    heldout: Path | None
    stats: dict[str, Any]


def _say(message: str) -> None:
    say("lm", message)


def _write_lines(path: Path, lines: Iterable[str]) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        for line in lines:
            handle.write(line)
            handle.write("\n")


def _split_heldout(found: CorpusPass, chosen: set[str], lm_text: Path) -> tuple[list[str], int, int]:
    """The corpus's normalised text as `lm_text`, without the chosen sentences: (held-out sentences in the order they
    first occur, LM sentences, LM words)."""
    all_text = found.path
    if not chosen:
        os.replace(all_text, lm_text)
        return [], found.sentences, found.words
    held: dict[str, None] = {}
    sentences = words = 0
    with open(all_text, encoding="utf-8") as source, open(lm_text, "w", encoding="utf-8", newline="\n") as target:
        for line in source:
            sentence = line.rstrip("\n")
            if sentence in chosen:
                held.setdefault(sentence)
                continue
            target.write(line)
            sentences += 1
            words += sentence.count(" ") + 1
    all_text.unlink()
    return list(held), sentences, words


def _check_arguments(order: int, case: str, heldout: int, memory: str) -> None:
    if not 2 <= order <= MAX_ORDER:
        raise LMError(f"order must be between 2 and {MAX_ORDER} (the kenlm module's compiled maximum), got {order}")
    if case not in CASES:
        raise LMError(f"case must be 'upper' or 'lower' (the case of the acoustic model's labels), got {case!r}")
    if heldout < 0:
        raise LMError(f"heldout must be 0 or more sentences, got {heldout}")
    if not _MEMORY.match(memory):
        raise LMError(f"memory must be what lmplz -S takes, e.g. '20%', '500M' or '2G'; got {memory!r}")


def select_heldout(sentences: list[str], count: int, seed: int) -> list[str]:
    """`count` distinct sentences of 4..30 words, chosen reproducibly from `seed`, in the order they first occur."""
    chosen = choose_heldout({s for s in sentences if _heldout_candidate(s)}, count, seed)
    return list(dict.fromkeys(s for s in sentences if s in chosen))


def choose_heldout(candidates: set[str], count: int, seed: int) -> set[str]:
    """`count` of the candidate sentences, chosen reproducibly from `seed`."""
    if count == 0:
        return set()
    ordered = sorted(candidates)
    if count > len(ordered):
        raise LMError(f"asked to hold out {count} sentences but the corpus has only {len(ordered)} distinct "
                      f"sentences of {HELDOUT_MIN_WORDS}..{HELDOUT_MAX_WORDS} words; pass a smaller --heldout.")
    # Sorting first makes the choice independent of set iteration order (which changes with PYTHONHASHSEED).
    return set(random.Random(seed).sample(ordered, count))


def _heldout_candidate(sentence: str) -> bool:
    return HELDOUT_MIN_WORDS <= len(sentence.split()) <= HELDOUT_MAX_WORDS


@dataclass
class CorpusPass:
    """What one streaming pass over a corpus found: its normalised text went to `path`."""

    path: Path
    sentences: int = 0
    words: int = 0
    candidates: set[str] = field(default_factory=set)  # held-out candidates, collected only when asked for
    counts: Counter = field(default_factory=Counter)  # word counts, collected only for a vocabulary cap
    text: TextTally = field(default_factory=lambda: TextTally("sentences"))  # what the text rule dropped
    seconds: float = 0.0


def normalise_corpus(corpus: Path, out: Path, case: str, format: str = "auto", heldout: bool = False,
                     count_words: bool = False) -> CorpusPass:
    """Stream the corpus's normalised sentences into `out`, one per line, counting them. Memory does not grow with
    the corpus, except for the distinct held-out candidates when `heldout` (a held-out set needs to see them all)."""
    found = CorpusPass(out)
    started = time.perf_counter()
    total = corpus.stat().st_size
    with open(out, "w", encoding="utf-8", newline="\n") as handle, \
            progress(total, f"normalising {corpus.name}", unit="B") as bar:
        reader = CorpusReader(corpus, case, format)
        done = 0
        for sentence in reader:
            handle.write(sentence)
            handle.write("\n")
            found.sentences += 1
            found.words += sentence.count(" ") + 1
            if heldout and _heldout_candidate(sentence):
                found.candidates.add(sentence)
            if count_words:
                found.counts.update(sentence.split())
            if found.sentences % 20_000 == 0:
                position = min(total, reader.position)
                bar.update(position - done)
                done = position
                bar.set_postfix_str(f"{found.words:,} words", refresh=False)
        bar.update(total - done)
    found.text = reader.tally
    found.seconds = time.perf_counter() - started
    return found


def _arpa_counts(arpa: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    with open_text(arpa) as handle:
        for line in handle:
            line = line.strip()
            if line.startswith("ngram "):
                n, _, value = line[len("ngram "):].partition("=")
                counts[n] = int(value)
            elif line.startswith("\\1-grams:"):
                break
    return counts


def _run_lmplz(binaries: KenLMBinaries, text: Path, arpa: Path, order: int, memory: str, scratch: Path,
               fallback: bool, prune: Sequence[int] = (), limit_vocab: Path | None = None) -> bool:
    """Run lmplz; returns whether fallback discounts were used (retrying with them if lmplz asks for it)."""
    command: list[str | Path] = [binaries.lmplz, "-o", str(order), "-S", memory, "-T", scratch,
                                 "--text", text, "--arpa", arpa, *(["--prune", *map(str, prune)] if prune else []),
                                 *(["--limit_vocab_file", limit_vocab] if limit_vocab else [])]
    what = f"lmplz (building the {order}-gram ARPA)"
    result = run_captured([*command, "--discount_fallback"] if fallback else command, what)
    if result.returncode != 0 and not fallback and "discount_fallback" in result.stdout:
        _say("lmplz could not estimate Kneser-Ney discounts (small or repetitive text); retrying with "
             "--discount_fallback")
        fallback = True
        result = run_captured([*command, "--discount_fallback"], what)
    if result.returncode != 0:
        raise command_failure(result, what)
    return fallback


def build_lm(corpus: Path | str, out_dir: Path | str, order: int = DEFAULT_ORDER, case: str = DEFAULT_CASE,
             heldout: int = 0, seed: int = DEFAULT_SEED, memory: str = "20%",
             binaries: KenLMBinaries | None = None, format: str = "auto", prune: Sequence[int] = (),
             quantize: bool = False, vocab_top: int | None = None) -> LMArtifacts:
    """Build {order}gram.arpa/.bin, unigrams.txt, heldout.txt and build.json in out_dir from a UTF-8 text file.

    format: "prose" (wrapped paragraphs, split into sentences), "lines" (one sentence per line, as
    librispeech-lm-norm.txt) or "auto" (told from the first lines); plain or gzip-compressed. The corpus is streamed
    through a file: memory does not grow with it (except for the distinct held-out candidates when heldout > 0).
    heldout: how many distinct sentences of 4..30 words to keep out of the LM (every occurrence is removed).
    memory: lmplz's -S (without it lmplz reserves 80% of RAM).
    prune: lmplz's --prune thresholds per order (e.g. (0, 0, 1, 1): drop 3- and 4-grams seen once).
    quantize: a quantised trie binary (build_binary -q 8 -b 8 trie): smaller, slightly less exact.
    vocab_top: keep only the N most frequent words (as the LibriSpeech LM's 200k): n-grams with others are dropped.
    binaries: lmplz and build_binary; by default those of ensure_kenlm_binaries(), built on first use.
    """
    started = time.monotonic()
    corpus = Path(corpus)
    out_dir = Path(out_dir)
    _check_arguments(order, case, heldout, memory)
    if prune and (len(prune) > order or any(int(t) < 0 for t in prune) or list(prune) != sorted(prune)):
        raise LMError(f"prune takes up to {order} non-decreasing counts >= 0 (one per order, e.g. 0 0 1 1), got "
                      f"{list(prune)}")
    if format not in FORMATS:
        raise LMError(f"format must be one of {FORMATS}, got {format!r}")
    if vocab_top is not None and vocab_top < 1:
        raise LMError(f"the vocabulary cap must be at least 1 word, got {vocab_top}")
    if not corpus.is_file():
        raise LMError(f"corpus {corpus} does not exist or is not a file; expected a UTF-8 text file.")
    binaries = binaries or ensure_kenlm_binaries()

    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{order}gram"
    final = {"arpa": out_dir / f"{stem}.arpa", "binary": out_dir / f"{stem}.bin",
             "unigrams": out_dir / UNIGRAMS_FILENAME, "heldout": out_dir / HELDOUT_FILENAME}
    # The scratch directory lives in out_dir so that the final renames stay on one filesystem (atomic).
    scratch = Path(tempfile.mkdtemp(prefix=".lm-build-", dir=out_dir))
    try:
        reader_format = format if format != "auto" else CorpusReader(corpus, case).format
        _say(f"reading and normalising {corpus} ({reader_format} format)")
        found = normalise_corpus(corpus, scratch / "all.txt", case, reader_format, heldout=heldout > 0,
                                 count_words=vocab_top is not None)
        warn_unspellable(found.text, f"corpus {corpus}")
        limit_vocab = None
        if vocab_top is not None:
            limit_vocab = scratch / "vocab.txt"
            # Most frequent first, ties by the word, so the cut is reproducible.
            kept = sorted(found.counts.items(), key=lambda item: (-item[1], item[0]))[:vocab_top]
            _write_lines(limit_vocab, [word for word, _ in kept])
            found.counts = Counter()
        sentences, words = found.sentences, found.words
        if not sentences:
            raise LMError(f"corpus {corpus} has no words after normalisation to letters and apostrophes; "
                          "expected text in a Latin alphabet.")
        chosen = choose_heldout(found.candidates, heldout, seed)
        found.candidates = set()
        text_path = scratch / "lm.txt"
        held, lm_sentences, lm_words = _split_heldout(found, chosen, text_path)
        _say(f"{sentences:,} sentences, {words:,} words ({words / max(found.seconds, 1e-9):,.0f} words/s "
             f"normalised); holding out {len(held):,} sentences ({sentences - lm_sentences:,} occurrences removed); "
             f"LM text: {lm_words:,} words")
        if not lm_sentences:
            raise LMError(f"corpus {corpus} has no sentences left for the LM after holding out {len(held)}; "
                          "pass a smaller --heldout or a larger corpus.")
        partial = {key: scratch / path.name for key, path in final.items()}

        _say(f"lmplz: estimating the {order}-gram model (-S {memory})")
        fallback = _run_lmplz(binaries, text_path, partial["arpa"], order, memory, scratch,
                              fallback=lm_words < SMALL_TEXT_WORDS, prune=prune, limit_vocab=limit_vocab)
        _say("build_binary: converting the ARPA to KenLM's binary format" + (" (quantised trie)" if quantize else ""))
        shape = ["-q", "8", "-b", "8", "trie"] if quantize else []
        result = run_captured([binaries.build_binary, *shape, partial["arpa"], partial["binary"]], "build_binary")
        if result.returncode != 0:
            raise command_failure(result, "build_binary")

        vocabulary = sorted(read_arpa_unigrams(partial["arpa"]))
        _write_lines(partial["unigrams"], vocabulary)
        if held:
            _write_lines(partial["heldout"], held)
        counts = _arpa_counts(partial["arpa"])
        scored = evaluate_lm(partial["binary"], partial["heldout"], case, "lines") if held else None
        if len(counts) != order:
            raise LMError(f"lmplz wrote {partial['arpa']} with n-gram orders {sorted(counts)}, expected 1..{order}; "
                          f"the text is probably too small for a {order}-gram. Use a larger corpus or lower --order.")

        stats: dict[str, Any] = {
            "corpus": str(corpus.resolve()),
            "corpus_sha256": sha256_file(corpus),
            "order": order,
            "case": case,
            "seed": seed,
            "memory": memory,
            "format": reader_format,
            "sentences": sentences,
            "words": words,
            "normalise_seconds": round(found.seconds, 2),
            "text_rule": found.text.provenance(),
            "lm_sentences": lm_sentences,
            "lm_words": lm_words,
            "heldout": len(held),
            "heldout_words": sum(len(s.split()) for s in held),
            "heldout_occurrences_removed": sentences - lm_sentences,
            "heldout_perplexity": None if scored is None else round(scored.perplexity, 2),
            "heldout_oov_rate": None if scored is None else round(scored.oov_rate, 5),
            "prune": list(prune),
            "vocab_top": vocab_top,
            "quantized": quantize,
            "vocabulary": len(vocabulary),
            "ngrams": counts,
            "discount_fallback": fallback,
            "kenlm_version": KENLM_VERSION,
            "kenlm_python_version": metadata.version("kenlm"),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "seconds": 0.0,
            "files": {key: path.name for key, path in final.items() if key != "heldout" or held},
            "bytes": {key: path.stat().st_size for key, path in partial.items() if path.exists()},
        }

        # Commit: drop the old build.json first so a crash between renames never leaves a stale one that vouches
        # for a mix of old and new files; the new build.json is the last file to appear.
        (out_dir / BUILD_JSON).unlink(missing_ok=True)
        for key, path in partial.items():
            if path.exists():
                os.replace(path, final[key])
        if not held:
            final["heldout"].unlink(missing_ok=True)  # a stale heldout.txt would not match this LM
        stats["seconds"] = round(time.monotonic() - started, 1)
        write_json_atomic(out_dir / BUILD_JSON, stats, indent=2)
    except OSError as exc:  # a plain write (the normalised text, the unigrams) names no file: name the folder
        raise LMError(f"building the LM in {out_dir}: {describe_os_error(exc, out_dir)}") from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    _say(f"done in {stats['seconds']}s: {final['arpa']}, {final['binary']}")
    return LMArtifacts(arpa=final["arpa"], binary=final["binary"], unigrams=final["unigrams"],
                       heldout=final["heldout"] if held else None, stats=stats)


def read_artifacts(out_dir: Path | str) -> LMArtifacts | None:
    """The build recorded in out_dir/build.json, or None when there is none or a file it names is missing."""
    out_dir = Path(out_dir)
    try:
        stats = json.loads((out_dir / BUILD_JSON).read_text(encoding="utf-8"))
        files = {key: out_dir / name for key, name in stats["files"].items()}
        artifacts = LMArtifacts(arpa=files["arpa"], binary=files["binary"], unigrams=files["unigrams"],
                                heldout=files.get("heldout"), stats=stats)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # no build, or a build.json from an older layout: either way, rebuild
    paths = [artifacts.arpa, artifacts.binary, artifacts.unigrams]
    if artifacts.heldout is not None:
        paths.append(artifacts.heldout)
    return artifacts if all(p.is_file() for p in paths) else None


def corpus_sentences_without_heldout(out_dir: Path | str) -> list[str]:
    """The default LM's corpus as normalised sentences, its held-out sentences left out: the text a model made for
    that LM may learn from (a tokenizer, an acoustic model) without seeing what it is tested on."""
    out_dir = Path(out_dir)
    corpus, heldout = out_dir / DEFAULT_CORPUS_FILENAME, out_dir / HELDOUT_FILENAME
    if not corpus.is_file() or not heldout.is_file():
        raise LMError(f"{corpus} or {heldout} is missing; build the default LM first (`make lm`)")
    held = set(heldout.read_text(encoding="utf-8").splitlines())
    return [s for s in CorpusReader(corpus, DEFAULT_CASE, "prose") if s not in held]


def build_default_lm(out_dir: Path | str, binaries: KenLMBinaries | None = None) -> LMArtifacts:
    """The project's default LM: Jane Austen's novels, 4-gram, upper case, 400 held-out sentences, seed 0.

    A no-op when out_dir already holds that build of the same corpus text (checked by sha256).
    """
    out_dir = Path(out_dir)
    _say("exporting the Jane Austen corpus from r-cran-janeaustenr")
    data = default_corpus_text().encode("utf-8")
    sha = hashlib.sha256(data).hexdigest()
    wanted = {"corpus_sha256": sha, "order": DEFAULT_ORDER, "case": DEFAULT_CASE, "heldout": DEFAULT_HELDOUT,
              "seed": DEFAULT_SEED}
    existing = read_artifacts(out_dir)
    if existing is not None and all(existing.stats.get(k) == v for k, v in wanted.items()):
        _say(f"{out_dir} is up to date (corpus sha256 {sha[:12]}...); nothing to do")
        return existing
    out_dir.mkdir(parents=True, exist_ok=True)
    corpus = out_dir / DEFAULT_CORPUS_FILENAME
    with atomic_write(corpus, "wb") as handle:
        handle.write(data)
    return build_lm(corpus, out_dir, order=DEFAULT_ORDER, case=DEFAULT_CASE, heldout=DEFAULT_HELDOUT,
                    seed=DEFAULT_SEED, binaries=binaries)


def convert_arpa(arpa: Path | str, out_dir: Path | str, quantize: bool = False,
                 binaries: KenLMBinaries | None = None) -> LMArtifacts:
    """A KenLM binary and unigrams.txt from an existing ARPA file, plain or gzip (such as LibriSpeech's official
    4-gram.arpa.gz): build_binary reads it as it is, and the words come from one streaming pass over its
    \\1-grams: section. Written under temporary names, build.json last."""
    started = time.monotonic()
    arpa, out_dir = Path(arpa), Path(out_dir)
    if not arpa.is_file():
        raise LMError(f"ARPA file {arpa} does not exist")
    binaries = binaries or ensure_kenlm_binaries()
    stem = arpa.name.removesuffix(".gz").removesuffix(".arpa")
    out_dir.mkdir(parents=True, exist_ok=True)
    final = {"binary": out_dir / f"{stem}.bin", "unigrams": out_dir / UNIGRAMS_FILENAME}
    scratch = Path(tempfile.mkdtemp(prefix=".lm-convert-", dir=out_dir))
    try:
        words = sorted(read_arpa_unigrams(arpa))  # also checks the header: a bad ARPA fails here, in seconds
        _write_lines(scratch / UNIGRAMS_FILENAME, words)
        _say(f"build_binary: {arpa} -> {final['binary']}" + (" (quantised trie)" if quantize else ""))
        shape = ["-q", "8", "-b", "8", "trie"] if quantize else []
        result = run_captured([binaries.build_binary, *shape, arpa, scratch / final["binary"].name], "build_binary")
        if result.returncode != 0:
            raise command_failure(result, "build_binary")
        (out_dir / BUILD_JSON).unlink(missing_ok=True)
        for key, path in final.items():
            os.replace(scratch / path.name, path)
        stats = {"source_arpa": str(arpa.resolve()), "vocabulary": len(words), "ngrams": _arpa_counts(arpa),
                 "quantized": quantize, "bytes": {k: p.stat().st_size for k, p in final.items()},
                 "files": {k: p.name for k, p in final.items()}, "seconds": round(time.monotonic() - started, 1),
                 "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        write_json_atomic(out_dir / BUILD_JSON, stats, indent=2)
    except OSError as exc:  # a plain write (the normalised text, the unigrams) names no file: name the folder
        raise LMError(f"building the LM in {out_dir}: {describe_os_error(exc, out_dir)}") from exc
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return LMArtifacts(arpa=arpa, binary=final["binary"], unigrams=final["unigrams"], heldout=None, stats=stats)
