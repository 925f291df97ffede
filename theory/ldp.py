"""Large deviations of the query-key overlap S = Q K^T / N.

The overlap matrix of (Q; K) is Wishart; its rate function is minimised over
the QQ and KK blocks at fixed S. In the singular-value basis of S the problem
splits into 2x2 blocks [[a, x], [x, b]], solved here by SymPy.
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from copyhead.errors import DerivationCheckFailed

from .functions import GaussianLogitRate, WishartRate
from .symbols import a, b, theta, x


def wishart_rate_matrix(G: sp.Matrix, Sigma: sp.Matrix) -> sp.Expr:
    """Rate of the Wishart overlap G = Z Z^T / N, Z columns iid N(0, Sigma): 
    I(G) = (tr(Sigma^-1 G) - log det(Sigma^-1 G) - dim) / 2."""
    W = Sigma.inv() * G
    return (W.trace() - sp.log(W.det()) - G.shape[0]) / 2


@lru_cache(maxsize=None)
def block_rate() -> sp.Expr:
    """Rate of one 2x2 block [[a, x], [x, b]] with unit prior variances."""
    return wishart_rate_matrix(sp.Matrix([[a, x], [x, b]]), sp.eye(2))


@lru_cache(maxsize=None)
def block_minimiser() -> sp.Expr:
    """Stationary a = b of the block rate: the positive root of the stationarity condition."""
    symmetric = block_rate().subs(b, a)
    roots = sp.solve(sp.Eq(sp.diff(symmetric, a), 0), a)
    positive = [root for root in roots if root.subs(x, sp.Rational(1, 3)).is_positive]
    if len(positive) != 1:
        raise DerivationCheckFailed("block minimisation", f"expected one positive stationary point, found {roots}")
    return sp.simplify(positive[0])


@lru_cache(maxsize=None)
def derived_rate() -> sp.Expr:
    """phi(x) = block rate at its minimiser; equals WishartRate(x).doit()."""
    a_star = block_minimiser()
    return sp.simplify(block_rate().subs({a: a_star, b: a_star}))


@lru_cache(maxsize=None)
def scgf() -> sp.Expr:
    """Scaled cumulant generating function of x = q.k/N per N: -log(1 - theta^2)/2 (|theta| < 1)."""
    return -sp.log(1 - theta**2) / 2


@lru_cache(maxsize=None)
def legendre_rate() -> sp.Expr:
    """Gaertner-Ellis: sup_theta (theta x - scgf), an independent route to phi."""
    roots = sp.solve(sp.Eq(x, sp.diff(scgf(), theta)), theta)
    inside = [t for t in roots if abs(float(t.subs(x, sp.Rational(1, 2)))) < 1]
    if len(inside) != 1:
        raise DerivationCheckFailed("Legendre transform", f"expected one maximiser in (-1, 1), found {roots}")
    return sp.simplify(theta * x - scgf()).subs(theta, inside[0])


def rate_per_singular_value(prior: str):
    """The per-singular-value rate function class for a prior name."""
    return {"bilinear": WishartRate, "gaussian-logit": GaussianLogitRate}[prior]
