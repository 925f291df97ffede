"""Pseudo-arclength continuation of stationary branches grad_x f(x; c) = 0.

Unknowns z = (x / x_scale, c / scale), each O(1) (an order parameter living
at 1e-4, e.g. softmax logits at gamma = 1e4, is measured in its own units).
The tangent is the null vector of the exact Jacobian
[x_scale * H | scale * d grad / dc]; the corrector is Newton on
(grad = 0, t . (z - z_pred) = 0). The step adapts to the corrector's
iteration count and to the turning of the tangent. Along the branch we record
det H and the c-component of the tangent: a sign change of det H together
with a sign change of dc/ds is a fold; without it, a branch point.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._engine import XMAX, Problem


@dataclass
class Branch:
    c: np.ndarray
    x: np.ndarray              # (n, k)
    det: np.ndarray
    min_eig: np.ndarray
    tc: np.ndarray             # c-component of the unit tangent
    folds: list = field(default_factory=list)          # (i, i+1) index pairs with a fold between
    branch_points: list = field(default_factory=list)  # det sign change, no fold
    steps: int = 0
    stop: str = ""


def _jac(problem: Problem, x, c, scale, x_scale=1.0):
    H = np.asarray(problem.hess(list(x), c), float).reshape(problem.k, problem.k)
    gc = np.asarray(problem.blk("gradient_d_control", list(x), c), float).reshape(problem.k)
    return H, np.hstack([x_scale * H, scale * gc[:, None]])


def _tangent(J, prev=None):
    if not np.all(np.isfinite(J)):
        return None           # outside the domain: never a NaN Jacobian into the SVD
    _, _, vt = np.linalg.svd(J)
    t = vt[-1]
    if prev is not None and np.dot(t, prev) < 0:
        t = -t
    return t


def continue_branch(problem: Problem, x0, c0, c_lo, c_hi, direction: int = 1, scale: float | None = None,
                    max_steps: int = 3000, ds0: float = 0.01, xmax: float = XMAX,
                    stop_after_stability_change: int | None = None, ds_max: float = 0.05,
                    x_scale: float = 1.0) -> Branch:
    """Continue the branch through (x0, c0) in the direction of increasing (+1) or decreasing (-1) c
    until c leaves [c_lo, c_hi], |x| exceeds xmax, or the step collapses. Steps are measured in
    (x / x_scale, c / scale)."""
    k = problem.k
    scale = float(scale or (c_hi - c_lo) or 1.0)
    x_scale = float(x_scale)
    x = np.asarray(x0, float).copy()
    c = float(c0)
    H, J = _jac(problem, x, c, scale, x_scale)
    t = _tangent(J)
    if t is None:
        return Branch(np.array([c]), x.reshape(1, k), np.array([np.nan]), np.array([np.nan]), np.array([0.0]),
                      stop="domain-edge: derivatives not finite at the start")
    if t[-1] * direction < 0 or (t[-1] == 0 and direction < 0):
        t = -t
    cs, xs, dets, mins, tcs = [c], [x.copy()], [np.linalg.det(H)], [np.linalg.eigvalsh(H)[0]], [t[-1]]
    ds = min(ds0, ds_max)
    z = np.hstack([x / x_scale, c / scale])
    stop = "max-steps"
    steps = 0
    for steps in range(1, max_steps + 1):
        accepted = False
        outside = False
        while ds >= 1e-12:
            zp = z + ds * t
            zn = zp.copy()
            ok = False
            for it in range(8):
                xn, cn = zn[:k] * x_scale, zn[k] * scale
                g = np.asarray(problem.grad(list(xn), cn), float).reshape(k)
                Hn, Jn = _jac(problem, xn, cn, scale, x_scale)
                if not (np.all(np.isfinite(g)) and np.all(np.isfinite(Jn))):
                    outside = True
                    break
                A = np.vstack([Jn, t[None, :]])
                r = np.hstack([g, np.dot(t, zn - zp)])
                try:
                    dz = np.linalg.solve(A, -r)
                except np.linalg.LinAlgError:
                    break
                zn = zn + dz
                if np.max(np.abs(dz)) <= 1e-12 * (1 + np.max(np.abs(zn))):
                    ok = True
                    break
            if ok:
                Hn, Jn = _jac(problem, zn[:k] * x_scale, zn[k] * scale, scale, x_scale)
                tn = _tangent(Jn, t)
                if tn is None:
                    outside = True
                elif np.dot(tn, t) > 0.9 or ds < 1e-6:
                    accepted = True
                    break
            ds *= 0.5
        if not accepted:
            stop = ("domain-edge: the branch reaches the edge of the domain of f" if outside
                    else "step-collapsed")
            break
        z = zn
        x, c = z[:k] * x_scale, z[k] * scale
        cs.append(c)
        xs.append(x.copy())
        with np.errstate(over="ignore"):
            dets.append(np.linalg.det(Hn))
        mins.append(np.linalg.eigvalsh(Hn)[0])
        tcs.append(tn[-1])
        cos = float(np.dot(tn, t))
        t = tn
        if it <= 2 and cos > 0.995:
            ds = min(ds * 1.6, ds_max)
        elif it >= 5 or cos < 0.98:
            ds *= 0.6
        if c < c_lo or c > c_hi:
            stop = "left-range"
            break
        if stop_after_stability_change is not None and np.sign(mins[-1]) != np.sign(mins[0]):
            stop_after_stability_change -= 1
            if stop_after_stability_change < 0:
                stop = "stability-changed"
                break
        if np.max(np.abs(x)) > xmax:
            stop = "order-parameter-diverged"
            break
        if problem.positive_control and c <= 0:
            stop = "control-nonpositive"
            break
    br = Branch(np.array(cs), np.array(xs).reshape(-1, k), np.array(dets), np.array(mins), np.array(tcs),
                steps=steps, stop=stop)
    for i in range(len(cs) - 1):
        det_change = np.sign(br.det[i]) != np.sign(br.det[i + 1])
        fold = np.sign(br.tc[i]) != np.sign(br.tc[i + 1])
        if fold:
            br.folds.append((i, i + 1))
        elif det_change:
            br.branch_points.append((i, i + 1))
    return br


def refine_fold(problem: Problem, x, c, c_scale: float = 1.0):
    """Newton on the fold system (grad = 0, H phi = 0, l . phi = 1) in (x, c, phi), exact Jacobian (third
    derivatives and the d/dc blocks). Returns (x, c, residual, converged, iterations)."""
    from ._newton import newton
    from ._special_points import soft_vector
    from ._systems import Fold

    k = problem.k
    x = np.asarray(x, float)
    l = soft_vector(problem, x, c)
    z0 = np.hstack([x, [float(c)], l])
    r = newton(Fold(problem, l), z0, typical=np.hstack([np.ones(k), [c_scale], np.ones(k)]))
    return r.x[:k], float(r.x[k]), r.residual, r.converged, r.iterations
