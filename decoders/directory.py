"""Decoders that travel: pyctcdecode's decoder directory, written from a lab config and read as an `--lm`.

The layout pyctcdecode's `BeamSearchDecoderCTC.save_to_dir` writes and `load_from_dir` reads (and wav2vec2 "with LM"
checkpoints ship as their `language_model/` folder):

    DIR/alphabet.json                    {"labels": [...], "is_bpe": false}
    DIR/language_model/attrs.json        {"alpha": .., "beta": .., "unk_score_offset": .., "score_boundary": ..}
    DIR/language_model/unigrams.txt      the LM's words, one per line
    DIR/language_model/<name>.bin|.arpa  the KenLM model
    DIR/search.json                      the lab's own: the pyctcdecode call the weights were tuned for (below)

pyctcdecode's `decode()` prunes beams by their recent history and its `decode_beams()` does not (unless given
`prune_history=True`), so the same weights can give other text in the two: a weight is tuned for one search.
`search.json` states which (and the search parameters, and where the weights came from); pyctcdecode ignores it.

`export_decoder_dir` writes one for a beam config; `lm_directory_params` turns such a directory (or its
`language_model/` alone) into the lab's `lm`, `unigrams`, weight and (from search.json) search parameters, so every
beam decoder takes it as `--lm` and searches as the weights were tuned.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from decoders.config import DecoderConfig
from decoders.constants import BEAM_DEFAULTS
from decoders.errors import DecoderConfigError
from decoders.params import check_params
from lm.model import LanguageModelCache
from logits.vocabulary import Vocabulary

ALPHABET_FILE = "alphabet.json"
LM_FOLDER = "language_model"
ATTRS_FILE = "attrs.json"
UNIGRAMS_FILE = "unigrams.txt"
KENLM_SUFFIXES = (".bin", ".binary", ".arpa")
# pyctcdecode's attrs.json keys and the lab's parameter of each.
ATTRS = {"alpha": "alpha", "beta": "beta", "unk_score_offset": "unk_score_offset", "score_boundary": "lm_score_boundary"}
SEARCH_FILE = "search.json"
# The beam parameters pyctcdecode takes per call rather than from its folder: search.json records them.
SEARCH_PARAMS = tuple(k for k in BEAM_DEFAULTS if k not in ("lm", "unigrams", *ATTRS.values()))


def pyctcdecode_search(config: DecoderConfig) -> dict[str, Any]:
    """The pyctcdecode call that searches as `config` does: `decode()` when it prunes history, else
    `decode_beams()`'s top beam, with the search parameters to pass (`call`, a line to paste)."""
    params = {key: config.get(key, BEAM_DEFAULTS[key]) for key in SEARCH_PARAMS}
    params["prune_history"] = bool(params["prune_history"])
    passed = {key: params[key] for key in ("beam_width", "beam_prune_logp", "token_min_logp")}
    if params["hotwords"]:
        passed |= {"hotwords": list(params["hotwords"]), "hotword_weight": params["hotword_weight"]}
    arguments = "".join(f", {key}={value!r}" for key, value in passed.items())
    method = "decode" if params["prune_history"] else "decode_beams"
    call = f"decoder.decode(logits{arguments})" if method == "decode" else \
        f"decoder.decode_beams(logits{arguments})[0][0]"
    return {"method": method, "history_pruned": params["prune_history"], "call": call,
            "params": {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}}


def describe_search(config: DecoderConfig) -> str:
    """`config`'s search in pyctcdecode's terms, and what the other call would do, for an export's output line."""
    if pyctcdecode_search(config)["history_pruned"]:
        return ("pyctcdecode's decode() (history pruned); its decode_beams() searches so only with "
                "prune_history=True")
    return ("pyctcdecode's decode_beams() (history not pruned); its decode() prunes history and may give other "
            "text: sweep with --prune-history to tune for decode()")


def export_decoder_dir(config: DecoderConfig, vocabulary: Vocabulary, out: str | Path, force: bool = False,
                       tuned: dict[str, Any] | None = None) -> Path:
    """Write `config`'s LM and weights with `vocabulary`'s labels as a pyctcdecode decoder directory at `out`, and
    in search.json the pyctcdecode search they belong to, with `tuned` (where the weights came from: a sweep's run
    directory, store and WER) when given.

    The directory is assembled beside `out` and renamed into place at the end: it is complete or absent.
    """
    from pyctcdecode.alphabet import Alphabet

    out = Path(out)
    check_params(dict(config.params))  # JSON would hold NaN and a later --lm OUT would search with it
    if config.get("lm") is None:
        raise DecoderConfigError("the decoder to export has no LM; give --lm (or export a sweep's best point)")
    if out.exists() and not force:
        raise DecoderConfigError(f"{out} exists; pass --force to replace it")
    loaded = LanguageModelCache().get(config.get("lm"), config.get("unigrams"))
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        (staging / ALPHABET_FILE).write_text(Alphabet.build_alphabet(vocabulary.decoder_labels).dumps(),
                                             encoding="utf-8")
        lm_dir = staging / LM_FOLDER
        lm_dir.mkdir()
        attrs = {key: config.get(param) for key, param in ATTRS.items()}
        (lm_dir / ATTRS_FILE).write_text(json.dumps(attrs), encoding="utf-8")
        (lm_dir / UNIGRAMS_FILE).write_text("".join(f"{w}\n" for w in sorted(set(loaded.unigrams))),
                                            encoding="utf-8")
        suffix = loaded.path.suffix if loaded.path.suffix in KENLM_SUFFIXES else ".bin"
        shutil.copy2(loaded.path, lm_dir / f"lm{suffix}")
        search = pyctcdecode_search(config) | ({"tuned": tuned} if tuned else {})
        (staging / SEARCH_FILE).write_text(json.dumps(search, indent=2) + "\n", encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out


def is_lm_directory(path: str | Path) -> bool:
    path = Path(path)
    return path.is_dir() and ((path / ATTRS_FILE).is_file() or (path / LM_FOLDER / ATTRS_FILE).is_file())


def lm_directory_params(path: str | Path) -> dict[str, Any]:
    """The lab's parameters of a pyctcdecode decoder directory or its `language_model/` folder: `lm` (the KenLM
    file), `unigrams`, the weights of attrs.json and, in a folder the lab exported, the search parameters of its
    search.json."""
    path = Path(path)
    folder = path / LM_FOLDER if (path / LM_FOLDER).is_dir() else path
    attrs_path = folder / ATTRS_FILE
    if not attrs_path.is_file():
        raise DecoderConfigError(f"{path} is not a pyctcdecode decoder or language_model folder: {attrs_path} is "
                                 "missing")
    try:
        attrs = json.loads(attrs_path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DecoderConfigError(f"{attrs_path} is not readable JSON ({exc})") from exc
    missing = sorted(set(ATTRS) - set(attrs))
    if missing:
        raise DecoderConfigError(f"{attrs_path} lacks {missing}; expected the keys {sorted(ATTRS)}")
    models = [p for p in sorted(folder.iterdir()) if p.suffix in KENLM_SUFFIXES and p.is_file()]
    if len(models) != 1:
        raise DecoderConfigError(f"{folder} should hold one KenLM file ({', '.join(KENLM_SUFFIXES)}), found "
                                 f"{[p.name for p in models]}")
    if not (folder / UNIGRAMS_FILE).is_file():
        raise DecoderConfigError(f"{folder / UNIGRAMS_FILE} is missing; a decoder folder keeps the LM's words there")
    weights = {param: attrs[key] for key, param in ATTRS.items()}
    check_params(weights, where=str(attrs_path))  # a folder written by hand or elsewhere: before any search
    return {"lm": str(models[0]), "unigrams": str(folder / UNIGRAMS_FILE)} | weights | _search_params(
        folder.parent / SEARCH_FILE)


def _search_params(path: Path) -> dict[str, Any]:
    """The search parameters a lab export recorded (none for a folder pyctcdecode or transformers wrote)."""
    if not path.is_file():
        return {}
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))["params"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise DecoderConfigError(f"{path} is not the search record an export writes ({exc}); remove it or "
                                 "export again") from exc
    if not isinstance(recorded, dict):
        raise DecoderConfigError(f"{path}: params should be an object of {list(SEARCH_PARAMS)}")
    params = {key: tuple(value) if isinstance(value, list) else value
              for key, value in recorded.items() if key in SEARCH_PARAMS}
    check_params(params, where=str(path))
    return params
