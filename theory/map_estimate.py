"""The MAP estimate (Adam with weight decay matching the prior), reduced to order parameters.

Adam with coupled L2 weight decay ``1/var`` per coordinate ascends the joint log
posterior over (Q, K, W); its fixed points are MAP estimates.  Per N:

1. **Readout.** At fixed (Q, K) the W-problem is ridge regression; its minimum
   is ``(1/(2 sigma2 N)) [tr Y^T Y - tr C^T R^{-1} C]``, the marginal's quadratic
   term without the log-determinant, and the determinant is O(1/N) per N
   (``population.logdet_per_n_limit`` = 0).  So the MAP data term per N has the
   same limit as the Bayes one: ``population.energy``.
2. **Queries and keys.** At fixed S = Q K^T / N,
   ``min (|Q|^2/(2 sigma_q^2) + |K|^2/(2 sigma_k^2)) / N = ||S||_* / (sigma_q sigma_k)``
   (the variational form of the nuclear norm, attained when N >= rank S).  One
   singular pair: ``min_{a b = x} (a^2 + b^2)/2 = |x|`` (:func:`scalar_block`).
   The Bayes rate ``phi(x)`` is replaced by ``|x|``: the MAP keeps the prior's
   "energy" (the linear growth of phi) and drops its entropy
   (``phi(x) = |x| - log|x|/2 - 1/2 + o(1)``).
3. **Reduced objective.** With the kinematics of ``theory.reduced`` (same ansatz,
   same energy), ``f_MAP = sum_i mult_i |sv_i| / (sigma_q sigma_k) + energy + data constant``;
   softmax: ``(T-1)|delta| / (sigma_q sigma_k) + energy(m(delta), q(delta))``.
4. **The kink.** ``|x|`` is not differentiable at 0, so S = 0 is a local MAP
   minimum whenever the subgradient condition ``|E'(0)| <= c`` holds, with c the
   kink slope ``(T-1)/(sigma_q sigma_k)`` (softmax) or ``T/(sigma_q sigma_k)``
   (centred linear).  For linear attention E'(0) = 0 by the S -> -S symmetry:
   the origin is always a local MAP minimum, so the MAP transition of linear
   attention is discontinuous (a copy minimum appears at finite s), unlike the
   Bayes posterior's second-order onset.

Numbers: :func:`map_minima` (1-D families: softmax with either token kind,
linear with centred tokens; bilinear prior only -- the gaussian-logit prior
puts the Gaussian on S directly, whose MAP is the minimum of the reduced free
energy itself).  Checked in derivations/map_estimate.py.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy as sp

from copyhead.errors import ConvergenceError, DerivationCheckFailed

from . import population
from .reduced import kinematics, reduced_model
from .symbols import MODEL_PARAMS, alpha, sigma_q, sigma_k, x

__all__ = ["scalar_block", "map_objective", "MapObjective", "kink_condition", "softmax_kink_threshold",
           "MapMinimum", "map_minima", "SUPPORTED"]

#: (attention, tokens) families with one order parameter, handled by map_minima.
SUPPORTED = (("softmax", "centred"), ("softmax", "onehot"), ("linear", "centred"))


@lru_cache(maxsize=None)
def scalar_block() -> tuple[sp.Expr, sp.Expr]:
    """min over a > 0 of (a^2 + b^2)/2 with a b = x > 0, by SymPy: (minimiser a, minimum).

    One singular pair of S: Q and K contribute a u and b v with a b = x."""
    a_ = sp.Symbol("a_", positive=True)
    xp = sp.Symbol("x_p", positive=True)
    cost = (a_**2 + (xp / a_) ** 2) / 2
    roots = [r for r in sp.solve(sp.diff(cost, a_), a_) if r.is_positive]
    if len(roots) != 1:
        raise DerivationCheckFailed("MAP scalar block", f"expected one positive stationary point, found {roots}")
    value = sp.simplify(cost.subs(a_, roots[0]))
    return roots[0].subs(xp, x), value.subs(xp, x)


@dataclass(frozen=True)
class MapObjective:
    """Reduced MAP objective per N of one (attention, tokens) family.

    order_param: the symbol (delta or s); objective: with Abs (the kink);
    prior_term: sum mult |sv| / (sigma_q sigma_k); energy: population energy at
    the reduced A (identical to the Bayes reduced model's); kink_slope: c with
    prior_term = c |order_param|; branches: {+1: objective on order_param > 0,
    -1: on order_param < 0} without Abs; m, q: observables.
    """

    attention: str
    tokens: str
    order_param: sp.Symbol
    objective: sp.Expr
    prior_term: sp.Expr
    energy: sp.Expr
    kink_slope: sp.Expr
    branches: dict
    m: sp.Expr
    q: sp.Expr


@lru_cache(maxsize=None)
def map_objective(attention: str, tokens: str) -> MapObjective:
    if (attention, tokens) not in SUPPORTED:
        raise NotImplementedError(f"MAP reduction implemented for {SUPPORTED}; got {(attention, tokens)}")
    kin = kinematics(attention, tokens)
    (op,) = kin.order_params
    _, block_value = scalar_block()  # = x for x > 0, i.e. |x| per singular value
    scale = sigma_q * sigma_k
    prior_term = sum(mult * block_value.subs(x, sv / scale) for sv, mult in kin.singular_values if sv != 0)
    energy_ = reduced_model(attention, tokens, "bilinear").energy
    objective = prior_term + energy_ + population.data_constant(tokens)
    slope = sp.simplify(prior_term.subs(sp.Abs(op), 1).subs(op, 1))  # prior_term = slope |op|
    if sp.simplify(prior_term - slope * sp.Abs(op)) != 0:
        raise DerivationCheckFailed("MAP objective", "the prior term is not proportional to |order parameter|")
    branches = {sign: objective.replace(sp.Abs, lambda arg: sign * arg) for sign in (1, -1)}
    return MapObjective(attention, tokens, op, objective, prior_term, energy_, slope, branches, kin.m, kin.q)


@lru_cache(maxsize=None)
def kink_condition(attention: str, tokens: str) -> tuple[sp.Expr, sp.Expr]:
    """(E'(0), c): S = 0 is a local MAP minimum iff |E'(0)| <= c (subgradient condition)."""
    obj = map_objective(attention, tokens)
    e0 = sp.simplify(sp.diff(obj.energy, obj.order_param).subs(obj.order_param, 0))
    return e0, obj.kink_slope


@lru_cache(maxsize=None)
def softmax_kink_threshold() -> sp.Expr:
    """Softmax, centred tokens: S = 0 is a local MAP minimum iff this expression <= 1.

    Derived from kink_condition: |E'(0)| / c, simplified; it equals
    2 kappa gamma sigma_q sigma_k / (T^2 (1 + eps T)) with (kappa, eps) from
    population.kappa_eps (checked in derivations/map_estimate.py)."""
    e0, c = kink_condition("softmax", "centred")
    return sp.simplify(-e0 / c)


# ----------------------------------------------------------------------------- numbers
@dataclass(frozen=True)
class MapMinimum:
    """A local minimum of the reduced MAP objective.

    order_parameter: delta (softmax) or s (linear); m, q: observables; f: objective
    per N (energy + nuclear-norm prior + data constant; Gaussian normalising
    constants excluded); kind: 'kink' (S = 0, held by the subgradient condition)
    or 'smooth' (stationary with positive curvature); margin: c - |E'(0)| for a
    kink, f'' for a smooth minimum; is_global: lowest f among those found.
    """

    order_parameter: float
    m: float
    q: float
    f: float
    kind: str
    margin: float
    is_global: bool = False

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@lru_cache(maxsize=None)
def _compiled(attention: str, tokens: str):
    obj = map_objective(attention, tokens)
    op = obj.order_param
    args = (op, *MODEL_PARAMS, alpha)
    out = {}
    for sign, expr in obj.branches.items():
        e = expr.doit()
        g = sp.diff(e, op)
        out[sign] = tuple(sp.lambdify(args, z, "numpy") for z in (e, g, sp.diff(g, op)))
    e0, c = kink_condition(attention, tokens)
    out["kink"] = (sp.lambdify(args[1:], e0, "numpy"), sp.lambdify(args[1:], c, "numpy"))
    out["m"] = sp.lambdify(args, obj.m, "numpy")
    out["q"] = sp.lambdify(args, obj.q, "numpy")
    return out


def map_minima(spec, alpha_value: float) -> tuple[MapMinimum, ...]:
    """All local minima of the reduced MAP objective at this alpha, sorted by f.

    Smooth minima: sign changes (- to +) of f' on each side of 0, on a log grid
    inside a bracket where f' points outward, refined by brentq; kept if f'' > 0.
    The kink S = 0 is kept if |E'(0)| <= c.  Symmetric partners (linear: s and
    -s) are both returned.
    """
    from scipy.optimize import brentq

    from copyhead.errors import InvalidParameterError

    if spec.prior != "bilinear":
        raise InvalidParameterError("prior", "the MAP reduction is for the bilinear prior (Q, K sampled)")
    a = float(alpha_value)
    if not (math.isfinite(a) and a > 0):
        raise InvalidParameterError("alpha", f"must be a positive finite number, got {alpha_value!r}")
    fun = _compiled(spec.attention, spec.tokens)
    params = tuple(float(v) for v in spec.numeric_params.values())
    scale = spec.sigma_q * spec.sigma_k
    found = []
    e0, c = (float(fn(*params, a)) for fn in fun["kink"])
    if abs(e0) <= c:
        f0 = float(fun[1][0](0.0, *params, a))
        found.append((0.0, f0, "kink", c - abs(e0)))
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        for sign in (1, -1):
            f, g, h = fun[sign]
            gs = lambda t: float(g(sign * t, *params, a)) * sign  # noqa: E731  derivative along |op|
            x_max = 20.0 * scale
            for _ in range(20):
                if gs(x_max) > 0:
                    break
                x_max *= 2
            else:
                raise ConvergenceError(f"alpha={a}: MAP objective does not grow at |op| = {x_max:.3g}")
            grid = np.geomspace(1e-6 * scale, x_max, 4000)
            # the grid in one vectorised call (the signs only bracket; brentq refines with scalar calls)
            vals = sign * np.broadcast_to(np.asarray(g(sign * grid, *params, a), dtype=float), grid.shape)
            for i in np.nonzero((vals[:-1] < 0) & (vals[1:] >= 0))[0]:
                t = brentq(gs, grid[i], grid[i + 1], xtol=1e-14, rtol=4 * np.finfo(float).eps)
                curv = float(h(sign * t, *params, a))
                if curv > 0:
                    found.append((sign * t, float(f(sign * t, *params, a)), "smooth", curv))
    if not found:
        raise ConvergenceError(f"alpha={a}: no MAP minimum found")
    f_min = min(z[1] for z in found)
    out = []
    for op, fv, kind, margin in sorted(found, key=lambda z: z[1]):
        m = float(fun["m"](op, *params, a))
        q = float(fun["q"](op, *params, a))
        out.append(MapMinimum(op, m, q, fv, kind, margin, fv - f_min <= 1e-12 * max(1.0, abs(f_min))))
    return tuple(out)
