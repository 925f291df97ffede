"""The coexistence point alpha* as a function of the context length T (softmax copy head)."""
from __future__ import annotations

import math
import time
from typing import Callable, Iterable

from copyhead.errors import InvalidParameterError
from copyhead.spec import ModelSpec

from ._analysis import auto_range, find_transitions, model_problem


def alpha_star_vs_T(spec: ModelSpec, Ts: Iterable[int], *, on_row: Callable[[dict], None] | None = None) -> list[dict]:
    """One row per T: the first-order transition found in an automatically bracketed alpha range.

    Row fields: T, ln_T, seconds, bracket, kinds (every transition found), and, where the transition is
    first order: alpha_star, spinodals, m_before, m_after, delta_after, converged, flag. A T below the
    critical end point has only a crossover and no alpha_star.
    """
    if spec.attention != "softmax":
        raise InvalidParameterError("attention", "alpha*(T) is defined for the softmax copy head")
    rows = []
    for T in Ts:
        if isinstance(T, bool) or int(T) != T or T < 2:
            raise InvalidParameterError("T", f"must be integers >= 2, got {T!r}")
        problem = model_problem(spec.replace(T=int(T)))
        started = time.perf_counter()
        bracket = auto_range(problem)
        report = find_transitions(problem, *bracket) if bracket else None
        first = [t for t in (report.transitions if report else ()) if t.kind == "first-order"]
        row = {"T": int(T), "ln_T": math.log(T), "seconds": time.perf_counter() - started,
               "bracket": list(bracket) if bracket else None,
               "kinds": [t.kind for t in report.transitions] if report else []}
        if first:
            t = first[0]
            row.update(alpha_star=t.critical_value, spinodals=list(t.spinodals) if t.spinodals else None,
                       m_before=t.order_parameter["before"], m_after=t.order_parameter["after"],
                       delta_after=t.order_parameters["after"]["delta"], converged=t.converged, flag=t.flag)
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows
