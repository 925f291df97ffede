"""Section d: the free energy f(S; alpha) and its reduction to order parameters."""
from __future__ import annotations

import math
from functools import lru_cache

import mpmath as mp
import numpy as np
import sympy as sp

from copyhead.spec import ModelSpec

from ..numerics import full
from ..numerics.free_energy import local_minima, model_params
from ..numerics.compiled import compiled_model
from ..theory import population
from ..theory.functions import RATE_FUNCTIONS, WishartRate
from ..theory.reduced import kinematics, reduced_model, softmax_row
from ..theory.symbols import MODEL_PARAMS, R, T, V, alpha, delta, gamma, q, s, sigma_k, sigma_q, u, x
from ._core import CheckResult, Step, as_check, effort, symbolic_check, tolerance_check

SECTION = "Free energy and its reduction"


def _explicit_shift(T_: int) -> sp.Matrix:
    return sp.Matrix(T_, T_, lambda i, j: 1 if j == (i - 1) % T_ else 0)


def _check_softmax_kinematics() -> CheckResult:
    """Explicit softmax rows of S = delta (Pi - J/T) + a J for T = 2..4 (fast tier) or 2..6."""
    kin = kinematics("softmax", "centred")
    a_ = sp.Symbol("a", real=True)
    bad = 0
    Ts = range(2, effort(5, 7))
    for T_ in Ts:
        S = delta * (_explicit_shift(T_) - sp.ones(T_, T_) / T_) + a_ * sp.ones(T_, T_)
        row = [sp.exp(gamma * S[1, j]) for j in range(T_)]
        weights = [w / sum(row) for w in row]
        m_exact = weights[0]                                    # row 1 attends to position 0 = t-1
        q_exact = sum(w**2 for w in weights)
        bad += int(sp.simplify(m_exact - kin.m.subs(T, T_)) != 0)
        bad += int(sp.simplify(q_exact - kin.q.subs(T, T_)) != 0)
    return CheckResult(bad == 0, "symbolic",
                       f"softmax rows of delta(Pi - J/T) + aJ at T=2..{Ts[-1]} give m and q of the reduction, for any "
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


def softmax_full_matrix_starts(spec: ModelSpec, alpha_: float, rng, random_starts: int = 3) -> list[np.ndarray]:
    """Starts for the unconstrained T x T search (softmax): the reduced minima, uniform attention, partial copy
    (only some rows copy), two offsets (attention split between t-1 and t-2 or t+1), and random matrices."""
    T_ = spec.T
    Pi, J = full.shift_matrix(T_), np.ones((T_, T_)) / T_
    deltas = [mn.order_parameter for mn in local_minima(spec, alpha_)]
    big = max(max(deltas), np.log(T_) / spec.gamma)
    starts = [d * (Pi - J) for d in deltas]
    starts.append(np.zeros((T_, T_)))
    for fraction in (0.25, 0.5, 0.75):
        rows = rng.permutation(T_)[: max(1, int(fraction * T_))]
        D = np.zeros((T_, T_))
        D[rows, rows] = 1.0
        starts.append(big * D @ (Pi - J))
    for second, share in ((Pi @ Pi, 0.5), (Pi @ Pi, 0.8), (Pi.T, 0.5)):
        starts.append(big * (share * Pi + (1 - share) * second - J))
    starts += [rng.normal(scale=scale / spec.gamma, size=(T_, T_)) for scale in np.linspace(0.3, big, random_starts)]
    return [S.ravel() + 0.01 * rng.normal(size=T_ * T_) for S in starts]


def softmax_reduction_search(spec: ModelSpec, alpha_: float, seed: int = 0, random_starts: int = 3) -> dict:
    """Multi-start L-BFGS (analytic gradients) over unconstrained T x T logits against the reduced global minimum."""
    rng = np.random.default_rng(seed)
    minima = local_minima(spec, alpha_)
    reduced = minima[0]
    starts = softmax_full_matrix_starts(spec, alpha_, rng, random_starts)
    best = full.minimise(spec, alpha_, "full", starts)
    return {"T": spec.T, "alpha": alpha_, "reduced_f": reduced.f, "reduced_m": reduced.m, "full_f": best.f,
            "full_m": best.m, "starts": best.starts, "converged_starts": best.converged_starts,
            "reduced_minima": [(mn.f, mn.m) for mn in minima],
            "beaten_by": (reduced.f - best.f) / max(1.0, abs(reduced.f))}


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


def _check_rate_convex_increasing() -> CheckResult:
    """phi'' = 2/(sqrt(1+4x^2)(1+sqrt(1+4x^2))) > 0 and phi' >= 0 on x >= 0: phi is even, convex, increasing in |x|."""
    phi = WishartRate(x).doit()
    root = sp.sqrt(1 + 4 * x**2)
    residual = sp.simplify(sp.diff(phi, x, 2) - 2 / (root * (1 + root)))
    # phi'(x) = 2x/(1 + sqrt(1+4x^2)): non-negative for x >= 0 by inspection once the identity holds
    increasing = sp.simplify(sp.diff(phi, x) - 2 * x / (1 + root)) == 0
    even = sp.simplify(phi.subs(x, -x) - phi) == 0
    v = sp.Symbol("v", positive=True)   # V = 1 + v >= 2
    monotone = all(sp.factor(sp.diff(population.energy(tok), var).subs(V, 1 + v)).is_nonnegative
                   for tok in ("centred", "onehot") for var in ((q,) if tok == "centred" else (q, R)))
    ok = residual == 0 and increasing is True and even and monotone
    return CheckResult(ok, "symbolic",
                       f"phi'' - 2/(sqrt(1+4x^2)(1+sqrt(1+4x^2))) simplifies to {residual}; phi' = 2x/(1+sqrt(1+4x^2)) "
                       f"(>= 0 on x >= 0): {increasing}; phi even: {even}; the energy is non-decreasing in q (and R, one-hot) at fixed m "
                       f"(and r): {monotone}. Gaussian-logit: x^2/2 is even, convex, increasing in |x| as well")


def _mp_overlaps(S, gamma_):
    """(m, q, r, R) of linear attention A = gamma S, in mpmath."""
    T_ = S.rows
    rows = [sum(S[t, j] for j in range(T_)) for t in range(T_)]
    m_ = gamma_ * sum(S[t, (t - 1) % T_] for t in range(T_)) / T_
    q_ = gamma_**2 * sum(S[i, j] ** 2 for i in range(T_) for j in range(T_)) / T_
    return m_, q_, gamma_ * sum(rows) / T_, gamma_**2 * sum(rw**2 for rw in rows) / T_


@lru_cache(maxsize=None)
def _mp_rate_function(prior):
    return sp.lambdify(x, RATE_FUNCTIONS[prior](x).doit(), "mpmath")


def _rate_of_singular_values(svs, prior, scale):
    rate = _mp_rate_function(prior)
    return sum(rate(sv / scale) for sv in svs)



def _mp_shift(T_):
    return mp.matrix([[1 if j == (i - 1) % T_ else 0 for j in range(T_)] for i in range(T_)])


def shift_average(S):
    """(1/T) sum_k Pi^k S Pi^-k: the average of S over the cyclic relabellings of the positions."""
    T_ = S.rows
    Pi = _mp_shift(T_)
    out, P = mp.zeros(T_, T_), mp.eye(T_)
    for _ in range(T_):
        out += P * S * P.T
        P = P * Pi
    return out / T_


def _check_linear_reduction_inequalities() -> CheckResult:
    """Each inequality of the linear reduction proof at random S, 50 digits."""
    rng = np.random.default_rng(15)
    worst_equal, violations, cases = mp.mpf(0), 0, 0
    margins = {"q": [], "I": [], "R": [], "Iu": []}
    with mp.workdps(50):
        Ts = effort((3, 6), (3, 4, 6, 8))    # every kind of trial matrix in both tiers
        for T_ in Ts:
            Pi, J = _mp_shift(T_), mp.ones(T_, T_) / T_
            for trial in range(6):
                gamma_, scale = mp.mpf(rng.uniform(0.3, 2.0)), mp.mpf(rng.uniform(0.5, 2.0))
                # random, near-copy and near-row-sum matrices
                noise = mp.matrix(rng.normal(size=(T_, T_)).tolist())
                S = noise if trial < 3 else (mp.mpf(rng.uniform(-3, 3)) * (Pi if trial < 5 else J * T_)
                                              + mp.mpf(0.1) * noise)
                Sbar = shift_average(S)
                m0, q0, r0, R0 = _mp_overlaps(S, gamma_)
                m1, q1, r1, R1 = _mp_overlaps(Sbar, gamma_)
                # Sbar is circulant: Sbar[i, j] depends on (i - j) mod T only
                circ = max(abs(Sbar[i, j] - Sbar[(i + 1) % T_, (j + 1) % T_]) for i in range(T_) for j in range(T_))
                # reduced form with the same m and r: S_red = s Pi + (u - s) J/T (centred tokens ignore u)
                c1 = m1 / gamma_
                u_ = r1 / gamma_
                s_ = (c1 - u_ / T_) * T_ / (T_ - 1)
                S_red = s_ * Pi + (u_ - s_) * J
                m2, q2, r2, R2 = _mp_overlaps(S_red, gamma_)
                s_centred = c1
                _, q3, _, _ = _mp_overlaps(s_centred * Pi, gamma_)
                worst_equal = max(worst_equal, abs(m1 - m0), abs(r1 - r0), circ, abs(m2 - m0), abs(r2 - r0),
                                  abs(R2 - R1))
                svs = [mp.svd_r(M_, compute_uv=False) for M_ in (S, Sbar, S_red, s_centred * Pi)]   # for both priors
                for prior in ("bilinear", "gaussian-logit"):
                    I0, I1, I2, I3 = (_rate_of_singular_values(sv, prior, scale) for sv in svs)
                    steps_ = {"I": (I0, I1), "Iu": (I1, I2)}
                    for name, (before, after) in steps_.items():
                        margins[name].append(before - after)
                        violations += int(after > before + mp.mpf(10) ** -45)
                    margins["I"].append(I1 - I3)          # centred: s Pi with s = c_1
                    violations += int(I3 > I1 + mp.mpf(10) ** -45)
                for name, before, after in (("q", q0, q1), ("q", q1, q2), ("q", q1, q3), ("R", R0, R1)):
                    margins[name].append(before - after)
                    violations += int(after > before + mp.mpf(10) ** -45)
                cases += 1
    smallest = {k: mp.nstr(min(v), 3) for k, v in margins.items()}
    passed = violations == 0 and worst_equal < mp.mpf(10) ** -40
    return CheckResult(passed, "mpmath-50",
                       f"{cases} random S (T = {', '.join(map(str, Ts))}; generic, near s Pi and near the row-sum mode), 50 digits: "
                       f"m and r kept to {mp.nstr(worst_equal, 3)}; q, R and I (both priors) never increased by the "
                       f"shift average nor by the Fourier step to s Pi (+ (u - s)J/T): {violations} violations, "
                       f"smallest decreases {smallest}")


def convexity_pairs(rng, T_: int, count: int = 8):
    """(A, B, w) for a midpoint-convexity test: independent pairs, and collinear pairs B = c A, c in (-3, 3)
    (where a rate that is concave in the scale of S fails)."""
    for k in range(count):
        A_ = rng.normal(scale=rng.uniform(0.1, 3.0), size=(T_, T_))
        B_ = rng.normal(scale=rng.uniform(0.1, 3.0), size=(T_, T_)) if k % 2 else rng.uniform(-3, 3) * A_
        yield A_, B_, float(rng.uniform(0.1, 0.9))


def _check_rate_convex_in_S() -> CheckResult:
    """I(S) = sum phi(sigma_i(S)) is convex in S (the step the shift average rests on), at random pairs."""
    rng = np.random.default_rng(16)
    worst = mp.mpf("-inf")
    with mp.workdps(50):
        for T_ in (3, 5, 8):
            for A_np, B_np, w_ in convexity_pairs(rng, T_):
                A_, B_, w = mp.matrix(A_np.tolist()), mp.matrix(B_np.tolist()), mp.mpf(w_)
                # singular values once per matrix, for both priors (the 50-digit SVDs are the cost)
                svs = [mp.svd_r(M_, compute_uv=False) for M_ in (w * A_ + (1 - w) * B_, A_, B_)]
                for prior in ("bilinear", "gaussian-logit"):
                    mixed, rate_A, rate_B = (_rate_of_singular_values(sv, prior, 1) for sv in svs)
                    worst = max(worst, mixed - (w * rate_A + (1 - w) * rate_B))
    return CheckResult(bool(worst <= mp.mpf(10) ** -45), "mpmath-50",
                       "I(w A + (1-w) B) - w I(A) - (1-w) I(B) <= 0 at 48 random pairs, half of them collinear (T = 3, 5, "
                       "8, both priors), "
                       f"50 digits: max {mp.nstr(worst, 3)}", float(worst))


@lru_cache(maxsize=None)
def onehot_hessian_at_origin(prior: str = "bilinear") -> sp.Matrix:
    """Hessian of the raw one-hot linear free energy in (s, u) at the symmetric point s = u = 0."""
    f = reduced_model("linear", "onehot", prior).free_energy.doit()
    return sp.simplify(sp.hessian(f, (s, u)).subs({s: 0, u: 0}))


@lru_cache(maxsize=64)
def onehot_linear_onset(spec: ModelSpec, digits: int = 30) -> dict:
    """Where the symmetric point of raw one-hot linear attention goes unstable, and along which mode.

    alpha_c: smallest positive root of det H(alpha) (a polynomial in alpha), by polynomial root-finding at
    `digits` digits; soft_mode: the null vector of H(alpha_c), normalised, u-component positive;
    alpha_copy_alone / alpha_mean_alone: where H_ss (u held at 0) or H_uu (s held at 0) would vanish.
    """
    H = onehot_hessian_at_origin(spec.prior).subs({p: sp.nsimplify(v) for p, v in zip(MODEL_PARAMS, spec.numeric_params.values())})

    def smallest_positive_root(expr):
        roots = sp.Poly(sp.together(expr).as_numer_denom()[0], alpha).nroots(n=digits, maxsteps=200)
        real = [r for r in roots if abs(sp.im(r)) < sp.Float(10) ** (-digits // 2) and sp.re(r) > 0]
        return min(sp.re(r) for r in real) if real else None

    a_c = smallest_positive_root(H.det())
    Hc = H.subs(alpha, a_c).evalf(digits)
    mode = sp.Matrix([-Hc[0, 1], Hc[0, 0]])
    mode = mode / sp.sqrt(mode.dot(mode))
    mode = mode if mode[1] > 0 else -mode
    return {"alpha_c": a_c, "soft_mode": (mode[0], mode[1]), "alpha_copy_alone": smallest_positive_root(H[0, 0]),
            "alpha_mean_alone": smallest_positive_root(H[1, 1]), "hessian": H}


@lru_cache(maxsize=None)
def _onehot_mpmath(prior: str):
    """Gradient and Hessian of the raw one-hot linear f in (s, u), as mpmath functions of (s, u, alpha, params)."""
    f = reduced_model("linear", "onehot", prior).free_energy.doit()
    args = (s, u, alpha, *MODEL_PARAMS)
    grad = [sp.lambdify(args, sp.diff(f, v), "mpmath") for v in (s, u)]
    hess = [[sp.lambdify(args, sp.diff(f, a_, b_), "mpmath") for b_ in (s, u)] for a_ in (s, u)]
    return grad, hess


def _onehot_minimum(spec: ModelSpec, alpha_: float) -> tuple[float, float, float]:
    """(s, u, m) of the global minimum, sign fixed so that u >= 0 (the S -> -S copy of it is equivalent).

    Close to alpha_c the minimum is too shallow for double precision: there it is continued from
    alpha_c (1 + 1e-2) by mpmath Newton on the gradient, scaling the start by the square-root law, and its
    Hessian is checked positive definite at 40 digits.
    """
    onset_far = float(onehot_linear_onset(spec)["alpha_c"]) * (1 + 1e-2)
    if alpha_ >= onset_far or alpha_ < float(onehot_linear_onset(spec)["alpha_c"]):
        best = local_minima(spec, alpha_)[0]
        s_, u_ = best.order_parameters["s"], best.order_parameters["u"]
        sign = -1.0 if u_ < 0 else 1.0
        return sign * s_, sign * u_, sign * best.m
    grad, hess = _onehot_mpmath(spec.prior)
    a_c = onehot_linear_onset(spec)["alpha_c"]
    s0, u0, _ = _onehot_minimum(spec, onset_far)
    with mp.workdps(40):
        params = [mp.mpf(v) for v in spec.numeric_params.values()]
        a_ = mp.mpf(alpha_)
        scale = mp.sqrt((a_ - mp.mpf(str(a_c))) / (mp.mpf(onset_far) - mp.mpf(str(a_c))))
        x = mp.findroot(lambda s_, u_: [g(s_, u_, a_, *params) for g in grad], (s0 * scale, u0 * scale))
        Hx = mp.matrix([[h(x[0], x[1], a_, *params) for h in row] for row in hess])
        if min(mp.eigsy(Hx)[0]) <= 0 or mp.norm(x) == 0:
            raise ArithmeticError(f"alpha={alpha_}: the continued stationary point is not a minimum")
        s_, u_ = float(x[0]), float(x[1])
    m_ = spec.gamma * (s_ + (u_ - s_) / spec.T)
    return s_, u_, m_


def _check_onehot_soft_mode() -> CheckResult:
    """det H(alpha_c) = 0 at 50 digits, H positive definite below; the minimiser leaves s = u = 0 along the mode."""
    spec = ModelSpec(attention="linear", tokens="onehot")
    onset = onehot_linear_onset(spec)
    a_c, (v_s, v_u) = float(onset["alpha_c"]), (float(onset["soft_mode"][0]), float(onset["soft_mode"][1]))
    H = onset["hessian"]
    with mp.workdps(50):
        det_at = abs(sp.N(H.det().subs(alpha, onset["alpha_c"]), 50))
        H_below = H.subs(alpha, onset["alpha_c"] * (1 - sp.Rational(1, 10**6))).evalf(50)
        below = min(mp.eigsy(mp.matrix([[mp.mpf(str(H_below[i, j])) for j in range(2)] for i in range(2)]))[0])
    angles, amplitude = [], []
    for dist in (1e-5, 1e-4):
        s_, u_, _ = _onehot_minimum(spec, a_c * (1 + dist))
        norm = math.hypot(s_, u_)
        angles.append(abs(s_ * v_s + u_ * v_u) / norm)
        amplitude.append(norm)
    beta = math.log(amplitude[1] / amplitude[0]) / math.log(10.0)
    at_origin = math.hypot(*_onehot_minimum(spec, a_c * (1 - 1e-4))[:2])
    passed = (det_at < 1e-40 and below > 0 and min(angles) > 1 - 1e-3 and abs(beta - 0.5) < 0.02
              and at_origin < 1e-8 and abs(v_u) > 0.95)
    return CheckResult(passed, "optimisation",
                       f"raw one-hot linear, default model: alpha_c = {a_c:.10g} (root of det H, |det H| = "
                       f"{float(det_at):.1e} at 50 digits; smallest eigenvalue {float(below):.2e} > 0 just below); "
                       f"soft mode (s, u) = ({v_s:.4f}, {v_u:.4f}): mostly the row-sum mode u. The minimiser "
                       f"(local_minima; mpmath continuation within 1% above alpha_c) is s = u = 0 below (|x| = {at_origin:.1e}); above, its direction has cosine "
                       f"{min(angles):.6f} with the soft mode and its amplitude grows with exponent {beta:.4f}")


def _check_copy_parameter_along_alpha() -> CheckResult:
    """s, the copy amplitude, turns on at alpha_c with the mode's ratio s/u; it is never zero above alpha_c."""
    spec = ModelSpec(attention="linear", tokens="onehot")
    onset = onehot_linear_onset(spec)
    a_c, a_s = float(onset["alpha_c"]), float(onset["alpha_copy_alone"])
    ratio_mode = float(onset["soft_mode"][0] / onset["soft_mode"][1])
    s_near, u_near, _ = _onehot_minimum(spec, a_c * (1 + 1e-6))
    alphas = [a_c * (1 + 1e-3), a_c * 1.05, a_s, 1.5, 2.0, 3.0]
    rows = [(a, *_onehot_minimum(spec, a)) for a in alphas]
    s_values = [r[1] for r in rows]
    increasing = all(b > a for a, b in zip(s_values, s_values[1:])) and s_values[0] > 0
    passed = increasing and abs(s_near / u_near - ratio_mode) < 1e-3 and a_s > a_c
    table = "; ".join(f"alpha={a:.4f}: s={s_:.4f}, u={u_:.4f}, m={m_:.4f}" for a, s_, u_, m_ in rows)
    return CheckResult(passed, "optimisation",
                       f"copy amplitude s of the global minimum: s/u = {s_near / u_near:.5f} at alpha_c(1+1e-6) "
                       f"(soft-mode ratio {ratio_mode:.5f}), s > 0 and increasing at the alphas above alpha_c: {table}. "
                       f"With u held at 0 the copy mode alone would go soft only at alpha = {a_s:.10g} (H_ss = 0); "
                       f"the mean mode alone at {float(onset['alpha_mean_alone']):.10g}")


def steps() -> list[Step]:
    S_sym, A_sym = sp.Symbol("S"), sp.Symbol("A")
    f_stmt = sp.Eq(sp.Function("f")(S_sym, sp.Symbol("alpha")),
                   sp.Sum(sp.Function(r"\phi")(sp.Symbol("s_i") / (sigma_q * sigma_k)), (sp.Symbol("i"), 1, T))
                   + sp.Function("E")(sp.Function("m")(A_sym), sp.Function("q")(A_sym)) + sp.Symbol("c_{data}"),
                   evaluate=False)
    kin_soft = kinematics("softmax", "centred")
    w_t, _ = softmax_row(delta * (1 - 1 / T), -delta / T)
    return [
        Step(SECTION, "d.free_energy", r"Free energy per $N$", f_stmt,
             r"The posterior over $S$ is $e^{-N f}$: the Wishart large deviations \eqref{eq:b.phi} of the "
             r"prior plus the concentrated data term \eqref{eq:c.energy}. It concentrates on the global "
             r"minimum of $f$.",
             (as_check("exact", _check_full_gradient),)),
        Step(SECTION, "d.softmax", r"Softmax: one order parameter, the gap $\delta$",
             sp.Tuple(sp.Eq(sp.Symbol("m"), kin_soft.m, evaluate=False), sp.Eq(sp.Symbol("q"), kin_soft.q, evaluate=False),
                      sp.Eq(sp.Symbol("I"), (T - 1) * WishartRate(delta / (sigma_q * sigma_k)), evaluate=False)),
             r"With $S = \delta(\Pi - J/T) + aJ$ the rows of $\mathrm{softmax}(\gamma S)$ do not depend on "
             r"$a$; the prior is lowest at zero constant mode, leaving $T-1$ singular values $|\delta|$ and "
             r"one zero. The target row weight $e^{\gamma\delta(1-1/T)}/\big((T-1)e^{-\gamma\delta/T} + "
             r"e^{\gamma\delta(1-1/T)}\big)$ simplifies to the logistic form of $m$.",
             (as_check("symbolic", _check_softmax_kinematics), as_check("mpmath-50", _check_singular_values))),
        Step(SECTION, "d.linear", r"Linear: one order parameter, the amplitude $s$",
             sp.Tuple(sp.Eq(sp.Symbol("S"), s * sp.Symbol(r"\Pi"), evaluate=False),
                      sp.Eq(sp.Symbol("m"), gamma * s, evaluate=False), sp.Eq(sp.Symbol("q"), gamma**2 * s**2, evaluate=False),
                      sp.Eq(sp.Symbol("I"), T * WishartRate(s / (sigma_q * sigma_k)), evaluate=False)),
             r"Centred tokens: at fixed $m$ any other circulant component only adds to $q$ and, by convexity "
             r"of $\phi_{\mathrm W}$ \eqref{eq:b.convex} (Jensen), to the prior. Raw one-hot tokens keep the "
             r"row-sum mode $u$ as a second order parameter: $S = s\Pi + (u - s)J/T$.",
             (as_check("exact", _check_reduced_equals_full),)),
        Step(SECTION, "d.linear_proof", "Linear attention: proof of the reduction",
             sp.Tuple(sp.Eq(sp.Symbol(r"\bar S"), sp.Sum(sp.Symbol(r"\Pi^k S \Pi^{-k}"), (sp.Symbol("k"), 1, T)) / T,
                            evaluate=False),
                      sp.Eq(sp.Symbol(r"m(\bar S)"), sp.Symbol("m(S)"), evaluate=False),
                      sp.Le(sp.Symbol(r"q(\bar S)"), sp.Symbol("q(S)")),
                      sp.Le(sp.Symbol(r"I(\bar S)"), sp.Symbol("I(S)")),
                      sp.Le(T * WishartRate(sp.Abs(sp.Symbol("c_1")) / (sigma_q * sigma_k)),
                            sp.Sum(WishartRate(sp.Abs(sp.Symbol(r"\lambda_k")) / (sigma_q * sigma_k)),
                                   (sp.Symbol("k"), 1, T)))),
             r"For linear attention the reduction is a theorem. (i) Averaging $S$ over the $T$ cyclic "
             r"relabellings of the positions gives a circulant $\bar S$. $m$ and the mean row sum $\bar r$ are "
             r"linear and invariant under the relabelling, so they are kept. $q$ and $R$ are convex (squared "
             r"norms), so by Jensen they do not increase; $I(S) = \sum_i \phi_{\mathrm W}(\sigma_i)$, with "
             r"$\phi_{\mathrm W}$ even, convex and increasing in $|x|$ \eqref{eq:b.convex}, is a convex, "
             r"unitarily invariant function of $S$ (Lewis), so it does not increase either. The energy "
             r"\eqref{eq:c.energy} is non-decreasing in $q$ and $R$ at fixed $m$ and $\bar r$, so $f(\bar S) "
             r"\le f(S)$. (ii) A circulant $S = \sum_j c_j \Pi^j$ has singular values $|\lambda_k|$, the "
             r"Fourier coefficients of $c$, with $m = \gamma c_1$. Since $|c_1| \le \frac1T\sum_k "
             r"|\lambda_k|$, monotonicity and Jensen's inequality over the Fourier modes give $T\phi_{\mathrm "
             r"W}(|c_1|) \le \sum_k \phi_{\mathrm W}(|\lambda_k|)$, and Parseval gives $q \ge \gamma^2 c_1^2$: "
             r"$S = s\Pi$ with $s = c_1$ is optimal (centred tokens). Raw one-hot tokens also fix $\lambda_0 = "
             r"u$ (the row sum); the same argument over the other $T-1$ modes gives $S = s\Pi + (u - s)J/T$.",
             (as_check("symbolic", _check_rate_convex_increasing),
              as_check("mpmath-50", _check_rate_convex_in_S),
              as_check("mpmath-50", _check_linear_reduction_inequalities))),
        Step(SECTION, "d.reduced", "Reduced free energy (softmax, centred, bilinear prior)",
             sp.Eq(sp.Function("f")(delta), reduced_model("softmax", "centred", "bilinear").free_energy, evaluate=False),
             r"Inserting \eqref{eq:d.softmax} into \eqref{eq:d.free_energy}. All eight families (attention "
             r"$\times$ tokens $\times$ prior) are built the same way in theory/reduced.py.",
             (as_check("optimisation", _check_reduction_numerically),)),
        Step(SECTION, "d.onehot_onset", r"Raw one-hot linear: the transition at $\alpha_c$ is of the row-sum "
                                        r"mode",
             sp.Tuple(sp.Eq(sp.Symbol("H"), onehot_hessian_at_origin(), evaluate=False),
                      sp.Eq(sp.Function(r"\det H")(sp.Symbol("alpha_c")), 0, evaluate=False)),
             r"With raw one-hot tokens the symmetric point $s = u = 0$ goes unstable where $\det H$ vanishes. "
             r"Its soft mode is almost entirely the row-sum mode $u$, which lets attention learn the token "
             r"mean (the $J/V$ channel of \eqref{eq:c.onehot}); it is not a copy transition. The copy "
             r"amplitude $s$ couples linearly to $u$ ($H_{su} \neq 0$), so $s$ turns on at the same "
             r"$\alpha_c$, slaved to $u$ with the soft mode's ratio $s/u$, and grows from there; the copy mode "
             r"on its own ($u$ held at 0) would go soft only later, where $H_{ss} = 0$. The order parameter $m "
             r"= \gamma(s + (u - s)/T)$ mixes both; $s$ is the copy order parameter.",
             (as_check("optimisation", _check_onehot_soft_mode),
              as_check("optimisation", _check_copy_parameter_along_alpha))),
    ]
