"""Linear attention: Landau expansion about the symmetric phase s = 0.

S -> -S (with W -> -W) leaves f invariant, so f(s) = f0 + a2 s^2 + a4 s^4 + a6 s^6 + ...
alpha_c solves a2 = 0; the transition is second order where a4(alpha_c) > 0
and a tricritical point sits where a4(alpha_c) = 0 (with a6 > 0).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from copyhead.errors import DerivationCheckFailed

from .reduced import reduced_model
from .symbols import MODEL_PARAMS, T, V, alpha, gamma, s

# An admissible point (T, V >= 2): SymPy only knows T, V > 0, so the physical
# root is picked by its sign here; derivations/landau.py checks it at random points.
_ADMISSIBLE = {sym: sp.Rational(7, 5) + k / sp.Integer(3) for k, sym in enumerate(MODEL_PARAMS)}
_ADMISSIBLE.update({T: sp.Integer(6), V: sp.Integer(5)})


def _positive_root(roots, extra=None):
    point = {**_ADMISSIBLE, **(extra or {})}
    chosen = [root for root in roots if sp.N(root.subs(point)) > 0]
    return chosen


@dataclass(frozen=True)
class LandauExpansion:
    """Coefficients of f(s) - f(0) = a2 s^2 + a4 s^4 + a6 s^6 + O(s^8) and their consequences.

    alpha_c: positive root of a2; a4_at_critical: effective quartic on the
    critical line; gamma_tricritical: positive root of a4_at_critical in gamma
    (None where a4 > 0 identically); a6_at_tricritical: sign check.
    """

    prior: str
    a2: sp.Expr
    a4: sp.Expr
    a6: sp.Expr
    alpha_c: sp.Expr
    a4_at_critical: sp.Expr
    gamma_tricritical: sp.Expr | None
    a6_at_tricritical: sp.Expr | None


def _with_positive_V_minus_1(expr):
    """Simplify using V - 1 > 0 (V >= 2): sqrt(1/(V-1)) becomes 1/sqrt(V-1), (V-1)(1/(V-1))^(3/2) cancels."""
    w = sp.Symbol("w", positive=True)
    return sp.simplify(sp.factor(expr.subs(V, w + 1))).subs(w, V - 1)


@lru_cache(maxsize=None)
def landau_expansion(prior: str) -> LandauExpansion:
    f = reduced_model("linear", "centred", prior).free_energy.doit()
    series = sp.expand(sp.series(f, s, 0, 8).removeO())
    a2, a4, a6 = (sp.simplify(series.coeff(s, k)) for k in (2, 4, 6))
    if any(sp.simplify(series.coeff(s, k)) != 0 for k in (1, 3, 5, 7)):
        raise DerivationCheckFailed("Landau expansion", "odd coefficients do not vanish: the S -> -S symmetry is broken")
    roots = sp.solve(sp.Eq(a2, 0), alpha)
    positive = _positive_root(roots)
    if len(positive) != 1:
        raise DerivationCheckFailed("Landau expansion", f"expected one positive root of a2 in alpha, found {roots}")
    alpha_c = _with_positive_V_minus_1(positive[0])
    a4_c = _with_positive_V_minus_1(a4.subs(alpha, alpha_c))
    gamma_roots = _positive_root(sp.solve(sp.Eq(a4_c, 0), gamma))
    gamma_tc = _with_positive_V_minus_1(gamma_roots[0]) if len(gamma_roots) == 1 else None
    a6_tc = None
    if gamma_tc is not None:
        a6_tc = sp.simplify(a6.subs(alpha, alpha_c).subs(gamma, gamma_tc))
    return LandauExpansion(prior, a2, a4, a6, alpha_c, a4_c, gamma_tc, a6_tc)
