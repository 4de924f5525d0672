"""Interchangeable CTC decoders over the logits store: greedy, pyctcdecode's beam search, this project's compiled
`fastbeam`, and the peers, all behind one `Decoder` interface and built by name from a `DecoderConfig`.

The store and vocabulary they read live in the `logits` package. pyctcdecode users keep their scripts and change
one import: `from decoders.compat import build_ctcdecoder` (pyctcdecode's API, fastbeam's search); it is not
re-exported here, so that `import decoders` stays light.
"""

from decoders.config import DecoderConfig
from decoders.factory import build_decoder, decoder_classes
from decoders.hypothesis import Hypothesis, WordSpan

__all__ = ["DecoderConfig", "Hypothesis", "WordSpan", "build_decoder", "decoder_classes"]
