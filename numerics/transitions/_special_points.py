"""Newton solvers for the defining equations of transitions and special points.

coexistence:  grad f(xa; c) = 0, grad f(xb; c) = 0, f(xa; c) - f(xb; c) = 0   (exact Jacobian)
critical:     det H(x0; c) = 0 at the symmetric point x0                      (exact Jacobian)
fold:         see _continuation.refine_fold
Each has a double-precision and an mpmath (``digits``) version.
"""
from __future__ import annotations

import math

import numpy as np

from ._continuation import adjugate
from ._engine import Problem, newton_stationary


def _blocks(problem, x, c):
    k = problem.k
    f = float(problem.f(list(x), c))
    g = np.asarray(problem.grad(list(x), c), float).reshape(k)
    H = np.asarray(problem.hess(list(x), c), float).reshape(k, k)
    fc = float(np.asarray(problem.blk("d_control", x, c)))
    gc = np.asarray(problem.blk("gradient_d_control", x, c), float).reshape(k)
    return f, g, H, fc, gc


def coexistence_newton(problem: Problem, xa, xb, c, iters: int = 60):
    """Returns dict(xa, xb, c, residual, converged, iterations, method)."""
    k = problem.k
    xa, xb, c = np.asarray(xa, float).copy(), np.asarray(xb, float).copy(), float(c)
    res = math.inf
    for it in range(1, iters + 1):
        fa, ga, Ha, fca, gca = _blocks(problem, xa, c)
        fb, gb, Hb, fcb, gcb = _blocks(problem, xb, c)
        F = np.hstack([ga, gb, fa - fb])
        if not np.all(np.isfinite(F)):
            break
        res = float(np.max(np.abs(F)))
        A = np.zeros((2 * k + 1, 2 * k + 1))
        A[:k, :k] = Ha
        A[:k, -1] = gca
        A[k:2 * k, k:2 * k] = Hb
        A[k:2 * k, -1] = gcb
        A[-1, :k] = ga
        A[-1, k:2 * k] = -gb
        A[-1, -1] = fca - fcb
        try:
            dz = np.linalg.solve(A, -F)
        except np.linalg.LinAlgError:
            break
        if not np.all(np.isfinite(dz)):
            break
        xa, xb, c = xa + dz[:k], xb + dz[k:2 * k], c + dz[-1]
        size = np.max(np.abs(dz)) / (1 + max(abs(c), np.max(np.abs(xa)), np.max(np.abs(xb))))
        if size <= 1e-12 or (it >= 8 and size <= 1e-9):
            fa, ga, *_ = _blocks(problem, xa, c)
            fb, gb, *_ = _blocks(problem, xb, c)
            res = float(np.max(np.abs(np.hstack([ga, gb, fa - fb]))))
            return dict(xa=xa, xb=xb, c=c, residual=res, converged=True, iterations=it,
                        method="newton(grad_a=0, grad_b=0, f_a=f_b)")
    return dict(xa=xa, xb=xb, c=c, residual=res, converged=False, iterations=iters,
                method="newton(grad_a=0, grad_b=0, f_a=f_b)")


def coexistence_bisection(problem: Problem, xa, xb, c_lo, c_hi, iters: int = 200):
    """Fallback: Illinois false position on df(c) = f(xa(c)) - f(xb(c)), minima tracked by Newton."""
    def df(c, xa, xb):
        ya, oka = newton_stationary(problem, xa, c)
        yb, okb = newton_stationary(problem, xb, c)
        if not (oka and okb):
            return None, ya, yb
        return float(problem.f(list(ya), c) - problem.f(list(yb), c)), ya, yb

    da, xa1, xb1 = df(c_lo, xa, xb)
    db, xa2, xb2 = df(c_hi, xa, xb)
    if da is None or db is None or da * db > 0:
        return None
    if da == 0 or db == 0:
        c, ya, yb = (c_lo, xa1, xb1) if da == 0 else (c_hi, xa2, xb2)
        return dict(xa=ya, xb=yb, c=c, residual=0.0, converged=True, iterations=0,
                    method="illinois(f_a - f_b) with Newton-tracked minima")
    a, b, side = c_lo, c_hi, 0
    ya, yb = xa1, xb1
    for it in range(iters):
        c = (a * db - b * da) / (db - da) if db != da else 0.5 * (a + b)
        dc, ya, yb = df(c, ya, yb)
        if dc is None:
            return None
        if dc * db > 0:
            b, db = c, dc
            if side == -1:
                da /= 2
            side = -1
        else:
            a, da = c, dc
            if side == 1:
                db /= 2
            side = 1
        if abs(b - a) <= 1e-15 * (1 + abs(c)) or dc == 0:
            break
    return dict(xa=ya, xb=yb, c=c, residual=abs(dc), converged=True, iterations=it + 1,
                method="illinois(f_a - f_b) with Newton-tracked minima")


# ------------------------------------------------------------------ mpmath

def _mp_vec(v):
    return v if isinstance(v, (list, tuple)) else [v]


def _mp_params(problem):
    """Parameters as mpf of their shortest decimal repr: a typed 0.48 means 48/100, not the nearest double."""
    import mpmath

    return [mpmath.mpf(repr(float(v))) for v in problem.p]


def _mp_blocks(problem, x, c):
    cf, p = problem.compiled, _mp_params(problem)
    f = cf.mp_block("value", x, c, p)
    g = _mp_vec(cf.mp_block("gradient", x, c, p))
    H = cf.mp_block("hessian", x, c, p)
    fc = cf.mp_block("d_control", x, c, p)
    gc = _mp_vec(cf.mp_block("gradient_d_control", x, c, p))
    return f, g, H, fc, gc


def mp_coexistence(problem: Problem, xa, xb, c, digits: int, iters: int = 60):
    import mpmath
    k = problem.k
    with mpmath.workdps(digits + 20):
        xa = [mpmath.mpf(float(v)) for v in xa]
        xb = [mpmath.mpf(float(v)) for v in xb]
        c = mpmath.mpf(float(c))
        tol = mpmath.mpf(10) ** (-(digits + 8))
        converged = False
        res = mpmath.inf
        for it in range(1, iters + 1):
            fa, ga, Ha, fca, gca = _mp_blocks(problem, xa, c)
            fb, gb, Hb, fcb, gcb = _mp_blocks(problem, xb, c)
            F = list(ga) + list(gb) + [fa - fb]
            res = max(abs(v) for v in F)
            A = mpmath.zeros(2 * k + 1, 2 * k + 1)
            for i in range(k):
                for j in range(k):
                    A[i, j] = Ha[i][j]
                    A[k + i, k + j] = Hb[i][j]
                A[i, 2 * k] = gca[i]
                A[k + i, 2 * k] = gcb[i]
                A[2 * k, i] = ga[i]
                A[2 * k, k + i] = -gb[i]
            A[2 * k, 2 * k] = fca - fcb
            try:
                dz = mpmath.lu_solve(A, mpmath.matrix([-v for v in F]))
            except ZeroDivisionError:
                break
            xa = [xa[i] + dz[i] for i in range(k)]
            xb = [xb[i] + dz[k + i] for i in range(k)]
            c = c + dz[2 * k]
            if max(abs(v) for v in dz) <= tol * (1 + abs(c)):
                converged = True
                break
        return dict(c=c, c_str=mpmath.nstr(c, digits), residual=float(res), converged=converged,
                    iterations=it, dps=mpmath.mp.dps)


def critical_newton(problem: Problem, x0, c, iters: int = 60):
    """det H(x0; c) = 0 for c at the fixed symmetric point x0."""
    k = problem.k
    x0 = np.asarray(x0, float)
    c = float(c)
    res = math.inf
    for it in range(1, iters + 1):
        H = np.asarray(problem.hess(list(x0), c), float).reshape(k, k)
        Hc = np.asarray(problem.blk("hessian_d_control", x0, c), float).reshape(k, k)
        det = np.linalg.det(H)
        ddc = float(np.trace(adjugate(H) @ Hc))
        res = abs(det)
        if ddc == 0 or not np.isfinite(ddc):
            return dict(c=c, residual=res, converged=False, iterations=it, method="newton(det H(x0)=0)")
        dc = -det / ddc
        c += dc
        if abs(dc) <= 1e-13 * (1 + abs(c)) or (it >= 8 and abs(dc) <= 1e-10 * (1 + abs(c))):
            H = np.asarray(problem.hess(list(x0), c), float).reshape(k, k)
            return dict(c=c, residual=abs(np.linalg.det(H)), converged=True, iterations=it,
                        method="newton(det H(x0)=0)")
    return dict(c=c, residual=res, converged=False, iterations=iters, method="newton(det H(x0)=0)")


def mp_critical(problem: Problem, x0, c, digits: int, iters: int = 60):
    import mpmath
    k = problem.k
    cf = problem.compiled
    with mpmath.workdps(digits + 20):
        p = _mp_params(problem)
        c = mpmath.mpf(float(c))
        tol = mpmath.mpf(10) ** (-(digits + 8))
        converged = False
        for it in range(1, iters + 1):
            H = mpmath.matrix(cf.mp_block("hessian", list(x0), c, p))
            Hc = mpmath.matrix(cf.mp_block("hessian_d_control", list(x0), c, p))
            det = mpmath.det(H)
            if k == 1:
                ddc = Hc[0, 0]
            else:
                # d det = det * tr(H^-1 dH) away from det = 0; use the adjugate via cofactors
                adj = mpmath.zeros(k, k)
                for i in range(k):
                    for j in range(k):
                        minor = [[H[a, b] for b in range(k) if b != j] for a in range(k) if a != i]
                        adj[j, i] = (-1) ** (i + j) * mpmath.det(mpmath.matrix(minor))
                ddc = sum((adj * Hc)[i, i] for i in range(k))
            if ddc == 0:
                break
            dc = -det / ddc
            c += dc
            if abs(dc) <= tol * (1 + abs(c)):
                converged = True
                break
        return dict(c=c, c_str=mpmath.nstr(c, digits), residual=float(abs(det)), converged=converged,
                    iterations=it, dps=mpmath.mp.dps)


def measure_exponent(problem: Problem, x0, c_crit, x_start, c_start, scale=None):
    """Follow the broken minimum from (x_start, c_start) towards c_crit and fit |x - x0| ~ |c - c_crit|^beta
    on distances 1e-9 .. 1e-5 relative to the control scale (|c_crit|, or the bracket if c_crit = 0)."""
    x0 = np.asarray(x0, float)
    cscale = max(abs(c_crit), abs(c_start - c_crit))
    sign = 1.0 if c_start > c_crit else -1.0
    d_list = np.geomspace(abs(c_start - c_crit), 1e-10 * cscale, 60)
    x = np.asarray(x_start, float)
    prev = None
    data = []
    for d in d_list:
        c = c_crit + sign * d
        if prev is not None:
            x = x0 + (x - x0) * math.sqrt(d / prev)
        y, ok = newton_stationary(problem, x, c)
        if not ok:
            break
        amp = float(np.linalg.norm(y - x0))
        if amp <= 0:
            break
        data.append((d, amp))
        x, prev = y, d
    pts = [(e, a) for e, a in data if 1e-9 * cscale <= e <= 1e-5 * cscale]
    if len(pts) < 4:
        return None
    le = np.log([p[0] for p in pts])
    la = np.log([p[1] for p in pts])
    A = np.vstack([le, np.ones_like(le)]).T
    coef = np.linalg.lstsq(A, la, rcond=None)[0]
    fit = A @ coef
    stderr = float(np.sqrt(np.sum((la - fit) ** 2) / max(1, len(pts) - 2)) / np.sqrt(np.sum((le - le.mean()) ** 2)))
    return {"beta": float(coef[0]), "amplitude": float(math.exp(coef[1])), "stderr": stderr,
            "points": len(pts), "distance_range": [float(min(p[0] for p in pts)), float(max(p[0] for p in pts))],
            "quantity": "|x - x0| (order parameters) vs |control - critical|", "side": "above" if sign > 0 else "below"}


def golden_max(fun, a, b, tol):
    """Maximise a unimodal fun on [a, b] by golden section."""
    gr = (math.sqrt(5) - 1) / 2
    c, d = b - gr * (b - a), a + gr * (b - a)
    fc, fd = fun(c), fun(d)
    for _ in range(200):
        if abs(b - a) <= tol:
            break
        if fc > fd:
            b, d, fd = d, c, fc
            c = b - gr * (b - a)
            fc = fun(c)
        else:
            a, c, fc = c, d, fd
            d = a + gr * (b - a)
            fd = fun(d)
    return (a + b) / 2


def fd_jacobian_newton(residual, z0, steps, iters: int = 40, tol: float = 1e-12):
    """Newton with a central finite-difference Jacobian of an exactly evaluated residual. Returns
    (z, residual_norm, converged, iterations)."""
    z = np.asarray(z0, float).copy()
    n = z.size
    r = np.asarray(residual(z), float)
    for it in range(1, iters + 1):
        if not np.all(np.isfinite(r)):
            return z, math.inf, False, it
        J = np.zeros((r.size, n))
        for j in range(n):
            h = steps[j] * (1 + abs(z[j]))
            zp, zm = z.copy(), z.copy()
            zp[j] += h
            zm[j] -= h
            rp, rm = np.asarray(residual(zp), float), np.asarray(residual(zm), float)
            J[:, j] = (rp - rm) / (2 * h)
        try:
            dz = np.linalg.lstsq(J, -r, rcond=None)[0]
        except np.linalg.LinAlgError:
            return z, float(np.max(np.abs(r))), False, it
        lam = 1.0
        for _ in range(20):
            zn = z + lam * dz
            rn = np.asarray(residual(zn), float)
            if np.all(np.isfinite(rn)) and np.max(np.abs(rn)) < max(np.max(np.abs(r)), 1e-300) * (1 + 1e-9):
                break
            lam /= 2
        z, r = zn, rn
        if np.max(np.abs(lam * dz)) <= tol * (1 + np.max(np.abs(z))):
            return z, float(np.max(np.abs(r))), True, it
    return z, float(np.max(np.abs(r))), False, iters
