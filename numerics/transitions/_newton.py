"""One Newton solver for every defining system, with a numpy and an mpmath back end.

A defining system (see _systems.py) provides ``residual(z, mp)`` and
``jacobian(z, mp)``. ``newton`` returns a frozen NewtonResult in the spirit of
scipy's RootResults: x, converged, iterations, residual, method, flag.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._options import DEFAULT, Options


@dataclass(frozen=True)
class NewtonResult:
    x: np.ndarray            # the solution vector (float array; mpmath numbers in mp_x with digits)
    converged: bool
    iterations: int
    residual: float          # max-norm of the residual at x
    method: str
    flag: str = "ok"         # "ok" or why not: non-finite, singular, max-iterations
    mp_x: tuple | None = None
    dps: int | None = None


def newton(system, z0, options: Options = DEFAULT, *, typical=None, digits: int | None = None,
           max_iter: int | None = None) -> NewtonResult:
    """Solve system.residual(z) = 0 from z0.

    typical: per-component size scale (default 1): a step counts as converged
    when |dz_i| <= tol * (|z_i| + typical_i) for every i.
    digits: run in mpmath with digits + options.mp_guard_digits digits, to a
    step of 10^-(digits + options.mp_tol_digits).
    """
    if digits:
        return _newton_mp(system, z0, options, typical, digits, max_iter)
    z = np.asarray(z0, float).copy()
    typ = np.ones_like(z) if typical is None else np.broadcast_to(np.asarray(typical, float), z.shape)
    n_iter = max_iter or options.newton_max_iter
    res = math.inf
    res0 = None
    for it in range(1, n_iter + 1):
        F = np.asarray(system.residual(z), float)
        if not np.all(np.isfinite(F)):
            return NewtonResult(z, False, it, math.inf, system.method, "non-finite residual (outside the domain?)")
        res = float(np.max(np.abs(F))) if F.size else 0.0
        res0 = res if res0 is None else res0
        J = np.asarray(system.jacobian(z), float)
        if not np.all(np.isfinite(J)):
            return NewtonResult(z, False, it, res, system.method, "non-finite Jacobian (outside the domain?)")
        dz = _solve(J, -F, getattr(system, "singular_ok", False))
        if dz is None or not np.all(np.isfinite(dz)):
            return NewtonResult(z, False, it, res, system.method, "singular Jacobian")
        z = z + dz
        size = float(np.max(np.abs(dz) / (np.abs(z) + typ))) if dz.size else 0.0
        if size <= options.newton_tol or (it >= options.newton_loose_after and size <= options.newton_loose_tol):
            z, res = _polish(system, z)
            if not np.isfinite(res):
                return NewtonResult(z, False, it, res, system.method, "non-finite residual (outside the domain?)")
            if res > options.residual_rel * (1 + res0):
                # a small step with a large residual: a least-squares stall, not a root
                return NewtonResult(z, False, it, res, system.method, "stalled (residual not small)")
            return NewtonResult(z, True, it, res, system.method)
    return NewtonResult(z, False, n_iter, res, system.method, "max-iterations")


def _solve(J, b, singular_ok):
    try:
        if singular_ok:
            # minimum-norm step: a zero mode (continuous symmetry) is left where it is
            return np.linalg.lstsq(J, b, rcond=1e-12)[0]
        return np.linalg.solve(J, b)
    except np.linalg.LinAlgError:
        try:
            return np.linalg.lstsq(J, b, rcond=1e-12)[0]
        except np.linalg.LinAlgError:
            return None


def _polish(system, z):
    """One more Newton step, kept only if it lowers the residual (the last digit)."""
    F = np.asarray(system.residual(z), float)
    res = float(np.max(np.abs(F))) if F.size else 0.0
    if not np.all(np.isfinite(F)) or res == 0.0:
        return z, (res if np.all(np.isfinite(F)) else math.inf)
    J = np.asarray(system.jacobian(z), float)
    if not np.all(np.isfinite(J)):
        return z, res
    dz = _solve(J, -F, getattr(system, "singular_ok", False))
    if dz is None or not np.all(np.isfinite(dz)):
        return z, res
    z2 = z + dz
    F2 = np.asarray(system.residual(z2), float)
    if np.all(np.isfinite(F2)) and float(np.max(np.abs(F2))) < res:
        return z2, float(np.max(np.abs(F2)))
    return z, res


def _newton_mp(system, z0, options, typical, digits, max_iter):
    import mpmath

    n_iter = max_iter or options.newton_max_iter
    with mpmath.workdps(digits + options.mp_guard_digits):
        z = [mpmath.mpf(v) if not isinstance(v, float) else mpmath.mpf(float(v)) for v in z0]
        typ = [mpmath.mpf(1)] * len(z) if typical is None else [mpmath.mpf(float(t)) for t in
                                                                np.broadcast_to(typical, (len(z),))]
        tol = mpmath.mpf(10) ** (-(digits + options.mp_tol_digits))
        res = mpmath.inf
        for it in range(1, n_iter + 1):
            F = list(np.asarray(system.residual(np.array(z, dtype=object), mp=True), dtype=object).ravel())
            res = max(abs(v) for v in F)
            J = np.asarray(system.jacobian(np.array(z, dtype=object), mp=True), dtype=object)
            try:
                dz = mpmath.lu_solve(mpmath.matrix(J.tolist()), mpmath.matrix([-v for v in F]))
            except ZeroDivisionError:
                return _mp_result(z, False, it, res, system.method, "singular Jacobian")
            z = [z[i] + dz[i] for i in range(len(z))]
            if all(abs(dz[i]) <= tol * (abs(z[i]) + typ[i]) for i in range(len(z))):
                F = list(np.asarray(system.residual(np.array(z, dtype=object), mp=True), dtype=object).ravel())
                return _mp_result(z, True, it, max(abs(v) for v in F), system.method, "ok")
        return _mp_result(z, False, n_iter, res, system.method, "max-iterations")


def _mp_result(z, converged, it, res, method, flag):
    import mpmath

    return NewtonResult(np.array([float(v) for v in z]), converged, it, float(res), method, flag,
                        mp_x=tuple(z), dps=mpmath.mp.dps)
