"""Measuring: decoding a store and scoring it, significance, error analysis, biasing measures, N-best oracles and
decoders side by side."""
