"""KenLM language models for CTC decoding: build them from prose, load them with their vocabulary.

`decode lm build-default --out lm/build` (what `make lm` runs) builds the project's default 4-gram from Jane
Austen's novels; `decode lm build --corpus FILE ...` builds one from any UTF-8 prose.
"""

from lm.build import LMArtifacts, build_default_lm, build_lm, read_artifacts, select_heldout
from lm.corpus import default_corpus_text
from lm.errors import LMError
from lm.kenlm_tools import KenLMBinaries, ensure_kenlm_binaries
from lm.model import (
    LanguageModelCache,
    LoadedLM,
    check_alphabet,
    lm_fingerprint,
    load_language_model,
    read_arpa_unigrams,
    read_unigrams_file,
)
from lm.normalize import normalize_sentences, normalize_words, number_to_words, ordinal_to_words, split_sentences

__all__ = [
    "KenLMBinaries",
    "LMArtifacts",
    "LMError",
    "LanguageModelCache",
    "LoadedLM",
    "build_default_lm",
    "build_lm",
    "check_alphabet",
    "default_corpus_text",
    "ensure_kenlm_binaries",
    "lm_fingerprint",
    "load_language_model",
    "normalize_sentences",
    "normalize_words",
    "number_to_words",
    "ordinal_to_words",
    "read_arpa_unigrams",
    "read_artifacts",
    "read_unigrams_file",
    "select_heldout",
    "split_sentences",
]
