"""Several decoders on one store, side by side: a DataFrame and a bar chart, short enough for a notebook cell.

    df = compare("data/heldout-store", [DecoderConfig("greedy"), DecoderConfig("beam", {"lm": "lm/build/4gram.bin"})])
    plot_comparison(df)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

from decoders.config import DecoderConfig
from decoders.factory import build_decoder
from experiments.measures.evaluate import Evaluation, evaluate
from logits.errors import LabError
from logits.store import LogitsStore

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

    from lm.model import LanguageModelCache

COLUMNS = ("decoder", "wer", "wer_low", "wer_high", "cer", "seconds", "rtfx", "utterances")


def compare(
    store: str | Path | LogitsStore,
    configs: Sequence[DecoderConfig] | Mapping[str, DecoderConfig],
    lms: "LanguageModelCache | None" = None,
    on_result: Callable[[str, Evaluation], None] | None = None,
) -> "pd.DataFrame":
    """Decode `store` with each config and score it; one row per config, in the order given.

    `configs` may be a mapping label -> config to name the rows; otherwise rows are labelled `config.label()`.
    Every config shares one LM cache (`lms`, or a new one), so an LM used by several configs loads once.
    `seconds` is decoding time only (the LM load is not counted); `rtfx` is audio seconds per decoding second.
    """
    import pandas as pd

    from lm.model import LanguageModelCache

    opened = store if isinstance(store, LogitsStore) else LogitsStore.open(store)
    labelled = dict(configs) if isinstance(configs, Mapping) else _labels(configs)
    if not labelled:
        raise LabError("compare() got no decoder configs; pass at least one DecoderConfig")
    lms = lms if lms is not None else LanguageModelCache()
    rows = []
    for label, config in labelled.items():
        evaluation = evaluate(opened, build_decoder(config, opened.vocabulary, lms))
        if on_result is not None:
            on_result(label, evaluation)
        low, high = _interval(evaluation)
        rows.append({
            "decoder": label,
            "wer": evaluation.wer,
            "wer_low": low,  # the 95% bootstrap interval of the WER (utterances resampled)
            "wer_high": high,
            "cer": evaluation.cer,
            "seconds": evaluation.seconds,
            "rtfx": evaluation.audio_seconds / evaluation.seconds if evaluation.seconds > 0 else float("inf"),
            "utterances": len(evaluation.ids),
        })
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _interval(evaluation: Evaluation) -> tuple[float | None, float | None]:
    from experiments.measures.significance import wer_interval

    pairs = [(r, h.text) for r, h in zip(evaluation.references, evaluation.hypotheses) if r is not None]
    if not pairs:
        return None, None
    return wer_interval([r for r, _ in pairs], [h for _, h in pairs])


def _labels(configs: Sequence[DecoderConfig]) -> dict[str, DecoderConfig]:
    """`config.label()` per config, numbered when two configs would show the same label."""
    labelled: dict[str, DecoderConfig] = {}
    for config in configs:
        label, n = config.label(), 2
        while label in labelled:
            label, n = f"{config.label()} #{n}", n + 1
        labelled[label] = config
    return labelled


def plot_comparison(df: "pd.DataFrame", title: str | None = None) -> "Figure":
    """Two bar charts from `compare()`'s frame: WER (%) with its 95% interval, and speed (x real time, log
    scale: greedy is ~1000x)."""
    from matplotlib.figure import Figure  # no pyplot: returns a figure without touching global state

    labels = list(df["decoder"])
    fig = Figure(figsize=(11, 0.45 * len(labels) + 1.8), layout="constrained")
    wer_ax, speed_ax = fig.subplots(1, 2, sharey=True)
    positions = range(len(labels))
    wer = 100 * df["wer"].astype(float)
    errors = None
    if {"wer_low", "wer_high"} <= set(df.columns) and df["wer_low"].notna().all():
        errors = [wer - 100 * df["wer_low"].astype(float), 100 * df["wer_high"].astype(float) - wer]
    wer_ax.barh(positions, wer, color="tab:blue", xerr=errors, capsize=3)  # whiskers: 95% bootstrap interval
    wer_ax.set_yticks(list(positions), labels)
    wer_ax.invert_yaxis()  # first config on top, as in the table
    wer_ax.set_xlabel("WER (%)")
    # Each value written past its whisker's end (the bar's end without one): at the bar's end it sits on the whisker.
    ends = wer if errors is None else wer + errors[1]
    for y, value, end in zip(positions, wer, ends):
        wer_ax.annotate(f"{value:.1f}", (end, y), xytext=(6, 0), textcoords="offset points", va="center",
                        fontsize=8)
    wer_ax.set_xlim(0, 1.15 * max(float(max(ends, default=0.0)), 1e-9))  # room for the last label
    speed_ax.barh(positions, df["rtfx"].astype(float), color="tab:orange")
    speed_ax.set_xscale("log")
    speed_ax.set_xlabel("speed (x real time, log scale)")
    if title:
        fig.suptitle(title)
    return fig
