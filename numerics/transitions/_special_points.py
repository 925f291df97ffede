"""Drivers of the defining systems (_systems.py) through the one Newton (_newton.py).

coexistence:   grad f(xa; c) = 0, grad f(xb; c) = 0, f(xa; c) - f(xb; c) = 0
critical:      H(x0; c) singular at a fixed symmetric point x0
branch point:  a second stationary branch crosses (second order anywhere)
fold:          see _continuation.refine_fold
double zero:   H(x0; c, d) has a two-dimensional kernel (bicritical / tetracritical point)
critical end:  a branch point coexisting with a distinct phase (critical end point)
``digits`` runs the same system in mpmath.
"""
from __future__ import annotations

import math

import numpy as np

from ._engine import Problem, f_difference, newton_stationary
from ._newton import newton
from ._systems import BranchPoint, Coexistence, CriticalEndPoint, DoubleZero, SymmetricCritical, fourth_directional


def _typical(k_x, c_scale, k_extra=0):
    """Per-component typical sizes: 1 for order parameters and null vectors, c_scale for the control."""
    return np.hstack([np.ones(k_x), [c_scale], np.ones(k_extra)])


def soft_vector(problem: Problem, x, c):
    """Unit eigenvector of the Hessian eigenvalue of least magnitude (the null-vector guess of a fold)."""
    w, V = np.linalg.eigh(problem.at(x, c).hessian)
    return V[:, int(np.argmin(np.abs(w)))]


def coexistence_newton(problem: Problem, xa, xb, c, *, c_scale: float = 1.0, digits: int | None = None):
    """Newton on (grad_a = 0, grad_b = 0, f_a = f_b). Returns dict(xa, xb, c, residual, converged, iterations,
    method) (and c_mp, c_str, dps with digits)."""
    k = problem.k
    z0 = np.hstack([np.asarray(xa, float), np.asarray(xb, float), [float(c)]])
    typ = np.hstack([np.ones(2 * k), [c_scale]])
    r = newton(Coexistence(problem), z0, typical=typ, digits=digits)
    out = dict(xa=r.x[:k], xb=r.x[k:2 * k], c=float(r.x[-1]), residual=r.residual, converged=r.converged,
               iterations=r.iterations, method=r.method, flag=r.flag)
    if digits:
        _with_digits(out, r, digits)
    return out


def _with_digits(out, r, digits):
    import mpmath

    out.update(c_mp=r.mp_x[-1 if "xa" in out else 0], dps=r.dps)
    with mpmath.workdps(r.dps):
        out["c_str"] = mpmath.nstr(out["c_mp"], digits)
    out["c"] = out["c_mp"]


def coexistence_bisection(problem: Problem, xa, xb, c_lo, c_hi, iters: int = 200):
    """Fallback: Illinois false position on df(c) = f(xa(c)) - f(xb(c)), minima tracked by Newton.
    An exact zero at a bracket end is returned as it is."""
    def df(c, xa, xb):
        ya, oka = newton_stationary(problem, xa, c)
        yb, okb = newton_stationary(problem, xb, c)
        if not (oka and okb):
            return None, ya, yb
        return f_difference(problem, ya, yb, c), ya, yb

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
        if abs(b - a) <= 1e-15 * (abs(a) + abs(b)) or dc == 0:
            break
    return dict(xa=ya, xb=yb, c=c, residual=abs(dc), converged=True, iterations=it + 1,
                method="illinois(f_a - f_b) with Newton-tracked minima")


def mp_coexistence(problem: Problem, xa, xb, c, digits: int, c_scale: float = 1.0):
    return coexistence_newton(problem, xa, xb, c, c_scale=c_scale, digits=digits)


def critical_newton(problem: Problem, x0, c, *, c_scale: float = 1.0, digits: int | None = None):
    """The Hessian at the fixed point x0 becomes singular: Newton on (H(x0; c) phi = 0, l . phi = 1) for (c, phi).
    Returns dict(c, phi, residual, converged, iterations, method)."""
    l = soft_vector(problem, x0, c)
    z0 = np.hstack([[float(c)], l])
    r = newton(SymmetricCritical(problem, x0, l), z0, typical=np.hstack([[c_scale], np.ones(problem.k)]),
               digits=digits)
    out = dict(c=float(r.x[0]), phi=r.x[1:], residual=r.residual, converged=r.converged, iterations=r.iterations,
               method=r.method, flag=r.flag)
    if digits:
        _with_digits(out, r, digits)
    return out


def mp_critical(problem: Problem, x0, c, digits: int, c_scale: float = 1.0):
    return critical_newton(problem, x0, c, c_scale=c_scale, digits=digits)


def branch_point_newton(problem: Problem, x, c, *, c_scale: float = 1.0, digits: int | None = None):
    """A branch point of the stationary set near (x, c): where a second branch crosses. Returns dict(x, c, phi,
    residual, converged, iterations, method)."""
    k = problem.k
    l = soft_vector(problem, x, c)
    z0 = np.hstack([np.asarray(x, float), [float(c)], l, [0.0]])
    r = newton(BranchPoint(problem, l, c_scale), z0, typical=_typical(k, c_scale, k + 1), digits=digits)
    out = dict(x=r.x[:k], c=float(r.x[k]), phi=r.x[k + 1:2 * k + 1], residual=r.residual, converged=r.converged,
               iterations=r.iterations, method=r.method, flag=r.flag)
    if digits and r.mp_x is not None:
        import mpmath

        out.update(c_mp=r.mp_x[k], dps=r.dps)
        with mpmath.workdps(r.dps):
            out["c_str"] = mpmath.nstr(out["c_mp"], digits)
    return out


def measure_exponent(problem: Problem, x0, c_crit, x_start, c_start, scale=None):
    """Follow the broken minimum from (x_start, c_start) towards c_crit and fit |x - x0| ~ |c - c_crit|^beta
    on distances 1e-9 .. 1e-5 relative to the control scale (|c_crit|, or the bracket if c_crit = 0)."""
    x0 = np.asarray(x0, float)
    cscale = max(abs(c_crit), abs(c_start - c_crit), float(scale or 0.0))
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


def double_zero_newton(problem: Problem, second: str, x0, c, d, l1, l2, *, c_scale: float = 1.0,
                       d_scale: float = 1.0, digits: int | None = None, x_free=None):
    """Gauss-Newton on the DoubleZero system from (c, d) with border (l1, l2), at the fixed point x0, or (x_free
    given, the start of x) at a stationary point solved for too. Returns the NewtonResult, the system and, at a
    solution, the kernel basis W (k x 2, columns normalised) of H there."""
    system = DoubleZero(problem, second, None if x_free is not None else x0, l1, l2)
    if x_free is None:
        z0, typ = np.array([float(c), float(d)]), np.array([c_scale, d_scale])
    else:
        z0 = np.hstack([np.asarray(x_free, float), [float(c), float(d)], [0.0, 0.0]])
        typ = np.hstack([np.ones(problem.k), [c_scale, d_scale], [1.0, 1.0]])
    r = newton(system, z0, typical=typ, digits=digits)
    W = None
    if r.converged:
        W, _ = system.blocks(r.x)
        W = np.asarray(W, float)
        W = W / np.linalg.norm(W, axis=0)
    return r, system, W


def kernel_quartic(problem: Problem, x0, c, W, use_compiled: bool = True):
    """The effective Landau quartic on the two-dimensional kernel span(W) of H(x0; c):
    q(s) = Q4(u) - (1/8) b . H_perp^+ b with u = W s, b = D3[u, u, .] off the kernel (stiff modes eliminated),
    fitted as the binary quartic A s1^4 + B s1^3 s2 + C s1^2 s2^2 + D s1 s2^3 + E s2^4 on 12 directions.
    Returns dict(A, B, C, D, E, fit_residual, source)."""
    k = problem.k
    pt = problem.at(x0, c)
    H, D3 = pt.hessian, pt.third
    Q, _ = np.linalg.qr(W)
    proj = np.eye(k) - Q @ Q.T
    Hp = proj @ H @ proj
    angles = np.linspace(0.0, np.pi, 12, endpoint=False)
    rows, vals = [], []
    for th in angles:
        s1, s2 = math.cos(th), math.sin(th)
        u = W @ np.array([s1, s2])
        if use_compiled and problem.quartic is not None:       # the Taylor form compiled at the symmetric point
            q4 = float(problem.quartic.value(list(u), float(c), problem.p))
            source = "symbolic quartic Taylor form (compiled)"
        else:
            q4 = fourth_directional(problem, x0, c, u) / 24
            source = "Richardson difference of the exact third derivatives"
        b = proj @ np.einsum("ijk,i,j->k", D3, u, u)
        corr = -0.125 * float(b @ np.linalg.pinv(Hp, rcond=1e-10) @ b) if k > 2 else 0.0
        rows.append([s1 ** 4, s1 ** 3 * s2, s1 ** 2 * s2 ** 2, s1 * s2 ** 3, s2 ** 4])
        vals.append(q4 + corr)
    coef, *_ = np.linalg.lstsq(np.array(rows), np.array(vals), rcond=None)
    fit = float(np.max(np.abs(np.array(rows) @ coef - np.array(vals))))
    # a cubic term on the kernel makes the point no symmetric multicritical point (largest |D3[u, u, u]|)
    cubic = max(abs(float(np.einsum("ijk,i,j,k->", D3, u, u, u))) / 6
                for u in (W @ np.array([math.cos(t), math.sin(t)]) for t in angles))
    return dict(zip("ABCDE", map(float, coef)), fit_residual=fit, cubic=cubic, source=source)


def multicritical_kind(quartic: dict, rel: float = 1e-6):
    """bicritical / tetracritical from the kernel quartic A a^2 + C a b + E b^2 (a = s1^2, b = s2^2) of two
    order parameters that order separately (B = D = 0): a mixed phase (both nonzero) is a stable minimum of
    r1 a + r2 b + A a^2 + C a b + E b^2 exactly when 4 A E - C^2 > 0 (tetracritical; four second-order lines);
    for C > 2 sqrt(A E) the mixed phase is a saddle and the two ordered phases meet on a first-order line
    (bicritical). Returns (kind or None, reason)."""
    A, B, C, D, E = (quartic[n] for n in "ABCDE")
    size = abs(A) + abs(C) + abs(E)
    if not size > 0:
        return None, "the quartic on the kernel vanishes (higher-order multicritical point)"
    if quartic.get("cubic", 0.0) > rel * size:
        return None, "a cubic term on the kernel: no symmetric multicritical point"
    if abs(B) > rel * size or abs(D) > rel * size:
        return None, "odd terms in the kernel quartic: the two soft modes do not order separately"
    if not (A > rel * size and E > rel * size):
        return None, "a quartic coefficient on the kernel is not positive (tricritical in one mode)"
    disc = 4 * A * E - C * C
    if abs(disc) <= rel * size * size:
        return None, "4 A E - C^2 vanishes: marginal between bicritical and tetracritical"
    if disc > 0:
        return "tetracritical-point", "4 A E - C^2 > 0: the mixed phase is stable"
    if C > 0:
        return "bicritical-point", "C > 2 sqrt(A E): the mixed phase is unstable, the ordered phases meet first order"
    return None, "C < -2 sqrt(A E): the quartic is unbounded on the kernel (higher orders decide)"


def critical_end_point_newton(problem: Problem, second: str, xa, c, d, xb, *, c_scale: float = 1.0,
                              d_scale: float = 1.0, digits: int | None = None):
    """Newton on the CriticalEndPoint system from the critical phase xa, the coexisting phase xb and (c, d)."""
    k = problem.k
    p = problem.with_params(**{second: float(d)})
    l = soft_vector(p, xa, c)
    system = CriticalEndPoint(problem, second, l)
    z0 = np.hstack([np.asarray(xa, float), [float(c), float(d)], l, [0.0], np.asarray(xb, float)])
    typ = np.hstack([np.ones(k), [c_scale, d_scale], np.ones(k + 1), np.ones(k)])
    r = newton(system, z0, typical=typ, digits=digits)
    return r, system, z0
