"""Section f: softmax attention, stationarity and curvature in delta."""
from __future__ import annotations

import mpmath as mp
import sympy as sp

from copyhead.spec import ModelSpec

from ..model import CopyHeadModel
from ..numerics.free_energy import local_minima
from ..theory.reduced import reduced_model
from ..theory.softmax import softmax_conditions
from ..theory.symbols import MODEL_PARAMS, T, V, alpha, delta
from ._core import DIGITS, CheckResult, Step, as_check, effort, random_rationals

SECTION = "Softmax attention: stationarity and curvature"


def _points(count, seed):
    pts = random_rationals(list(MODEL_PARAMS) + [alpha, delta], count, seed)
    for p in pts:
        p[T] += 2
        p[V] += 2
    return pts


def _check_derivative(order: int) -> CheckResult:
    cond = softmax_conditions("bilinear")
    expr = (cond.stationarity if order == 1 else cond.curvature).doit()
    f = reduced_model("softmax", "centred", "bilinear").free_energy.doit()
    worst = mp.mpf(0)
    count = effort(3, 6)
    args = [delta, *MODEL_PARAMS, alpha]
    # compiled once for every point (f.subs + lambdify per point was most of this check's time)
    f_fn, expr_fn = (sp.lambdify(args, e, "mpmath") for e in (f, expr))
    with mp.workdps(2 * DIGITS):
        for point in _points(count, 20 + order):
            rest = [mp.mpf(point[v].p) / point[v].q for v in args[1:]]
            at = mp.mpf(point[delta].p) / point[delta].q
            numeric = mp.diff(lambda d_: f_fn(d_, *rest), at, order)
            exact = expr_fn(at, *rest)
            worst = max(worst, abs(numeric - exact) / max(abs(exact), mp.mpf(1)))
    return CheckResult(bool(worst < mp.mpf(10) ** -40), "mpmath-50",
                       f"closed-form f^({order}) vs mpmath numerical differentiation of f at {count} random points: "
                       f"max err {mp.nstr(worst, 3)}", float(worst))


def _check_polynomial() -> CheckResult:
    """Every positive real root alpha of the cubic makes f'(delta) vanish."""
    cond = softmax_conditions("bilinear")
    worst, roots_seen = mp.mpf(0), 0
    count = effort(4, 8)
    args = [delta, *MODEL_PARAMS]
    # compiled once for every point: the cubic's coefficients, and f' as a function of alpha too
    coeff_fns = [sp.lambdify(args, c, "mpmath") for c in cond.stationarity_polynomial.all_coeffs()]
    stationarity = sp.lambdify([*args, alpha], cond.stationarity.doit(), "mpmath")
    with mp.workdps(DIGITS + 10):
        for point in _points(count, 30):
            at = [mp.mpf(point[v].p) / point[v].q for v in args]
            coeffs = [fn(*at) for fn in coeff_fns]
            for root in mp.polyroots(coeffs, maxsteps=200, extraprec=200):
                if abs(mp.im(root)) < mp.mpf(10) ** -30 and mp.re(root) > 0:
                    roots_seen += 1
                    worst = max(worst, abs(stationarity(*at, mp.re(root))))
    return CheckResult(bool(roots_seen > 0 and worst < mp.mpf(10) ** -30), "mpmath-50",
                       f"{roots_seen} positive roots of the cubic at {count} random (delta, params): max |f'| {mp.nstr(worst, 3)}",
                       float(worst))


def _check_uniform_slope() -> CheckResult:
    slope = softmax_conditions("bilinear").slope_at_uniform
    tau, nu = sp.symbols("tau nu", positive=True)
    shifted = sp.simplify(slope.subs({T: 1 + tau, V: 1 + nu}))
    return CheckResult(bool(shifted.is_negative), "symbolic",
                       f"f'(0) with T = 1 + tau, V = 1 + nu (tau, nu > 0) is {shifted}: negative, so uniform attention "
                       "is never stationary")


def _check_spinodals() -> CheckResult:
    """Solve f' = f'' = 0 with mpmath; the number of minima changes across each root."""
    spec = ModelSpec()
    cond = softmax_conditions("bilinear")
    at = CopyHeadModel(spec).subs()
    g1 = sp.lambdify((delta, alpha), cond.stationarity.doit().subs(at), "mpmath")
    g2 = sp.lambdify((delta, alpha), cond.curvature.doit().subs(at), "mpmath")
    found = []
    with mp.workdps(DIGITS):
        for guess in ((0.5, 5.0), (1.5, 8.5)):
            root = mp.findroot(lambda d, a: [g1(d, a), g2(d, a)], guess)
            found.append((float(root[0]), float(root[1])))
    lower, upper = sorted(a for _, a in found)
    counts = [len(local_minima(spec, a)) for a in (lower * 0.999, lower * 1.001, upper * 0.999, upper * 1.001)]
    passed = counts == [1, 2, 2, 1]
    return CheckResult(passed, "optimisation",
                       f"default model: spinodals alpha = {lower:.10f}, {upper:.10f} (mpmath findroot on f' = f'' = 0); "
                       f"number of minima at 0.999/1.001 of each: {counts} (expected [1, 2, 2, 1])")


def steps() -> list[Step]:
    cond = softmax_conditions("bilinear")
    return [
        Step(SECTION, "f.stationarity", "Stationarity", sp.Eq(sp.Symbol("f'(\\delta)"), cond.stationarity, evaluate=False),
             r"Differentiating \eqref{eq:d.reduced}; the derivative uses $\phi_{\mathrm W}'(x) = "
             r"2x/(1+\sqrt{1+4x^2})$ from the rate function's own derivative.",
             (as_check("mpmath-50", lambda: _check_derivative(1)),)),
        Step(SECTION, "f.cubic", r"Stationarity as a cubic in $\alpha$",
             sp.Eq(sp.Symbol("P(\\alpha)"), cond.stationarity_polynomial.as_expr(), evaluate=False),
             r"Clearing the denominators of \eqref{eq:f.stationarity}, $f'(\delta) = 0$ is a cubic in "
             r"$\alpha$: each $\delta$ lies on at most three stationary branches.",
             (as_check("mpmath-50", _check_polynomial),)),
        Step(SECTION, "f.curvature", "Curvature", sp.Eq(sp.Symbol("f''(\\delta)"), cond.curvature, evaluate=False),
             r"Spinodals solve $f' = f'' = 0$ (\eqref{eq:f.stationarity} and this); coexistence solves equal "
             r"$f$ at two minima.",
             (as_check("mpmath-50", lambda: _check_derivative(2)), as_check("optimisation", _check_spinodals))),
        Step(SECTION, "f.uniform", r"Uniform attention is not a symmetric point",
             sp.Eq(sp.Symbol("f'(0)"), cond.slope_at_uniform, evaluate=False),
             r"Unlike linear attention there is no symmetry fixing $\delta = 0$: since $f'(0) \neq 0$ the "
             r"transition cannot be a symmetry-breaking second-order one, and a jump between two minima is "
             r"first order.",
             (as_check("symbolic", _check_uniform_slope),)),
    ]
