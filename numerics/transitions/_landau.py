"""Landau coefficients from the symbolic layer.

At a symmetric point x0 (gradient identically zero in the control) the free
energy along a unit direction v is f(x0 + t v) = f0 + a2 t^2 + a3 t^3 + a4 t^4.
We compile the exact quartic Taylor form Q4(y) = (1/24) d^4/dt^4 f(x0 + t y)|_0
(a polynomial in y whose coefficients are functions of control and params),
through the project's compiler (so it is disk-cached like the free energy).
The effective quartic along the soft mode v, after eliminating the stiff
modes at quadratic order, is
    a4_eff = Q4(v) - (1/8) b^T H_perp^+ b,   b_i = D^3 f[v, v, e_i] on the complement of v.
"""
from __future__ import annotations

import numpy as np


def quartic_form_expr(expr, order_params, x0):
    """(Q4 polynomial, dummy direction symbols) for expr at x0."""
    import sympy as sp

    t = sp.Symbol("landau_t", real=True)
    ys = tuple(sp.Symbol(f"landau_y{i}", real=True) for i in range(len(order_params)))
    body = expr.doit() if hasattr(expr, "doit") else expr
    shifted = body.subs({x: x0_ + t * y for x, x0_, y in zip(order_params, x0, ys)}, simultaneous=True)
    q4 = sp.diff(shifted, t, 4).subs(t, 0) / 24
    return q4, ys


def symmetric_point_of(expr, order_params, control, params):
    """The zero vector if grad f vanishes there identically in control and params, else None.

    Checked symbolically (simplify) and, as a guard, numerically at random points.
    """
    import sympy as sp

    zero = {x: 0 for x in order_params}
    rng = np.random.default_rng(12345)
    for x in order_params:
        g = sp.diff(expr, x).doit()
        try:
            g0 = g.subs(zero)
        except Exception:  # pragma: no cover - defensive
            return None
        if g0.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
            return None
        if sp.simplify(g0) == 0:
            continue
        syms = [control, *params]
        for _ in range(4):
            values = {s: float(rng.uniform(0.3, 3.0)) for s in syms}
            val = complex(g0.evalf(30, subs=values))
            if not np.isfinite(val) or abs(val) > 1e-20:
                return None
    return tuple(0.0 for _ in order_params)


def effective_quartic(q4_value, v, hessian, third):
    """a4_eff from Q4(v), the Hessian and third-derivative tensor at the symmetric point (unit v)."""
    k = len(v)
    a3 = float(np.einsum("ijk,i,j,k->", third, v, v, v)) / 6.0
    if k == 1:
        return float(q4_value), a3, 0.0
    b = np.einsum("ijk,i,j->k", third, v, v)
    proj = np.eye(k) - np.outer(v, v)
    hp = proj @ hessian @ proj
    correction = -0.125 * float(b @ proj @ np.linalg.pinv(hp, rcond=1e-10) @ proj @ b)
    return float(q4_value) + correction, a3, correction
