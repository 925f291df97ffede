"""f(S; alpha) for an unconstrained T x T logit matrix, with its exact gradient.

The pieces (rate per singular value, population energy and their
derivatives) are lambdified from theory/; only the chain rule lives here.
Used to prove the circulant and order-parameter reductions numerically.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from copyhead.errors import InvalidParameterError
from copyhead.spec import ModelSpec


@lru_cache(maxsize=None)
def _pieces(tokens: str, prior: str):
    import sympy as sp

    from ..theory import population as pop
    from ..theory.functions import RATE_FUNCTIONS
    from ..theory.symbols import R, T, V, alpha, m, q, r, sigma2, sigma_w, x

    rate = RATE_FUNCTIONS[prior](x)
    energy = pop.energy(tokens) + pop.data_constant(tokens)
    args = (m, q, r, R, T, V, alpha, sigma2, sigma_w)
    return (sp.lambdify(x, rate, "numpy"), sp.lambdify(x, sp.diff(rate, x).doit(), "numpy"),
            sp.lambdify(args, energy, "numpy"),
            [sp.lambdify(args, sp.diff(energy, v), "numpy") for v in (m, q, r, R)])


def attention(S: np.ndarray, spec: ModelSpec) -> np.ndarray:
    if spec.attention == "linear":
        return spec.gamma * S
    z = spec.gamma * S
    z = z - z.max(axis=1, keepdims=True)   # overflow-safe softmax
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def overlaps(A: np.ndarray) -> tuple[float, float, float, float]:
    """(m, q, r, R) of an attention matrix."""
    T_ = A.shape[0]
    rows = A.sum(axis=1)
    return (float(np.mean(A[np.arange(T_), np.arange(T_) - 1])), float(np.sum(A * A) / T_), float(rows.mean()),
            float(np.mean(rows**2)))


def free_energy_and_gradient(S: np.ndarray, spec: ModelSpec, alpha: float) -> tuple[float, np.ndarray]:
    rate, rate_d, energy, energy_d = _pieces(spec.tokens, spec.prior)
    T_ = S.shape[0]
    if T_ != spec.T:
        raise InvalidParameterError("S", f"has shape {S.shape}, expected ({spec.T}, {spec.T})")
    scale = spec.sigma_q * spec.sigma_k
    U, sv, Vt = np.linalg.svd(S)
    prior = float(np.sum(rate(sv / scale)))
    grad_prior = (U * (rate_d(sv / scale) / scale)) @ Vt
    A = attention(S, spec)
    ov = overlaps(A)
    args = (*ov, T_, spec.V, alpha, spec.sigma2, spec.sigma_w)
    e_m, e_q, e_r, e_R = (float(np.broadcast_to(g(*args), ())) for g in energy_d)
    rows = A.sum(axis=1, keepdims=True)
    dA = 2 * e_q * A / T_ + e_r / T_ + 2 * e_R * rows / T_
    dA[np.arange(T_), np.arange(T_) - 1] += e_m / T_
    if spec.attention == "linear":
        dS = spec.gamma * dA
    else:   # softmax backward, row by row
        dS = spec.gamma * A * (dA - np.sum(dA * A, axis=1, keepdims=True))
    return prior + float(energy(*args)), grad_prior + dS


def shift_matrix(T_: int) -> np.ndarray:
    """Pi with Pi[t, t-1] = 1 (cyclic)."""
    return np.roll(np.eye(T_), -1, axis=1)


def circulant(coeffs: np.ndarray) -> np.ndarray:
    """sum_j c_j Pi^j."""
    T_ = len(coeffs)
    Pi = shift_matrix(T_)
    out = np.zeros((T_, T_))
    power = np.eye(T_)
    for cj in coeffs:
        out += cj * power
        power = power @ Pi
    return out


@dataclass(frozen=True)
class FullMinimum:
    """Best value found by multi-start L-BFGS over a parametrisation of S."""

    parametrisation: str
    f: float
    m: float
    S: np.ndarray
    starts: int
    converged_starts: int


def minimise(spec: ModelSpec, alpha: float, parametrisation: str, starts: list[np.ndarray]) -> FullMinimum:
    """parametrisation: 'full' (T^2 free entries) or 'circulant' (T coefficients)."""
    from scipy import optimize

    T_ = spec.T
    basis = [circulant(np.eye(T_)[j]) for j in range(T_)]

    def objective(theta):
        S = theta.reshape(T_, T_) if parametrisation == "full" else circulant(theta)
        f, g = free_energy_and_gradient(S, spec, alpha)
        if parametrisation == "full":
            return f, g.ravel()
        return f, np.array([np.sum(g * B) for B in basis])

    best, converged = None, 0
    for start in starts:
        res = optimize.minimize(objective, start, jac=True, method="L-BFGS-B",
                                options={"maxiter": 5000, "gtol": 1e-10, "ftol": 1e-15})
        converged += int(res.success)
        if best is None or res.fun < best.fun:
            best = res
    S = best.x.reshape(T_, T_) if parametrisation == "full" else circulant(best.x)
    return FullMinimum(parametrisation, float(best.fun), overlaps(attention(S, spec))[0], S, len(starts), converged)
