"""The store layer: the contract between acoustic models and decoders, and what every other package builds on.

The logits store (cached [T, V] log-probabilities with a content fingerprint), the vocabulary convention (which
column is the blank, which the word delimiter), log-prob checks, imports of logits made elsewhere, the root error
type and small file and console helpers. It imports no other package of the lab.
"""

from logits.errors import LabError, LogitsError, StoreError, VocabularyError
from logits.scoring import Scores, score
from logits.store import LogitsStore, StoreWriter, Utterance, merge_stores, write_store
from logits.subset import subset_store
from logits.vocabulary import Vocabulary

__all__ = [
    "LabError", "LogitsError", "LogitsStore", "Scores", "StoreError", "StoreWriter", "Utterance", "Vocabulary",
    "VocabularyError", "merge_stores", "score", "subset_store", "write_store",
]
