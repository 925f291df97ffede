"""Population limit of the data term: N -> oo with n = alpha N.

Uniform i.i.d. tokens give E[x_s x_s'^T] = delta_ss' E[x x^T] + (1 - delta_ss') E[x]E[x]^T.
Both moments are diagonal in the projectors P = I - J/V and J/V, so the V x V
evidence splits into channels; each channel's data term per N has a limit.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from copyhead.errors import DerivationCheckFailed

from .symbols import M, N, R, T, V, alpha, c, lam, m, n, q, r, sigma2, sigma_w


def token_moments(tokens: str, V_: int) -> tuple[sp.Matrix, sp.Matrix]:
    """Exact (E[x x^T], E[x]) for uniform tokens at a concrete V, by enumeration."""
    shift = sp.Rational(1, V_) if tokens == "centred" else 0
    vecs = [sp.Matrix([sp.Integer(int(i == v)) - shift for i in range(V_)]) for v in range(V_)]
    second = sum((vec * vec.T for vec in vecs), sp.zeros(V_)) / V_
    first = sum(vecs, sp.zeros(V_, 1)) / V_
    return second, first


def channels(tokens: str) -> tuple[tuple[sp.Expr, sp.Expr, sp.Expr], ...]:
    """(multiplicity, c, M) per channel: population C/n = sum c Pi_ch, Sigma_h/n = sum M Pi_ch.

    centred: the P channel only (rank V-1). onehot: also the mean channel J/V,
    driven by the row sums r (mean) and R (mean square). Checked against explicit
    matrices in derivations/population.py.
    """
    centred = (V - 1, T * m / V, T * q / V)
    if tokens == "centred":
        return (centred,)
    return (centred, (sp.Integer(1), T * r / V, T * R / V))


@lru_cache(maxsize=None)
def channel_finite_n() -> sp.Expr:
    """Data term per N of one channel at finite N: -(1/N) (n c)^2 / (2 sigma2 (lam + n M))."""
    return -(n * c) ** 2 / (2 * sigma2 * (lam + n * M)) / N


@lru_cache(maxsize=None)
def channel_limit() -> sp.Expr:
    """Its limit with n = alpha N, lam = sigma2 N / sigma_w^2."""
    scaled = channel_finite_n().subs({n: alpha * N, lam: sigma2 * N / sigma_w**2})
    return sp.simplify(sp.limit(scaled, N, sp.oo))


@lru_cache(maxsize=None)
def logdet_per_n_limit() -> sp.Expr:
    """(V/2N) log(1 + n M / lam) -> 0: the determinant is subleading."""
    term = V / (2 * N) * sp.log(1 + n * M / lam)
    return sp.limit(term.subs({n: alpha * N, lam: sigma2 * N / sigma_w**2}), N, sp.oo)


@lru_cache(maxsize=None)
def energy(tokens: str) -> sp.Expr:
    """Population energy per N as a function of (m, q) [and (r, R) for onehot]."""
    total = sum(mult * channel_limit().subs({c: c_, M: M_}, simultaneous=True) for mult, c_, M_ in channels(tokens))
    return sp.simplify(total)


@lru_cache(maxsize=None)
def kappa_eps() -> tuple[sp.Expr, sp.Expr]:
    """(kappa, eps) read off the centred energy written as -kappa m^2 / (q + eps)."""
    num, den = sp.fraction(sp.together(energy("centred")))
    den = sp.expand(den)
    d1, d0 = den.coeff(q, 1), den.coeff(q, 0)
    if sp.simplify(den - d1 * q - d0) != 0:
        raise DerivationCheckFailed("population energy", "the centred denominator is not linear in q")
    kappa_ = sp.simplify(-num / (m**2 * d1))
    if kappa_.has(m) or kappa_.has(q):
        raise DerivationCheckFailed("population energy", "the centred numerator is not proportional to m^2")
    return kappa_, sp.simplify(d0 / d1)


def data_constant(tokens: str) -> sp.Expr:
    """A-independent part of -log p(Y|A)/N in the limit: alpha T E|y|^2/(2 sigma2) + alpha T V log(2 pi sigma2)/2."""
    mean_sq_norm = (V - 1) / V if tokens == "centred" else sp.Integer(1)
    return alpha * T * mean_sq_norm / (2 * sigma2) + alpha * T * V * sp.log(2 * sp.pi * sigma2) / 2
