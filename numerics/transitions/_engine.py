"""The Problem abstraction and vectorised stationary-point search.

A Problem is a compiled free energy f(x; c, params) with exact derivative
blocks, a chosen control c, fixed params, a reported observable and (if it
has one) a symmetric point x0 where grad f = 0 for every c.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Callable

import numpy as np

from copyhead.errors import InvalidParameterError

from ._domain import UNBOUNDED, Domain, axis_samples
from ._options import DEFAULT

XMAX = DEFAULT.xmax   # order parameters beyond this are "at infinity"


@dataclass(frozen=True)
class Problem:
    compiled: object                      # numerics.compiled.CompiledFreeEnergy
    control: str
    param_values: dict                    # name -> float for every compiled param
    order_names: tuple
    observable_name: str
    observable: Callable | None = None    # (xs list, c, param_values) -> array
    symmetric_point: tuple | None = None
    quartic: object | None = None         # compiled Q4(y; c, params) or None
    mp_observable: Callable | None = None
    label: str = ""
    positive_control: bool = False        # control must stay > 0 (e.g. alpha)
    extra: dict = field(default_factory=dict)
    symmetric_candidate: tuple | None = None   # re-checked numerically whenever params change
    domain: Domain = UNBOUNDED                  # where f is defined (inferred from the expression)
    mp_overrides: dict = field(default_factory=dict)   # name -> mpf: parameters carried beyond double precision

    @property
    def k(self) -> int:
        return len(self.order_names)

    @property
    def p(self) -> tuple:
        return tuple(np.float64(self.param_values[n]) for n in self.compiled.params)

    def with_params(self, **changes) -> "Problem":
        unknown = [n for n in changes if n not in self.param_values]
        if unknown:
            raise InvalidParameterError(unknown[0], f"is not a parameter of this free energy; known: "
                                                    f"{', '.join(self.param_values)}")
        new = replace(self, param_values={**self.param_values, **{k: float(v) for k, v in changes.items()}},
                      mp_overrides={k: v for k, v in self.mp_overrides.items() if k not in changes})
        return with_symmetry(new) if self.symmetric_candidate is not None else new

    def with_mp_params(self, **changes) -> "Problem":
        """Parameters set to mpmath numbers (their float value for the numpy blocks, the full value for mpmath)."""
        new = self.with_params(**{k: float(v) for k, v in changes.items()})
        return replace(new, mp_overrides={**self.mp_overrides, **changes})

    # ---- exact blocks (x: sequence of k arrays or floats) ----
    def blk(self, name, x, c):
        # no mpmath repair on arrays: scans meet many points outside the domain or far out, and skip non-finite
        # ones; a single point (Newton, continuation, tracking) is repaired where an intermediate overflowed
        out = self.compiled.block(name, x, c, self.p, repair=False)
        if np.ndim(c) == 0 and all(np.ndim(v) == 0 for v in x) and not np.all(np.isfinite(out)):
            return self.repaired(name, x, c, np.asarray(out, float))
        return out

    def f(self, x, c):
        return self.compiled.block("value", x, c, self.p, repair=False)

    def repaired(self, name, x, c, out):
        """Block `name` at one point whose double-precision evaluation `out` is not finite: an intermediate
        overflowed (cosh(500)^2 in the Hessian of log cosh x), so it is recomputed in mpmath, but only inside
        the domain, where the complex continuation of a term cannot pass for a real value."""
        with np.errstate(all="ignore"):
            inside = bool(np.all(self.domain.inside([float(v) for v in x], float(c), self.p)))
        if not inside:
            return out
        return np.asarray(self.compiled.block(name, [float(v) for v in x], float(c), self.p, repair=True), float)

    def grad(self, x, c):
        return self.blk("gradient", x, c)

    def hess(self, x, c):
        return self.blk("hessian", x, c)

    def at(self, x, c, mp: bool = False) -> "Point":
        """Named, shaped derivative blocks at one point (numpy floats, or mpmath numbers with mp=True)."""
        return Point(self, x, c, mp)

    def obs(self, x, c):
        if self.observable is None:
            return np.asarray(x[0], dtype=float) + 0.0 * np.asarray(c, dtype=float)
        return np.asarray(self.observable(list(x), c, self.param_values), dtype=float)

    def obs_gradient(self, x, c):
        """d obs / d x (central differences of the observable; exact for the default observable)."""
        x = np.asarray(x, dtype=float)
        if self.observable is None:
            e = np.zeros(self.k)
            e[0] = 1.0
            return e
        out = np.zeros(self.k)
        for i in range(self.k):
            h = 1e-6 * (1.0 + abs(x[i]))
            xp, xm = x.copy(), x.copy()
            xp[i] += h
            xm[i] -= h
            out[i] = (float(self.obs(xp, c)) - float(self.obs(xm, c))) / (2 * h)
        return out

    def obs_d_control(self, x, c):
        if self.observable is None:
            return 0.0
        h = 1e-6 * (1.0 + abs(c))
        return (float(self.obs(x, c + h)) - float(self.obs(x, c - h))) / (2 * h)


class Point:
    """f and its exact derivatives at one (x, c), computed on first access.

    value (scalar), gradient (k,), hessian (k, k), third (k, k, k), d_control (scalar),
    gradient_d_control (k,), hessian_d_control (k, k). With mp=True the arrays hold
    mpmath numbers (dtype object) evaluated at the current mpmath precision.
    """

    def __init__(self, problem: Problem, x, c, mp: bool = False):
        self.problem, self.mp = problem, mp
        if mp:
            import mpmath

            self.x = [mpmath.mpf(v) for v in x]
            self.c = mpmath.mpf(c)
        else:
            self.x = [float(v) for v in x]
            self.c = float(c)

    def _block(self, name, shape):
        p = self.problem
        if self.mp:
            raw = p.compiled.mp_block(name, self.x, self.c, mp_params(p))
            return np.array(raw, dtype=object).reshape(shape) if shape else raw
        out = np.asarray(p.compiled.block(name, self.x, self.c, p.p, repair=False), float)
        if not np.all(np.isfinite(out)):
            out = p.repaired(name, self.x, self.c, out)
        return out.reshape(shape)

    @cached_property
    def value(self):
        return self._block("value", ()) if self.mp else float(self._block("value", ()))

    @cached_property
    def gradient(self):
        return self._block("gradient", (self.problem.k,))

    @cached_property
    def hessian(self):
        k = self.problem.k
        return self._block("hessian", (k, k))

    @cached_property
    def third(self):
        k = self.problem.k
        return self._block("third", (k, k, k))

    @cached_property
    def d_control(self):
        return self._block("d_control", ()) if self.mp else float(self._block("d_control", ()))

    @cached_property
    def gradient_d_control(self):
        return self._block("gradient_d_control", (self.problem.k,))

    @cached_property
    def hessian_d_control(self):
        k = self.problem.k
        return self._block("hessian_d_control", (k, k))

    def finite(self, *names) -> bool:
        if self.mp:
            return True
        return all(np.all(np.isfinite(getattr(self, n))) for n in names)


def mp_params(problem: Problem):
    """Parameters as mpf of their shortest decimal repr: a typed 0.48 means 48/100, not the nearest double."""
    import mpmath

    over = problem.mp_overrides
    return [mpmath.mpf(over[n]) if n in over else mpmath.mpf(repr(float(problem.param_values[n])))
            for n in problem.compiled.params]


# ------------------------------------------------------------------ reduced units

#: how many control and order-parameter derivatives each compiled block carries (scaled by unit^n)
CONTROL_ORDER = {"d_control": 1, "gradient_d_control": 1, "hessian_d_control": 1, "d2_control": 2}
X_ORDER = {"gradient": 1, "hessian": 2, "third": 3, "gradient_d_control": 1, "hessian_d_control": 2}


@dataclass(frozen=True)
class ReducedUnits:
    """A compiled free energy in reduced units u = c / 10^c_exp, y = x / 10^x_exp, every block exact in (y, u).

    The engine's tolerances are relative to 1 + |c| and 1 + |x|; a control living at 1e-20 or 1e12 (alpha* is
    proportional to sigma2), or an order parameter at 1e-7 (softmax logits at gamma = 1e6), is solved where
    both are O(1). Powers of ten keep decimal strings exact: the mpmath root u* is shifted, not re-rounded."""

    inner: object
    c_exp: int
    x_exp: int = 0
    f_exp: int = 0          # f itself in units of 10^f_exp (a free energy whose variations are ~1e-40)

    def __getattr__(self, name):          # params, order_params, control, ...
        if name in ("inner", "c_exp", "x_exp", "f_exp"):
            raise AttributeError(name)
        return getattr(self.inner, name)

    def _factor(self, name, ten):
        return ten ** (self.c_exp * CONTROL_ORDER.get(name, 0) + self.x_exp * X_ORDER.get(name, 0) - self.f_exp)

    def block(self, name, x, control, params, *, repair: bool = True):
        xu = 10.0 ** self.x_exp
        out = self.inner.block(name, [np.multiply(v, xu) for v in x], np.multiply(control, 10.0 ** self.c_exp),
                               params, repair=repair)
        factor = self._factor(name, 10.0)
        return out * factor if factor != 1 else out

    def value(self, x, control, params, *, repair: bool = True):
        return self.block("value", x, control, params, repair=repair)

    def mp_block(self, name, x, control, params):
        import mpmath

        ten = mpmath.mpf(10)
        raw = self.inner.mp_block(name, [mpmath.mpf(v) * ten ** self.x_exp for v in x],
                                  mpmath.mpf(control) * ten ** self.c_exp, params)
        factor = self._factor(name, ten)
        return _scaled_nested(raw, factor) if factor != 1 else raw


def _scaled_nested(raw, factor):
    if isinstance(raw, (list, tuple)):
        return [_scaled_nested(v, factor) for v in raw]
    return raw * factor


@dataclass(frozen=True)
class ReducedDomain:
    """The domain in reduced units (see ReducedUnits)."""

    inner: Domain
    c_exp: int
    x_exp: int = 0

    @property
    def unbounded(self) -> bool:
        return self.inner.unbounded

    @property
    def conditions(self):
        return self.inner.conditions

    def describe(self) -> list:
        return self.inner.describe()

    def box(self, k, c, params):
        lo, hi = self.inner.box(k, np.multiply(c, 10.0 ** self.c_exp), params)
        return lo / 10.0 ** self.x_exp, hi / 10.0 ** self.x_exp

    def inside(self, xs, c, params):
        xu = 10.0 ** self.x_exp
        return self.inner.inside([np.multiply(v, xu) for v in xs], np.multiply(c, 10.0 ** self.c_exp), params)


def unit_exponents(problem: Problem) -> tuple:
    """(c_exp, x_exp, f_exp) of a problem in reduced units, (0, 0, 0) for the user's own units."""
    return tuple(problem.extra.get("unit_exponents", (0, 0, 0)))


def control_value(problem: Problem, u) -> float:
    """The user's control value of a reduced control u (identity in the user's own units)."""
    return float(u) * 10.0 ** unit_exponents(problem)[0]


def x_unit(problem: Problem) -> float:
    return 10.0 ** unit_exponents(problem)[1]


def with_units(problem: Problem, c_exp: int, x_exp: int = 0, f_exp: int = 0) -> Problem:
    """The same problem with the control in units of 10^c_exp, the order parameters in units of 10^x_exp and
    f in units of 10^f_exp."""
    if (c_exp, x_exp, f_exp) == (0, 0, 0) or unit_exponents(problem) != (0, 0, 0):
        return problem
    cu, xu = 10.0 ** c_exp, 10.0 ** x_exp
    obs = problem.observable
    if obs is None:       # the default observable is the first order parameter, in the user's units
        observable = (lambda xs, c, pv: np.multiply(xs[0], xu) + 0.0 * np.asarray(c, dtype=float))
    else:
        observable = (lambda xs, c, pv: obs([np.multiply(v, xu) for v in xs], np.multiply(c, cu), pv))

    def reduced_point(pt):
        return None if pt is None else tuple(float(v) / xu for v in pt)

    return replace(problem, compiled=ReducedUnits(problem.compiled, c_exp, x_exp, f_exp),
                   quartic=None if problem.quartic is None else ReducedUnits(problem.quartic, c_exp, x_exp, f_exp),
                   domain=ReducedDomain(problem.domain, c_exp, x_exp), observable=observable,
                   symmetric_point=reduced_point(problem.symmetric_point),
                   symmetric_candidate=reduced_point(problem.symmetric_candidate),
                   extra={**problem.extra, "unit_exponents": (int(c_exp), int(x_exp), int(f_exp))})


PROBE_CONTROLS = (-3.7, -1.3, -0.41, 0.29, 0.93, 2.1, 5.3, 17.0)


def with_symmetry(problem: Problem) -> Problem:
    """Set symmetric_point = symmetric_candidate iff grad f vanishes there at every probe control value
    where f is finite (at least two), at the current params."""
    x0 = problem.symmetric_candidate
    if x0 is None:
        return problem
    finite = 0
    for c in PROBE_CONTROLS:
        if problem.positive_control and c <= 0:
            continue
        g = np.asarray(problem.grad(list(x0), c), float).ravel()
        H = np.asarray(problem.hess(list(x0), c), float).ravel()
        if not (np.all(np.isfinite(g)) and np.all(np.isfinite(H))):
            continue
        finite += 1
        if np.max(np.abs(g)) > 1e-12 * (1 + np.max(np.abs(H))):
            return replace(problem, symmetric_point=None)
    return replace(problem, symmetric_point=tuple(x0) if finite >= 2 else None)


def scalar_blocks(problem: Problem, x, c):
    """(f, g (k,), H (k,k)) at one point."""
    x = [float(v) for v in x]
    return (float(problem.f(x, c)), np.asarray(problem.grad(x, c), float).reshape(problem.k),
            np.asarray(problem.hess(x, c), float).reshape(problem.k, problem.k))


def sinh_grid(n: int, xmax: float = XMAX, center: float = 0.0) -> np.ndarray:
    u = np.linspace(-np.arcsinh(xmax), np.arcsinh(xmax), n if n % 2 else n + 1)
    return center + np.sinh(u)


@dataclass
class Stationary:
    x: np.ndarray
    f: float
    eig: np.ndarray
    zero_modes: int = 0          # flat directions of a minimum (a continuous symmetry), not counted as unstable
    minimum: bool | None = None

    @property
    def stable(self) -> bool:
        if self.minimum is not None:
            return self.minimum
        return bool(np.all(self.eig > 0))


_GL_T, _GL_W = np.polynomial.legendre.leggauss(16)
OFFSET_LIMIT = 1e4     # above this |f|, differences of f are integrated from the gradient


def f_difference(problem: Problem, xa, xb, c, block: str = "value", with_error: bool = False,
                 max_panels: int = 256):
    """f(xa) - f(xb) at control c. Subtracting two values of f cancels digits: all of them where f carries a
    large x-independent offset (a term growing with the control), and most where the minima are close (softmax
    logits at gamma = 1e6 give f ~ 1e-3 but f_a - f_b ~ 1e-27). The difference is then the line integral of the
    exact gradient from xb to xa (Gauss-Legendre, 4 and 8 panels of 16 points), in which the offset never
    appears; it is used where its error (rounding, and the difference of the two quadratures) is below the
    rounding of the direct difference. block="d_control" does the same for d f / d control (the latent heat).
    max_panels bounds the quadrature's work (a coarse tie decision needs few)."""
    xa, xb = np.asarray(xa, float), np.asarray(xb, float)
    fa, fb = (float(np.asarray(problem.blk(block, list(v), c))) for v in (xa, xb))
    direct = fa - fb
    rounding = 4e-16 * max(abs(fa), abs(fb))
    if not (np.isfinite(fa) and np.isfinite(fb)) or rounding == 0.0 or np.array_equal(xa, xb):
        return (direct, rounding) if with_error else direct
    noise_f, noise_g = (0.0, 0.0)
    if with_error:      # tie decisions need the honest error: a cancelling expression rounds far above 1 ulp
        na, nb = rounding_noise(problem, xa, c, block), rounding_noise(problem, xb, c, block)
        noise_f, noise_g = na[0] + nb[0], max(na[1], nb[1])
        rounding = max(rounding, noise_f)
    d = xa - xb
    grad_block = {"value": "gradient", "d_control": "gradient_d_control"}[block]

    def gradient_noise_per_length():   # measured only if the quadrature has to refine (rare off rounding)
        g_noise = noise_g if with_error else max(rounding_noise(problem, v, c, block)[1] for v in (xa, xb))
        return g_noise * float(np.sum(np.abs(d)))

    integral = _line_integral(problem, xa, xb, c, grad_block, max_panels, noise=gradient_noise_per_length)
    if integral is None:
        return (direct, rounding) if with_error else direct        # the segment leaves the domain
    value, quadrature, size = integral
    # rounding of the sum and of the gradient entries (measured noise of the gradient included), and the
    # quadrature error (adaptive panels: a 16-point rule against its two halves)
    error = max(1e-14 * size, quadrature, noise_g * float(np.max(np.abs(d))) * problem.k)
    if max(abs(fa), abs(fb)) <= OFFSET_LIMIT and not error < rounding:
        return (direct, rounding) if with_error else direct
    return (value, error) if with_error else value


def points_block(problem: Problem, name: str, P, c):
    """A scalar or gradient-shaped block at the n points P (n, k): shape (n,) or (k, n), also where the block
    does not depend on x (a constant gradient comes back unbroadcast)."""
    P = np.asarray(P, float)
    n, k = P.shape
    raw = problem.blk(name, list(P.T), c)
    if name in ("value", "d_control", "d2_control"):
        out = np.asarray(raw, float)
        return np.broadcast_to(out.reshape(-1) if out.size == n else out, (n,))
    if np.ndim(raw) == 2:
        return np.broadcast_to(np.asarray(raw, float), (k, n))
    # a component constant in x comes back as a scalar: broadcast each component over the points
    return np.stack([np.broadcast_to(np.asarray(gi, float), (n,)) for gi in np.asarray(raw, dtype=object).reshape(k)])


_EPS = float(np.finfo(float).eps)


def _line_integral(problem: Problem, xa, xb, c, grad_block: str, max_panels: int = 256, noise=None):
    """(integral of grad . (xa - xb) along the segment from xb to xa, its quadrature error, integral of |.|) by
    adaptive Gauss-Legendre: each panel's 16-point value against the sum over its two halves, panels split until
    they agree to 1e-14 of the whole (the softmax uniform minimum at delta ~ 0.4 and the copy minimum at
    delta ~ 2000 at gamma = 1e-3: a fixed rule misses the structure near the first by O(1)). None if the
    segment leaves the domain. noise: a callable giving the rounding noise of grad . (xa - xb) (per unit length
    of the segment), asked for when the first panels do not converge: no panel is split below it."""
    d = np.asarray(xa, float) - np.asarray(xb, float)
    xb = np.asarray(xb, float)
    k = problem.k
    pending = np.array([[j / 8, (j + 1) / 8] for j in range(8)])
    value = quadrature = size = 0.0
    tol = None
    used = 0
    while pending.size:
        a, b = pending[:, :1], pending[:, 1:]
        m = 0.5 * (a + b)
        nodes = (_GL_T[None, :] + 1) / 2
        t = np.concatenate([a + (b - a) * nodes, a + (m - a) * nodes, m + (b - m) * nodes], axis=1)   # (n, 48)
        P = xb[None, None, :] + t[:, :, None] * d[None, None, :]
        with np.errstate(all="ignore"):
            g = points_block(problem, grad_block, P.reshape(-1, k), c)
        if not np.all(np.isfinite(g)):
            return None
        f_t = (d @ g).reshape(t.shape)
        w = _GL_W[None, :] / 2
        whole = np.sum(w * f_t[:, :16], axis=1) * (b - a)[:, 0]
        halves = (np.sum(w * f_t[:, 16:32], axis=1) + np.sum(w * f_t[:, 32:], axis=1)) * (m - a)[:, 0]
        mass = (np.sum(w * np.abs(f_t[:, 16:32]), axis=1) + np.sum(w * np.abs(f_t[:, 32:]), axis=1)) * (m - a)[:, 0]
        err = np.abs(whole - halves)
        if tol is None:
            tol = 1e-14 * float(np.sum(mass))
        used += len(pending)
        # a panel whose two rules agree to a few ulps of its own mass is resolved: splitting it further
        # only chases rounding (a polynomial gradient is integrated exactly by the first rule)
        floor = 64 * _EPS * mass
        if used > 8 and noise is not None:
            if callable(noise):
                noise = float(noise())
            floor = np.maximum(floor, 4 * noise * (b - a)[:, 0])
        done = (err <= tol * (b - a)[:, 0]) | (err <= floor) | (used >= max_panels)
        value += float(np.sum(halves[done]))
        quadrature += float(np.sum(err[done]))
        size += float(np.sum(mass[done]))
        rest = pending[~done]
        mid = 0.5 * (rest[:, 0] + rest[:, 1])
        pending = np.concatenate([np.stack([rest[:, 0], mid], 1), np.stack([mid, rest[:, 1]], 1)])
    return value, quadrature, size


_NOISE_STEPS = np.array([-3.0, -2.0, -1.0, 1.0, 2.0, 3.0]) * 2.0 ** -50


def rounding_noise(problem: Problem, x, c, block: str = "value"):
    """(noise of the block, noise of its gradient) at x, measured: the block at x moved by a few ulps changes
    by H dx^2 ~ 1e-30 relative, the gradient by H dx; whatever else changes is rounding of a cancelling
    expression (linear attention at sigma2 = 1e-20 rounds f ~ 13 to 1e-4)."""
    x = np.asarray(x, float)
    k = problem.k
    grad_block = {"value": "gradient", "d_control": "gradient_d_control"}[block]
    dx = _NOISE_STEPS[:, None] * (np.abs(x)[None, :] + 2.0 ** -20)          # (6, k), all coordinates at once
    P = x[None, :] + dx
    with np.errstate(all="ignore"):
        f0 = float(np.asarray(problem.blk(block, list(x), c)))
        fv = points_block(problem, block, P, c)
        g0 = np.asarray(problem.blk(grad_block, list(x), c), float).reshape(k)
        gv = points_block(problem, grad_block, P, c).T
        H = np.asarray(problem.blk("hessian" if block == "value" else "hessian_d_control", list(x), c),
                       float).reshape(k, k)
    if not (np.all(np.isfinite(fv)) and np.all(np.isfinite(gv)) and np.all(np.isfinite(H))):
        return 0.0, 0.0
    linear = (gv - g0[None, :]) - dx @ H.T
    return float(np.max(np.abs(fv - f0 - dx @ g0))), float(np.max(np.abs(linear)))


def zero_mode_tolerance(eig) -> float:
    return DEFAULT.zero_mode_rel * max(1.0, float(np.max(np.abs(eig))))


def minimum_test(problem: Problem, x, c, H=None):
    """(is_minimum, zero_modes, eigenvalues) at a stationary point. Eigenvalues within the zero-mode tolerance
    count as zero modes if f does not decrease along them (to fourth order: a flat valley of a continuous
    symmetry, or a quartic minimum); any clearly negative eigenvalue is a saddle."""
    x = np.asarray(x, float)
    if H is None:
        H = problem.at(x, c).hessian
    if not np.all(np.isfinite(H)):
        return False, 0, np.full(problem.k, np.nan)
    w, V = np.linalg.eigh(H)
    tol = zero_mode_tolerance(w)
    if w[0] < -tol:
        return False, 0, w
    soft = np.nonzero(np.abs(w) <= tol)[0]
    if soft.size == 0:
        return True, 0, w
    f0 = float(problem.f(list(x), c))
    for i in soft:
        for eps in (1e-2, 1e-3):
            h = eps * (1 + float(np.max(np.abs(x))))
            for sgn in (1, -1):
                fx = float(problem.f(list(x + sgn * h * V[:, i]), c))
                if not np.isfinite(fx) or fx < f0 - 1e-12 * (1 + abs(f0)):
                    return False, 0, w
    return True, int(soft.size), w


def stable_beyond_zero_modes(w, zero_modes: int) -> bool:
    """A minimum with `zero_modes` flat directions stays one while the next eigenvalue is positive."""
    w = np.sort(np.asarray(w, float))
    if not np.all(np.isfinite(w)):
        return False
    tol = zero_mode_tolerance(w)
    return bool(np.all(np.abs(w[:zero_modes]) <= tol) and (zero_modes >= w.size or w[zero_modes] > 0))


# ---------------------------------------------------------------- search

def stationary_1d(problem: Problem, cs: np.ndarray, nx: int = 2401, xmax: float = XMAX):
    """All stationary points at each control value (k = 1): gradient sign changes on a sinh grid, then
    bracketed Newton. Returns list (per c) of lists of Stationary.

    The sinh grid is finest at its centre. When the stationary points found lie away from it (a Landau form
    in shifted coordinates), a second pass centred on them resolves neighbours the first pass stepped over.
    """
    cs = np.asarray(cs, float)
    center = problem.symmetric_point[0] if problem.symmetric_point else 0.0
    per_c = _stationary_pass(problem, cs, nx, xmax, center)
    found = [r for roots in per_c for r in roots]
    if found:
        middle = float(np.median(found))
        if abs(middle - center) > 1e-2 * (1 + abs(center)):
            for roots, more in zip(per_c, _stationary_pass(problem, cs, nx, xmax, middle)):
                roots.extend(more)
    out = []
    for j, c in enumerate(cs):
        pts = []
        for r in sorted(per_c[j]):
            if pts and abs(r - pts[-1]) <= 1e-9 * (1 + abs(r)):
                continue
            pts.append(r)
        out.append(_classify(problem, [np.array([r]) for r in pts], c))
    return out


def _stationary_pass(problem: Problem, cs: np.ndarray, nx: int, xmax: float, center: float) -> list:
    """Roots of the gradient per control value from one sinh grid centred at ``center``."""
    X = sample_grid(problem, cs, nx, xmax, center)[0]      # (n, len(cs)): each column inside the domain at its c
    C = np.ones((X.shape[0], 1)) * cs[None, :]
    g = np.asarray(problem.grad([X], C))[0]
    fin = np.isfinite(g)
    sgn = np.sign(g)
    change = (sgn[:-1] * sgn[1:] < 0) & fin[:-1] & fin[1:]
    ii, jj = np.nonzero(change)
    zero_i, zero_j = np.nonzero((g == 0) & fin)
    roots = _bracketed_newton(problem, X[ii, jj].copy(), X[ii + 1, jj].copy(), g[ii, jj], cs[jj])
    per_c = [[] for _ in cs]
    for r, j in zip(roots, jj):
        per_c[j].append(float(r))
    for i, j in zip(zero_i, zero_j):
        per_c[j].append(float(X[i, j]))
    return per_c


def sample_grid(problem: Problem, cs, n: int, xmax: float = XMAX, center: float = 0.0, edge: float | None = None):
    """Per order parameter, n samples inside the domain box at each control value: list of k arrays (n, len(cs))."""
    cs = np.asarray(cs, float)
    edge = DEFAULT.edge_distance if edge is None else edge
    lo, hi = problem.domain.box(problem.k, cs, problem.p)
    out = []
    for i in range(problem.k):
        cols = [axis_samples(lo[i, j], hi[i, j], n, center, xmax, edge) for j in range(cs.size)]
        m = min(len(col) for col in cols)
        out.append(np.stack([col[:m] for col in cols], axis=1))
    return out


def _bracketed_newton(problem, a, b, ga, c, iters=60):
    """Safeguarded Newton (rtsafe) on many brackets at once."""
    if a.size == 0:
        return np.zeros(0)
    x = 0.5 * (a + b)
    for _ in range(iters):
        g = np.asarray(problem.grad([x], c))[0]
        h = np.asarray(problem.hess([x], c))[0, 0]
        same = np.sign(g) == np.sign(ga)
        a = np.where(same, x, a)
        ga = np.where(same, g, ga)
        b = np.where(same, b, x)
        with np.errstate(all="ignore"):
            xn = x - g / h
        # an exact root (g == 0) stays: it is not replaced by the bracket midpoint
        bad = (g != 0) & (~np.isfinite(xn) | (xn <= np.minimum(a, b)) | (xn >= np.maximum(a, b)))
        xn = np.where(bad, 0.5 * (a + b), np.where(g == 0, x, xn))
        done = np.abs(xn - x) <= 1e-15 * (1 + np.abs(x))
        x = xn
        if np.all(done | (g == 0)):
            break
    return x


def _classify(problem, xs, c):
    """Stationary points xs at control c with their eigenvalues (blocks evaluated for all points at once)."""
    if len(xs) == 0:
        return []
    k = problem.k
    X = np.asarray(xs, float).reshape(-1, k)
    with np.errstate(all="ignore"):
        f = np.broadcast_to(np.asarray(problem.f(list(X.T), c), float), (X.shape[0],))
        H = np.moveaxis(np.broadcast_to(np.asarray(problem.hess(list(X.T), c), float).reshape(k, k, -1),
                                        (k, k, X.shape[0])), 2, 0)
    pts = []
    for x, fx, Hx in zip(X, f, H):
        if not np.isfinite(fx):
            continue
        if not np.all(np.isfinite(Hx)):
            Hx = problem.repaired("hessian", x, c, Hx).reshape(k, k)
            if not np.all(np.isfinite(Hx)):
                continue
        w = np.linalg.eigvalsh(Hx) if k > 1 else Hx.reshape(1)
        tol = zero_mode_tolerance(w)
        if w[0] > tol:                       # strict minimum: no further test needed
            pts.append(Stationary(x.copy(), float(fx), w, 0, True))
        elif w[0] < -tol:
            pts.append(Stationary(x.copy(), float(fx), w, 0, False))
        else:
            is_min, n0, w = minimum_test(problem, x, c, Hx)
            pts.append(Stationary(x.copy(), float(fx), w, n0, is_min))
    return pts


def minima_nd(problem: Problem, cs: np.ndarray, per_dim: int | None = None, xmax: float = 100.0, extra_starts=()):
    """Local minima at each control value (k >= 1) by vectorised modified-Newton descent from a grid of starts."""
    cs = np.asarray(cs, float)
    k = problem.k
    if per_dim is None:
        per_dim = 13 if k <= 2 else 9     # 13^2 or 9^3 starts per control value
    if problem.domain.unbounded:
        axis = sinh_grid(per_dim, xmax)
        grids = np.meshgrid(*([axis] * k), indexing="ij")
        base = np.stack([g.ravel() for g in grids], axis=1)
        per_c = [base] * cs.size
    else:
        # starts inside the domain box at each c, dense towards its edges; other conditions filter them
        axes = sample_grid(problem, cs, per_dim, xmax, edge=1e-6)
        lo, hi = problem.domain.box(k, cs, problem.p)
        per_c = []
        for j, c in enumerate(cs):
            grids = np.meshgrid(*[a[:, j] for a in axes], indexing="ij")
            pts = np.stack([g.ravel() for g in grids], axis=1)
            # conditions coupling several order parameters (|m| < q, a + b < 1) cut most of the box away:
            # add an even grid over the box clipped to the scale of its finite edges, filtered the same way
            finite = np.concatenate([lo[:, j][np.isfinite(lo[:, j])], hi[:, j][np.isfinite(hi[:, j])]])
            reach = 2.0 * max(1.0, float(np.max(np.abs(finite)))) if finite.size else 10.0
            a_lo = np.where(np.isfinite(lo[:, j]), lo[:, j], -reach)
            a_hi = np.where(np.isfinite(hi[:, j]), hi[:, j], reach)
            even = [a_lo[i] + (a_hi[i] - a_lo[i]) * (np.arange(per_dim) + 0.5) / per_dim for i in range(k)]
            grids = np.meshgrid(*even, indexing="ij")
            pts = np.vstack([pts, np.stack([g.ravel() for g in grids], axis=1)])
            per_c.append(pts[problem.domain.inside(list(pts.T), c, problem.p)])
    extra = []
    if problem.symmetric_point is not None:
        extra.append(np.asarray(problem.symmetric_point, float)[None, :] + 1e-3)
    if len(extra_starts):
        extra.append(np.asarray(extra_starts, float).reshape(-1, k))
    ns = max(len(p_) for p_ in per_c) + sum(len(e) for e in extra)
    X = np.full((cs.size, ns, k), np.nan)
    for j in range(cs.size):
        rows = np.vstack([per_c[j]] + extra) if extra else per_c[j]
        X[j, :len(rows)] = rows
    X = X.reshape(-1, k)
    C = np.repeat(cs, ns)
    X = descend(problem, X, C)
    out = []
    for j, c in enumerate(cs):
        cand = X[j * ns:(j + 1) * ns]
        cand = cand[np.all(np.isfinite(cand), axis=1)]
        uniq = []
        for x in _quantized_unique(cand):
            if uniq and np.min(np.max(np.abs(np.asarray(uniq) - x), axis=1)) <= 1e-6 * (1 + np.max(np.abs(x))):
                continue
            uniq.append(x)
        pts = [s for s in _classify(problem, uniq, c) if s.stable]
        pts = [s for s in pts if np.max(np.abs(np.asarray(problem.grad(list(s.x), c)).ravel()))
               <= DEFAULT.stationary_grad_rel * (1 + abs(s.f))]
        out.append(_one_per_valley(pts))
    return out


def _quantized_unique(cand):
    """Candidates rounded to 1e-7 of their scale, one per cell (cheap first pass of the duplicate removal)."""
    if len(cand) == 0:
        return cand
    unit = 1e-7 * (1 + float(np.max(np.abs(cand))))
    _, idx = np.unique(np.round(cand / unit), axis=0, return_index=True)
    return cand[np.sort(idx)]


def _one_per_valley(pts):
    """Minima with zero modes (a continuous symmetry) form a valley of equal f: keep one point of each valley."""
    out = []
    for s in pts:
        if s.zero_modes and any(o.zero_modes == s.zero_modes and abs(o.f - s.f) <= 1e-10 * (1 + abs(s.f))
                                for o in out):
            continue
        out.append(s)
    return out


def descend(problem: Problem, X: np.ndarray, C: np.ndarray, iters: int = 80):
    """Vectorised modified Newton descent with backtracking. X (n, k), C (n,). Non-converged rows -> NaN."""
    k = problem.k
    X = X.copy()
    with np.errstate(invalid="ignore"):
        f0 = problem.f(list(X.T), C)
    alive = np.isfinite(f0) & np.all(np.isfinite(X), axis=1)
    X[~alive] = np.nan
    for _ in range(iters):
        idx = np.nonzero(alive)[0]
        if idx.size == 0:
            break
        x, c = X[idx], C[idx]
        g = np.asarray(problem.grad(list(x.T), c)).reshape(k, -1).T
        H = np.moveaxis(np.asarray(problem.hess(list(x.T), c)).reshape(k, k, -1), 2, 0)
        ok = np.all(np.isfinite(g), 1) & np.all(np.isfinite(H), (1, 2))
        H = np.where(ok[:, None, None], H, np.eye(k))
        g = np.where(ok[:, None], g, 0.0)
        w, V = np.linalg.eigh(H)
        floor = 1e-10 * (1 + np.max(np.abs(w), axis=1, keepdims=True))
        wm = np.maximum(np.abs(w), floor)
        step = -np.einsum("nij,nj->ni", V, np.einsum("nji,nj->ni", V, g) / wm)
        norm = np.max(np.abs(step), axis=1)
        cap = 0.5 * (1 + np.max(np.abs(x), axis=1))
        step *= np.minimum(1.0, cap / np.maximum(norm, 1e-300))[:, None]
        fx = problem.f(list(x.T), c)
        lam = np.ones(idx.size)
        accepted = np.zeros(idx.size, bool)
        for _ls in range(30):
            trial = x + lam[:, None] * step
            ft = problem.f(list(trial.T), c)
            good = np.isfinite(ft) & (ft <= fx + 1e-12 * np.abs(fx) + 1e-300)
            accepted |= good
            lam = np.where(good, lam, 0.5 * lam)
            if np.all(accepted):
                break
            x = np.where(good[:, None] & ~accepted[:, None], x, x)
        newx = x + np.where(accepted[:, None], lam[:, None] * step, 0.0)
        small = np.max(np.abs(newx - x), axis=1) <= 1e-13 * (1 + np.max(np.abs(x), axis=1))
        X[idx] = newx
        far = np.max(np.abs(newx), axis=1) > XMAX
        X[idx[far]] = np.nan
        alive[idx[far | (small & ok) | ~ok]] = False
        alive[idx[~ok]] = False
        X[idx[~ok]] = np.nan
    return X


def all_minima(problem: Problem, cs, **kw):
    """Local minima at each control value: exhaustive 1-d search for k = 1, descent for k > 1.
    Points numerically indistinguishable from the symmetric point (same f to rounding) are snapped onto it."""
    if problem.k == 1:
        out = [[s for s in pts if s.stable] for pts in stationary_1d(problem, cs, **kw)]
    else:
        out = minima_nd(problem, cs, **kw)
    if problem.symmetric_point is None:
        return out
    x0 = np.asarray(problem.symmetric_point, float)
    snapped = []
    for c, pts in zip(cs, out):
        keep = []
        f0 = None
        for s in pts:
            if np.max(np.abs(s.x - x0)) < 1e-3:
                if f0 is None:
                    f0 = float(problem.f(list(x0), c))
                if abs(s.f - f0) <= 1e-12 * (1 + abs(f0)):
                    continue
            keep.append(s)
        if f0 is not None or True:
            pt = _classify(problem, [x0], c)
            if pt and pt[0].stable and not any(np.max(np.abs(s.x - x0)) < 1e-12 for s in keep):
                keep.append(pt[0])
        snapped.append(keep)
    return snapped


def newton_stationary(problem: Problem, x, c, iters: int = 30):
    """Newton for grad f = 0 at fixed c (minimum-norm steps, so zero modes stay put). Returns (x, converged)."""
    from ._newton import newton
    from ._systems import Stationary

    r = newton(Stationary(problem, c), np.asarray(x, float), max_iter=iters)
    return r.x, bool(r.converged and np.all(np.isfinite(r.x)))


def track_minimum(problem: Problem, x, c0: float, c1: float, max_halvings: int = 30):
    """Follow a stable minimum from c0 to c1 by natural-parameter continuation with the exact tangent
    predictor dx/dc = -H^-1 d grad/dc. A corrector that moves much further than the predictor signals a
    jump to another branch, so the step is halved. Returns (x, c_reached, status) with status 'ok',
    'lost-stability' (Hessian no longer positive definite) or 'ended' (fold / no convergence)."""
    k = problem.k
    x = np.asarray(x, float).copy()
    c = float(c0)
    _, n0, _ = minimum_test(problem, x, c)

    def solve(H, b):
        if n0:    # flat directions: the minimum-norm tangent does not slide along them
            return np.linalg.lstsq(H, b, rcond=1e-10)[0]
        return np.linalg.solve(H, b)

    span = c1 - c0
    h = span / 4
    halvings = 0
    while (c1 - c) * np.sign(span) > 1e-15 * (1 + abs(c1)):
        h = np.sign(span) * min(abs(h), abs(c1 - c))
        H = np.asarray(problem.hess(list(x), c), float).reshape(k, k)
        gc = np.asarray(problem.blk("gradient_d_control", list(x), c), float).reshape(k)
        try:
            v = solve(H, -gc)
        except np.linalg.LinAlgError:
            return x, c, "ended"
        xp = x + v * h
        y, ok = newton_stationary(problem, xp, c + h, iters=12)
        pred = np.max(np.abs(v * h))
        good = ok and np.max(np.abs(y - xp)) <= 0.25 * pred + 1e-9 * (1 + np.max(np.abs(x)))
        if good:
            Hy = np.asarray(problem.hess(list(y), c + h), float).reshape(k, k)
            gcy = np.asarray(problem.blk("gradient_d_control", list(y), c + h), float).reshape(k)
            try:
                vy = solve(Hy, -gcy)
            except np.linalg.LinAlgError:
                vy = np.full(k, np.inf)
            # the tangent must change little over the step (it diverges at a fold, jumps at an exchange)
            if not np.all(np.isfinite(vy)) or np.max(np.abs(vy - v)) * abs(h) > 0.5 * max(
                    np.max(np.abs(v * h)), 1e-12 * (1 + np.max(np.abs(x)))) + 1e-14:
                good = False
        if good:
            if not (np.all(np.isfinite(Hy)) and stable_beyond_zero_modes(np.linalg.eigvalsh(Hy), n0)):
                good = False
                if abs(h) <= abs(span) * 2.0 ** (-max_halvings + 2):
                    return x, c, "lost-stability"
        if good:
            x, c = y, c + h
            h *= 2
        else:
            h /= 2
            halvings += 1
            if abs(h) <= abs(span) * 2.0 ** (-max_halvings):
                Hx = np.asarray(problem.hess(list(x), c), float).reshape(k, k)
                return x, c, ("lost-stability" if np.linalg.eigvalsh(Hx)[min(n0, k - 1)] <= 1e-8 * (1 + np.max(np.abs(Hx)))
                              else "ended")
    return x, c, "ok"
