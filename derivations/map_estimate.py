"""Section: the MAP estimate (Adam with weight decay matching the prior)."""
from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import sympy as sp
from scipy import optimize

from ..model import CopyHeadModel
from ..theory import map_estimate as me
from ..theory import population
from ..theory.functions import WishartRate
from ..theory.symbols import MODEL_PARAMS, T, V, alpha, delta, gamma, m, q, s, sigma_k, sigma_q, x
from ._core import DIGITS, CheckResult, Step, as_check, effort, random_rationals, symbolic_check, tolerance_check

SECTION = "MAP estimate (Adam with weight decay)"


# ----------------------------------------------------------------------------- ridge readout
def _check_ridge_readout() -> CheckResult:
    """max over W of [log lik + log prior(W)] at fixed H: the W-gradient vanishes at W* = (R^-1 C)^T and
    the maximum equals -(1/(2 sigma2)) (tr Y^TY - tr C^T R^-1 C) + constants."""
    rng = np.random.default_rng(11)
    worst = 0.0
    for _ in range(3):
        nT, Vd, N = 40, 4, 7
        s2, sw = rng.uniform(0.5, 2.0, size=2)
        H, Y = rng.normal(size=(nT, Vd)), rng.normal(size=(nT, Vd))
        lam = s2 * N / sw**2

        def neg(wflat):
            W = wflat.reshape(Vd, Vd)
            return 0.5 / s2 * np.sum((Y - H @ W.T) ** 2) + 0.5 * N / sw**2 * np.sum(W * W)

        best = optimize.minimize(neg, np.zeros(Vd * Vd), method="BFGS", options={"gtol": 1e-12})
        C = H.T @ Y
        closed = 0.5 / s2 * (np.sum(Y * Y) - np.sum(C * np.linalg.solve(lam * np.eye(Vd) + H.T @ H, C)))
        worst = max(worst, abs(best.fun - closed) / abs(closed))
    return tolerance_check("optimisation", worst, 1e-9,
                           "BFGS over W vs the ridge closed form (3 random H, Y)")


# ----------------------------------------------------------------------------- nuclear norm
def _check_nuclear_norm_numeric() -> CheckResult:
    """min over Q, K with Q K^T / N = S of (|Q|^2/sigma_q^2 + |K|^2/sigma_k^2)/(2N), by SLSQP, vs ||S||_*/(sq sk)."""
    rng = np.random.default_rng(12)
    worst = 0.0
    shapes = effort(((2, 3), (3, 4)), ((2, 3), (3, 4), (3, 5)))
    n_starts = effort(2, 4)
    for T_, N_ in shapes:
        sq, sk = rng.uniform(0.6, 1.6, size=2)
        S = rng.normal(scale=0.8, size=(T_, T_))

        def cost(v):
            Q, K = v[: T_ * N_].reshape(T_, N_), v[T_ * N_:].reshape(T_, N_)
            return (np.sum(Q * Q) / sq**2 + np.sum(K * K) / sk**2) / (2 * N_)

        def cons(v):
            Q, K = v[: T_ * N_].reshape(T_, N_), v[T_ * N_:].reshape(T_, N_)
            return (Q @ K.T / N_ - S).ravel()

        best = math.inf
        for start in range(n_starts):
            v0 = np.random.default_rng(100 + start).normal(size=2 * T_ * N_) * 1.5
            res = optimize.minimize(cost, v0, constraints=[{"type": "eq", "fun": cons}], method="SLSQP",
                                    options={"ftol": 1e-14, "maxiter": 2000})
            if res.success and np.max(np.abs(cons(res.x))) < 1e-9:
                best = min(best, res.fun)
        nuclear = float(np.sum(np.linalg.svd(S, compute_uv=False))) / (sq * sk)
        worst = max(worst, abs(best - nuclear))
    return tolerance_check("optimisation", worst, 1e-6,
                           f"SLSQP over (Q, K) at fixed random S, (T, N) = {', '.join(map(str, shapes))}, "
                           f"{n_starts} starts each, "
                           "vs sum of singular values / (sigma_q sigma_k)")


def _check_nuclear_bound_mc() -> CheckResult:
    """Random (Q, K): the weight-decay cost is never below the nuclear norm of its own S."""
    rng = np.random.default_rng(13)
    worst_gap = math.inf
    for _ in range(2000):
        T_, N_ = rng.integers(2, 6), rng.integers(2, 8)
        sq, sk = rng.uniform(0.5, 2.0, size=2)
        Q, K = rng.normal(size=(T_, N_)) * sq, rng.normal(size=(T_, N_)) * sk
        S = Q @ K.T / N_
        cost = (np.sum(Q * Q) / sq**2 + np.sum(K * K) / sk**2) / (2 * N_)
        worst_gap = min(worst_gap, cost - np.sum(np.linalg.svd(S, compute_uv=False)) / (sq * sk))
    return CheckResult(bool(worst_gap >= -1e-12), "monte-carlo",
                       f"2000 random (Q, K): min of cost - nuclear norm = {worst_gap:.3g} (must be >= 0)",
                       float(max(0.0, -worst_gap)))


# ----------------------------------------------------------------------------- reduced objective
def _points(count, seed):
    pts = random_rationals(list(MODEL_PARAMS) + [alpha], count, seed)
    for p in pts:
        p[T] = sp.Integer(int(p[T]) + 3)  # concrete integer context length for the matrix
        p[V] = p[V] + 2
    return pts


def _energy_mq(tokens):
    return population.energy(tokens)


def _check_reduced_vs_matrix(attention: str) -> CheckResult:
    """The reduced objective at delta (or s) equals the full-matrix objective ||S||_*/(sq sk) + energy(m(A), q(A))
    + data constant, with S built explicitly and A, m, q, the singular values computed from the matrix (mpmath)."""
    obj = me.map_objective(attention, "centred")
    op = obj.order_param
    energy_mq = _energy_mq("centred") + population.data_constant("centred")
    worst = mp.mpf(0)
    rng = np.random.default_rng(14)
    with mp.workdps(DIGITS + 10):
        for point in _points(4, 15 if attention == "softmax" else 16):
            T_ = int(point[T])
            val = sp.Rational(int(rng.integers(-2500, 2500)), 1000)
            P = mp.matrix(T_, T_)
            for t in range(T_):
                P[t, (t - 1) % T_] = 1
            J = mp.matrix([[mp.mpf(1) / T_] * T_ for _ in range(T_)])
            v = mp.mpf(str(sp.N(val, DIGITS)))
            g = mp.mpf(str(sp.N(point[gamma], DIGITS)))
            if attention == "softmax":
                S = v * (P - J)
                A = mp.matrix(T_, T_)
                for t in range(T_):
                    row = [mp.exp(g * S[t, j]) for j in range(T_)]
                    z = mp.fsum(row)
                    for j in range(T_):
                        A[t, j] = row[j] / z
            else:
                S = v * P
                A = g * S
            m_ = mp.fsum(A[t, (t - 1) % T_] for t in range(T_)) / T_
            q_ = mp.fsum(A[i, j] ** 2 for i in range(T_) for j in range(T_)) / T_
            sv = mp.svd_r(S, compute_uv=False)
            nuclear = mp.fsum(abs(z) for z in sv) / mp.mpf(str(sp.N(point[sigma_q] * point[sigma_k], DIGITS)))
            rest = sp.N(energy_mq.subs(point).subs({m: sp.Float(str(m_), DIGITS), q: sp.Float(str(q_), DIGITS)}),
                        DIGITS)
            matrix_value = nuclear + mp.mpf(str(rest))
            reduced = mp.mpf(str(sp.N(obj.objective.subs(point).subs(op, val), DIGITS)))
            worst = max(worst, abs(matrix_value - reduced) / max(abs(reduced), mp.mpf(1)))
    return CheckResult(bool(worst < mp.mpf(10) ** -30), "mpmath-50",
                       f"{attention}: reduced MAP objective vs explicit T x T matrices at 4 random points "
                       f"(T = 3..5): max rel err {mp.nstr(worst, 3)}", float(worst))


def _check_map_minima_perturbation() -> CheckResult:
    """Random T x T perturbations of the reduced MAP minimiser (softmax, T=6) never lower the
    full-matrix objective: the reduced minimum is a local minimum among all S."""
    from copyhead.spec import ModelSpec

    spec = ModelSpec(T=6, V=6)
    lam_e = sp.lambdify((m, q, *MODEL_PARAMS, alpha), _energy_mq("centred"), "numpy")
    rng = np.random.default_rng(17)
    worst = math.inf
    tried = 0
    for a in (3.0, 12.0):
        mins = me.map_minima(spec, a)
        for mn in mins:
            T_ = spec.T
            P = np.roll(np.eye(T_), -1, axis=1)
            S0 = mn.order_parameter * (P - np.ones((T_, T_)) / T_)

            def F(S):
                Z = spec.gamma * S
                Z = Z - Z.max(axis=1, keepdims=True)
                A = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
                m_ = np.mean(A[np.arange(T_), np.arange(T_) - 1])
                q_ = np.sum(A * A) / T_
                return (np.sum(np.linalg.svd(S, compute_uv=False)) / (spec.sigma_q * spec.sigma_k)
                        + lam_e(m_, q_, *CopyHeadModel(spec).params.values(), a))

            f0 = F(S0)
            for _ in range(300):
                D = rng.normal(size=(T_, T_))
                D -= D.mean(axis=1, keepdims=True)  # constant-per-row shifts do not change A
                worst = min(worst, F(S0 + 1e-3 * D / np.linalg.norm(D)) - f0)
                tried += 1
    return CheckResult(bool(worst >= -1e-12), "monte-carlo",
                       f"{tried} random row-centred perturbations of size 1e-3 around every MAP minimum "
                       f"(softmax T=V=6, alpha = 3, 12): min change in f = {worst:.3g} (must be >= 0)",
                       float(max(0.0, -worst)))


def _check_kink_closed_form() -> CheckResult:
    kappa_, eps_ = population.kappa_eps()
    closed = 2 * kappa_ * gamma * sigma_q * sigma_k / (T**2 * (1 + eps_ * T))
    return symbolic_check(me.softmax_kink_threshold() - closed,
                          "|E'(0)|/c minus 2 kappa gamma sigma_q sigma_k / (T^2 (1 + eps T))")


def _check_kink_numeric() -> CheckResult:
    """map_minima reports the S = 0 kink exactly when one-sided difference quotients of the objective
    at 0 have the signs of a minimum (f(h) > f(0) and f(-h) > f(0))."""
    from copyhead.spec import ModelSpec

    obj = me.map_objective("softmax", "centred")
    f = sp.lambdify((delta, *MODEL_PARAMS, alpha), obj.objective.doit(), "mpmath")
    bad = 0
    total = 0
    with mp.workdps(40):
        for T_ in (4, 16):
            spec = ModelSpec(T=T_, V=8)
            for a in np.geomspace(0.5, 80, effort(5, 12)):
                has_kink = any(mn.kind == "kink" for mn in me.map_minima(spec, a))
                p = [mp.mpf(v) for v in CopyHeadModel(spec).params.values()] + [mp.mpf(a)]
                h = mp.mpf("1e-12")
                f0 = f(0, *p)
                local = f(h, *p) > f0 and f(-h, *p) > f0
                bad += has_kink != local
                total += 1
    return CheckResult(bad == 0, "optimisation",
                       f"{total} (T, alpha) points: kink reported vs one-sided differences at 0 disagree {bad} times")


def _check_linear_kink() -> CheckResult:
    e0, c = me.kink_condition("linear", "centred")
    return symbolic_check(e0, "linear, centred: E'(0)")


def steps() -> list[Step]:
    block_a, block_value = me.scalar_block()
    obj = me.map_objective("softmax", "centred")
    lin = me.map_objective("linear", "centred")
    threshold = me.softmax_kink_threshold()
    xs = sp.Symbol("x", positive=True)
    return [
        Step(SECTION, "h.ridge", r"Readout: the $W$-problem is ridge regression",
             sp.Eq(sp.Symbol(r"\min_W"), sp.Symbol(r"\frac{1}{2\sigma^2}(\mathrm{tr}\,Y^TY - \mathrm{tr}\,C^TR^{-1}C)"),
                   evaluate=False),
             r"Adam's weight decay is the Gaussian prior; at fixed $(Q, K)$ the optimum over $W$ is ridge "
             r"regression with $\lambda = \sigma^2 N/\sigma_w^2$ \eqref{eq:a.ridge}. Its value is the "
             r"quadratic term of \eqref{eq:a.evidence}; the log-determinant is $O(1/N)$ per $N$ "
             r"\eqref{eq:c.limit}, so the MAP data term has the same large-$N$ energy as the Bayes posterior.",
             (as_check("optimisation", _check_ridge_readout),
              as_check("symbolic", lambda: symbolic_check(population.logdet_per_n_limit(),
                                                          "(V/2N) log det(I + Sigma_h/lambda) as N -> oo")))),
        Step(SECTION, "h.block", r"One singular pair: $\min (a^2 + b^2)/2$ with $ab = x$",
             sp.Eq(sp.Symbol("a^*"), block_a, evaluate=False),
             r"$Q$ and $K$ contribute $a$ and $b$ along one singular pair of $S/(\sigma_q\sigma_k)$; the "
             r"minimum of the weight-decay cost is $|x|$ (AM–GM).",
             (as_check("symbolic", lambda: symbolic_check(block_value - x, "minimum minus x (x > 0)")),)),
        Step(SECTION, "h.nuclear", r"Weight decay at fixed $S$ is the nuclear norm",
             sp.Eq(sp.Symbol(r"\min_{QK^T/N=S}\frac{1}{N}\left(\frac{|Q|^2}{2\sigma_q^2}+\frac{|K|^2}{2\sigma_k^2}\right)"),
                   sp.Symbol(r"\frac{\|S\|_*}{\sigma_q\sigma_k}"), evaluate=False),
             r"The variational characterisation of the nuclear norm (attained for $N \ge \mathrm{rank}\, S$), "
             r"from \eqref{eq:h.block}. The MAP replaces the Bayes rate $\phi_{\mathrm W}(s_i)$ of "
             r"\eqref{eq:b.phi} by $|s_i|$: $\phi_{\mathrm W}$ has the same linear growth but adds the prior's "
             r"entropy, $-\frac12\log|x| - \frac12 + o(1)$ \eqref{eq:b.series}, which the MAP lacks.",
             (as_check("optimisation", _check_nuclear_norm_numeric),
              as_check("monte-carlo", _check_nuclear_bound_mc),
              as_check("symbolic", lambda: symbolic_check(sp.limit(WishartRate(xs).doit() / xs, xs, sp.oo) - 1,
                                                          "lim phi(x)/x - 1")))),
        Step(SECTION, "h.reduced", "Reduced MAP objective (softmax)",
             sp.Eq(sp.Symbol("f_MAP"), obj.prior_term + sp.Function("E")(m, q), evaluate=False),
             r"Same ansatz $S = \delta(\Pi - J/T)$ \eqref{eq:d.softmax} and same energy \eqref{eq:c.energy} as "
             r"the Bayes reduction, with the rate replaced by $|x|$ \eqref{eq:h.nuclear}: $f_{\mathrm{MAP}} = "
             r"(T-1)|\delta|/(\sigma_q\sigma_k) + E(m(\delta), q(\delta)) + c_{\mathrm{data}}$. Linear "
             r"attention (centred): $T|s|/(\sigma_q\sigma_k) + E$.",
             (as_check("mpmath-50", lambda: _check_reduced_vs_matrix("softmax")),
              as_check("mpmath-50", lambda: _check_reduced_vs_matrix("linear")),
              as_check("monte-carlo", _check_map_minima_perturbation))),
        Step(SECTION, "h.kink", "The uniform state is a MAP minimum below a threshold",
             sp.Eq(sp.Symbol(r"|E'(0)|/c"), threshold, evaluate=False),
             r"$|x|$ has a kink at 0: $S = 0$ ($m = 1/T$) is a local MAP minimum of \eqref{eq:h.reduced} iff "
             r"$|E'(0)| \le c = (T-1)/(\sigma_q\sigma_k)$, that is iff this ratio is at most 1; equivalently "
             r"$2\kappa\gamma\sigma_q\sigma_k \le T^2(1 + \epsilon T)$. Adam started from $S \approx 0$ stays "
             r"there below the threshold.",
             (as_check("symbolic", _check_kink_closed_form),
              as_check("optimisation", _check_kink_numeric))),
        Step(SECTION, "h.linear", "Linear attention: the origin is always a MAP minimum",
             sp.Eq(sp.Subs(sp.Derivative(sp.Function("E")(s), s), s, 0), 0, evaluate=False),
             r"By the $S \to -S$ symmetry $E'(0) = 0 < c = T/(\sigma_q\sigma_k)$: $S = 0$ is a local MAP "
             r"minimum at every $\alpha$, so the MAP's copy minimum appears at finite $|s|$ (a discontinuous "
             r"MAP transition), while the Bayes posterior has a second-order onset at $\alpha_c$ "
             r"\eqref{eq:e.alpha_c}.",
             (as_check("symbolic", _check_linear_kink),
              as_check("symbolic", lambda: symbolic_check(lin.kink_slope - T / (sigma_q * sigma_k), "c - T/(sq sk)")))),
    ]
