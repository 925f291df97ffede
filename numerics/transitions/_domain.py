"""The domain of definition of a typed free energy, inferred from its expression.

Each log(u) requires u > 0, each fractional power u^(p/q) requires u >= 0
(u > 0 for a negative power), atanh(u) requires -1 < u < 1, acosh(u) requires
u >= 1, and 1/u requires u != 0. A condition linear in one order parameter,
a x_i + b > 0 with a and b functions of the control and parameters only,
becomes a bound on x_i: these bounds form the box in which minima are
searched, sampled at the box's own scale and densely near its edges (so a
minimum close to a log boundary is bracketed). Every other condition is kept
as a filter: points where it fails are outside the domain.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Condition:
    text: str          # e.g. "1 - m > 0"
    strict: bool       # > 0 (True) or >= 0 (False); nonzero conditions are not kept (they are holes, not edges)
    fn: object         # numpy function (x..., c, params...) -> value that must be positive


@dataclass(frozen=True)
class Bound:
    index: int         # which order parameter (a lower bound if a > 0, an upper bound if a < 0)
    coefficient: object  # numpy function (c, params...) -> a
    offset: object       # numpy function (c, params...) -> b   (condition a x_i + b > 0)
    text: str


@dataclass(frozen=True)
class Domain:
    conditions: tuple
    bounds: tuple

    @property
    def unbounded(self) -> bool:
        return not self.conditions

    def describe(self) -> list:
        return [c.text for c in self.conditions]

    def box(self, k, c, params):
        """(lo, hi) arrays of shape (k,) + shape(c): the bounds on each order parameter at control c."""
        c = np.asarray(c, float)
        lo = np.full((k,) + c.shape, -np.inf)
        hi = np.full((k,) + c.shape, np.inf)
        with np.errstate(all="ignore"):
            for b in self.bounds:
                a = np.broadcast_to(np.asarray(b.coefficient(c, *params), float), c.shape)
                off = np.broadcast_to(np.asarray(b.offset(c, *params), float), c.shape)
                edge = -off / a
                lower = a > 0
                lo[b.index] = np.where(lower & np.isfinite(edge), np.maximum(lo[b.index], edge), lo[b.index])
                hi[b.index] = np.where(~lower & (a != 0) & np.isfinite(edge), np.minimum(hi[b.index], edge),
                                       hi[b.index])
        return lo, hi

    def inside(self, xs, c, params):
        """Boolean array: every condition holds at (xs, c)."""
        shape = np.broadcast_shapes(*[np.shape(v) for v in xs], np.shape(c))
        ok = np.ones(shape, bool)
        with np.errstate(all="ignore"):
            for cond in self.conditions:
                v = np.broadcast_to(np.asarray(cond.fn(*xs, c, *params), float), shape)
                ok &= (v > 0) if cond.strict else (v >= 0)
        return ok


UNBOUNDED = Domain((), ())


def infer_domain(expr, order_params, control, params) -> Domain:
    """Domain of ``expr`` (a SymPy expression) in the order parameters."""
    import sympy as sp

    raw = []          # (u, strict)
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.log):
            raw.append((node.args[0], True))
        elif isinstance(node, sp.Pow):
            base, e = node.args
            if e.is_number and not e.is_integer:
                raw.append((base, bool(e.is_negative)))
        elif isinstance(node, sp.atanh):
            raw += [(1 - node.args[0], True), (1 + node.args[0], True)]
        elif isinstance(node, sp.acosh):
            raw.append((node.args[0] - 1, False))
    xs = list(order_params)
    args = xs + [control] + list(params)
    conditions, bounds, seen = [], [], set()
    for u, strict in raw:
        u = sp.expand(u)
        if not (u.free_symbols & set(xs)):
            continue           # a condition on the parameters only: not part of the order-parameter domain
        key = (sp.srepr(u), strict)
        if key in seen:
            continue
        seen.add(key)
        text = f"{sp.sstr(u)} {'>' if strict else '>='} 0"
        conditions.append(Condition(text, strict, sp.lambdify(args, u, "numpy")))
        present = [x for x in xs if u.has(x)]
        if len(present) == 1:
            x = present[0]
            poly = sp.Poly(u, x) if u.is_polynomial(x) else None
            if poly is not None and poly.degree() == 1:
                a, b = poly.all_coeffs()
                bounds.append(Bound(xs.index(x), sp.lambdify([control] + list(params), a, "numpy"),
                                    sp.lambdify([control] + list(params), b, "numpy"), text))
    return Domain(tuple(conditions), tuple(bounds))


def axis_samples(lo: float, hi: float, n: int, center: float = 0.0, xmax: float = 1e4, edge: float = 1e-15):
    """n sample points of one order parameter inside (lo, hi), at the interval's own scale.

    Finite interval: logistic spacing, from `edge` (relative) away from either end to the middle, so minima
    close to a log boundary are bracketed. Half-line: geometric distances from the edge out to xmax.
    Whole line: sinh spacing around center out to +-xmax, merged with geometric distances from center (down
    to 1e-12 of the scale): minima closer to center than one sinh step (a model whose order parameter lives
    at 1e-4, e.g. softmax logits at gamma = 1e4) are bracketed too.
    """
    if np.isfinite(lo) and np.isfinite(hi):
        width = hi - lo
        top = np.log((1 - edge) / edge)
        s = 1 / (1 + np.exp(-np.linspace(-top, top, n)))
        return lo + width * s
    if np.isfinite(lo) or np.isfinite(hi):
        edge_value = lo if np.isfinite(lo) else hi
        scale = max(1.0, abs(edge_value))
        d = np.geomspace(edge * scale, xmax, n)
        return edge_value + d if np.isfinite(lo) else edge_value - d
    u = np.linspace(-np.arcsinh(xmax), np.arcsinh(xmax), n if n % 2 else n + 1)
    d = np.geomspace(1e-12 * max(1.0, abs(center)), xmax, max(n // 2, 2))
    return np.unique(np.concatenate([center + np.sinh(u), center - d, center + d]))
