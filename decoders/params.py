"""The one check of decoder parameter values (decoders.constants.PARAM_RULES), run before anything reaches C++:
by every decoder when it is built or reconfigured, by the pyctcdecode facade, by the sweep's grid and by decoder
folders written and read."""

from __future__ import annotations

import math
import numbers
from typing import Any, Mapping

from decoders.constants import PARAM_RULES, ParamRule
from decoders.errors import DecoderConfigError


def check_params(params: Mapping[str, Any], where: str | None = None) -> None:
    """Refuse the first value of `params` its rule does not allow; parameters without a rule are not checked here.
    `where` (a file, a call) prefixes the message."""
    for key, value in params.items():
        rule = PARAM_RULES.get(key)
        if rule is not None:
            check_param(key, value, rule, where)


def check_param(key: str, value: Any, rule: ParamRule | None = None, where: str | None = None) -> None:
    rule = rule or PARAM_RULES[key]
    problem = _problem(value, rule)
    if problem is not None:
        prefix = f"{where}: " if where else ""
        why = f" ({rule.why})" if rule.why and rule.kind in ("float", "int") else ""
        raise DecoderConfigError(f"{prefix}{key} must be {describe(rule)}{why}, found {value!r}{problem}")


def describe(rule: ParamRule) -> str:
    """`a finite number >= 0`, `an integer from 1 to 100000`, `true or false`, `a list of words`."""
    if rule.kind == "bool":
        return "true or false"
    if rule.kind == "words":
        return "a list of words (strings)"
    noun = "a finite number" if rule.kind == "float" else "an integer"
    if rule.low is not None and rule.high is not None:
        return f"{noun} from {rule.low:g} to {rule.high:g}"
    if rule.low is not None:
        return f"{noun} >= {rule.low:g}"
    if rule.high is not None:
        return f"{noun} <= {rule.high:g}"
    return noun


def _problem(value: Any, rule: ParamRule) -> str | None:
    """None when `value` is allowed, else "" or a short addition to the message (the type found)."""
    if rule.kind == "bool":
        return None if isinstance(value, bool) or type(value).__name__ == "bool_" else f" (a {type(value).__name__})"
    if rule.kind == "words":
        if isinstance(value, (str, bytes)) or not isinstance(value, (tuple, list)):
            return f" (a {type(value).__name__})"
        return None if all(isinstance(word, str) for word in value) else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return f" (a {type(value).__name__})"
    if rule.kind == "int" and not isinstance(value, numbers.Integral):
        if not (math.isfinite(value) and float(value).is_integer()):
            return ""
    if not math.isfinite(value):
        return ""
    if (rule.low is not None and value < rule.low) or (rule.high is not None and value > rule.high):
        return ""
    return None
