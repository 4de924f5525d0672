"""Everything that turns audio (or text) into log-probabilities and writes logits stores.

Audio sources (`audio`), the Hugging Face model adapter (`model`), the resumable caching job behind `decode cache`
(`cache`) and the synthetic acoustic model behind `decode synth` (`synth`). Imports the store layer and `lm`, never
`decoders`: the two meet only in the store. torch and transformers load on first use, not on import.
"""

from acoustic.cache import cache_logits
from acoustic.model import AcousticModel, load_acoustic_model
from acoustic.speech import speak

__all__ = ["AcousticModel", "cache_logits", "load_acoustic_model", "speak"]
