"""Checks and normalisation of [T, V] log-probability arrays, shared by the store and every decoder."""

from __future__ import annotations

import numpy as np

from logits.errors import LogitsError

# A row whose probabilities sum to within this of 1 is taken as already normalised.
_NORMALISED_TOLERANCE = 1e-3


def check_logprobs(array: np.ndarray, vocab_size: int, where: str = "input") -> np.ndarray:
    """Return `array` as a 2-D float array, or raise LogitsError naming `where`, the expected and the found.

    -inf is allowed (a column the model rules out); NaN and +inf are not, nor a frame that is -inf throughout.
    """
    array = check_shape(array, vocab_size, where)
    with np.errstate(invalid="ignore"):  # inf - inf: the NaN it makes is what the check looks for
        finite = np.isfinite(array.sum(dtype=np.float64))
    if array.size and finite:
        return array  # one pass when every value is finite, the usual case
    bad = np.isnan(array) | np.isposinf(array)
    if bad.any():
        frame, column = (int(i) for i in np.argwhere(bad)[0])
        kind = "NaN" if np.isnan(array[frame, column]) else "+inf"
        raise LogitsError(
            f"{where}: {int(bad.sum())} value(s) are NaN or +inf (first: {kind} at frame {frame}, column {column}); "
            "the acoustic model's output is broken (check for fp16 overflow)"
        )
    if array.shape[0] and np.isneginf(array).all(axis=1).any():
        frame = int(np.flatnonzero(np.isneginf(array).all(axis=1))[0])
        raise LogitsError(f"{where}: frame {frame} is -inf in every column")
    return array


def check_shape(array: np.ndarray, vocab_size: int, where: str = "input") -> np.ndarray:
    """Return `array` as an array if it is [frames, vocab_size] and floating-point; its values are not looked at."""
    array = np.asarray(array)
    if array.ndim != 2:
        raise LogitsError(f"{where}: expected a [frames, {vocab_size}] array, found shape {tuple(array.shape)}")
    if array.shape[1] != vocab_size:
        raise LogitsError(
            f"{where}: has {array.shape[1]} columns but the vocabulary has {vocab_size} labels "
            "(are these logits from a different model, or transposed?)"
        )
    if not np.issubdtype(array.dtype, np.floating):
        raise LogitsError(f"{where}: expected floating-point values, found dtype {array.dtype}")
    return array


def to_logprobs(array: np.ndarray, vocab_size: int, where: str = "input") -> np.ndarray:
    """Check `array` and log-softmax it over the last axis unless its rows already sum to probability 1."""
    array = check_logprobs(array, vocab_size, where)
    if array.shape[0] == 0:
        return array.astype(np.float32)
    work = array.astype(np.float64)
    peak = work.max(axis=1, keepdims=True)
    log_norm = peak + np.log(np.exp(work - peak).sum(axis=1, keepdims=True))
    if np.all(np.abs(log_norm) < _NORMALISED_TOLERANCE):
        return array.astype(np.float32)
    return (work - log_norm).astype(np.float32)
