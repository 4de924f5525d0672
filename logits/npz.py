"""Stores from logits users already have: an .npz of per-utterance arrays (transcripts: logits.transcripts)."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Mapping

import numpy as np

from logits.errors import StoreError
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
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise StoreError(f"cannot read {npz_path} as an .npz archive: {exc}") from exc
    with archive:
        ids = list(archive.files)
        if not ids:
            raise StoreError(f"{npz_path} holds no arrays")
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
        return write_store(
            out,
            ids=ids,
            arrays=(archive[i] for i in ids),
            vocabulary=vocabulary,
            references=texts,
            frames_per_second=frames_per_second,
            provenance=provenance,
            overwrite=overwrite,
        )
