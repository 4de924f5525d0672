"""The one error type of the `lm` package.

Everything the user can fix (a missing tool, a corrupt model file, a corpus that normalises to nothing) raises
`LMError`, whose message names the file, says what was expected and what was found, and what to do. The CLI prints
it without a traceback; any other exception is a bug.
"""

from logits.errors import LabError


class LMError(LabError):
    """A language model, its corpus or the KenLM tools are missing, corrupt or unusable."""
