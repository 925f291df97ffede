"""Section d: the free energy f(S; alpha) and its reduction to order parameters."""
from __future__ import annotations

import mpmath as mp
import numpy as np
import sympy as sp

from copyhead.spec import ModelSpec

from ..numerics import full
from ..numerics.free_energy import local_minima, model_params
from ..numerics.compiled import compiled_model
from ..theory.functions import WishartRate
from ..theory.reduced import kinematics, reduced_model, softmax_row
from ..theory.symbols import T, delta, gamma, s, sigma_k, sigma_q, u
from ._core import CheckResult, Step, as_check, effort, tolerance_check

SECTION = "Free energy and its reduction"


def _explicit_shift(T_: int) -> sp.Matrix:
    return sp.Matrix(T_, T_, lambda i, j: 1 if j == (i - 1) % T_ else 0)


def _check_softmax_kinematics() -> CheckResult:
    """Explicit softmax rows of S = delta (Pi - J/T) + a J for T = 2..6."""
    kin = kinematics("softmax", "centred")
    a_ = sp.Symbol("a", real=True)
    bad = 0
    for T_ in range(2, 7):
        S = delta * (_explicit_shift(T_) - sp.ones(T_, T_) / T_) + a_ * sp.ones(T_, T_)
        row = [sp.exp(gamma * S[1, j]) for j in range(T_)]
        weights = [w / sum(row) for w in row]
        m_exact = weights[0]                                    # row 1 attends to position 0 = t-1
        q_exact = sum(w**2 for w in weights)
        bad += int(sp.simplify(m_exact - kin.m.subs(T, T_)) != 0)
        bad += int(sp.simplify(q_exact - kin.q.subs(T, T_)) != 0)
    return CheckResult(bad == 0, "symbolic",
                       f"softmax rows of delta(Pi - J/T) + aJ at T=2..6 give m and q of the reduction, for any "
                       f"constant mode a: {bad} mismatches")


def _check_singular_values() -> CheckResult:
    worst = mp.mpf(0)
    rng = np.random.default_rng(6)
    with mp.workdps(50):
        for T_ in range(2, 8):
            for attention, tokens in (("softmax", "centred"), ("linear", "centred"), ("linear", "onehot")):
                kin = kinematics(attention, tokens)
                values = {delta: sp.Rational(int(rng.integers(-3000, 3000)), 1000),
                          s: sp.Rational(int(rng.integers(-3000, 3000)), 1000),
                          u: sp.Rational(int(rng.integers(-3000, 3000)), 1000)}
                Pi, J = _explicit_shift(T_), sp.ones(T_, T_) / T_
                if attention == "softmax":
                    S = values[delta] * (Pi - J)
                elif tokens == "centred":
                    S = values[s] * Pi
                else:
                    S = values[s] * Pi + (values[u] - values[s]) * J
                got = sorted(mp.svd_r(mp.matrix(S.tolist()), compute_uv=False))
                expected = sorted(sum(([sp.N(sp.sympify(sv).subs({**values, T: T_}), 60)] * int(sp.sympify(mult).subs(T, T_))
                                       for sv, mult in kin.singular_values), []))
                worst = max(worst, max(abs(mp.mpf(str(e)) - g) for e, g in zip(expected, got)))
    return CheckResult(bool(worst < mp.mpf(10) ** -40), "mpmath-50",
                       f"singular values of the reduced S at T=2..7, 50 digits: max err {mp.nstr(worst, 3)}",
                       float(worst))


def _families():
    return [("softmax", "centred"), ("softmax", "onehot"), ("linear", "centred"), ("linear", "onehot")]


def _check_reduced_equals_full() -> CheckResult:
    """The reduced f equals f(S) of the full T x T formula at the reduced S (random points)."""
    rng = np.random.default_rng(7)
    worst = 0.0
    for attention, tokens in _families():
        for prior in ("bilinear", "gaussian-logit"):
            fe = compiled_model(attention, tokens, prior)
            for T_ in (3, 5):
                spec = ModelSpec(attention=attention, tokens=tokens, prior=prior, T=T_, V=4, gamma=1.3, sigma_q=0.9,
                                 sigma_k=1.2, sigma_w=0.8, sigma2=0.7)
                alpha_ = float(rng.uniform(0.5, 5))
                x = rng.normal(size=len(fe.order_params))
                Pi, J = full.shift_matrix(T_), np.ones((T_, T_)) / T_
                if attention == "softmax":
                    S = x[0] * (Pi - J)
                elif tokens == "centred":
                    S = x[0] * Pi
                else:
                    S = x[0] * Pi + (x[1] - x[0]) * J
                f_full, _ = full.free_energy_and_gradient(S, spec, alpha_)
                f_red = float(fe.value(list(x), alpha_, model_params(spec, alpha_)))
                worst = max(worst, abs(f_full - f_red) / abs(f_red))
    return tolerance_check("exact", worst, 1e-12,
                           "reduced f vs full-matrix f at the reduced S, 4 families x 2 priors x T in {3, 5}")


def _check_full_gradient() -> CheckResult:
    """The chain-rule gradient of the full-matrix f against central differences."""
    rng = np.random.default_rng(8)
    worst = 0.0
    for attention, tokens in _families():
        spec = ModelSpec(attention=attention, tokens=tokens, T=4, V=5, gamma=1.1)
        S = rng.normal(size=(4, 4))
        _, grad = full.free_energy_and_gradient(S, spec, 2.0)
        h = 1e-6
        num = np.zeros_like(S)
        for i in range(4):
            for j in range(4):
                E = np.zeros_like(S); E[i, j] = h
                num[i, j] = (full.free_energy_and_gradient(S + E, spec, 2.0)[0]
                             - full.free_energy_and_gradient(S - E, spec, 2.0)[0]) / (2 * h)
        worst = max(worst, np.max(np.abs(num - grad)) / np.max(np.abs(grad)))
    return tolerance_check("exact", worst, 1e-6, "analytic d f/dS vs central differences, 4 families")


def reduction_cases():
    """(spec, alpha) pairs on both sides of the transitions, for the numerical proof."""
    cases = []
    for T_ in (3, 4, 5):
        for attention, tokens in _families():
            alphas = (2.0, 6.0) if attention == "softmax" else (0.5, 2.0)
            for alpha_ in alphas:
                cases.append((ModelSpec(attention=attention, tokens=tokens, T=T_, V=6, gamma=2.0 if attention == "softmax" else 1.0),
                              alpha_))
    return cases


def reduction_gap(spec: ModelSpec, alpha_: float, seed: int = 0, random_starts: int = 4) -> dict:
    """Minimise over circulant and unconstrained S; compare with the reduced global minimum."""
    rng = np.random.default_rng(seed)
    reduced = local_minima(spec, alpha_)[0]
    T_ = spec.T
    Pi, J = full.shift_matrix(T_), np.ones((T_, T_)) / T_
    x = list(reduced.order_parameters.values())
    if spec.attention == "softmax":
        S_red = x[0] * (Pi - J)
    elif spec.tokens == "centred":
        S_red = x[0] * Pi
    else:
        S_red = x[0] * Pi + (x[1] - x[0]) * J
    full_starts = [S_red.ravel() + 0.05 * rng.normal(size=T_ * T_)]
    full_starts += [rng.normal(scale=scale, size=T_ * T_) for scale in np.linspace(0.1, 3.0, random_starts)]
    # circulant coefficients c_j = S[j, 0] (first column)
    circ_starts = [np.array([S_red[j, 0] for j in range(T_)]) + 0.05 * rng.normal(size=T_)]
    circ_starts += [rng.normal(scale=scale, size=T_) for scale in np.linspace(0.1, 3.0, random_starts)]
    out = {"reduced": reduced.f, "m_reduced": reduced.m}
    for name, starts in (("circulant", circ_starts), ("full", full_starts)):
        best = full.minimise(spec, alpha_, name, starts)
        out[name] = best.f
        out[f"m_{name}"] = best.m
    return out


def _check_reduction_numerically() -> CheckResult:
    worst_below, worst_m = 0.0, 0.0
    rows = 0
    # fast tier: T = 3 only (every family, both alphas), 2 random starts; thorough: T = 3, 4, 5 and 4 starts
    Ts = effort((3,), (3, 4, 5))
    starts = effort(2, 4)
    for i, (spec, alpha_) in enumerate(reduction_cases()):
        if spec.T not in Ts:
            continue
        gap = reduction_gap(spec, alpha_, seed=i, random_starts=starts)
        for name in ("circulant", "full"):
            # nothing may beat the reduced minimum, and the best found must reach it
            worst_below = max(worst_below, abs(gap[name] - gap["reduced"]) / max(1.0, abs(gap["reduced"])))
            worst_m = max(worst_m, abs(abs(gap[f"m_{name}"]) - abs(gap["m_reduced"])))
        rows += 1
    err = max(worst_below, worst_m)
    return tolerance_check("optimisation", err, 1e-6,
                           f"multi-start L-BFGS ({starts} random starts + the reduced point) over circulant and "
                           f"unconstrained T x T S, {rows} cases (T={','.join(map(str, Ts))}; softmax/linear; "
                           "centred/onehot; two alphas each) vs reduced global minimum: max |f gap| "
                           f"{worst_below:.1e}, max |m gap| {worst_m:.1e}")


def steps() -> list[Step]:
    S_sym, A_sym = sp.Symbol("S"), sp.Symbol("A")
    f_stmt = sp.Eq(sp.Function("f")(S_sym, sp.Symbol("alpha")),
                   sp.Sum(sp.Function(r"\phi")(sp.Symbol("s_i") / (sigma_q * sigma_k)), (sp.Symbol("i"), 1, T))
                   + sp.Function("E")(sp.Function("m")(A_sym), sp.Function("q")(A_sym)) + sp.Symbol("c_{data}"),
                   evaluate=False)
    kin_soft = kinematics("softmax", "centred")
    w_t, _ = softmax_row(delta * (1 - 1 / T), -delta / T)
    return [
        Step(SECTION, "d.free_energy", "Free energy per N", f_stmt,
             "The posterior over S is exp(-N f): the Wishart large deviations of the prior plus the concentrated "
             "data term. It concentrates on the global minimum of f.",
             (as_check("exact", _check_full_gradient),)),
        Step(SECTION, "d.softmax", "Softmax: one order parameter, the gap delta",
             sp.Tuple(sp.Eq(sp.Symbol("m"), kin_soft.m, evaluate=False), sp.Eq(sp.Symbol("q"), kin_soft.q, evaluate=False),
                      sp.Eq(sp.Symbol("I"), (T - 1) * WishartRate(delta / (sigma_q * sigma_k)), evaluate=False)),
             "With S = delta(Pi - J/T) + aJ the rows of softmax(gamma S) do not depend on a; the prior is lowest at "
             "zero constant mode, leaving T-1 singular values |delta| and one zero. Row weights: "
             f"{sp.sstr(w_t)} simplifies to the logistic form.",
             (as_check("symbolic", _check_softmax_kinematics), as_check("mpmath-50", _check_singular_values))),
        Step(SECTION, "d.linear", "Linear: one order parameter, the amplitude s",
             sp.Tuple(sp.Eq(sp.Symbol("S"), s * sp.Symbol(r"\Pi"), evaluate=False),
                      sp.Eq(sp.Symbol("m"), gamma * s, evaluate=False), sp.Eq(sp.Symbol("q"), gamma**2 * s**2, evaluate=False),
                      sp.Eq(sp.Symbol("I"), T * WishartRate(s / (sigma_q * sigma_k)), evaluate=False)),
             "Centred tokens: at fixed m any other circulant component only adds to q and, by convexity of phi "
             "(Jensen), to the prior. Raw one-hot tokens keep the row-sum mode u as a second order parameter: "
             "S = s Pi + (u - s) J/T.",
             (as_check("exact", _check_reduced_equals_full),)),
        Step(SECTION, "d.reduced", "Reduced free energy (softmax, centred, bilinear prior)",
             sp.Eq(sp.Function("f")(delta), reduced_model("softmax", "centred", "bilinear").free_energy, evaluate=False),
             "All eight families (attention x tokens x prior) are built the same way in theory/reduced.py.",
             (as_check("optimisation", _check_reduction_numerically),)),
    ]
