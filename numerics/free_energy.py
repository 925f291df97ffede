"""Local minima of the reduced free energy at fixed alpha, with their evidence."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from copyhead.errors import ConvergenceError, InvalidParameterError, NumericalRangeError
from copyhead.spec import DERIVED_RANGE, ModelSpec

from .compiled import compiled_model, compiled_observables


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
    """Parameter vector of compiled_model(..., control='alpha') (the model parameters in order)."""
    return [float(v) for v in spec.numeric_params.values()]


def scaled_units(spec: ModelSpec, alpha: float) -> tuple[float, list[float]]:
    """(alpha / sigma2, parameters with sigma2 = 1): the same minimisation in units where sigma2 = 1.

    The free energy depends on alpha and sigma2 only through kappa = alpha T (V-1) / (2 sigma2 V) and
    eps = V sigma2 / (alpha T sigma_w^2), i.e. through alpha / sigma2, up to a constant independent of the order
    parameters (tested in tests/test_hardening_numerics.py). A parameter whose derived kappa or eps leaves
    DERIVED_RANGE is refused, naming it."""
    alpha_scaled = alpha / spec.sigma2
    kappa = alpha_scaled * spec.T * (spec.V - 1) / (2 * spec.V)
    eps = spec.V / (alpha_scaled * spec.T * spec.sigma_w ** 2)
    lo, hi = DERIVED_RANGE
    for name, value in (("kappa = alpha T (V-1) / (2 sigma2 V)", kappa), ("eps = V sigma2 / (alpha T sigma_w^2)", eps)):
        if not (lo <= value <= hi):
            raise InvalidParameterError("alpha", f"{alpha!r} with sigma2 = {spec.sigma2!r} gives {name} = {value:.3g}, "
                                        f"outside [{lo:g}, {hi:g}] where double precision holds")
    params = model_params(spec, alpha)
    params[list(spec.numeric_params).index("sigma2")] = 1.0
    return alpha_scaled, params


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


#: A point is stationary when the Newton step it would take is below this fraction of the problem's length scale.
NEWTON_STEP_TOL = 1e-9


def _polish(fe, params, alpha, x, scale, iterations: int = 30):
    """Newton on the gradient from x; returns the point if the last Newton step is below NEWTON_STEP_TOL of
    max(scale, |x|) with a positive-definite Hessian, else None. The test is relative to the problem's own
    length scale: an absolute gradient tolerance rejects converged minima when f is large (f ~ 1e3 at alpha = 6)."""
    x = np.asarray(x, dtype=float)
    for _ in range(iterations):
        g = np.asarray(fe.gradient(list(x), alpha, params), dtype=float)
        H = np.atleast_2d(np.asarray(fe.hessian(list(x), alpha, params), dtype=float))
        if not (np.all(np.isfinite(g)) and np.all(np.isfinite(H))) or not np.all(np.linalg.eigvalsh(H) > 0):
            return None
        step = np.linalg.solve(H, -g)
        x = x + step
        if np.linalg.norm(step) <= NEWTON_STEP_TOL * max(scale, float(np.linalg.norm(x))):
            return x
    return None


def _minima_nd(fe, params, alpha, scale, k):
    levels = np.array([0.0, 0.3, 1.0, 3.0, -0.3, -1.0, -3.0]) * scale
    starts = np.array(np.meshgrid(*[levels] * k)).reshape(k, -1).T
    found = []
    for start in starts:
        res = optimize.minimize(lambda v: float(fe.value(v, alpha, params)), start,
                                jac=lambda v: fe.gradient(v, alpha, params),
                                hess=lambda v: fe.hessian(v, alpha, params), method="trust-exact",
                                options={"gtol": 1e-11, "maxiter": 500})
        # res.success is not the test: trust-exact stops at the rounding floor of f with success False.
        x = _polish(fe, params, alpha, res.x, scale)
        if x is not None and not any(np.allclose(x, other, atol=1e-7 * scale) for other in found):
            found.append(x)
    return found


def local_minima(spec: ModelSpec, alpha: float) -> tuple[Minimum, ...]:
    """All local minima of the reduced free energy at this alpha, sorted by f.

    1-D models: every sign change of f' on a log-spaced grid inside a bracket
    where f' points outward is refined by Brent's method. 2-D (one-hot linear):
    multi-start trust-region Newton with exact Hessians. A point is kept only if
    its Hessian is positive definite.
    """
    if not isinstance(spec, ModelSpec):
        raise InvalidParameterError("spec", f"must be a ModelSpec, got {type(spec).__name__}")
    alpha = _check_alpha(alpha)
    fe = compiled_model(spec.attention, spec.tokens, spec.prior)
    obs = compiled_observables(spec.attention, spec.tokens)
    # Minimise in units where sigma2 = 1 (same minima, f shifted by an x-independent constant): at sigma2 = 1e12
    # the constant (~ alpha T V log sigma2) would otherwise swamp the differences between minima.
    alpha_raw, params_raw = alpha, model_params(spec, alpha)
    alpha, params = scaled_units(spec, alpha)
    k = len(fe.order_params)
    origin = [0.0] * k
    shift = float(fe.value(origin, alpha_raw, params_raw)) - float(fe.value(origin, alpha, params))
    if not math.isfinite(shift):
        raise NumericalRangeError(f"alpha={alpha_raw}: the data term of f at sigma2={spec.sigma2!r} is outside double "
                                  "precision; rescale sigma2 and alpha together")
    scale = spec.sigma_q * spec.sigma_k
    if k == 1 and spec.attention == "softmax":
        scale = min(scale, 1.0 / spec.gamma)   # logits are gamma * delta: at large gamma the minima sit at small delta
    points = _minima_1d(fe, params, alpha, scale) if k == 1 else _minima_nd(fe, params, alpha, scale, k)
    minima = []
    for x in points:
        eig = np.linalg.eigvalsh(np.atleast_2d(fe.hessian(list(x), alpha, params)))
        if not np.all(eig > 0):
            continue
        f = float(fe.value(list(x), alpha, params))
        m = float(obs["m"](*x, *params))
        q = float(obs["q"](*x, *params))
        grad = float(np.linalg.norm(fe.gradient(list(x), alpha, params)))
        if not all(np.isfinite([f, m, q, grad, *eig])):
            raise NumericalRangeError(f"alpha={alpha}: the minimum at {dict(zip(fe.order_params, map(float, x)))} has "
                                      f"f={f:.3g}, Hessian eigenvalues {eig.tolist()}: outside double precision; "
                                      "rescale sigma_q, sigma_k, gamma or use the mpmath evaluators")
        minima.append(Minimum(float(x[0]), dict(zip(fe.order_params, map(float, x))), m, q, f,
                              tuple(map(float, eig)), grad))
    if not minima:
        raise ConvergenceError(f"alpha={alpha_raw}: no local minimum with a positive-definite Hessian was found")
    minima.sort(key=lambda mn: mn.f)
    f_min = minima[0].f
    # is_global is decided in scaled units; f is reported in the user's units (the constant shift added back)
    return tuple(Minimum(**{**mn.__dict__, "f": mn.f + shift,
                            "is_global": mn.f - f_min <= 1e-12 * max(1.0, abs(f_min))})
                 for mn in minima)
