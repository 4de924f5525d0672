"""The sweep's defaults, in one place: the CLI's options, the spec and the rescoring search all read them here."""

from __future__ import annotations

from pathlib import Path

# The grid a sweep from Python covers when given none (the CLI asks for --alpha and --beta).
DEFAULT_ALPHAS = "0.2:1.0:0.2"
DEFAULT_BETAS = "0:2:0.5"
# Where a sweep's run directory goes unless --out says (runs/<store folder>-<LM fingerprint, 8 hex digits>).
RUNS_DIR = Path("runs")
# More points to decode than this need `yes` (`--yes`): a typo in a step can ask for days of work.
CONFIRM_POINTS = 400

# Rescoring sweeps (`--method rescore`): hypotheses kept per utterance at each anchor, the most extra points decoded
# exactly, and how many grid steps from a decoded point an estimate is trusted (experiments.sweep.search).
DEFAULT_NBEST = 32
DEFAULT_EXACT = 2
DEFAULT_RADIUS = 2.0
# Seconds between looks at the results store while another sweep into the same directory decodes points this one
# skipped (it claimed them first): a sweep reports the store as it is once they are in.
CLAIM_POLL_SECONDS = 0.2
