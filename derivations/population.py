"""Section c: the population limit of the data term."""
from __future__ import annotations

import itertools

import numpy as np
import sympy as sp

from ..theory import population as pop
from ..theory.symbols import M, N, R, T, V, alpha, c, eps, kappa, m, q, r, sigma2, sigma_w
from ._core import CheckResult, Step, as_check, identity_check, symbolic_check, tolerance_check

SECTION = "Population limit of the data term"


def _projectors(V_: int):
    J = sp.ones(V_, V_) / V_
    return sp.eye(V_) - J, J


def _check_moments() -> CheckResult:
    bad = 0
    for V_ in range(2, 6):
        P, J = _projectors(V_)
        for tokens in ("centred", "onehot"):
            second, first = pop.token_moments(tokens, V_)
            bad += int(second != (P / V_ if tokens == "centred" else P / V_ + J / V_))
            bad += int(first * first.T != (sp.zeros(V_) if tokens == "centred" else J / V_))
    return CheckResult(bad == 0, "exact",
                       f"E[x x^T] and E[x]E[x]^T by enumeration vs the projector forms, V=2..5, both encodings: {bad} mismatches")


def _check_channels() -> CheckResult:
    """Population Sigma_h/n and C/n for a symbolic T x T attention matrix equal the channel formula."""
    bad = 0
    for T_, V_ in ((3, 3), (2, 4)):
        A = sp.Matrix(T_, T_, lambda i, j: sp.Symbol(f"A_{i}{j}"))
        P, J = _projectors(V_)
        for tokens in ("centred", "onehot"):
            second, first = pop.token_moments(tokens, V_)
            pair = lambda s1, s2: second if s1 == s2 else first * first.T  # noqa: E731
            Mbar = sp.zeros(V_)
            Cbar = sp.zeros(V_)
            for t, s1, s2 in itertools.product(range(T_), repeat=3):
                Mbar += A[t, s1] * A[t, s2] * pair(s1, s2)
            for t, s1 in itertools.product(range(T_), repeat=2):
                Cbar += A[t, s1] * pair(s1, (t - 1) % T_)
            overlaps = {m: sum(A[t, (t - 1) % T_] for t in range(T_)) / T_,
                        q: sum(A[i, j] ** 2 for i in range(T_) for j in range(T_)) / T_,
                        r: sum(A) / T_, R: sum(sum(A.row(t)) ** 2 for t in range(T_)) / T_}
            projector = [P, J]
            model_M = sum((ch[2].subs({**overlaps, T: T_, V: V_}) * projector[i] for i, ch in enumerate(pop.channels(tokens))),
                          sp.zeros(V_))
            model_C = sum((ch[1].subs({**overlaps, T: T_, V: V_}) * projector[i] for i, ch in enumerate(pop.channels(tokens))),
                          sp.zeros(V_))
            bad += int(sp.expand(Mbar - model_M) != sp.zeros(V_)) + int(sp.expand(Cbar - model_C) != sp.zeros(V_))
    return CheckResult(bad == 0, "exact",
                       f"population Sigma_h/n, C/n for symbolic A at (T,V)=(3,3),(2,4), both encodings, vs channels: "
                       f"{bad} mismatches")


def _check_limit_numerically() -> CheckResult:
    finite = pop.channel_finite_n().subs({sp.Symbol("n", positive=True): alpha * N,
                                          sp.Symbol("lam", positive=True): sigma2 * N / sigma_w**2})
    return identity_check(finite, pop.channel_limit(), [alpha, c, M, sigma2, sigma_w], overrides={N: sp.Integer(10)**60},
                          tol_digits=50)


def _finite_data_term(A: np.ndarray, tokens_idx: np.ndarray, V_: int, centred: bool, N_: int, s2: float, sw: float):
    """-(1/N) log p(Y|A) computed from sampled data (numpy, feature-space form)."""
    n_, T_ = tokens_idx.shape
    X = np.eye(V_)[tokens_idx] - (1.0 / V_ if centred else 0.0)      # (n, T, V)
    H = np.einsum("ts,nsv->ntv", A, X).reshape(-1, V_)
    Y = np.roll(X, 1, axis=1).reshape(-1, V_)                       # y_t = x_{t-1}
    lam_ = s2 * N_ / sw**2
    Sigma_h, C = H.T @ H, H.T @ Y
    quad = np.trace(C.T @ np.linalg.solve(lam_ * np.eye(V_) + Sigma_h, C))
    _, logdet = np.linalg.slogdet(np.eye(V_) + Sigma_h / lam_)
    log_p = -(np.sum(Y * Y) - quad) / (2 * s2) - V_ * logdet / 2 - H.shape[0] * V_ * np.log(2 * np.pi * s2) / 2
    return -log_p / N_


def _check_monte_carlo() -> CheckResult:
    rng = np.random.default_rng(5)
    T_, V_, N_, alpha_, s2, sw = 4, 5, 4000, 2.5, 0.8, 1.3
    n_ = int(alpha_ * N_)
    worst, parts = 0.0, []
    for tokens in ("centred", "onehot"):
        energy = sp.lambdify((m, q, r, R, T, V, alpha, sigma2, sigma_w), pop.energy(tokens) + pop.data_constant(tokens))
        for kind in ("softmax", "linear"):
            # a generic A with a sizeable previous-token component, so the A-dependent energy is O(1)
            shift = np.roll(np.eye(T_), -1, axis=1)
            logits = rng.normal(size=(T_, T_)) + 2.0 * shift
            A = (np.exp(logits) / np.exp(logits).sum(1, keepdims=True)) if kind == "softmax" else 0.4 * logits
            tokens_idx = rng.integers(V_, size=(n_, T_))
            finite = _finite_data_term(A, tokens_idx, V_, tokens == "centred", N_, s2, sw)
            overlaps = (np.mean(A[np.arange(T_), np.arange(T_) - 1]), np.sum(A**2) / T_, A.sum() / T_,
                        np.sum(A.sum(1) ** 2) / T_)
            theory = energy(*overlaps, T_, V_, alpha_, s2, sw)
            # compare the A-dependent part, relative to its own size (the constant dominates the total)
            dependent = theory - float(pop.data_constant(tokens).subs({T: T_, V: V_, alpha: alpha_, sigma2: s2}))
            err = abs(finite - theory) / abs(dependent)
            worst = max(worst, err)
            parts.append(f"{tokens}/{kind} {err:.1e}")
    return tolerance_check("monte-carlo", worst, 0.05,
                           f"-(1/N) log p(Y|A) on sampled data (N={N_}, n={n_}, T={T_}, V={V_}) vs population "
                           f"energy + constant, relative to the A-dependent part ({', '.join(parts)})")


def steps() -> list[Step]:
    kappa_, eps_ = pop.kappa_eps()
    P_sym, J_sym = sp.Symbol("P"), sp.Symbol("J")
    return [
        Step(SECTION, "c.moments", "Token moments",
             sp.Tuple(sp.Eq(sp.Symbol(r"\mathbb{E}[x x^{T}]_{\mathrm{centred}}"), P_sym / V, evaluate=False),
                      sp.Eq(sp.Symbol(r"\mathbb{E}[x x^{T}]_{\mathrm{onehot}}"), P_sym / V + J_sym / V, evaluate=False),
                      sp.Eq(sp.Symbol(r"\mathbb{E}[x]\mathbb{E}[x]^{T}_{\mathrm{onehot}}"), J_sym / V, evaluate=False)),
             r"Uniform tokens: $\mathbb E[x_s x_{s'}^{\mathsf T}] = \delta_{ss'}\mathbb E[xx^{\mathsf T}] + "
             r"(1-\delta_{ss'})\,\mathbb E[x]\mathbb E[x]^{\mathsf T}$, with $J = \mathbf 1\mathbf 1^{\mathsf "
             r"T}/V$ the projector on the constant direction and $P = I - J$; centred tokens have zero mean.",
             (as_check("exact", _check_moments),)),
        Step(SECTION, "c.channels", r"Channels of the $V\times V$ problem",
             sp.Tuple(*[sp.Eq(sp.Symbol(f"(c, M)_{i}"), sp.Tuple(ch[1], ch[2]), evaluate=False)
                        for i, ch in enumerate(pop.channels("onehot"))]),
             r"With the moments \eqref{eq:c.moments}, $C/n$ and $\Sigma_h/n$ are combinations of $P$ "
             r"(multiplicity $V-1$) and $J/V$ (multiplicity 1). The $P$ channel depends on $A$ through $m = "
             r"\frac1T\sum_t A_{t,t-1}$ and $q = \frac1T\sum_{ts} A_{ts}^2$; the mean channel, present only "
             r"for raw one-hot tokens, through the row sums $\bar r$ and $R$.",
             (as_check("exact", _check_channels),)),
        Step(SECTION, "c.limit", r"Per-channel limit $N \to \infty$ at $n = \alpha N$",
             sp.Eq(sp.Limit(pop.channel_finite_n(), N, sp.oo), pop.channel_limit(), evaluate=False),
             r"With the ridge $\lambda = \sigma^2 N/\sigma_w^2$ \eqref{eq:a.ridge} and $n = \alpha N$, both "
             r"$c^2$ and $\lambda + nM$ scale with $N$; the log-determinant in \eqref{eq:a.evidence} is $O(1)$ "
             r"and drops out per $N$.",
             (as_check("mpmath-50", _check_limit_numerically),
              as_check("symbolic", lambda: symbolic_check(pop.logdet_per_n_limit(), "limit of (V/2N) log det")))),
        Step(SECTION, "c.energy", r"Energy per $N$ (centred tokens)",
             sp.Tuple(sp.Eq(sp.Symbol("E"), -kappa * m**2 / (q + eps), evaluate=False),
                      sp.Eq(kappa, kappa_, evaluate=False), sp.Eq(eps, eps_, evaluate=False)),
             r"Summing the channels \eqref{eq:c.limit}: $\kappa$ grows linearly with $\alpha$, and the "
             r"effective ridge $\epsilon$ shrinks as $1/\alpha$.",
             (as_check("symbolic", lambda: symbolic_check(pop.energy("centred") + kappa_ * m**2 / (q + eps_),
                                                          "energy + kappa m^2/(q + eps)")),
              as_check("monte-carlo", _check_monte_carlo))),
        Step(SECTION, "c.onehot", r"Energy per $N$ (raw one-hot tokens)",
             sp.Eq(sp.Symbol("E_{onehot}"), -kappa * m**2 / (q + eps) - kappa / (V - 1) * r**2 / (R + eps), evaluate=False),
             r"The mean channel adds the same shape as \eqref{eq:c.energy} in the row-sum overlaps; for "
             r"softmax $\bar r = R = 1$ and it is a constant.",
             (as_check("mpmath-50", lambda: identity_check(pop.energy("onehot"),
                                                           -kappa_ * m**2 / (q + eps_) - kappa_ / (V - 1) * r**2 / (R + eps_),
                                                           [m, q, r, R, T, V, alpha, sigma2, sigma_w],
                                                           overrides={V: sp.Integer(7)})),)),
    ]
