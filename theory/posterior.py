"""Exact finite-n posterior over (Q, K) with the readout W integrated out.

Each of the V output columns of W is an independent Gaussian process over the
nT attention features h_{mu t} = sum_s A_ts x^mu_s with kernel
(sigma_w^2/N) h.h'. Woodbury turns the nT x nT evidence into a V x V one built
from the sufficient statistics G_{ss'} = sum_mu x^mu_s x^mu_s'^T.
"""
from __future__ import annotations

import mpmath as mp
import numpy as np
import sympy as sp

from .symbols import N, T, V, lam, n, sigma2, sigma_w

# Symbolic statement (for the derivation document).
_nTV = sp.Symbol("nTV", positive=True)
H_ = sp.MatrixSymbol("H", sp.Symbol("P", positive=True, integer=True), sp.Symbol("V", positive=True, integer=True))


def evidence_statement() -> sp.Eq:
    """log p(Y | Q, K) in feature space, as a SymPy equation over matrix symbols."""
    Vd = sp.Symbol("V", positive=True, integer=True)
    Sigma_h = sp.MatrixSymbol(r"\Sigma_h", Vd, Vd)
    C = sp.MatrixSymbol("C", Vd, Vd)
    YY = sp.MatrixSymbol("Y^{T}Y", Vd, Vd)
    I = sp.Identity(Vd)
    lhs = sp.Function(r"\log p")(sp.Symbol("Y"))
    rhs = (-(sp.Trace(YY) - sp.Trace(C.T * sp.Inverse(lam * I + Sigma_h) * C)) / (2 * sigma2)
           - V / 2 * sp.log(sp.Determinant(I + Sigma_h / lam)) - n * T * V / 2 * sp.log(2 * sp.pi * sigma2))
    return sp.Eq(lhs, rhs, evaluate=False)


def ridge() -> sp.Expr:
    """lambda = sigma2 N / sigma_w^2: the readout ridge of the feature-space form."""
    return sigma2 * N / sigma_w**2


def sufficient_statistics_statement() -> tuple[sp.Eq, sp.Eq]:
    """Sigma_h and C as linear/quadratic forms in A over G_{ss'}."""
    t, s1, s2 = sp.symbols("t s s'", integer=True)
    A = sp.IndexedBase("A")
    G = sp.IndexedBase("G")
    sigma_h = sp.Eq(sp.Symbol(r"\Sigma_h"), sp.Sum(A[t, s1] * A[t, s2] * G[s1, s2], (t, 1, T), (s1, 1, T), (s2, 1, T)))
    cross = sp.Eq(sp.Symbol("C"), sp.Sum(A[t, s1] * G[s1, t - 1], (t, 1, T), (s1, 1, T)))
    return sigma_h, cross


# --- numeric forms at arbitrary precision (used by the checks) -------------------------

def token_vectors(tokens_idx: np.ndarray, V_: int, centred: bool):
    """One-hot (optionally centred) vectors as exact SymPy rationals: shape (n, T) -> nested lists."""
    shift = sp.Rational(1, V_) if centred else 0
    return [[[sp.Integer(int(v == k)) - shift for k in range(V_)] for v in row] for row in tokens_idx]


def features(A, X):
    """H rows h_{mu t} = sum_s A_ts x^mu_s, in (mu, t) order, as a SymPy/mpmath-compatible matrix."""
    n_, T_ = len(X), len(X[0])
    V_ = len(X[0][0])
    rows = []
    for mu in range(n_):
        for t in range(T_):
            rows.append([sum(A[t, s_] * X[mu][s_][k] for s_ in range(T_)) for k in range(V_)])
    return sp.Matrix(rows)


def targets(X):
    """y_{mu t} = x^mu_{t-1} (cyclic)."""
    T_ = len(X[0])
    return sp.Matrix([X[mu][(t - 1) % T_] for mu in range(len(X)) for t in range(T_)])


def sufficient_statistics(X):
    """G[s][s'] = sum_mu x_s x_s'^T (V x V SymPy matrices)."""
    T_ = len(X[0])
    cols = lambda mu, s_: sp.Matrix(X[mu][s_])  # noqa: E731
    return [[sum((cols(mu, s1) * cols(mu, s2).T for mu in range(len(X))), sp.zeros(len(X[0][0])))
             for s2 in range(T_)] for s1 in range(T_)]


def stats_from_sufficient(A, G):
    """(Sigma_h, C) from the sufficient statistics only."""
    T_ = len(G)
    Sigma_h = sum((A[t, s1] * A[t, s2] * G[s1][s2] for t in range(T_) for s1 in range(T_) for s2 in range(T_)),
                  sp.zeros(G[0][0].shape[0]))
    C = sum((A[t, s1] * G[s1][(t - 1) % T_] for t in range(T_) for s1 in range(T_)), sp.zeros(G[0][0].shape[0]))
    return Sigma_h, C


def log_evidence_sample_space(H, Y, w_var: mp.mpf, noise: mp.mpf) -> mp.mpf:
    """Sum over output columns of the GP log marginal, kernel w_var H H^T + noise I (nT x nT)."""
    H = mp.matrix(H.tolist()) if not isinstance(H, mp.matrix) else H
    Y = mp.matrix(Y.tolist()) if not isinstance(Y, mp.matrix) else Y
    P = H.rows
    K = w_var * H * H.T + noise * mp.eye(P)
    Kinv = mp.inverse(K)
    logdet = mp.log(mp.det(K))
    total = mp.mpf(0)
    for j in range(Y.cols):
        y = Y[:, j]
        total += -(y.T * Kinv * y)[0] / 2 - logdet / 2 - P * mp.log(2 * mp.pi) / 2
    return total


def log_evidence_feature_space(Sigma_h, C, YY_trace, P: int, V_: int, w_var: mp.mpf, noise: mp.mpf) -> mp.mpf:
    """The V x V form: ridge lam = noise / w_var."""
    Sigma_h = mp.matrix(Sigma_h.tolist()) if not isinstance(Sigma_h, mp.matrix) else Sigma_h
    C = mp.matrix(C.tolist()) if not isinstance(C, mp.matrix) else C
    ridge_ = noise / w_var
    I = mp.eye(V_)
    inner = mp.inverse(ridge_ * I + Sigma_h)
    quad = sum((C.T * inner * C)[i, i] for i in range(V_))
    return (-(mp.mpf(YY_trace) - quad) / (2 * noise) - V_ * mp.log(mp.det(I + Sigma_h / ridge_)) / 2
            - P * V_ * mp.log(2 * mp.pi * noise) / 2)
