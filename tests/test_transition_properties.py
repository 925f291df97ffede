"""Hypothesis properties of the transition engine on random Landau free energies
f = a x^2 + w x^3 + b x^4 + c x^6 (control a; w, b, c random, c > 0 keeps it bounded)."""
from __future__ import annotations

import json

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copyhead.numerics.transitions import expression_problem, find_transitions

_P = {}


def problem():
    if "p" not in _P:
        _P["p"] = expression_problem("a*x^2 + w*x^3 + b*x^4 + c*x^6", ["x"], "a", {"w": 0.0, "b": 1.0, "c": 1.0})
    return _P["p"]


coef = st.floats(-1.0, 1.0, allow_nan=False).map(lambda v: round(v, 3))
SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _brute_global_min(w, b, c, a):
    """Reference global minimum on a fine grid (independent of the engine)."""
    x = np.linspace(-3, 3, 200001)
    f = a * x**2 + w * x**3 + b * x**4 + c * x**6
    return x[np.argmin(f)]


@SETTINGS
@given(w=coef, b=coef, c=st.floats(0.2, 1.0).map(lambda v: round(v, 3)))
def test_reported_minima_are_minima(w, b, c):
    p = problem().with_params(w=w, b=b, c=c)
    rep = find_transitions(p, -1.0, 1.0)
    json.dumps(rep.to_dict(), allow_nan=False)
    for tr in rep.transitions:
        if tr.kind != "first-order":
            continue
        for m in tr.evidence["minima"]:
            assert m["gradient_norm"] < 1e-8
            assert min(m["hessian_eigenvalues"]) > 0
        assert abs(tr.evidence["free_energy_difference"]) < 1e-10


@SETTINGS
@given(w=coef, b=coef, c=st.floats(0.2, 1.0).map(lambda v: round(v, 3)))
def test_spinodals_bracket_coexistence(w, b, c):
    p = problem().with_params(w=w, b=b, c=c)
    for tr in find_transitions(p, -1.0, 1.0).transitions:
        if tr.spinodals is not None:
            assert tr.spinodals[0] - 1e-12 <= tr.critical_value <= tr.spinodals[1] + 1e-12


@SETTINGS
@given(w=coef, b=coef, c=st.floats(0.2, 1.0).map(lambda v: round(v, 3)))
def test_kinds_consistent_with_jump(w, b, c):
    p = problem().with_params(w=w, b=b, c=c)
    for tr in find_transitions(p, -1.0, 1.0).transitions:
        if tr.kind == "first-order":
            assert tr.jump > 1e-6
            # brute force: the global minimum on a fine grid jumps across the coexistence point
            eps = 1e-3
            x_lo = _brute_global_min(w, b, c, tr.critical_value - eps)
            x_hi = _brute_global_min(w, b, c, tr.critical_value + eps)
            assert abs(x_hi - x_lo) > 0.5 * tr.jump
        else:
            assert tr.jump == 0.0
            assert tr.order_parameter["before"] == tr.order_parameter["after"]
