"""Checks of the Python API's arguments, the same the command line applies, raising InvalidParameterError
named after the parameter (used by the facade of copyhead.numerics.transitions)."""
from __future__ import annotations

import math
import numbers

from .errors import InvalidParameterError
from .spec import ModelSpec, check_int


def real(name: str, value, *, positive: bool = False) -> float:
    """A finite real number (bool and strings refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidParameterError(name, f"must be a finite number, got {value!r}")
    value = float(value)
    if not math.isfinite(value) or (positive and value <= 0):
        raise InvalidParameterError(name, f"must be a {'positive ' if positive else ''}finite number, got {value!r}")
    return value


def bounded_int(name: str, value, lo: int, hi: int) -> int:
    value = check_int(name, value, lo)
    if value > hi:
        raise InvalidParameterError(name, f"must be an integer in [{lo}, {hi}], got {value}")
    return value


def interval(name: str, value, *, positive: bool = False) -> tuple[float, float]:
    """(LO, HI) with LO < HI, both finite."""
    try:
        lo, hi = value
    except (TypeError, ValueError):
        raise InvalidParameterError(name, f"must be a pair (LO, HI), got {value!r}") from None
    lo, hi = real(name, lo, positive=positive), real(name, hi, positive=positive)
    if not lo < hi:
        raise InvalidParameterError(name, f"need LO < HI, got [{lo}, {hi}]")
    return lo, hi


def spec(value) -> ModelSpec:
    if not isinstance(value, ModelSpec):
        raise InvalidParameterError("spec", f"must be a copyhead.ModelSpec, got {type(value).__name__}")
    return value


def name(parameter: str, value) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidParameterError(parameter, f"must be a non-empty string, got {value!r}")
    return value


def problem(value):
    from .numerics.transitions import Problem

    if not isinstance(value, Problem):
        raise InvalidParameterError("problem", f"must be a Problem (from CopyHeadModel.problem or expression_problem), "
                                    f"got {type(value).__name__}")
    return value


def params(value) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidParameterError("params", f"must be a dict NAME -> number, got {type(value).__name__}")
    return {name("params", k): real(f"param {k}", v) for k, v in value.items()}


def second_parameter(prob, second, second_range) -> tuple[float, float]:
    """The second axis of a phase diagram: a parameter of the problem; for the copy-head model T and V stay >= 2
    and the other knobs positive (as `copyhead phase-diagram --vary` requires)."""
    name("second", second)
    if second not in prob.param_values:
        raise InvalidParameterError(second, f"is not a parameter of this free energy; known: "
                                    f"{', '.join(prob.param_values)}")
    model = "spec" in prob.extra
    lo, hi = interval("second_range", second_range, positive=model)
    if model and second in ("T", "V") and lo < 2:
        raise InvalidParameterError("second_range", f"{second} must be >= 2, got LO = {lo}")
    return lo, hi
