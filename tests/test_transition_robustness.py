"""The transition engine at any scale of the knobs and on free energies that defeat naive sampling.

Every reference is independent of the engine: closed forms, mpmath on the theory's own free energy
(derivations.scaling: equal depth by Brent with the independent minimiser numerics.free_energy, refined by
mpmath at 30 digits), or mpmath on a hand-written formula.
"""
from __future__ import annotations

import math

import mpmath as mp
import pytest

from copyhead import CopyHeadModel, ModelSpec
from copyhead.numerics.transitions import auto_range, expression_problem, find_transitions


@pytest.fixture(scope="module")
def alpha_star_unit():
    """alpha* of the default softmax model at sigma2 = 1 (30 digits), independent of the engine."""
    from copyhead.derivations.scaling import coexistence_exact

    return coexistence_exact(ModelSpec(), digits=30)["alpha_star"]


def mp_fold(spec, delta0, alpha0, dps=40):
    """A fold of the stationary branch of the theory's free energy (lambdified from theory/, not the engine's
    compiled blocks): f_delta = f_delta_delta = 0 in (delta, alpha), by mpmath findroot from a guess."""
    from copyhead.derivations.scaling import mpmath_pieces

    f, f_d, _, _ = mpmath_pieces(spec.prior)
    with mp.workdps(dps):
        p = [mp.mpf(v) for v in spec.numeric_params.values()]
        d, a = mp.findroot(lambda d, a: [f_d(d, a, *p), mp.diff(lambda t: f_d(t, a, *p), d)],
                           (mp.mpf(delta0), mp.mpf(alpha0)))
        return float(a), float(d)


def mp_coexistence(spec, d1, d2, alpha0, dps=40):
    """Equal depth of two stationary points of the theory's free energy, by mpmath findroot from a guess."""
    from copyhead.derivations.scaling import mpmath_pieces

    f, f_d, _, _ = mpmath_pieces(spec.prior)
    with mp.workdps(dps):
        p = [mp.mpf(v) for v in spec.numeric_params.values()]
        x1, x2, a = mp.findroot(lambda x1, x2, a: [f_d(x1, a, *p), f_d(x2, a, *p), f(x2, a, *p) - f(x1, a, *p)],
                                (mp.mpf(d1), mp.mpf(d2), mp.mpf(alpha0)))
        return float(a), float(x1), float(x2)


# ------------------------------------------------------------------ unbounded below

def test_log_squared_growth_loses_to_a_linear_term():
    """t x + acosh(x)^2 on x >= 1: acosh(x)^2 ~ log(2x)^2 grows slower than |t| x, so for every t < 0 the free
    energy is unbounded below (closed form), even at t = -1e-3, where f stays positive out to x ~ 1e5."""
    p = expression_problem("t*x + acosh(x)^2", ["x"], "t", {})
    rep = find_transitions(p, -1.0, -1e-3)
    assert rep.flag == "free-energy-unbounded-below"
    assert any("unbounded below" in w for w in rep.warnings)
    with mp.workdps(30):      # the closed-form reason, at the far scale
        assert -mp.mpf("1e-3") * mp.mpf("1e100") + mp.acosh(mp.mpf("1e100")) ** 2 < 0


def test_minimum_on_the_domain_edge_is_not_ok():
    """t > 0: f' = t + 2 acosh(x)/sqrt(x^2 - 1) > 0 on x > 1, so the minimum is the edge x = 1, no stationary
    point: the report must not be "ok"."""
    rep = find_transitions(expression_problem("t*x + acosh(x)^2", ["x"], "t", {}), 0.1, 1.0)
    assert rep.flag == "minimum-not-found" and not rep.transitions


def test_rounding_far_out_is_not_taken_for_a_descent():
    """t x^2 + (x^2 + 1)^2 - x^4 - 2 x^2 = t x^2 + 1: bounded below for t > 0, although in double precision the
    cancellation of x^4 makes f negative beyond x ~ 1e8."""
    p = expression_problem("t*x^2 + (x^2+1)^2 - x^4 - 2*x^2", ["x"], "t", {})
    rep = find_transitions(p, 0.5, 1.0)
    assert rep.flag == "ok" and not any("unbounded" in w for w in rep.warnings)


def test_overflowing_hessian_is_repaired():
    """log(cosh x) - t x^2 + x^4/1e6: the Hessian overflows in double at x ~ 500 (cosh^2). The fold of the
    ordered branch is checked against mpmath on the formula itself: f' = f'' = 0."""
    p = expression_problem("log(cosh(x)) - t*x^2 + x^4/1e6", ["x"], "t", {})
    rep = find_transitions(p, 0.0, 0.05)
    (tr,) = [t for t in rep.transitions if t.kind == "first-order"]
    assert tr.flag == "ok" and rep.flag == "ok"
    fp = lambda x, t: mp.tanh(x) - 2 * t * x + 4 * x ** 3 / mp.mpf(10) ** 6
    with mp.workdps(30):
        f = lambda x, t: mp.log(mp.cosh(x)) - t * x ** 2 + x ** 4 / mp.mpf(10) ** 6
        x_c, t_c = mp.findroot(lambda x, t: [fp(x, t), f(x, t)], (mp.mpf(-79), mp.mpf("0.0188")))
        x_f, t_f = mp.findroot(lambda x, t: [fp(x, t), mp.diff(lambda y: fp(y, t), x)], (mp.mpf(-50), mp.mpf("0.015")))
    assert abs(tr.critical_value / float(t_c) - 1) < 1e-12
    # the ordered branch folds inside the range; the disordered one only at t = 1/2, far beyond it
    assert abs(tr.evidence["spinodal_lo"]["control"] / float(t_f) - 1) < 1e-10


# ------------------------------------------------------------------ scales of the control and order parameters

@pytest.mark.parametrize("sigma2", [1e-20, 1e-4, 1e12, 1e20])
def test_alpha_star_is_proportional_to_sigma2_to_double_precision(sigma2, alpha_star_unit):
    """alpha* = sigma2 alpha*(sigma2 = 1) exactly; spinodals likewise (mpmath folds at sigma2 = 1). At 1e-20 the
    engine once printed 47 spurious "continuous but singular" warnings (absolute tolerances in alpha), at 1e12 it
    agreed to 5e-12 only (a cancelling offset in the coexistence Jacobian)."""
    problem = CopyHeadModel(ModelSpec(sigma2=sigma2)).problem()
    rep = find_transitions(problem, 1.8 * sigma2, 20 * sigma2)
    assert rep.flag == "ok" and rep.warnings == ()
    (tr,) = rep.transitions
    assert abs(tr.critical_value / (sigma2 * float(alpha_star_unit)) - 1) < 4e-15
    lo, _ = mp_fold(ModelSpec(), 2.5, 5.0)
    hi, _ = mp_fold(ModelSpec(), 0.45, 8.6)
    assert abs(tr.spinodals[0] / (sigma2 * lo) - 1) < 1e-12
    assert abs(tr.spinodals[1] / (sigma2 * hi) - 1) < 1e-12


@pytest.mark.parametrize("sigma2", [1e-20, 1e20])
def test_digits_follow_sigma2(sigma2, alpha_star_unit):
    problem = CopyHeadModel(ModelSpec(sigma2=sigma2)).problem()
    (tr,) = find_transitions(problem, 1.8 * sigma2, 20 * sigma2, digits=20).transitions
    with mp.workdps(40):
        expected = mp.nstr(alpha_star_unit * mp.mpf(10) ** round(math.log10(sigma2)), 20)
    assert mp.mpf(tr.critical_value_digits) == mp.mpf(expected)


def test_automatic_range_at_tiny_sigma2_gives_no_spurious_warnings(alpha_star_unit):
    problem = CopyHeadModel(ModelSpec(sigma2=1e-20)).problem()
    rep = find_transitions(problem, *auto_range(problem))
    assert rep.flag == "ok" and rep.warnings == ()
    assert abs(rep.transitions[0].critical_value / (1e-20 * float(alpha_star_unit)) - 1) < 4e-15


@pytest.mark.parametrize("gamma", [1e4, 1e6])
def test_large_gamma_jump_and_spinodals(gamma):
    """Order parameter delta ~ 1/gamma. At gamma = 1e4 the spinodals were missing; at 1e6 the jump was called a
    crossover with flag "ok". Reference: equal depth (independent minimiser + mpmath) and mpmath folds."""
    from copyhead.derivations.scaling import coexistence_exact

    spec = ModelSpec(gamma=gamma)
    problem = CopyHeadModel(spec).problem()
    rep = find_transitions(problem, *auto_range(problem))
    (tr,) = rep.transitions
    assert tr.kind == "first-order" and tr.flag == "ok" and rep.flag == "ok"
    assert abs(tr.critical_value / float(coexistence_exact(spec)["alpha_star"]) - 1) < 1e-13
    lo, d_lo = mp_fold(spec, tr.evidence["spinodal_lo"]["x"][0], tr.spinodals[0])
    hi, d_hi = mp_fold(spec, tr.evidence["spinodal_hi"]["x"][0], tr.spinodals[1])
    assert abs(tr.spinodals[0] / lo - 1) < 1e-11 and abs(tr.spinodals[1] / hi - 1) < 1e-11
    assert d_lo > 0 and 0 < d_hi < d_lo      # the copy branch folds at low alpha, the uniform one at high


def test_landau_cubic_at_tiny_scales():
    """a x^2 - w x^3 + b x^4 with w = 1e-6: a* = w^2/(4b) = 2.5e-13, spinodals 0 and 9 w^2/(32 b), a jump to
    x = w/(2b) = 5e-7: control and order parameter both far from 1 (closed forms)."""
    w, b = 1e-6, 1.0
    p = expression_problem("a*x^2 - w*x^3 + b*x^4", ["x"], "a", {"w": w, "b": b})
    rep = find_transitions(p, -1e-12, 1e-12)
    (tr,) = rep.transitions
    assert tr.kind == "first-order" and tr.flag == "ok"
    assert abs(tr.critical_value / (w * w / (4 * b)) - 1) < 1e-12
    assert abs(tr.spinodals[0]) < 1e-12 * w * w and abs(tr.spinodals[1] / (9 * w * w / (32 * b)) - 1) < 1e-10
    assert abs(tr.jump / (w / (2 * b)) - 1) < 1e-10


def test_shifted_critical_value_at_1e_minus_20():
    """(t - 3e-20) x^2 + x^4: second order at t = 3e-20 (closed form), to --digits."""
    p = expression_problem("(t - 3e-20)*x^2 + x^4", ["x"], "t", {})
    rep = find_transitions(p, 1e-20, 1e-19, digits=25)
    (tr,) = rep.transitions
    assert tr.kind == "second-order" and tr.flag == "ok" and rep.warnings == ()
    assert abs(tr.critical_value / 3e-20 - 1) < 1e-14
    assert mp.mpf(tr.critical_value_digits) == mp.mpf("3e-20")


# ------------------------------------------------------------------ large context length

@pytest.mark.slow
@pytest.mark.parametrize("k", [48, 64])
def test_large_context_length_range_brackets_the_true_transition(k):
    """At T = 2^48 the automatic range once reached alpha ~ 1e17, where rounding makes spurious minima, and
    listed six spurious first-order points. Reference: equal depth of the theory's free energy in mpmath (at
    2^48 also the independent Brent/minimiser solution of derivation step g)."""
    from copyhead.derivations.scaling import coexistence_exact

    spec = ModelSpec(T=2 ** k)
    problem = CopyHeadModel(spec).problem()
    rep = find_transitions(problem, *auto_range(problem))
    assert rep.flag == "ok"
    (tr,) = rep.transitions
    assert tr.kind == "first-order" and tr.flag == "ok"
    a, _, _ = mp_coexistence(spec, tr.order_parameters["before"]["delta"], tr.order_parameters["after"]["delta"],
                             tr.critical_value)
    assert abs(tr.critical_value / a - 1) < 1e-11
    if k == 48:
        assert abs(tr.critical_value / float(coexistence_exact(spec)["alpha_star"]) - 1) < 1e-11
    lo, _ = mp_fold(spec, tr.evidence["spinodal_lo"]["x"][0], tr.evidence["spinodal_lo"]["control"])
    assert abs(tr.evidence["spinodal_lo"]["control"] / lo - 1) < 1e-10


# ------------------------------------------------------------------ spinodal lines in phase diagrams

@pytest.mark.slow
def test_linear_attention_spinodal_lines_reach_the_tricritical_point():
    """Linear attention, gamma in [0.3, 1]: below gamma_tc = sqrt(15)/8 the transition is first order with two
    spinodals. The upper one is the instability of S = 0, alpha_c = 16/(gamma sqrt(240)) (closed form, step e);
    both lines must run from the range end to the tricritical point (they once came out as 12 points and two
    isolated points)."""
    from copyhead.numerics.transitions import phase_diagram

    gamma_tc = math.sqrt(15) / 8
    diagram = phase_diagram(CopyHeadModel(ModelSpec(attention="linear")).problem(), "gamma", (0.3, 1.0))
    lines = [b for b in diagram.boundaries if b.kind == "spinodal"]
    assert len(lines) == 2
    upper = max(lines, key=lambda b: max(c for c, _ in b.points))
    for line in lines:
        gammas = [d for _, d in line.points]
        assert min(gammas) == pytest.approx(0.3) and max(gammas) == pytest.approx(gamma_tc, rel=1e-12)
        assert len(line.points) >= 10 and any("tricritical" in e for e in line.ends)
    for alpha, gamma in upper.points:
        assert abs(alpha / (16 / (gamma * math.sqrt(240))) - 1) < 1e-10


@pytest.mark.slow
def test_blume_capel_spinodal_line_is_a_fold_everywhere():
    """Blume-Capel (T, D): the spinodal of the ordered phase runs from the tricritical point (T = 1/3) to the
    end of the D range; each point is checked as a fold of the mean-field free energy in mpmath
    (f_m = f_mm = 0 at that D, from the catalogue's formula)."""
    from catalogue import CASE_BY_ID, bc_free_energy
    from copyhead.numerics.transitions import phase_diagram

    case = CASE_BY_ID["blume-capel-diagram"]
    p = expression_problem(case.expr, list(case.order_params), case.control, case.params_dict)
    diagram = phase_diagram(p, case.diagram.second, case.diagram.second_range, case.range)
    (line,) = [b for b in diagram.boundaries if b.kind == "spinodal"]
    Ds = [d for _, d in line.points]
    assert max(Ds) == pytest.approx(case.diagram.second_range[1]) and "tricritical" in line.ends[0]
    assert len(line.points) >= 6
    D_tc = 0.46209812037329673       # tricritical point (catalogue reference); within 4e-3 of it the fold and
    checked = [(T, D) for T, D in line.points if D > D_tc + 4e-3]   # the m = 0 instability are too close to separate
    assert len(checked) >= 3
    for T, D in checked:
        with mp.workdps(40):
            def fm(m, t):        # d/dm of the catalogue's bc_free_energy, in closed form
                z = 2 * mp.exp(-mp.mpf(D) / t)
                return m - z * mp.sinh(m / t) / (1 + z * mp.cosh(m / t))
            assert abs(fm(mp.mpf("0.3"), mp.mpf(T)) - mp.diff(lambda y: bc_free_energy(y, mp.mpf(T), mp.mpf(D)),
                                                                  mp.mpf("0.3"))) < 1e-20
            def fmm(m, t):
                z = 2 * mp.exp(-mp.mpf(D) / t)
                return 1 - z * (mp.cosh(m / t) + z) / (t * (1 + z * mp.cosh(m / t)) ** 2)
            assert abs(fmm(mp.mpf("0.3"), mp.mpf(T)) - mp.diff(lambda y: fm(y, mp.mpf(T)), mp.mpf("0.3"))) < 1e-15
            # near the tricritical point the fold is nearly degenerate (f_mmm -> 0): Newton converges slowly,
            # so the root is checked by its residual rather than by findroot's own tolerance
            # start m where f_mm changes sign at the engine's T (an m scan; the fold is there to first order)
            grid = [mp.mpf(j) / 400 for j in range(1, 400)]
            zeros = [grid[j] for j in range(len(grid) - 1) if fmm(grid[j], mp.mpf(T)) * fmm(grid[j + 1], mp.mpf(T)) <= 0]
            m0 = min(zeros, key=lambda m: abs(fm(m, mp.mpf(T))))       # the inflection where f_m also vanishes
            m_f, T_f = mp.findroot(lambda m, t: [fm(m, t), fmm(m, t)], (m0, mp.mpf(T)), verify=False)
            assert abs(fm(m_f, T_f)) < 1e-12 and abs(fmm(m_f, T_f)) < 1e-9 and abs(m_f) > 1e-3
        assert abs(T / float(T_f) - 1) < 1e-9, (T, D, T_f, m_f)


def test_knob_sweep_refuses_bad_input_in_one_line(tmp_path, capsys, load_experiment):
    sweep = load_experiment("knob_sweep.py")
    assert sweep.main(["--attention", "softmax", "--knobs", "foo", "--out", str(tmp_path / "s.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--knobs" in err and "foo" in err
    (tmp_path / "s.json").write_text("{}")
    assert sweep.main(["--attention", "softmax", "--out", str(tmp_path / "s.json")]) == 2
    assert "--force" in capsys.readouterr().err and (tmp_path / "s.json").read_text() == "{}"
