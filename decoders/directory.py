"""Decoders that travel: pyctcdecode's decoder directory, written from a lab config and read as an `--lm`.

The layout pyctcdecode's `BeamSearchDecoderCTC.save_to_dir` writes and `load_from_dir` reads (and wav2vec2 "with LM"
checkpoints ship as their `language_model/` folder):

    DIR/alphabet.json                    {"labels": [...], "is_bpe": false}
    DIR/language_model/attrs.json        {"alpha": .., "beta": .., "unk_score_offset": .., "score_boundary": ..}
    DIR/language_model/unigrams.txt      the LM's words, one per line
    DIR/language_model/<name>.bin|.arpa  the KenLM model

`export_decoder_dir` writes one for a beam config; `lm_directory_params` turns such a directory (or its
`language_model/` alone) into the lab's `lm`, `unigrams` and weight parameters, so every beam decoder takes it as
`--lm`.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from decoders.config import DecoderConfig
from decoders.errors import DecoderConfigError
from lm.model import LanguageModelCache
from logits.vocabulary import Vocabulary

ALPHABET_FILE = "alphabet.json"
LM_FOLDER = "language_model"
ATTRS_FILE = "attrs.json"
UNIGRAMS_FILE = "unigrams.txt"
KENLM_SUFFIXES = (".bin", ".binary", ".arpa")
# pyctcdecode's attrs.json keys and the lab's parameter of each.
ATTRS = {"alpha": "alpha", "beta": "beta", "unk_score_offset": "unk_score_offset", "score_boundary": "lm_score_boundary"}


def export_decoder_dir(config: DecoderConfig, vocabulary: Vocabulary, out: str | Path, force: bool = False) -> Path:
    """Write `config`'s LM and weights with `vocabulary`'s labels as a pyctcdecode decoder directory at `out`.

    The directory is assembled beside `out` and renamed into place at the end: it is complete or absent.
    """
    from pyctcdecode.alphabet import Alphabet

    out = Path(out)
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
    file), `unigrams`, and the weights of attrs.json."""
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
    return {"lm": str(models[0]), "unigrams": str(folder / UNIGRAMS_FILE)} | {
        param: attrs[key] for key, param in ATTRS.items()}
