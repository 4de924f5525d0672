"""The root error type of the lab, and the errors of the store layer. Every package's errors derive from `LabError`:
a message meant for the person at the keyboard.

The CLI prints these without a traceback; anything else is a bug and keeps its traceback.
"""


class LabError(Exception):
    """Base class: bad input or state that the user can fix. The message says how."""


class StoreError(LabError):
    """A logits store is missing, incomplete, corrupt, or was given bad arrays."""


class VocabularyError(LabError):
    """Labels that cannot be mapped onto the CTC convention (blank, word delimiter)."""


class LogitsError(LabError):
    """Log-probabilities with the wrong shape or non-finite values."""
