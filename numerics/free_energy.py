"""Local minima of the reduced free energy at fixed alpha, with their evidence."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from copyhead.errors import ConvergenceError, InvalidParameterError, NumericalRangeError
from copyhead.spec import ModelSpec


@dataclass(frozen=True)
class Minimum:
    """A local minimum of the reduced free energy f(x; alpha).

    order_parameter: the primary order parameter (delta for softmax, s for linear);
    order_parameters: all of them by name; m: mean attention on the previous
    token; q: mean squared row norm of A; f: free energy per N (including the
    A-independent data constant); hessian_eigenvalues: evidence that it is a
    minimum (all > 0); gradient_norm: residual of stationarity;
    is_global: lowest f among the minima found.
    """

    order_parameter: float
    order_parameters: dict
    m: float
    q: float
    f: float
    hessian_eigenvalues: tuple
    gradient_norm: float
    is_global: bool = False

    def to_dict(self) -> dict:
        return {"order_parameters": dict(self.order_parameters), "m": self.m, "q": self.q, "f": self.f,
                "is_global": self.is_global, "hessian_eigenvalues": list(self.hessian_eigenvalues),
                "gradient_norm": self.gradient_norm}


def _check_alpha(alpha) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating, np.integer)):
        raise InvalidParameterError("alpha", f"must be a positive finite number, got {alpha!r}")
    alpha = float(alpha)
    if not (math.isfinite(alpha) and alpha > 0):
        raise InvalidParameterError("alpha", f"must be a positive finite number, got {alpha!r}")
    return alpha


def model_params(spec: ModelSpec, alpha: float) -> list[float]:
    """Parameter vector of compiled_model(..., control='alpha'); the order is owned by CopyHeadModel."""
    from copyhead.model import CopyHeadModel

    model = CopyHeadModel(spec)
    return model.param_vector(model.compiled().params)


def _outer_bracket(fe, params, alpha, scale):
    """Grow |x| until the gradient points outward on both sides: no minimum lies beyond."""
    x_max = 20.0 * scale
    for _ in range(12):
        g_hi = float(fe.gradient([x_max], alpha, params)[0])
        g_lo = float(fe.gradient([-x_max], alpha, params)[0])
        if g_hi > 0 and g_lo < 0:
            return x_max
        x_max *= 2
    raise ConvergenceError(f"alpha={alpha}: the free-energy gradient does not point outward up to |x|={x_max:.3g}")


def _minima_1d(fe, params, alpha, scale):
    x_max = _outer_bracket(fe, params, alpha, scale)
    side = np.geomspace(1e-4 * scale, x_max, 4000)
    grid = np.concatenate([-side[::-1], [0.0], side])
    grad = fe.gradient([grid], alpha, params)[0]
    if not np.all(np.isfinite(grad)):
        raise ConvergenceError(f"alpha={alpha}: non-finite gradient on the search grid")
    found = []
    for i in np.nonzero((grad[:-1] < 0) & (grad[1:] >= 0))[0]:
        lo, hi = grid[i], grid[i + 1]
        g = lambda v: float(fe.gradient([v], alpha, params)[0])  # noqa: E731
        root = lo if g(lo) == 0 else optimize.brentq(g, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=200)
        found.append(np.array([root]))
    return found


def _minima_nd(fe, params, alpha, scale, k):
    levels = np.array([0.0, 0.3, 1.0, 3.0, -0.3, -1.0, -3.0]) * scale
    starts = np.array(np.meshgrid(*[levels] * k)).reshape(k, -1).T
    found = []
    for start in starts:
        res = optimize.minimize(lambda v: float(fe.value(v, alpha, params)), start,
                                jac=lambda v: fe.gradient(v, alpha, params),
                                hess=lambda v: fe.hessian(v, alpha, params), method="trust-exact",
                                options={"gtol": 1e-11, "maxiter": 500})
        if res.success and not any(np.allclose(res.x, other, atol=1e-7 * scale) for other in found):
            found.append(res.x)
    return found


def local_minima(spec: ModelSpec, alpha: float) -> tuple[Minimum, ...]:
    """All local minima of the reduced free energy of spec at this alpha, sorted by f
    (the same as ``CopyHeadModel(spec).minima(alpha)``; see minima_of for the method)."""
    from copyhead.model import CopyHeadModel

    if not isinstance(spec, ModelSpec):
        raise InvalidParameterError("spec", f"must be a ModelSpec, got {type(spec).__name__}")
    return CopyHeadModel(spec).minima(_check_alpha(alpha))


def minima_of(fe, obs, params, obs_params, alpha: float, scale: float) -> tuple[Minimum, ...]:
    """All local minima of a compiled free energy fe at this alpha, sorted by f.

    params: fe's parameter vector; obs: {"m", "q"} functions of (x, *obs_params); scale: the natural size
    of the order parameter (sigma_q sigma_k). 1-D models: every sign change of f' on a log-spaced grid
    inside a bracket where f' points outward is refined by Brent's method. 2-D (one-hot linear):
    multi-start trust-region Newton with exact Hessians. A point is kept only if its Hessian is positive
    definite.
    """
    alpha = _check_alpha(alpha)
    k = len(fe.order_params)
    points = _minima_1d(fe, params, alpha, scale) if k == 1 else _minima_nd(fe, params, alpha, scale, k)
    minima = []
    for x in points:
        eig = np.linalg.eigvalsh(np.atleast_2d(fe.hessian(list(x), alpha, params)))
        if not np.all(eig > 0):
            continue
        f = float(fe.value(list(x), alpha, params))
        m = float(obs["m"](*x, *obs_params))
        q = float(obs["q"](*x, *obs_params))
        grad = float(np.linalg.norm(fe.gradient(list(x), alpha, params)))
        if not all(np.isfinite([f, m, q, grad, *eig])):
            raise NumericalRangeError(f"alpha={alpha}: the minimum at {dict(zip(fe.order_params, map(float, x)))} has "
                                      f"f={f:.3g}, Hessian eigenvalues {eig.tolist()}: outside double precision; "
                                      "rescale sigma_q, sigma_k, gamma or use the mpmath evaluators")
        minima.append(Minimum(float(x[0]), dict(zip(fe.order_params, map(float, x))), m, q, f,
                              tuple(map(float, eig)), grad))
    if not minima:
        raise ConvergenceError(f"alpha={alpha}: no local minimum with a positive-definite Hessian was found")
    minima.sort(key=lambda mn: mn.f)
    f_min = minima[0].f
    return tuple(Minimum(**{**mn.__dict__, "is_global": mn.f - f_min <= 1e-12 * max(1.0, abs(f_min))})
                 for mn in minima)
