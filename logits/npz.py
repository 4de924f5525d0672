"""Stores from logits users already have: an .npz of per-utterance arrays (transcripts: logits.transcripts)."""

from __future__ import annotations

import shutil
import tokenize
import zipfile
from pathlib import Path
from typing import Mapping

import numpy as np

from logits.checks import check_shape
from logits.errors import LabError, StoreError
from logits.store import LogitsStore, write_store
from logits.text import TextRule, normalise_texts, warn_unspellable
from logits.vocabulary import Vocabulary


def import_npz(
    npz_path: str | Path,
    vocabulary: Vocabulary,
    out: str | Path,
    references: Mapping[str, str] | None = None,
    frames_per_second: float = 50.0,
    overwrite: bool = False,
    references_from: str | None = None,
) -> LogitsStore:
    """One utterance per array in the .npz (key = utterance id, value = [T, V] logits or log-probs). References go
    through the one text rule against the labels (`logits.text`): a warning counts what they held that the labels
    cannot spell, and the store's provenance records the rule (`references_from` names their file in both)."""
    npz_path = Path(npz_path)
    try:
        archive = np.load(npz_path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:  # EOFError: an empty file
        raise StoreError(f"cannot read {npz_path} as an .npz archive: {exc or 'it is empty'}") from exc
    with archive:
        ids = list(archive.files)
        if not ids:
            raise StoreError(f"{npz_path} holds no arrays")
        for key in ids:
            _check_member(archive, key, npz_path, vocabulary.size)
        if references is not None:
            missing = [i for i in ids if i not in references]
            if missing:
                raise StoreError(
                    f"{len(missing)} utterance(s) of {npz_path} have no transcript line (first: {missing[0]!r})"
                )
        provenance = {"model": "imported", "dataset": str(npz_path)}
        texts = None
        if references is not None:
            texts, tally = normalise_texts([references[i] for i in ids], TextRule.for_vocabulary(vocabulary))
            warn_unspellable(tally, references_from or "the references")
            provenance["references"] = {"file": references_from} | tally.provenance()
        fresh = not Path(out).exists()
        try:
            return write_store(
                out,
                ids=ids,
                arrays=(_member(archive, i, npz_path) for i in ids),
                vocabulary=vocabulary,
                references=texts,
                frames_per_second=frames_per_second,
                provenance=provenance,
                overwrite=overwrite,
            )
        except LabError:
            if fresh:  # a store refused halfway (a bad array further on) leaves no folder to resume: the input is bad
                shutil.rmtree(out, ignore_errors=True)
            raise


def _check_member(archive, key: str, npz_path: Path, vocab_size: int) -> None:
    """Refuse an array that is not [frames, vocab_size] floating point from its .npy header alone, before a store
    folder is made: an object array (a pickle, never loaded), integers, the wrong width."""
    names = set(archive.zip.namelist())
    name = f"{key}.npy" if f"{key}.npy" in names else key
    try:
        with archive.zip.open(name) as handle:
            version = np.lib.format.read_magic(handle)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
                np.lib.format.read_array_header_2_0
            shape, _, dtype = read_header(handle)
    except (OSError, ValueError, EOFError, SyntaxError, tokenize.TokenError, zipfile.BadZipFile) as exc:
        raise StoreError(f"{npz_path}: array {key!r} is not a readable .npy array ({exc})") from exc
    if dtype.hasobject:
        raise StoreError(f"{npz_path}: array {key!r} holds Python objects (a pickle), not numbers; save plain float "
                         "arrays (np.savez with float32 arrays); pickles are never loaded")
    # A zero-stride view of the header's shape and dtype: the store's own shape check, without reading the data.
    check_shape(np.broadcast_to(np.zeros((), dtype), shape), vocab_size, f"{npz_path}: utterance {key!r}")


def _member(archive, key: str, npz_path: Path) -> np.ndarray:
    try:
        return archive[key]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:  # a member cut short or failing its CRC
        raise StoreError(f"{npz_path}: array {key!r} cannot be read to its end ({exc}); is the file complete?") \
            from exc
