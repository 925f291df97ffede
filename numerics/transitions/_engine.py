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

XMAX = 1.0e4          # order parameters beyond this are "at infinity"


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
        new = replace(self, param_values={**self.param_values, **{k: float(v) for k, v in changes.items()}})
        return with_symmetry(new) if self.symmetric_candidate is not None else new

    # ---- exact blocks (x: sequence of k arrays or floats) ----
    def blk(self, name, x, c):
        # no mpmath repair: scans meet many points outside the domain or far out, and skip non-finite ones
        return self.compiled.block(name, x, c, self.p, repair=False)

    def f(self, x, c):
        return self.compiled.block("value", x, c, self.p, repair=False)

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
        return np.asarray(p.compiled.block(name, self.x, self.c, p.p, repair=False), float).reshape(shape)

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

    return [mpmath.mpf(repr(float(v))) for v in problem.p]


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

    @property
    def stable(self) -> bool:
        return bool(np.all(self.eig > 0))


# ---------------------------------------------------------------- search

def stationary_1d(problem: Problem, cs: np.ndarray, nx: int = 2401, xmax: float = XMAX):
    """All stationary points at each control value (k = 1): gradient sign changes on a sinh grid, then
    bracketed Newton. Returns list (per c) of lists of Stationary."""
    cs = np.asarray(cs, float)
    center = problem.symmetric_point[0] if problem.symmetric_point else 0.0
    xg = sinh_grid(nx, xmax, center)
    X = xg[:, None] * np.ones((1, cs.size))
    C = np.ones((nx if nx % 2 else nx + 1, 1)) * cs[None, :]
    g = np.asarray(problem.grad([X], C))[0]
    fin = np.isfinite(g)
    out = []
    sgn = np.sign(g)
    change = (sgn[:-1] * sgn[1:] < 0) & fin[:-1] & fin[1:]
    ii, jj = np.nonzero(change)
    zero_i, zero_j = np.nonzero((g == 0) & fin)
    a = xg[ii].copy()
    b = xg[ii + 1].copy()
    cc = cs[jj]
    ga = g[ii, jj]
    roots = _bracketed_newton(problem, a, b, ga, cc)
    per_c = [[] for _ in cs]
    for r, j in zip(roots, jj):
        per_c[j].append(r)
    for i, j in zip(zero_i, zero_j):
        per_c[j].append(xg[i])
    for j, c in enumerate(cs):
        pts = []
        for r in sorted(per_c[j]):
            if pts and abs(r - pts[-1]) <= 1e-9 * (1 + abs(r)):
                continue
            pts.append(r)
        out.append(_classify(problem, [np.array([r]) for r in pts], c))
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
    pts = []
    for x in xs:
        f, g, H = scalar_blocks(problem, x, c)
        if not (np.isfinite(f) and np.all(np.isfinite(H))):
            continue
        eig = np.linalg.eigvalsh(H)
        pts.append(Stationary(np.asarray(x, float), f, eig))
    return pts


def minima_nd(problem: Problem, cs: np.ndarray, per_dim: int = 13, xmax: float = 100.0, extra_starts=()):
    """Local minima at each control value (k >= 1) by vectorised modified-Newton descent from a grid of starts."""
    cs = np.asarray(cs, float)
    k = problem.k
    axis = sinh_grid(per_dim, xmax)
    grids = np.meshgrid(*([axis] * k), indexing="ij")
    starts = np.stack([g.ravel() for g in grids], axis=1)
    if problem.symmetric_point is not None:
        starts = np.vstack([starts, np.asarray(problem.symmetric_point, float)[None, :] + 1e-3])
    if len(extra_starts):
        starts = np.vstack([starts, np.asarray(extra_starts, float).reshape(-1, k)])
    ns = starts.shape[0]
    X = np.repeat(starts[None, :, :], cs.size, axis=0).reshape(-1, k)
    C = np.repeat(cs, ns)
    X = descend(problem, X, C)
    out = []
    for j, c in enumerate(cs):
        cand = X[j * ns:(j + 1) * ns]
        cand = cand[np.all(np.isfinite(cand), axis=1)]
        uniq = []
        for x in cand:
            if any(np.max(np.abs(x - u)) <= 1e-6 * (1 + np.max(np.abs(u))) for u in uniq):
                continue
            uniq.append(x)
        pts = [s for s in _classify(problem, uniq, c) if s.stable]
        pts = [s for s in pts if np.max(np.abs(np.asarray(problem.grad(list(s.x), c)).ravel()))
               <= 1e-6 * (1 + abs(s.f))]
        out.append(pts)
    return out


def descend(problem: Problem, X: np.ndarray, C: np.ndarray, iters: int = 80):
    """Vectorised modified Newton descent with backtracking. X (n, k), C (n,). Non-converged rows -> NaN."""
    k = problem.k
    X = X.copy()
    f0 = problem.f(list(X.T), C)
    alive = np.isfinite(f0)
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
    span = c1 - c0
    h = span / 4
    halvings = 0
    while (c1 - c) * np.sign(span) > 1e-15 * (1 + abs(c1)):
        h = np.sign(span) * min(abs(h), abs(c1 - c))
        H = np.asarray(problem.hess(list(x), c), float).reshape(k, k)
        gc = np.asarray(problem.blk("gradient_d_control", list(x), c), float).reshape(k)
        try:
            v = np.linalg.solve(H, -gc)
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
                vy = np.linalg.solve(Hy, -gcy)
            except np.linalg.LinAlgError:
                vy = np.full(k, np.inf)
            # the tangent must change little over the step (it diverges at a fold, jumps at an exchange)
            if not np.all(np.isfinite(vy)) or np.max(np.abs(vy - v)) * abs(h) > 0.5 * max(
                    np.max(np.abs(v * h)), 1e-12 * (1 + np.max(np.abs(x)))) + 1e-14:
                good = False
        if good:
            if not (np.all(np.isfinite(Hy)) and np.linalg.eigvalsh(Hy)[0] > 0):
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
                return x, c, ("lost-stability" if np.linalg.eigvalsh(Hx)[0] <= 1e-8 * (1 + np.max(np.abs(Hx)))
                              else "ended")
    return x, c, "ok"
