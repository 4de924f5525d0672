"""ctc-decoding-lab decoders: the logits store, the vocabulary convention, and interchangeable CTC decoders."""

from decoders.config import DecoderConfig
from decoders.errors import LabError
from decoders.factory import build_decoder, decoder_classes
from decoders.hypothesis import Hypothesis, WordSpan
from decoders.store import LogitsStore, StoreWriter, write_store
from decoders.vocabulary import Vocabulary

__all__ = [
    "DecoderConfig", "Hypothesis", "LabError", "LogitsStore", "StoreWriter", "Vocabulary", "WordSpan",
    "build_decoder", "decoder_classes", "write_store",
]
