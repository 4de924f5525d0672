"""Decoder names -> classes, and building a decoder from its config."""

from __future__ import annotations

from typing import TYPE_CHECKING

from decoders.base import Decoder
from decoders.config import DecoderConfig
from decoders.errors import DecoderConfigError
from logits.vocabulary import Vocabulary

if TYPE_CHECKING:
    from lm.model import LanguageModelCache


def decoder_classes() -> dict[str, type[Decoder]]:
    # Imported here so that `import decoders` stays light (pyctcdecode, KenLM and the peers load on first use).
    from decoders.beam import PyctcdecodeBeamDecoder
    from decoders.fastbeam import FastBeamDecoder
    from decoders.greedy import GreedyDecoder
    from decoders.peers import peer_classes

    return {cls.name: cls for cls in (GreedyDecoder, PyctcdecodeBeamDecoder, FastBeamDecoder)} | peer_classes()


def build_decoder(config: DecoderConfig, vocabulary: Vocabulary, lms: LanguageModelCache | None = None) -> Decoder:
    """Build the decoder `config` names. Pass one `lms` cache to many calls so that each LM is loaded once."""
    classes = decoder_classes()
    if config.name not in classes:
        raise DecoderConfigError(f"unknown decoder {config.name!r}; known: {sorted(classes)}")
    return classes[config.name](config, vocabulary, lms)
