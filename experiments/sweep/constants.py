"""The sweep's defaults, in one place: the CLI's options, the spec and the rescoring search all read them here."""

from __future__ import annotations

# Rescoring sweeps (`--method rescore`): hypotheses kept per utterance at each anchor, the most extra points decoded
# exactly, and how many grid steps from a decoded point an estimate is trusted (experiments.sweep.search).
DEFAULT_NBEST = 32
DEFAULT_EXACT = 2
DEFAULT_RADIUS = 2.0
