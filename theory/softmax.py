"""Softmax attention: stationarity and curvature of f(delta) in closed form.

f'(delta) = 0 is, after clearing denominators, a cubic in alpha at each delta;
the spinodals solve f' = f'' = 0; coexistence solves equal f at two stationary
points. The transition engine (numerics/transitions) solves these.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from .reduced import reduced_model
from .symbols import alpha, delta


@dataclass(frozen=True)
class SoftmaxConditions:
    """stationarity = f'(delta); curvature = f''(delta); stationarity_polynomial: the
    numerator of f' as a polynomial in alpha (same zeros for alpha > 0);
    slope_at_uniform: f'(0), the evidence that delta = 0 is not a symmetric point."""

    prior: str
    tokens: str
    stationarity: sp.Expr
    curvature: sp.Expr
    stationarity_polynomial: sp.Poly
    slope_at_uniform: sp.Expr


@lru_cache(maxsize=None)
def softmax_conditions(prior: str, tokens: str = "centred") -> SoftmaxConditions:
    f = reduced_model("softmax", tokens, prior).free_energy
    first = sp.diff(f, delta)
    second = sp.diff(first, delta)
    numerator, _ = sp.fraction(sp.together(first.doit()))
    poly = sp.Poly(sp.expand(numerator), alpha)
    slope0 = sp.simplify(first.subs(delta, 0).doit())
    return SoftmaxConditions(prior, tokens, first, second, poly, slope0)
