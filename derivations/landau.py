"""Section e: linear attention, Landau expansion."""
from __future__ import annotations

import mpmath as mp
import sympy as sp

from copyhead.spec import ModelSpec

from ..model import CopyHeadModel
from ..numerics.free_energy import local_minima
from ..theory.landau import landau_expansion
from ..theory.reduced import reduced_model
from ..theory.symbols import MODEL_PARAMS, T, V, alpha, gamma, s
from ._core import DIGITS, CheckResult, Step, as_check, random_rationals, tolerance_check

SECTION = "Linear attention: Landau expansion"
_PARAMS = list(MODEL_PARAMS) + [alpha]


def _admissible(points):
    """Random points with T, V >= 2."""
    for point in points:
        point[T] = point[T] + 2
        point[V] = point[V] + 2
    return points


def _check_taylor(prior: str) -> CheckResult:
    """a2, a4, a6 against mpmath Taylor coefficients of the closed form, 50 digits."""
    L = landau_expansion(prior)
    f = reduced_model("linear", "centred", prior).free_energy.doit()
    worst = mp.mpf(0)
    with mp.workdps(2 * DIGITS):
        for point in _admissible(random_rationals(_PARAMS, 4, seed=11)):
            fn = sp.lambdify(s, f.subs(point), "mpmath")
            coeffs = mp.taylor(fn, 0, 6)
            for k, ak in ((2, L.a2), (4, L.a4), (6, L.a6)):
                exact = mp.mpf(str(sp.N(ak.subs(point), 2 * DIGITS)))
                worst = max(worst, abs(coeffs[k] - exact) / max(abs(exact), mp.mpf(1e-30)))
            worst = max(worst, max(abs(coeffs[k]) for k in (1, 3, 5)))
    return CheckResult(bool(worst < mp.mpf(10) ** -35), "mpmath-50",
                       f"{prior} prior: a2, a4, a6 vs mpmath Taylor coefficients at 4 random points; odd ones vanish: "
                       f"max rel err {mp.nstr(worst, 3)}", float(worst))


def _check_roots(expr, value_expr, label: str, extra_sign=None) -> CheckResult:
    """expr vanishes at random admissible points; optional sign condition on another expression."""
    worst, sign_ok = mp.mpf(0), True
    with mp.workdps(DIGITS):
        for point in _admissible(random_rationals(list(MODEL_PARAMS), 10, seed=12)):
            worst = max(worst, abs(mp.mpf(str(sp.N(expr.subs(point), DIGITS)))))
            if extra_sign is not None:
                sign_ok &= bool(sp.N(extra_sign.subs(point), DIGITS) > 0)
    passed = worst < mp.mpf(10) ** -40 and sign_ok
    return CheckResult(bool(passed), "mpmath-50",
                       f"{label} at 10 random admissible points, 50 digits: max |residual| {mp.nstr(worst, 3)}"
                       + ("" if extra_sign is None else f"; sign condition {'holds' if sign_ok else 'FAILS'}"),
                       float(worst))


def _check_onset_amplitude() -> CheckResult:
    """Just above alpha_c (gamma > gamma_tc) the minimum sits at s^2 = -a2 / (2 a4)."""
    L = landau_expansion("bilinear")
    worst = 0.0
    for gamma_ in (1.0, 2.0):
        spec = ModelSpec(attention="linear", T=8, V=10, gamma=gamma_, sigma_q=1.1, sigma_k=0.9)
        subs = CopyHeadModel(spec).subs()
        alpha_c = float(L.alpha_c.subs(subs))
        alpha_ = alpha_c * (1 + 1e-4)
        predicted = float((-L.a2 / (2 * L.a4)).subs(subs).subs(alpha, alpha_))
        s_min = max(abs(mn.order_parameter) for mn in local_minima(spec, alpha_))
        worst = max(worst, abs(s_min**2 - predicted) / predicted)
    return tolerance_check("optimisation", worst, 1e-3,
                           "minimiser of the full reduced f at alpha = alpha_c (1 + 1e-4) vs Landau s^2 = -a2/(2 a4), "
                           "gamma > gamma_tc")


def _check_first_order_below_tricritical() -> CheckResult:
    """Below gamma_tc a non-zero minimum already exists below alpha_c: the transition is first order."""
    L = landau_expansion("bilinear")
    spec = ModelSpec(attention="linear", T=8, V=10, gamma=1.0)
    subs = CopyHeadModel(spec).subs()
    gamma_tc = float(L.gamma_tricritical.subs(subs))
    spec = spec.replace(gamma=0.5 * gamma_tc)
    subs[gamma] = spec.gamma
    alpha_c = float(L.alpha_c.subs(subs))
    minima = local_minima(spec, 0.999 * alpha_c)
    nonzero = [mn for mn in minima if abs(mn.order_parameter) > 1e-6]
    return CheckResult(bool(nonzero) and any(abs(mn.order_parameter) < 1e-9 for mn in minima), "optimisation",
                       f"gamma = gamma_tc/2, alpha = 0.999 alpha_c: minima at s = "
                       f"{sorted(round(mn.order_parameter, 4) for mn in minima)} (s = 0 and a non-zero pair coexist)")


def steps() -> list[Step]:
    Lb, Lg = landau_expansion("bilinear"), landau_expansion("gaussian-logit")
    a2s, a4s, a6s = sp.symbols("a_2 a_4 a_6")
    return [
        Step(SECTION, "e.coefficients", "Landau coefficients",
             sp.Tuple(sp.Eq(a2s, Lb.a2, evaluate=False), sp.Eq(a4s, Lb.a4, evaluate=False), sp.Eq(a6s, Lb.a6, evaluate=False)),
             r"Expanding the reduced free energy \eqref{eq:d.free_energy} of linear attention "
             r"\eqref{eq:d.linear}: $f(s) - f(0) = a_2 s^2 + a_4 s^4 + a_6 s^6 + O(s^8)$; odd terms vanish by "
             r"the $S \to -S$ symmetry.",
             (as_check("mpmath-50", lambda: _check_taylor("bilinear")),
              as_check("mpmath-50", lambda: _check_taylor("gaussian-logit")))),
        Step(SECTION, "e.alpha_c", "Critical amount of data", sp.Eq(sp.Symbol(r"\alpha_c"), Lb.alpha_c, evaluate=False),
             r"$a_2$ of \eqref{eq:e.coefficients} changes sign at $\alpha_c$, the same for both priors (they "
             r"agree at second order, \eqref{eq:b.series}).",
             (as_check("mpmath-50", lambda: _check_roots(Lb.a2.subs(alpha, Lb.alpha_c), None, "a2(alpha_c)")),
              as_check("mpmath-50", lambda: _check_roots(Lg.alpha_c - Lb.alpha_c, None, "alpha_c(Gauss) - alpha_c(bilinear)")),
              as_check("mpmath-50", lambda: _check_roots(sp.S(0), Lb.a2.subs(alpha, Lb.alpha_c / 2),
                                                         "a2 > 0 below alpha_c")))),
        Step(SECTION, "e.quartic", "Effective quartic on the critical line",
             sp.Tuple(sp.Eq(sp.Symbol(r"a_4(\alpha_c)"), Lb.a4_at_critical, evaluate=False),
                      sp.Eq(sp.Symbol(r"a_4^{\mathrm{G}}(\alpha_c)"), Lg.a4_at_critical, evaluate=False)),
             r"The transition at \eqref{eq:e.alpha_c} is second order where $a_4(\alpha_c) > 0$, with $s^2 = "
             r"-a_2/(2a_4)$: $m \sim (\alpha - \alpha_c)^{1/2}$. For the Gaussian-logit prior $a_4 > 0$ "
             r"always.",
             (as_check("optimisation", _check_onset_amplitude),
              as_check("mpmath-50", lambda: _check_roots(sp.S(0), Lg.a4_at_critical, "Gaussian-logit a4(alpha_c) > 0")))),
        Step(SECTION, "e.tricritical", "Tricritical point",
             sp.Tuple(sp.Eq(sp.Symbol(r"\gamma_{tc}"), Lb.gamma_tricritical, evaluate=False),
                      sp.Eq(sp.Symbol(r"a_6(\alpha_c, \gamma_{tc})"), Lb.a6_at_tricritical, evaluate=False)),
             r"$a_4(\alpha_c) = 0$ \eqref{eq:e.quartic} at $\gamma_{tc}$, with $a_6 > 0$: a tricritical point. "
             r"For $\gamma < \gamma_{tc}$ the transition of linear attention with the bilinear prior is first "
             r"order.",
             (as_check("mpmath-50", lambda: _check_roots(Lb.a4_at_critical.subs(gamma, Lb.gamma_tricritical),
                                                         Lb.a6_at_tricritical, "a4(alpha_c, gamma_tc); a6 > 0")),
              as_check("optimisation", _check_first_order_below_tricritical))),
    ]
