"""Transition engine: every solver over the reference catalogue, the copy-head closed forms, results."""
from __future__ import annotations

import dataclasses
import json
import math
import mpmath
import numpy as np
import pytest

from catalogue import CATALOGUE, BY_ID, copy_head_alpha_c, copy_head_gamma_tc, value

from copyhead import CopyHeadModel, ModelSpec
from copyhead.errors import InvalidParameterError
from copyhead.numerics.transitions import (expression_problem, find_transitions,
                                           parse_free_energy, phase_diagram)
from copyhead.numerics.transitions import (coexistence_newton, continue_branch, critical_newton, mp_coexistence,
                                           mp_critical, refine_fold)

_PROBLEMS = {}
_REPORTS = {}


def problem_of(entry):
    if entry["id"] not in _PROBLEMS:
        _PROBLEMS[entry["id"]] = expression_problem(entry["expr"], entry["order_params"], entry["control"],
                                                    entry["params"])
    return _PROBLEMS[entry["id"]]


def report_of(entry):
    if entry["id"] not in _REPORTS:
        _REPORTS[entry["id"]] = find_transitions(problem_of(entry), *entry["range"])
    return _REPORTS[entry["id"]]


def close(a, b, tol):
    return abs(a - b) <= tol * (1 + abs(b))


IDS = [e["id"] for e in CATALOGUE]
FIRST = [e["id"] for e in CATALOGUE if any(x["kind"] == "first-order" for x in e["expected"])]
SECOND = [e["id"] for e in CATALOGUE if any(x["kind"] == "second-order" for x in e["expected"])]
SPIN = [e["id"] for e in CATALOGUE if any(isinstance(x.get("spinodals"), tuple) for x in e["expected"])]


# ------------------------------------------------------------------ the driver over the catalogue

@pytest.mark.parametrize("entry_id", IDS)
def test_find_transitions_catalogue(entry_id):
    entry = BY_ID[entry_id]
    rep = report_of(entry)
    assert [t.kind for t in rep.transitions] == [x["kind"] for x in entry["expected"]]
    for tr, exp in zip(rep.transitions, entry["expected"]):
        tol = 1e-6 if tr.kind == "crossover" else 1e-10
        assert close(tr.critical_value, value(exp["critical"]), tol), (tr.critical_value, value(exp["critical"]))
        assert close(tr.jump, value(exp["jump"]), 1e-8)
        assert tr.converged and tr.flag == "ok"
        if isinstance(exp.get("spinodals"), tuple):
            assert tr.spinodals is not None
            assert close(tr.spinodals[0], exp["spinodals"][0], 1e-9)
            assert close(tr.spinodals[1], exp["spinodals"][1], 1e-9)
        if exp.get("spinodals") == "bracket" and tr.spinodals is not None:
            assert tr.spinodals[0] <= tr.critical_value <= tr.spinodals[1]
        if "df_jump" in exp:
            assert close(tr.df_dcontrol_jump, exp["df_jump"], 1e-8)
        if "beta" in exp:
            assert abs(tr.evidence["exponent"]["beta"] - exp["beta"]) < 5e-3
        if "a4" in exp:
            assert close(tr.evidence["landau"]["a4_effective"], exp["a4"], 1e-8)


@pytest.mark.parametrize("entry_id", FIRST)
def test_coexistence_newton_catalogue(entry_id):
    """Newton on (grad_a = 0, grad_b = 0, f_a = f_b) from perturbed minima converges to the reference."""
    entry = BY_ID[entry_id]
    p = problem_of(entry)
    exp = next(x for x in entry["expected"] if x["kind"] == "first-order")
    tr = next(t for t in report_of(entry).transitions if t.kind == "first-order")
    xa = np.array(list(tr.order_parameters["before"].values())) * 1.03 + 0.01
    xb = np.array(list(tr.order_parameters["after"].values())) * 0.97 - 0.01
    sol = coexistence_newton(p, xa, xb, value(exp["critical"]) + 0.01)
    assert sol["converged"]
    assert close(sol["c"], value(exp["critical"]), 1e-10)
    assert sol["residual"] < 1e-10


@pytest.mark.parametrize("entry_id", SPIN)
def test_fold_newton_catalogue(entry_id):
    """Folds found by pseudo-arclength continuation and refined by Newton on (grad = 0, det H = 0)."""
    entry = BY_ID[entry_id]
    p = problem_of(entry)
    exp = next(x for x in entry["expected"] if isinstance(x.get("spinodals"), tuple))
    tr = next(t for t in report_of(entry).transitions if t.kind == "first-order")
    lo, hi = entry["range"]
    folds = []
    for side, direction in (("before", 1), ("after", -1)):
        x = np.array(list(tr.order_parameters[side].values()))
        br = continue_branch(p, x, tr.critical_value, lo - (hi - lo), hi + (hi - lo), direction)
        for i0, i1 in br.folds:
            xf, cf, res, conv, _ = refine_fold(p, br.x[i0], br.c[i0])
            assert conv and res < 1e-9
            folds.append(cf)
    # every reported fold is a true fold: for the catalogue it must be one of the two spinodal values
    # (the branch-point end of a symmetric minimum is not a fold, so may be missing here)
    assert folds
    for cf in folds:
        assert min(abs(cf - s) for s in exp["spinodals"]) < 1e-9 or \
            abs(cf) > 0  # folds beyond the spinodal pair (e.g. of the unstable branch) are allowed


@pytest.mark.parametrize("entry_id", SECOND)
def test_critical_newton_catalogue(entry_id):
    entry = BY_ID[entry_id]
    p = problem_of(entry)
    exp = next(x for x in entry["expected"] if x["kind"] == "second-order")
    c_ref = value(exp["critical"])
    sol = critical_newton(p, p.symmetric_point, c_ref + 0.05)
    assert sol["converged"] and close(sol["c"], c_ref, 1e-10)


@pytest.mark.parametrize("entry_id", ["landau-cubic", "landau-sixth", "two-op-first", "curie-weiss"])
def test_digits_refinement_catalogue(entry_id):
    """--digits: the mpmath refinement reproduces exact critical values to 30 digits."""
    entry = BY_ID[entry_id]
    p = problem_of(entry)
    tr = report_of(entry).transitions[0]
    exact = {"landau-cubic": mpmath.mpf(1) / 4, "landau-sixth": mpmath.mpf(1) / 4,
             "two-op-first": (1 - mpmath.mpf(9) / 4) ** 2 / 4, "curie-weiss": mpmath.mpf(1)}[entry_id]
    if tr.kind == "first-order":
        xa = list(tr.order_parameters["before"].values())
        xb = list(tr.order_parameters["after"].values())
        mp = mp_coexistence(p, xa, xb, tr.critical_value, 30)
    else:
        mp = mp_critical(p, p.symmetric_point, tr.critical_value, 30)
    assert mp["converged"]
    with mpmath.workdps(40):
        assert abs(mp["c"] - exact) < mpmath.mpf(10) ** -29 * (1 + abs(exact))


def test_digits_blume_capel_against_mpmath():
    entry = BY_ID["blume-capel-first"]
    rep = find_transitions(problem_of(entry), *entry["range"], digits=25)
    tr = rep.transitions[0]
    mpmath.mp.dps = 40
    D = mpmath.mpf("0.48")

    def f(m, T):
        return m**2 / 2 - T * mpmath.log(1 + 2 * mpmath.exp(-D / T) * mpmath.cosh(m / T))

    sol = mpmath.findroot(lambda m, T: [mpmath.diff(lambda u: f(u, T), m), f(m, T) - f(0, T)], (0.79, 0.2323))
    assert tr.critical_value_digits is not None
    assert abs(mpmath.mpf(tr.critical_value_digits) - sol[1]) < mpmath.mpf(10) ** -23
    mpmath.mp.dps = 15


@pytest.mark.parametrize("entry_id", [e["id"] for e in CATALOGUE if "diagram" in e and e["id"] != "two-op-first"])
def test_phase_diagram_catalogue(entry_id):
    entry = BY_ID[entry_id]
    d = entry["diagram"]
    pd = phase_diagram(problem_of(entry), d["second"], d["second_range"], d["control_range"], n_points=15)
    kinds = [s.kind for s in pd.special_points]
    # the legacy catalogue view still spells the end of a first-order line the old way
    assert kinds == [{"critical-end-point": "critical-point"}.get(s["kind"], s["kind"]) for s in d["special"]]
    for got, exp in zip(pd.special_points, d["special"]):
        assert got.converged
        for k, v in exp["values"].items():
            assert abs(got.values[k] - v) < 1e-7, (k, got.values[k], v)
    json.dumps(pd.to_dict(), allow_nan=False)


@pytest.mark.slow
def test_phase_diagram_two_order_parameters():
    entry = BY_ID["two-op-first"]
    d = entry["diagram"]
    pd = phase_diagram(problem_of(entry), d["second"], d["second_range"], d["control_range"], n_points=15)
    (tc,) = pd.special_points
    assert tc.kind == "tricritical" and abs(tc.values["g"] - 2) < 1e-7 and abs(tc.values["t"]) < 1e-7


# ------------------------------------------------------------------ copy head

@pytest.mark.parametrize("kw", [{}, {"T": 8, "V": 5}, {"gamma": 0.7, "sigma_w": 1.3}, {"sigma2": 0.5, "sigma_q": 2.0},
                                {"prior": "gaussian-logit"}])
def test_linear_alpha_c_closed_form(kw):
    spec = ModelSpec(attention="linear", **kw)
    p = CopyHeadModel(spec).problem()
    ref = copy_head_alpha_c(spec.T, spec.V, spec.gamma, spec.sigma_q, spec.sigma_k, spec.sigma_w, spec.sigma2)
    rep = find_transitions(p, ref / 3, ref * 3, digits=20)
    (tr,) = [t for t in rep.transitions if t.kind != "crossover"]
    assert tr.kind == "second-order"
    assert close(tr.critical_value, ref, 1e-12)
    assert abs(tr.evidence["exponent"]["beta"] - 0.5) < 5e-3
    assert tr.evidence["landau"]["a4_effective"] > 0
    assert tr.order_parameter == {"before": 0.0, "after": 0.0}


def test_linear_below_tricritical_is_first_order():
    spec = ModelSpec(attention="linear", gamma=0.3)
    rep = find_transitions(CopyHeadModel(spec).problem(), 1.0, 8.0)
    (tr,) = rep.transitions
    assert tr.kind == "first-order" and tr.jump > 0.1
    assert tr.spinodals[0] <= tr.critical_value <= tr.spinodals[1]
    # the symmetric minimum loses stability exactly at the closed-form alpha_c: the upper spinodal
    assert close(tr.spinodals[1], copy_head_alpha_c(16, 16, 0.3), 1e-10)


def test_linear_tricritical_gamma_closed_form():
    p = CopyHeadModel(ModelSpec(attention="linear")).problem()
    pd = phase_diagram(p, "gamma", (0.3, 0.8), n_coarse=5, n_points=9)
    (tc,) = [s for s in pd.special_points if s.kind == "tricritical"]
    assert close(tc.values["gamma"], copy_head_gamma_tc(16, 16), 1e-9)
    assert close(tc.values["alpha"], copy_head_alpha_c(16, 16, tc.values["gamma"]), 1e-9)


def _independent_free_energy(spec):
    """The reduced free energy evaluated by SymPy/mpmath directly (not through the compiled code)."""
    import sympy as sp

    from copyhead.theory import symbols
    from copyhead.theory.reduced import reduced_model

    rm = reduced_model(spec.attention, spec.tokens, spec.prior)
    subs = {getattr(symbols, k): sp.Float(v, 40) for k, v in spec.numeric_params.items()}
    expr = rm.free_energy.doit().subs(subs)
    return sp.lambdify((*rm.order_params, symbols.alpha), expr, "mpmath"), rm


def test_softmax_first_order_default():
    spec = ModelSpec()
    rep = find_transitions(CopyHeadModel(spec).problem(), 2.0, 20.0, digits=25)
    (tr,) = rep.transitions
    assert tr.kind == "first-order"
    lo, hi = tr.spinodals
    assert 4.9 < lo < tr.critical_value < hi < 8.8
    assert tr.order_parameter["after"] - tr.order_parameter["before"] > 0.3
    # independent check at 30 digits: both minima stationary with equal free energy at alpha*
    f, rm = _independent_free_energy(spec)
    mpmath.mp.dps = 40
    a = mpmath.mpf(tr.critical_value_digits)
    da = mpmath.findroot(lambda d: mpmath.diff(lambda u: f(u, a), d), tr.order_parameters["before"]["delta"])
    db = mpmath.findroot(lambda d: mpmath.diff(lambda u: f(u, a), d), tr.order_parameters["after"]["delta"])
    # |f_a - f_b| / |d(f_a - f_b)/d alpha| bounds the error in alpha*
    assert abs(f(da, a) - f(db, a)) / abs(tr.df_dcontrol_jump) < mpmath.mpf(10) ** -22
    mpmath.mp.dps = 15


def test_softmax_T4_is_crossover_and_T8_first_order():
    r4 = find_transitions(CopyHeadModel(ModelSpec(T=4)).problem(), 1.0, 30.0)
    assert [t.kind for t in r4.transitions] == ["crossover"]
    r8 = find_transitions(CopyHeadModel(ModelSpec(T=8)).problem(), 2.0, 30.0)
    assert [t.kind for t in r8.transitions] == ["first-order"]


@pytest.mark.slow
def test_softmax_critical_point_in_T():
    pd = phase_diagram(CopyHeadModel(ModelSpec()).problem(), "T", (4, 8), n_coarse=5, n_points=9)
    (cep,) = [s for s in pd.special_points if s.kind == "critical-point"]
    assert cep.converged and 4 < cep.values["T"] < 8


def test_auto_range_contains_transition():
    from copyhead.numerics.transitions import auto_range

    for spec in (ModelSpec(), ModelSpec(attention="linear"), ModelSpec(T=4)):
        lo, hi = auto_range(CopyHeadModel(spec).problem())
        rep = find_transitions(CopyHeadModel(spec).problem(), lo, hi)
        assert rep.transitions and lo < rep.transitions[0].critical_value < hi


# ------------------------------------------------------------------ results and parser

def test_results_frozen_json_repr():
    rep = report_of(BY_ID["landau-cubic"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        rep.transitions[0].kind = "crossover"
    d = rep.to_dict()
    text = json.dumps(d, allow_nan=False)
    assert list(d)[:2] == ["control", "transitions"]
    assert "first-order" in repr(rep.transitions[0]) and len(repr(rep.transitions[0])) < 400
    assert json.loads(text)["transitions"][0]["spinodals"] == [pytest.approx(0.0, abs=1e-12), pytest.approx(9 / 32)]


@pytest.mark.parametrize("text, fragment", [
    ("x.__class__", "attribute"), ("__import__('os')", "not allowed"), ("(lambda: 1)()", "only plain function calls"),
    ("x[0]", "not allowed"), ("exp(x, y)", "exactly one"), ("foo(x)", "'foo' is not allowed"),
    ("x + zeta + eta", "eta, zeta"), ("'a'", "numbers"), ("x +", "not a valid"), ("2**10**10", "too large"),
    ("x/0", "division by zero"), ("exp", "must be called"), ("", "empty"),
])
def test_parser_refuses(text, fragment):
    with pytest.raises(InvalidParameterError) as info:
        parse_free_energy(text, ["x"], "t", ["a"])
    assert fragment in str(info.value)


def test_parser_accepts_and_is_exact():
    import sympy as sp

    from copyhead.numerics.transitions.expression import KinkAbs

    parsed = parse_free_energy("a*x^2 - 0.1*x + logcosh(x) + abs(t)", ["x"], "t", ["a"])
    x, t, a = sp.symbols("x t a", real=True)
    assert sp.simplify(parsed.expr - (a * x**2 - sp.Rational(1, 10) * x + sp.log(sp.cosh(x)) + KinkAbs(t))) == 0


def test_engine_errors_are_typed():
    p = problem_of(BY_ID["landau-cubic"])
    with pytest.raises(InvalidParameterError):
        find_transitions(p, 1.0, 0.0)
    with pytest.raises(InvalidParameterError):
        p.with_params(nope=1.0)
    with pytest.raises(InvalidParameterError):
        parse_free_energy("x^2", ["x", "x"], "t")


def test_unbounded_free_energy_warns_not_nan():
    p = expression_problem("t*x^2 - x^4", ["x"], "t", {})
    rep = find_transitions(p, -1.0, 1.0)
    json.dumps(rep.to_dict(), allow_nan=False)
    assert all(math.isfinite(t.critical_value) for t in rep.transitions)


def test_alpha_star_vs_T_matches_the_equal_depth_reference():
    """Engine alpha*(T) against the independent Brent computation of derivation step g."""
    from copyhead import InvalidParameterError, ModelSpec
    from copyhead.derivations.scaling import alpha_star_by_equal_depth

    rows = CopyHeadModel(ModelSpec()).alpha_star_vs_T([4, 16]).rows
    assert "alpha_star" not in rows[0] and "crossover" in rows[0]["kinds"]      # below the critical point
    reference = alpha_star_by_equal_depth(ModelSpec(), 5.2, 8.5)
    assert abs(rows[1]["alpha_star"] - reference) < 1e-8 * reference
    with pytest.raises(InvalidParameterError, match="^attention"):
        CopyHeadModel(ModelSpec(attention="linear")).alpha_star_vs_T([8])
    with pytest.raises(InvalidParameterError, match="^T"):
        CopyHeadModel(ModelSpec()).alpha_star_vs_T([1])


# ------------------------------------------------------------------ issue 9: the rebuilt engine, one test per cause

def test_newton_result_frozen_and_both_back_ends():
    """One Newton: frozen result; the mpmath back end solves the same Coexistence system to 30 digits."""
    from copyhead.numerics.transitions import Coexistence, NewtonResult, newton

    p = expression_problem("a*x^2 - w*x^3 + b*x^4", ["x"], "a", {"w": 1.0, "b": 1.0})
    system = Coexistence(p)
    r = newton(system, np.array([0.01, 0.49, 0.26]))
    assert isinstance(r, NewtonResult) and r.converged and r.flag == "ok"
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.converged = False
    assert abs(r.x[-1] - 0.25) < 1e-14 and abs(r.x[1] - 0.5) < 1e-14       # closed form a = w^2/(4b), x = w/(2b)
    m = newton(system, r.x, digits=30)
    with mpmath.workdps(40):
        assert m.converged and abs(m.mp_x[-1] - mpmath.mpf(1) / 4) < mpmath.mpf(10) ** -30


def test_newton_reports_a_stall_not_a_root():
    """A least-squares step that stops moving with a large residual is not 'converged' (was: tricritical at -1e17)."""
    p = expression_problem("m^2/2 - T*log(1 + 2*exp(-D/T)*cosh(m/T))", ["m"], "T", {"D": 0.48})
    sol = critical_newton(p, p.symmetric_point, 0.5)
    # independent: 1 - p(T)/T > 0 for every T at D = 0.48 near 0.5 would make a 'root' an invention
    D = mpmath.mpf("0.48")
    lam = [1 - 2 * mpmath.exp(-D / T) / (1 + 2 * mpmath.exp(-D / T)) / T for T in (mpmath.mpf("0.45"), mpmath.mpf("0.5"))]
    if all(v > 0 for v in lam):
        assert not sol["converged"] or sol["residual"] < 1e-10


@pytest.mark.parametrize("expr, names, inside, outside", [
    ("x*log(x) + (1-x)*log(1-x) + c*x", ["x"], [(0.5,), (1e-12,)], [(0.0,), (1.0,), (-0.1,)]),
    ("t*m^2 + atanh(m)^2", ["m"], [(0.9,)], [(1.0,), (-1.2,)]),
    ("t*q + (q+m)*log(q+m) + (q-m)*log(q-m) + (1-q)*log(1-q)", ["m", "q"], [(0.1, 0.5)], [(0.6, 0.5), (0.0, 1.0)]),
    ("t*x + sqrt(1 - x^2 - y^2)", ["x", "y"], [(0.5, 0.5)], [(0.9, 0.9)]),
])
def test_domain_inferred_from_the_expression(expr, names, inside, outside):
    from copyhead.numerics.transitions import infer_domain

    control = "c" if "c*x" in expr else "t"
    parsed = parse_free_energy(expr, names, control, [])
    dom = infer_domain(parsed.expr, parsed.order_params, parsed.control, parsed.params)
    for pt in inside:
        assert dom.inside([np.array(v) for v in pt], 0.3, ())
    for pt in outside:
        assert not dom.inside([np.array(v) for v in pt], 0.3, ())


def test_minimum_close_to_a_log_boundary_found():
    """Curie-Weiss at T = 0.2: m = tanh(m/T) gives 1 - m ~ 9e-5; the engine's minimum matches mpmath."""
    p = expression_problem(CATALOGUE[0]["expr"], ["m"], "T", {"h": 0.0})
    from copyhead.numerics.transitions import all_minima

    (mins,) = all_minima(p, np.array([0.2]))
    best = min(mins, key=lambda s: s.f)
    with mpmath.workdps(30):
        ref = mpmath.findroot(lambda m: m - mpmath.tanh(m / mpmath.mpf("0.2")), 0.9999)
    assert abs(abs(best.x[0]) - float(ref)) < 1e-12


def test_continuation_stops_at_a_domain_edge_with_a_reason():
    """f = (x - c)^2 + (1 - x)^(3/2): the stationary branch reaches x = 1 at c = 1 (grad finite there), beyond
    which f is not real. Continuation must stop there with a reason: no NaN Jacobian into the SVD."""
    p = expression_problem("(x - c)^2 + (1 - x)^(3/2)", ["x"], "c", {})
    br = continue_branch(p, np.array([0.0 + 0.5625 - 0.75 * 0.5]), -0.5, -1.0, 3.0, +1)
    assert br.stop.startswith("domain-edge") or br.stop == "left-range"
    assert np.all(np.isfinite(br.x)) and np.all(br.x < 1.0 + 1e-12)
    rep = find_transitions(p, -1.0, 3.0)
    json.dumps(rep.to_dict(), allow_nan=False)


def test_second_order_in_shifted_and_moving_coordinates():
    """t (x - s)^2 + (x - s)^4 with s = 1 fixed or s = t moving: a branch point at t = 0, beta = 1/2, a4 = 1."""
    for expr in ("t*(x-1)^2 + (x-1)^4", "t*(x-t)^2 + (x-t)^4"):
        rep = find_transitions(expression_problem(expr, ["x"], "t", {}), -1.0, 1.0)
        (tr,) = rep.transitions
        assert tr.kind == "second-order" and tr.flag == "ok" and abs(tr.critical_value) < 1e-10
        assert abs(tr.evidence["exponent"]["beta"] - 0.5) < 5e-3
        assert abs(tr.evidence["landau"]["a4_effective"] - 1.0) < 1e-6
        assert abs(tr.evidence["landau"]["a3"]) < 1e-8


def test_second_ordering_inside_an_ordered_phase():
    """t x^2 + x^4 + (t + 1/2) y^2 + y^4 + (3/2) x^2 y^2: x orders at t = 0; inside that phase the y coefficient
    is (t + 1/2) + (3/2) x^2 with x^2 = -t/2, so y orders at t = -2 (closed form)."""
    p = expression_problem("t*x^2 + x^4 + (t + 1/2)*y^2 + y^4 + 3/2*x^2*y^2", ["x", "y"], "t", {})
    rep = find_transitions(p, -3.0, 1.0)
    kinds = [(t.kind, round(t.critical_value, 9)) for t in rep.transitions]
    assert kinds == [("second-order", -2.0), ("second-order", 0.0)], kinds


def test_continuous_symmetry_classified_with_degeneracy():
    """O(2): t (x^2 + y^2) + (x^2 + y^2)^2 orders at t = 0 with a doubly degenerate soft mode; the ordered
    minima form a circle (one zero mode). beta = 1/2 (r^2 = -t/2)."""
    p = expression_problem("t*(x^2+y^2) + (x^2+y^2)^2", ["x", "y"], "t", {})
    (tr,) = find_transitions(p, -1.0, 1.0).transitions
    assert tr.kind == "second-order" and tr.flag == "ok" and abs(tr.critical_value) < 1e-12
    assert tr.evidence["landau"]["degeneracy"] == 2
    assert tr.evidence["ordered_phase_zero_modes"] == 1
    assert abs(tr.evidence["exponent"]["beta"] - 0.5) < 5e-3


def test_unbounded_below_is_flagged_never_clean():
    p = expression_problem("t*x^2 + x^4 - x^6/1000", ["x"], "t", {})
    rep = find_transitions(p, -1.0, 1.0)
    assert rep.flag == "free-energy-unbounded-below"
    assert any("unbounded below" in w for w in rep.warnings)
    assert all(t.flag != "ok" for t in rep.transitions)


@pytest.mark.parametrize("sigma2", [1e-4, 1e8])
def test_auto_range_follows_the_model_scale(sigma2):
    """alpha* is proportional to sigma2: the automatic range finds it at sigma2 * alpha*(1), the reference being
    the independent equal-depth computation of derivation step g."""
    from copyhead.derivations.scaling import alpha_star_by_equal_depth
    from copyhead.numerics.transitions import auto_range

    reference = alpha_star_by_equal_depth(ModelSpec(), 5.2, 8.5)
    p = CopyHeadModel(ModelSpec(sigma2=sigma2)).problem()
    lo, hi = auto_range(p)
    (tr,) = find_transitions(p, lo, hi).transitions
    assert tr.kind == "first-order" and tr.flag == "ok"
    assert abs(tr.critical_value / sigma2 - reference) < 1e-8 * reference


def test_model_scale_outside_double_precision_refused():
    with pytest.raises(InvalidParameterError, match="^sigma2"):
        CopyHeadModel(ModelSpec(sigma2=1e-300)).problem()


def test_phase_diagram_values_digits_and_spinodal_lines():
    """Blume-Capel: tricritical T = 1/3, D = ln(4)/3 to 20 digits (closed form); sextic Landau: the ordered
    minimum's spinodal line a = b^2/(3c) (closed form) as a 'spinodal' boundary."""
    entry = BY_ID["blume-capel-second"]
    d = entry["diagram"]
    pd = phase_diagram(problem_of(entry), d["second"], d["second_range"], d["control_range"], n_points=9,
                       n_coarse=5, digits=20)
    (tc,) = pd.special_points
    with mpmath.workdps(30):
        assert abs(mpmath.mpf(tc.values_digits["T"]) - mpmath.mpf(1) / 3) < mpmath.mpf(10) ** -19
        assert abs(mpmath.mpf(tc.values_digits["D"]) - mpmath.log(4) / 3) < mpmath.mpf(10) ** -19
    assert isinstance(tc.to_dict()["values_digits"]["T"], str)
    p = expression_problem("a*x^2 + b*x^4 + x^6", ["x"], "a", {"b": -1.0})
    pd = phase_diagram(p, "b", (-1.0, -0.5), (-0.5, 0.6), n_points=7, n_coarse=3)
    spin = [b for b in pd.boundaries if b.kind == "spinodal"]
    assert spin
    upper = [b for b in spin if all(c > 1e-9 for c, _ in b.points)]
    assert upper and all(abs(c - bb**2 / 3) < 1e-9 for c, bb in upper[0].points)
    assert json.loads(json.dumps(pd.to_dict()))["boundaries"][-1]["kind"] == "spinodal"
