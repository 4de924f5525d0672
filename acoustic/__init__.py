"""Everything that turns audio (or text) into log-probabilities and writes logits stores.

Audio sources (`audio`), the Hugging Face model runner behind `decode cache` (`cache`) and the synthetic acoustic
model behind `decode synth` (`synth`). Imports the store layer and `lm`, never `decoders`: the two meet only in the
store.
"""
