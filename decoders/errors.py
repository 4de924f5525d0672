"""Errors of the decoders package."""

from logits.errors import LabError


class DecoderConfigError(LabError):
    """An unknown decoder name or parameter, a parameter value out of range, or a decoder not built here."""
