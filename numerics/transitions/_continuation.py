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


def goldstone_modes(H, zero_modes: int, reference=None):
    """The `zero_modes` eigenvectors of H (rows) spanning its symmetry (Goldstone) zero modes: those closest to
    the reference directions if given (near a fold a second eigenvalue is small too), else of least |eigenvalue|."""
    w, V = np.linalg.eigh(H)
    if reference is None:
        return V[:, np.argsort(np.abs(w))[:zero_modes]].T
    idx = []
    for g in np.atleast_2d(reference):
        overlap = np.abs(V.T @ g)
        overlap[idx] = -1
        idx.append(int(np.argmax(overlap)))
    return V[:, idx].T


def _soft_eigenvalue(H, zero_modes: int):
    """Lowest eigenvalue of H, or with symmetry zero modes the signed eigenvalue next in magnitude after them."""
    w = np.linalg.eigvalsh(H)
    if not zero_modes:
        return w[0]
    rest = w[np.argsort(np.abs(w))[zero_modes:]]
    return rest[np.argmin(np.abs(rest))] if rest.size else 0.0


def _tangent(J, prev=None, zero_modes: int = 0):
    if not np.all(np.isfinite(J)):
        return None           # outside the domain: never a NaN Jacobian into the SVD
    _, _, vt = np.linalg.svd(J)
    t = vt[-1]
    if zero_modes:
        # the null space also holds the symmetry directions (G, 0): take the tangent orthogonal to them
        k = J.shape[0]
        G = goldstone_modes(J[:, :k], zero_modes)
        null = vt[-(1 + zero_modes):]
        sym = np.hstack([G, np.zeros((zero_modes, 1))])
        M = null @ null.T - (null @ sym.T) @ (sym @ null.T)
        wv, U = np.linalg.eigh(M)
        t = U[:, -1] @ null
        t = t / np.linalg.norm(t)
    if prev is not None and np.dot(t, prev) < 0:
        t = -t
    return t


def continue_branch(problem: Problem, x0, c0, c_lo, c_hi, direction: int = 1, scale: float | None = None,
                    max_steps: int = 3000, ds0: float = 0.01, xmax: float = XMAX,
                    stop_after_stability_change: int | None = None, ds_max: float = 0.05,
                    x_scale: float = 1.0, zero_modes: int = 0) -> Branch:
    """Continue the branch through (x0, c0) in the direction of increasing (+1) or decreasing (-1) c
    until c leaves [c_lo, c_hi], |x| exceeds xmax, or the step collapses. Steps are measured in
    (x / x_scale, c / scale). zero_modes: symmetry (Goldstone) zero modes of the branch, kept out of the
    tangent, the corrector (minimum-norm steps) and min_eig."""
    k = problem.k
    scale = float(scale or (c_hi - c_lo) or 1.0)
    x_scale = float(x_scale)
    x = np.asarray(x0, float).copy()
    c = float(c0)
    H, J = _jac(problem, x, c, scale, x_scale)
    t = _tangent(J, zero_modes=zero_modes)
    if t is None:
        return Branch(np.array([c]), x.reshape(1, k), np.array([np.nan]), np.array([np.nan]), np.array([0.0]),
                      stop="domain-edge: derivatives not finite at the start")
    if t[-1] * direction < 0 or (t[-1] == 0 and direction < 0):
        t = -t
    cs, xs, dets, mins, tcs = [c], [x.copy()], [np.linalg.det(H)], [_soft_eigenvalue(H, zero_modes)], [t[-1]]
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
                    dz = (np.linalg.lstsq(A, -r, rcond=1e-12)[0] if zero_modes else np.linalg.solve(A, -r))
                except np.linalg.LinAlgError:
                    break
                zn = zn + dz
                if np.max(np.abs(dz)) <= 1e-12 * (1 + np.max(np.abs(zn))):
                    ok = True
                    break
            if ok:
                Hn, Jn = _jac(problem, zn[:k] * x_scale, zn[k] * scale, scale, x_scale)
                tn = _tangent(Jn, t, zero_modes)
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
        mins.append(_soft_eigenvalue(Hn, zero_modes))
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


def refine_fold(problem: Problem, x, c, c_scale: float = 1.0, zero_modes: int = 0):
    """Newton on the fold system (grad = 0, H phi = 0, l . phi = 1) in (x, c, phi), exact Jacobian (third
    derivatives and the d/dc blocks); zero_modes Goldstone modes deflated (see _systems.Fold). Returns
    (x, c, residual, converged, iterations)."""
    from ._newton import newton
    from ._special_points import soft_vector
    from ._systems import Fold

    k = problem.k
    x = np.asarray(x, float)
    G = None
    if zero_modes:
        H = problem.at(x, c).hessian
        G = goldstone_modes(H, zero_modes)
        w, V = np.linalg.eigh(H)
        rest = [i for i in np.argsort(np.abs(w)) if max(np.abs(G @ V[:, i])) < 0.5]
        l = V[:, rest[0]]
    else:
        l = soft_vector(problem, x, c)
    z0 = np.hstack([x, [float(c)], l, np.zeros(2 * zero_modes)])
    r = newton(Fold(problem, l, G, x), z0, typical=np.hstack([np.ones(k), [c_scale], np.ones(k + 2 * zero_modes)]))
    return r.x[:k], float(r.x[k]), r.residual, r.converged, r.iterations


def spinodal_type(problem: Problem, x, c):
    """('fold', 'branch-point' or 'fixed-point', Goldstone zero modes) of a spinodal at (x, c). A soft mode phi
    with phi . d grad/dc = 0 is a branch point (e.g. a spin flop: another order parameter can grow); where
    d grad/dc vanishes altogether the minimum does not move with the control (the symmetric phase of
    Blume-Capel, S = 0 of linear attention) and loses stability at that fixed point; else a fold. Zero
    eigenvalues beyond the soft one are symmetry (Goldstone) modes."""
    pt = problem.at(x, c)
    w, V = np.linalg.eigh(pt.hessian)
    tol = 1e-7 * max(1.0, float(np.max(np.abs(w))))
    zero_modes = max(0, int(np.sum(np.abs(w) <= tol)) - 1)
    gc = pt.gradient_d_control
    if np.max(np.abs(gc)) <= 1e-10 * (1.0 + float(np.max(np.abs(pt.hessian)))):
        return "fixed-point", zero_modes
    soft = V[:, int(np.argsort(np.abs(w))[0])]
    branch = zero_modes == 0 and abs(soft @ gc) <= 1e-6 * (1 + float(np.linalg.norm(gc)))
    return ("branch-point" if branch else "fold"), zero_modes


def continue_spinodal(problem: Problem, second: str, d0: float, start, ds, max_halvings: int = 6):
    """Continue one spinodal through the second-parameter values ds (ordered away from d0).

    The kind (see spinodal_type) is decided at the start and kept: a fold by the fold system (Goldstone modes
    deflated), a branch point by the branch-point system (the minimum must stay a minimum), a fixed-point
    instability by H(x0) phi = 0 at that point. Between two values of ds a failed or jumping corrector halves
    the step (up to max_halvings times) before the line is ended. Returns (points [(control, second)], the
    reason the line ended)."""
    from ._engine import minimum_test
    from ._special_points import branch_point_newton, critical_newton

    x, c = np.asarray(start[0], float), float(start[1])
    p0 = problem.with_params(**{second: float(d0)})
    kind, zero_modes = spinodal_type(p0, x, c)
    scale_g = 1.0 + float(np.max(np.abs(p0.at(x, c).hessian)))
    x0 = problem.symmetric_point
    off_x0 = x0 is None or np.max(np.abs(x - np.asarray(x0))) > 1e-6

    def solve(d, xg, cg):
        p = problem.with_params(**{second: float(d)})
        if kind == "fixed-point":
            g = np.asarray(p.grad(list(x), cg), float).ravel()
            if not (np.all(np.isfinite(g)) and np.max(np.abs(g)) <= 1e-10 * scale_g):
                return None, "the point is no longer stationary at every control (not a fixed point)"
            r = critical_newton(p, x, cg)
            return ((x, r["c"]), None) if r["converged"] else (None, "H(x0) phi = 0 Newton failed")
        if kind == "branch-point":
            r = branch_point_newton(p, xg, cg)
            xf, cf = np.asarray(r["x"], float), float(r["c"])
            if not (r["converged"] and np.all(np.isfinite(xf)) and minimum_test(p, xf, cf)[0]):
                return None, "branch-point Newton failed (or the branch is no longer a minimum)"
            if p.symmetric_point is not None and off_x0 and np.max(np.abs(xf - np.asarray(p.symmetric_point))) <= 1e-6:
                return None, "the metastable ordered phase shrinks onto the symmetric point (a bicritical point)"
            return (xf, cf), None
        xf, cf, _, conv, _ = refine_fold(p, xg, cg, zero_modes=zero_modes)
        if not (conv and np.all(np.isfinite(xf)) and math.isfinite(cf)):
            return None, "fold Newton failed (the fold merges with another branch or leaves the domain)"
        q = p.at(xf, cf)
        if not (np.all(np.isfinite(q.hessian)) and np.all(np.isfinite(q.gradient_d_control))):
            return None, "domain edge"
        if spinodal_type(p, xf, cf)[0] != "fold":
            return None, "no longer a fold: it meets a branch point (a tricritical or critical end point?)"
        return (np.asarray(xf, float), float(cf)), None

    out = []
    hist = [(float(d0), x, c)]
    for d_target in ds:
        pending = [float(d_target)]
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
    return out, "end of the second-parameter range"
