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

import math
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


def continue_spinodal(problem: Problem, second: str, d0: float, start, ds, max_halvings: int = 6):
    """Continue one spinodal through the second-parameter values ds (ordered away from d0).

    A spinodal is either a fold of a branch (fold system) or, where a minimum that does not move with the
    control loses stability (the symmetric phase of Blume-Capel, S = 0 of linear attention), a branch point at
    that fixed point (H(x0) phi = 0). The kind is decided at the start and kept. Between two values of ds a
    failed or jumping corrector halves the step (up to max_halvings times) before the line is ended.
    Returns (points [(control, second)], reason the line ended)."""
    from ._special_points import branch_point_newton, critical_newton, soft_vector

    x, c = np.asarray(start[0], float), float(start[1])
    p0 = problem.with_params(**{second: float(d0)})
    pt = p0.at(x, c)
    gc = pt.gradient_d_control
    phi = soft_vector(p0, x, c)
    scale_g = 1.0 + float(np.max(np.abs(pt.hessian)))
    fixed = bool(np.max(np.abs(gc)) <= 1e-10 * scale_g)           # grad f(x0; c) = 0 for every c nearby
    fold = not fixed and abs(phi @ gc) > 1e-6 * (1 + float(np.linalg.norm(gc)))
    kind = "fold" if fold else ("fixed-point instability" if fixed else "branch point")

    def solve(d, xg, cg):
        p = problem.with_params(**{second: float(d)})
        if kind == "fixed-point instability":
            g = np.asarray(p.grad(list(x), cg), float).ravel()
            if not (np.all(np.isfinite(g)) and np.max(np.abs(g)) <= 1e-10 * scale_g):
                return None, "the point no longer stationary at every control (not a fixed point)"
            r = critical_newton(p, x, cg)
            return ((x, r["c"]), None) if r["converged"] else (None, "H(x0) phi = 0 Newton failed")
        if kind == "branch point":
            r = branch_point_newton(p, xg, cg)
            return ((np.asarray(r["x"], float), r["c"]), None) if r["converged"] else (None, "branch-point Newton failed")
        xf, cf, _, conv, _ = refine_fold(p, xg, cg)
        if not (conv and np.all(np.isfinite(xf)) and math.isfinite(cf)):
            return None, "fold Newton failed (the fold merges with another branch or leaves the domain)"
        q = p.at(xf, cf)
        if not (np.all(np.isfinite(q.hessian)) and np.all(np.isfinite(q.gradient_d_control))):
            return None, "domain edge"
        w, V = np.linalg.eigh(q.hessian)
        v = V[:, int(np.argmin(np.abs(w)))]
        if abs(v @ q.gradient_d_control) <= 1e-6 * (1 + float(np.linalg.norm(q.gradient_d_control))):
            return None, "no longer a fold: it meets a branch point (a tricritical or critical end point?)"
        return (np.asarray(xf, float), float(cf)), None

    out = []
    hist = [(float(d0), x, c)]
    reason = "end of the second-parameter range"
    for d_target in ds:
        d_target = float(d_target)
        pending = [d_target]
        halvings = 0
        while pending:
            d = pending[-1]
            (d_a, x_a, c_a) = hist[-1]
            if len(hist) >= 2:            # linear predictor in the second parameter
                (d_b, x_b, c_b) = hist[-2]
                w_ = (d - d_a) / (d_a - d_b)
                xg, cg = x_a + w_ * (x_a - x_b), c_a + w_ * (c_a - c_b)
            else:
                xg, cg = x_a, c_a
            sol, why = solve(d, xg, cg)
            if sol is not None and len(hist) >= 2 and abs(sol[1] - cg) > 10 * abs(cg - c_a) + 1e-6 * (1 + abs(cg)):
                sol, why = None, "the corrector jumped to another spinodal"
            if sol is None:
                halvings += 1
                if halvings > max_halvings:
                    return out, f"{why} at {second} = {d:.6g}"
                pending.append(0.5 * (d_a + d))
                continue
            pending.pop()
            hist.append((d, sol[0], float(sol[1])))
            out.append((float(sol[1]), d))
    return out, reason
