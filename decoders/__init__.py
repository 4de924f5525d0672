"""Interchangeable CTC decoders over the logits store: greedy, pyctcdecode's beam search, this project's compiled
`fastbeam`, and the peers, all behind one `Decoder` interface and built by name from a `DecoderConfig`. A decoder of
your own (a `Decoder`, or a `BeamDecoder` if it fuses a KenLM LM) joins them with `@register_decoder`.

The store and vocabulary they read live in the `logits` package. pyctcdecode users keep their scripts and change
one import: `from decoders.compat import build_ctcdecoder` (pyctcdecode's API, fastbeam's search); it is not
re-exported here, so that `import decoders` stays light.
"""

from decoders.base import Decoder
from decoders.config import DecoderConfig
from decoders.factory import build_decoder, decoder_classes, register_decoder
from decoders.hypothesis import Hypothesis, WordSpan

__all__ = [
    "BeamDecoder", "Decoder", "DecoderConfig", "Hypothesis", "WordSpan", "build_decoder", "decoder_classes",
    "register_decoder",
]


def __getattr__(name: str):
    # BeamDecoder loads KenLM (through lm.model); importing it on first use keeps `import decoders` free of it.
    if name == "BeamDecoder":
        from decoders.beam_base import BeamDecoder

        return BeamDecoder
    raise AttributeError(f"module 'decoders' has no attribute {name!r}")
