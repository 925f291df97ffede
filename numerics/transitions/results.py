"""Typed, frozen results of the transition engine.

Every result carries its evidence and serialises to JSON with ``to_dict()``.
Numbers in a ``to_dict()`` are always finite floats (a non-finite value is
replaced by ``None`` and the result's ``flag`` says why); the engine never
returns NaN. Field conventions follow scipy.optimize: ``converged`` (bool),
``flag`` ("ok" or a short reason), ``method`` (what produced the number).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

from copyhead.errors import InvalidParameterError

KINDS = ("first-order", "second-order", "crossover")
SPECIAL_KINDS = ("tricritical", "critical-point", "critical-end-point", "bicritical-point", "tetracritical-point")
BOUNDARY_KINDS = KINDS + ("spinodal",)


def jsonable(obj):
    """Recursively convert numpy scalars/arrays, tuples and dataclasses into JSON-safe values (no NaN/inf)."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if hasattr(obj, "to_dict") and not isinstance(obj, type):
        return obj.to_dict()
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if hasattr(obj, "tolist"):          # numpy arrays and scalars
        return jsonable(obj.tolist())
    if isinstance(obj, int):
        return int(obj)
    try:
        value = float(obj)
    except (TypeError, ValueError):
        return str(obj)
    return value if math.isfinite(value) else None


def _fmt(value):
    if isinstance(value, float):
        return f"{value:.10g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return repr(value)


class _Result:
    _repr_fields: tuple = ()

    def to_dict(self) -> dict:
        return {f.name: jsonable(getattr(self, f.name)) for f in fields(self)}

    def __repr__(self) -> str:
        names = self._repr_fields or tuple(f.name for f in fields(self))
        body = ", ".join(f"{n}={_fmt(getattr(self, n))}" for n in names)
        return f"{type(self).__name__}({body})"


@dataclass(frozen=True, repr=False)
class Fold(_Result):
    """A fold (spinodal) of a stationary branch: grad f = 0 and det Hessian = 0.

    control: control value of the fold; x: order parameters there;
    observable: the reported order parameter there; residual: max-norm of
    (grad, det H) after Newton; converged/flag/method as in scipy.optimize;
    direction: +1 if the branch exists for control below the fold (it ends
    going up), -1 if it exists above the fold.
    """

    control: float
    x: tuple
    observable: float
    residual: float
    converged: bool
    method: str = "newton(grad=0, detH=0)"
    flag: str = "ok"
    direction: int = 0
    _repr_fields = ("control", "x", "observable", "converged")


@dataclass(frozen=True, repr=False)
class Transition(_Result):
    """One transition of the global minimum along the control.

    kind: 'first-order' (the global minimum jumps between two distinct minima),
      'second-order' (the symmetric minimum loses stability and the new minimum
      grows continuously out of it), 'crossover' (no singularity; the
      susceptibility d(observable)/d(control) peaks at critical_value).
    critical_value: coexistence point / critical point / susceptibility peak.
    spinodals: [lo, hi] folds bounding the metastable window (first order), else None.
    order_parameter: {'before': obs, 'after': obs}: reported observable just
      below and just above critical_value (at it, for continuous kinds).
    order_parameters: {'before': {name: value}, 'after': {...}} raw order parameters.
    jump: |after - before| of the observable (0 for continuous kinds).
    df_dcontrol_jump: d f / d control (after) minus (before): latent-heat analogue (first order only).
    critical_value_digits: the critical value as a decimal string with `digits`
      significant digits when --digits refinement was requested (mpmath), else None.
    residual: max-norm residual of the defining equations at critical_value.
    evidence: the numbers behind the classification (minima and free energies,
      det H sign changes, Landau coefficients, exponent fit, ...).
    """

    kind: str
    critical_value: float
    spinodals: tuple | None
    order_parameter: dict
    order_parameters: dict
    jump: float
    df_dcontrol_jump: float | None
    converged: bool
    flag: str
    method: str
    residual: float
    digits: int | None = None
    critical_value_digits: str | None = None
    evidence: dict = field(default_factory=dict)
    _repr_fields = ("kind", "critical_value", "spinodals", "order_parameter", "jump", "converged", "flag")

    def __post_init__(self):
        if self.kind not in KINDS:
            raise InvalidParameterError("kind", f"must be one of {KINDS}, got {self.kind!r}")
        if not math.isfinite(self.critical_value):
            raise InvalidParameterError("critical_value", f"must be finite, got {self.critical_value!r}")


@dataclass(frozen=True, repr=False)
class TransitionReport(_Result):
    """All transitions of the global minimum for control in range.

    control: control name; order_parameter: name of the reported observable;
    range: [lo, hi] searched; range_source: 'user' or 'auto' (bracket found by
    scanning); params: the fixed parameters; transitions: list of Transition,
    ordered by critical value; folds: every fold found on the continued
    branches; branches: summary of the continuation (number of branches,
    steps, det H sign changes); warnings: anything the user should know;
    flag: "ok", or "free-energy-unbounded-below" (then every transition carries that flag too).
    """

    control: str
    order_parameter: str
    range: tuple
    range_source: str
    params: dict
    transitions: tuple
    folds: tuple
    branches: dict
    warnings: tuple = ()
    flag: str = "ok"           # "free-energy-unbounded-below" when f far out lies below every minimum found
    _repr_fields = ("control", "range", "transitions", "flag")

    def to_dict(self) -> dict:
        out = super().to_dict()
        # the CLI contract puts control and transitions first
        return {"control": out.pop("control"), "transitions": out.pop("transitions"), **out}


@dataclass(frozen=True, repr=False)
class Boundary(_Result):
    """A line in (control, second): kind 'first-order', 'second-order', 'crossover' or 'spinodal' (a fold of a
    metastable minimum), and points [[control, second], ...] (in order along the line); ends: why the line
    stops at its first and at its last point (spinodal lines), else ()."""

    kind: str
    points: tuple
    method: str = "continuation"
    ends: tuple = ()
    _repr_fields = ("kind", "points")


@dataclass(frozen=True, repr=False)
class SpecialPoint(_Result):
    """A special point of a phase diagram, solved from its own defining system.

    kind: 'tricritical' (a second-order line turns first order: the Landau
    quartic vanishes with the quadratic), 'critical-point' (the end of a
    first-order line: its two spinodals merge and the jump vanishes),
    'critical-end-point' (a second-order line ends on a first-order line, which
    continues through it), 'bicritical-point' (two second-order lines of the
    symmetric point and the first-order line between the two ordered phases
    meet), 'tetracritical-point' (two second-order lines of the symmetric point
    cross: four second-order lines meet and a mixed phase opens).
    values: {control: c, second: d}; values_digits: the same as decimal
    strings refined with mpmath when digits were requested, else None.
    """

    kind: str
    values: dict
    converged: bool
    residual: float
    method: str
    flag: str = "ok"
    evidence: dict = field(default_factory=dict)
    values_digits: dict | None = None
    _repr_fields = ("kind", "values", "converged", "residual")


@dataclass(frozen=True, repr=False)
class PhaseDiagram(_Result):
    """Transition lines in (control, second) and their special points."""

    control: str
    second_control: str
    range: tuple
    second_range: tuple
    params: dict
    boundaries: tuple
    special_points: tuple
    warnings: tuple = ()
    _repr_fields = ("control", "second_control", "boundaries", "special_points")

    def to_dict(self) -> dict:
        out = super().to_dict()
        return {"boundaries": out.pop("boundaries"), "special_points": out.pop("special_points"), **out}
