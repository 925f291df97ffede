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


# ------------------------------------------------------------------ issue 9: random smooth free energies, domains

_SHIFTED = {}


def shifted_problem():
    """The same Landau family in coordinates shifted by s: a translation preserves the (unbounded) domain."""
    if "p" not in _SHIFTED:
        _SHIFTED["p"] = expression_problem("a*(x-s)^2 + w*(x-s)^3 + b*(x-s)^4 + c*(x-s)^6", ["x"], "a",
                                           {"w": 0.0, "b": 1.0, "c": 1.0, "s": 0.0})
    return _SHIFTED["p"]


_ENTROPY = {}


def entropy_problem():
    """A bounded domain: Ising entropy on m in (-1, 1) plus a random smooth energy."""
    if "p" not in _ENTROPY:
        _ENTROPY["p"] = expression_problem(
            "T*((1+m)/2*log((1+m)/2) + (1-m)/2*log((1-m)/2)) - m^2/2 - h*m - u*m^3 - v*m^4", ["m"], "T",
            {"h": 0.0, "u": 0.0, "v": 0.0})
    return _ENTROPY["p"]


SMALL = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SMALL
@given(w=coef, b=coef, s=st.floats(-50.0, 50.0).map(lambda v: round(v, 2)))
def test_translation_does_not_change_the_answer(w, b, s):
    """x -> x + s (domain-preserving): same kinds and critical values, minima moved by s."""
    base = find_transitions(shifted_problem().with_params(w=w, b=b, s=0.0), -1.0, 1.0)
    moved = find_transitions(shifted_problem().with_params(w=w, b=b, s=s), -1.0, 1.0)
    assert [t.kind for t in moved.transitions] == [t.kind for t in base.transitions]
    for t0, t1 in zip(base.transitions, moved.transitions):
        tol = 1e-6 if t0.kind == "crossover" else 1e-8
        assert abs(t1.critical_value - t0.critical_value) <= tol * (1 + abs(t0.critical_value))
        if t0.kind == "first-order":
            assert abs(t1.jump - t0.jump) < 1e-7 * (1 + abs(s))


@SMALL
@given(h=st.floats(-0.05, 0.05).map(lambda v: round(v, 3)), u=st.floats(-0.3, 0.3).map(lambda v: round(v, 2)),
       v=st.floats(-0.3, 0.3).map(lambda v: round(v, 2)))
def test_bounded_domain_minima_and_evidence(h, u, v):
    """On m in (-1, 1): every reported minimum lies inside the domain, is stationary with a positive Hessian;
    kinds agree with the jumps; no transition without evidence; no false 'unbounded' warning."""
    p = entropy_problem().with_params(h=h, u=u, v=v)
    rep = find_transitions(p, 0.2, 2.0)
    json.dumps(rep.to_dict(), allow_nan=False)
    assert not any("unbounded" in w for w in rep.warnings)
    for tr in rep.transitions:
        assert tr.evidence, tr
        for side in ("before", "after"):
            assert -1.0 < tr.order_parameters[side]["m"] < 1.0
        if tr.kind == "first-order":
            assert tr.jump > 1e-6
            for m in tr.evidence["minima"]:
                assert -1.0 < m["x"][0] < 1.0 and m["gradient_norm"] < 1e-8 and min(m["hessian_eigenvalues"]) > 0
        else:
            assert tr.jump == 0.0
        if tr.kind == "second-order":
            assert "landau" in tr.evidence and tr.evidence.get("exponent") is not None
        if tr.kind == "crossover":
            assert tr.evidence["susceptibility_peak"] > 0
