"""Phase diagrams in (control, second parameter): transition lines and special points.

A coarse scan runs the full transition analysis at a few values of the second
parameter; between coarse points each line is continued by Newton on its
defining system with a linear predictor in the second parameter (coexistence
for first order, det H(x0) = 0 for second order, susceptibility peak for a
crossover). Where the kind of a line changes between coarse points, the
special point is located and refined by Newton:
  tricritical          lambda_min H(x0; c, d) = 0 and a4_eff(c, d) = 0        (unknowns c, d)
  critical point       grad f = 0, H phi = 0, D^3 f[phi, phi, phi] = 0       (unknowns x, c, d, phi)
  critical end point   a branch point coexisting with a distinct phase        (unknowns xa, c, d, phi, beta, xb)
Bicritical and tetracritical points (two soft modes of the symmetric point at once) are searched for
directly: wherever two instabilities of x0 with different soft modes lie next to each other at a coarse
point, Gauss-Newton on the DoubleZero system starts between them; the kind follows from the Landau quartic
on the two-dimensional kernel and is checked against the phases met on a small circle around the point.
"""
from __future__ import annotations

import math

import numpy as np

from ._analysis import _landau_evidence, auto_range, find_transitions, susceptibility
from ._continuation import continue_branch, continue_spinodal
from ._engine import Problem, all_minima, minimum_test, newton_stationary, scalar_blocks, track_minimum
from ._newton import newton
from ._special_points import (branch_point_newton, coexistence_newton, critical_end_point_newton, critical_newton,
                              double_zero_newton, fd_jacobian_newton, golden_max, kernel_quartic, multicritical_kind,
                              soft_vector)
from ._systems import CriticalPoint, Tricritical
from .results import Boundary, PhaseDiagram, SpecialPoint


def _x_of(problem, named):
    return np.array([named[n] for n in problem.order_names], float)


def _state(problem, tr):
    if tr.kind == "first-order":
        return {"kind": tr.kind, "c": tr.critical_value, "xa": _x_of(problem, tr.order_parameters["before"]),
                "xb": _x_of(problem, tr.order_parameters["after"]), "spinodals": tr.spinodals}
    width = None
    hw = tr.evidence.get("half_width_range") if tr.kind == "crossover" else None
    if hw:
        width = float(hw[1] - hw[0])
    return {"kind": tr.kind, "c": tr.critical_value, "x": _x_of(problem, tr.order_parameters["before"]),
            "width": width, "branch_point": tr.kind == "second-order" and "branch_point" in tr.evidence}


def _stable(problem, x, c):
    return minimum_test(problem, x, c)[0]


def _track(problem, state, prev_state=None, weight=None):
    """One Newton continuation step of a line at the (already set) new second-parameter value."""
    kind = state["kind"]
    if kind == "first-order":
        guess = dict(state)
        if prev_state is not None and weight is not None:
            for key in ("c", "xa", "xb"):
                guess[key] = state[key] + weight * (state[key] - prev_state[key])
        sol = coexistence_newton(problem, guess["xa"], guess["xb"], guess["c"])
        if not sol["converged"]:
            return None
        xa, xb, c = sol["xa"], sol["xb"], float(sol["c"])
        if np.max(np.abs(xa - xb)) <= 1e-5 * (1 + np.max(np.abs(xa))):
            return None
        if not (_stable(problem, xa, c) and _stable(problem, xb, c)):
            return None
        return {"kind": kind, "c": c, "xa": xa, "xb": xb}
    if kind == "second-order" and state.get("branch_point"):
        # a second-order line off the symmetric point (e.g. inside an ordered phase): the branch point
        c0, x0 = state["c"], state["x"]
        if prev_state is not None and weight is not None:
            c0, x0 = c0 + weight * (c0 - prev_state["c"]), x0 + weight * (x0 - prev_state["x"])
        sol = branch_point_newton(problem, x0, c0)
        if not sol["converged"] or not _stable(problem, sol["x"], float(sol["c"])):
            return None
        return {"kind": kind, "c": float(sol["c"]), "x": np.asarray(sol["x"], float), "branch_point": True}
    if kind == "second-order":
        c0 = state["c"] if prev_state is None or weight is None else state["c"] + weight * (state["c"] - prev_state["c"])
        sol = critical_newton(problem, problem.symmetric_point, c0)
        if not sol["converged"]:
            return None
        w = np.linalg.eigvalsh(problem.at(problem.symmetric_point, float(sol["c"])).hessian)
        if w[0] < -1e-7 * max(1.0, float(np.max(np.abs(w)))):
            return None       # x0 is a saddle there (another mode ordered first): no transition of the minimum
        lan = _landau_evidence(problem, float(sol["c"]))
        if lan.get("a4_effective") is not None and lan["a4_effective"] <= 0:
            return None
        return {"kind": kind, "c": float(sol["c"]), "x": np.asarray(problem.symmetric_point, float),
                "a4": lan.get("a4_effective")}
    # crossover: maximise |d obs / d control| near the previous peak, minimum tracked by Newton:
    # one sweep over a local grid, then golden section in the best cell
    c_prev, x_prev = state["c"], state["x"]
    y, ok = newton_stationary(problem, x_prev, c_prev)
    if not ok:
        return None
    w = state.get("width") or 0.25 * (abs(c_prev) if c_prev != 0 else 1.0)
    grid = np.linspace(c_prev - w, c_prev + w, 17)
    mid = len(grid) // 2
    xs = [None] * len(grid)
    chis = np.full(len(grid), -np.inf)
    for order in (range(mid, len(grid)), range(mid, -1, -1)):
        x, c_from = y, c_prev
        for i in order:
            x, c_reached, status = track_minimum(problem, x, c_from, grid[i])
            if status != "ok":
                break
            c_from = grid[i]
            xs[i] = x
            try:
                chis[i] = abs(susceptibility(problem, x, grid[i]))
            except np.linalg.LinAlgError:
                break
    i = int(np.argmax(chis))
    if i == 0 or i == len(grid) - 1 or not np.isfinite(chis[i]):
        return None
    holder = {"x": xs[i]}

    def chi(c):
        z, okz = newton_stationary(problem, holder["x"], c)
        if not okz:
            return -math.inf
        try:
            return abs(susceptibility(problem, z, c))
        except np.linalg.LinAlgError:
            return -math.inf

    c = golden_max(chi, grid[i - 1], grid[i + 1], 1e-9 * (1 + abs(c_prev)))
    z, okz = newton_stationary(problem, xs[i], c)
    if not okz:
        return None
    return {"kind": kind, "c": float(c), "x": z, "width": w}


def _a4_residual(problem, second):
    def residual(z):
        c, d = z
        p = problem.with_params(**{second: d})
        _, _, H = scalar_blocks(p, p.symmetric_point, c)
        lam = float(np.linalg.eigvalsh(H)[0])
        a4 = _landau_evidence(p, c).get("a4_effective")
        return np.array([lam, a4 if a4 is not None else np.nan])
    return residual


def _involves_symmetric(problem, tr):
    """True if one of the two coexisting minima is the symmetric point (such a line ends at a tricritical point)."""
    if problem.symmetric_point is None or tr.kind != "first-order":
        return False
    x0 = np.asarray(problem.symmetric_point, float)
    return any(np.max(np.abs(_x_of(problem, tr.order_parameters[s]) - x0)) < 1e-7 for s in ("before", "after"))


def _tricritical(problem, second, d0, c0, d1, c1, digits=None):
    """Tricritical point between (d0, c0) and (d1, c1) on the symmetric instability line: bracketed by the sign
    change of a4_eff along the line, then Newton on the Tricritical system (mpmath with digits)."""
    res = _a4_residual(problem, second)
    ys = []
    for d, c in ((d0, c0), (d1, c1)):
        p = problem.with_params(**{second: d})
        cc = critical_newton(p, p.symmetric_point, c)
        cval = float(cc["c"]) if cc["converged"] else c
        ys.append((d, cval, res(np.array([cval, d]))[1] if cc["converged"] else np.nan))
    (da, ca, fa), (db, cb, fb) = ys
    if np.isfinite(fa) and not np.isfinite(fb):
        # the instability line is lost before db (it may end or turn at the tricritical point): bisect in the
        # second parameter for the last point where it is found with a4_eff > 0, and start Newton there
        good = (da, ca)
        lo_d, hi_d = da, db
        for _ in range(40):
            dm = 0.5 * (lo_d + hi_d)
            pm = problem.with_params(**{second: dm})
            cc = critical_newton(pm, pm.symmetric_point, good[1])
            fm = res(np.array([float(cc["c"]), dm]))[1] if cc["converged"] else np.nan
            if np.isfinite(fm) and fm > 0:
                lo_d, good = dm, (dm, float(cc["c"]))
            else:
                hi_d = dm
        z, r, conv, its = np.array([good[1], good[0]]), float("inf"), False, 0
        fb = float("nan")
    elif not (np.isfinite(fa) and np.isfinite(fb)) or fa * fb > 0:
        return None
    else:
        w = fa / (fa - fb)
        z0 = np.array([ca + w * (cb - ca), da + w * (db - da)])
        z, r, conv, its = fd_jacobian_newton(res, z0, steps=[1e-7, 1e-7])
    x0 = problem.symmetric_point
    p = problem.with_params(**{second: float(z[1])})
    l = soft_vector(p, x0, float(z[0]))
    w, V = np.linalg.eigh(p.at(x0, float(z[0])).hessian)
    degenerate = np.abs(w - l @ p.at(x0, float(z[0])).hessian @ l) <= 1e-8 * max(1.0, float(np.max(np.abs(w))))
    others = [V[:, i] for i in np.nonzero(degenerate)[0] if abs(V[:, i] @ l) < 0.5]
    system = Tricritical(problem, second, x0, l, others)
    sol = newton(system, np.hstack([z[:2], l]))
    if sol.converged:
        z, r, conv, its = sol.x[:2], sol.residual, True, sol.iterations
    values = {problem.control: float(z[0]), second: float(z[1])}
    values_digits = None
    evidence = {"newton_iterations": its, "bracket": {second: [d0, d1]},
                "a4_effective_at_bracket": [float(fa), float(fb)]}
    if digits and conv:
        mp = newton(system, np.hstack([z[:2], l]), digits=digits)
        evidence["mpmath"] = {"converged": mp.converged, "iterations": mp.iterations, "dps": mp.dps}
        if mp.converged:
            values_digits = _digits_of(mp.mp_x[:2], (problem.control, second), digits, mp.dps)
    return SpecialPoint("tricritical", values, bool(conv), float(r), system.method,
                        "ok" if conv else "not-converged", evidence, values_digits)


def _refined_digits(problem, second, system, r, digits, evidence, at: int):
    """The (control, second) of a special point rerun in mpmath at `digits` (entries at..at+2 of the unknowns),
    as strings, or None; the mpmath Newton's outcome goes into the evidence."""
    if not digits:
        return None
    mp = newton(system, r.x, digits=digits)
    evidence["mpmath"] = {"converged": mp.converged, "iterations": mp.iterations, "dps": mp.dps}
    if not mp.converged:
        return None
    return _digits_of(mp.mp_x[at:at + 2], (problem.control, second), digits, mp.dps)


def _digits_of(mp_values, names, digits, dps):
    import mpmath

    with mpmath.workdps(dps):
        return {n: mpmath.nstr(v, digits) for n, v in zip(names, mp_values)}


def _cusp_residual(problem, second):
    k = problem.k

    def residual(z):
        x, c, d = z[:k], z[k], z[k + 1]
        p = problem.with_params(**{second: d})
        g = np.asarray(p.grad(list(x), c), float).reshape(k)
        H = np.asarray(p.hess(list(x), c), float).reshape(k, k)
        D3 = np.asarray(p.blk("third", list(x), c), float).reshape(k, k, k)
        w, V = np.linalg.eigh(H)
        v = V[:, 0]
        return np.hstack([g, w[0], np.einsum("ijk,i,j,k->", D3, v, v, v)])
    return residual


def _has_folds(problem, c_lo, c_hi, x_lo):
    br = continue_branch(problem, x_lo, c_lo, c_lo - 0.5 * (c_hi - c_lo), c_hi + 0.5 * (c_hi - c_lo), +1,
                         max_steps=2000)
    if len(br.folds) >= 2:
        i = br.folds[0][0]
        j = br.folds[1][0]
        return (br.x[i], br.c[i]), (br.x[j], br.c[j])
    return None


def _critical_point(problem, second, d_first, state, d_other, digits=None):
    """Critical point (end of a first-order line, where its spinodals merge and the jump vanishes) between
    d_first (first order, state) and d_other (no jump): bisection on the existence of two folds, then Newton
    on the CriticalPoint system (mpmath with digits)."""
    c = state["c"]
    spin = state.get("spinodals")
    width = (spin[1] - spin[0]) if spin else 0.2 * abs(c)
    c_lo, c_hi = c - 3 * width - 0.05 * abs(c), c + 3 * width + 0.05 * abs(c)
    if problem.positive_control:
        c_lo = max(c_lo, 1e-6 * abs(c))

    def folds_at(d):
        p = problem.with_params(**{second: d})
        # the minimum is followed down from the coexistence point (no separate Newton pre-check, which could
        # fail where tracking succeeds and throw a valid result away)
        x_lo, _, st = track_minimum(p, state["xa"], c, c_lo)
        if not np.all(np.isfinite(x_lo)):
            return None
        return _has_folds(p, c_lo, c_hi, x_lo)

    a, b = d_first, d_other
    best = folds_at(a)
    if best is None:
        return None
    for _ in range(14):
        m = 0.5 * (a + b)
        fm = folds_at(m)
        if fm is not None:
            a, best = m, fm
        else:
            b = m
    (x1, c1), (x2, c2) = best
    z0 = np.hstack([(np.asarray(x1) + np.asarray(x2)) / 2, (c1 + c2) / 2, (a + b) / 2])
    k = problem.k
    z, r, conv, its = fd_jacobian_newton(_cusp_residual(problem, second), z0, steps=[1e-6] * (k + 2))
    p = problem.with_params(**{second: float(z[k + 1])})
    l = soft_vector(p, z[:k], float(z[k]))
    system = CriticalPoint(problem, second, l)
    sol = newton(system, np.hstack([z[:k + 2], l]))
    if sol.converged:
        z, r, conv, its = sol.x[:k + 2], sol.residual, True, sol.iterations
    values = {problem.control: float(z[k]), second: float(z[k + 1])}
    p = problem.with_params(**{second: float(z[k + 1])})
    evidence = {"x": {n: float(v) for n, v in zip(problem.order_names, z[:k])},
                "observable": float(p.obs(list(z[:k]), float(z[k]))),
                "newton_iterations": its, "bisection_bracket": {second: [float(a), float(b)]},
                "spinodals_at_bracket": [float(c1), float(c2)],
                "definition": "end of a first-order line: the two spinodals merge and the jump vanishes"}
    values_digits = None
    if digits and conv:
        mp = newton(system, np.hstack([z[:k + 2], l]), digits=digits)
        evidence["mpmath"] = {"converged": mp.converged, "iterations": mp.iterations, "dps": mp.dps}
        if mp.converged:
            values_digits = _digits_of(mp.mp_x[k:k + 2], (problem.control, second), digits, mp.dps)
    return SpecialPoint("critical-point", values, bool(conv), float(r),
                        system.method + "; started from a bisection on the existence of two folds",
                        "ok" if conv else "not-converged", evidence, values_digits)


def _x0_instabilities(problem, lo, hi, n: int = 65):
    """[(c, phi, x0)]: where an eigenvalue of H(x0; c) crosses zero for c in [lo, hi] (a sign change of a sorted
    eigenvalue on a grid), refined by Newton on the SymmetricCritical system."""
    x0 = problem.symmetric_point
    cs = np.linspace(lo, hi, n)
    eig = []
    for c in cs:
        H = problem.at(x0, c).hessian
        eig.append(np.linalg.eigvalsh(H) if np.all(np.isfinite(H)) else None)
    out = []
    for i in range(n - 1):
        if eig[i] is None or eig[i + 1] is None:
            continue
        for m in range(problem.k):
            w0, w1 = eig[i][m], eig[i + 1][m]
            if w0 * w1 < 0:
                cg = cs[i] + (cs[i + 1] - cs[i]) * w0 / (w0 - w1)
                sol = critical_newton(problem, x0, cg, c_scale=hi - lo)
                c = float(sol["c"])
                if sol["converged"] and lo <= c <= hi:
                    phi = np.asarray(sol["phi"], float)
                    phi = phi / np.linalg.norm(phi)
                    if not any(abs(c - c2) <= 1e-9 * (hi - lo) and abs(phi @ p2) > 0.9 for c2, p2, _ in out):
                        out.append((c, phi, np.asarray(x0, float)))
    return sorted(out, key=lambda t: t[0])


def _branch_instabilities(problem, x_seed, c_seed, lo, hi, n: int = 65):
    """[(c, phi, x)]: where an eigenvalue of the Hessian crosses zero along the stationary branch through
    (x_seed, c_seed), followed by Newton over a grid of c in [lo, hi] (no fixed symmetric point: shifted
    coordinates, or a disordered state that moves with the parameters)."""
    cs = np.linspace(lo, hi, n)
    i0 = int(np.argmin(np.abs(cs - c_seed)))
    xs, eig = [None] * n, [None] * n
    for order in (range(i0, n), range(i0, -1, -1)):
        x = np.asarray(x_seed, float)
        for i in order:
            y, ok = newton_stationary(problem, x, cs[i])
            if not ok or float(np.max(np.abs(y - x))) > 0.5 * (1 + float(np.max(np.abs(x)))):
                break
            H = problem.at(y, cs[i]).hessian
            if not np.all(np.isfinite(H)):
                break
            xs[i], eig[i], x = y, np.linalg.eigh(H), y
    out = []
    for i in range(n - 1):
        if eig[i] is None or eig[i + 1] is None:
            continue
        for m in range(problem.k):
            w0, w1 = eig[i][0][m], eig[i + 1][0][m]
            if w0 * w1 < 0:
                t = w0 / (w0 - w1)
                out.append((float(cs[i] + (cs[i + 1] - cs[i]) * t), eig[i][1][:, m], xs[i] + t * (xs[i + 1] - xs[i])))
    return sorted(out, key=lambda q: q[0])


def _phase_label(amplitudes, scale):
    on = [abs(a) > 1e-3 * scale for a in amplitudes]
    return {(False, False): "disordered", (True, False): "mode-1", (False, True): "mode-2"}.get(tuple(on), "mixed")


def _phases_around(problem, second, x0, c, d, V, c_radius, d_radius, n: int = 24):
    """The global minimum on a small ellipse around (c, d), labelled by its amplitudes l_i . (x - x0) on the two
    soft modes: the cyclic sequence of phases met (consecutive repeats collapsed) and the samples."""
    samples = []
    for th in np.linspace(0.0, 2 * np.pi, n, endpoint=False) + np.pi / n:
        cq, dq = c + c_radius * math.cos(th), d + d_radius * math.sin(th)
        p = problem.with_params(**{second: dq})
        mins = all_minima(p, [cq])[0]
        if not mins:
            return None, samples
        best = min(mins, key=lambda m: m.f)
        # amplitudes from the disordered state there (it moves with the parameters unless x0 is a fixed point)
        ref, ok = newton_stationary(p, np.asarray(x0, float), cq)
        ref = ref if ok and float(np.max(np.abs(ref - np.asarray(x0)))) < 0.1 * (1 + float(np.max(np.abs(x0)))) \
            else np.asarray(x0, float)
        samples.append((float(cq), float(dq), V.T @ (np.asarray(best.x, float) - ref)))
    scale = max(float(np.max(np.abs(a))) for _, _, a in samples)
    labels = [_phase_label(a, scale) for _, _, a in samples]
    seq = [lab for i, lab in enumerate(labels) if lab != labels[i - 1]] or labels[:1]
    return seq, [(cq, dq, [float(v) for v in a], lab) for (cq, dq, a), lab in zip(samples, labels)]


def _phases_kind(seq):
    """bicritical-point / tetracritical-point from the cyclic sequence of phases around the point, else None."""
    if seq is None:
        return None
    ring = seq + seq
    if sorted(seq) == ["disordered", "mode-1", "mode-2"]:
        return "bicritical-point"
    if sorted(seq) == ["disordered", "mixed", "mode-1", "mode-2"] and any(
            ring[i:i + 3] in (["mode-1", "mixed", "mode-2"], ["mode-2", "mixed", "mode-1"]) for i in range(len(seq))):
        return "tetracritical-point"
    return None


def _multicritical_points(problem, second, coarse, ranges, reports, digits=None):
    """Bicritical and tetracritical points: two soft modes of the symmetric point at once, each solved from
    the DoubleZero system started between two neighbouring instabilities of x0 with different soft modes."""
    if problem.k < 2:
        return []
    found = []
    d_lo, d_hi = float(coarse[0]), float(coarse[-1])
    spacing = (d_hi - d_lo) / max(1, len(coarse) - 1)
    for j, d in enumerate(coarse):
        rng = ranges[j]
        if rng is None:
            continue
        p = problem.with_params(**{second: float(d)})
        lo, hi = map(float, rng)
        if p.symmetric_point is not None:
            groups = [_x0_instabilities(p, lo, hi)]
        else:
            # no fixed symmetric point: the disordered branch through each second-order point found here
            groups = [_branch_instabilities(p, _x_of(p, tr.order_parameters["before"]), tr.critical_value, lo, hi)
                      for tr in reports[j] if tr.kind == "second-order"]
        for ins in groups:
            for (ca, pa, xa), (cb, pb, xb) in zip(ins[:-1], ins[1:]):
                if abs(pa @ pb) > 0.5:
                    continue
                sp_ = _try_double_zero(problem, second, p.symmetric_point, (ca, pa, xa), (cb, pb, xb), d, (lo, hi),
                                       (d_lo, d_hi), spacing, found, digits)
                if sp_ is not None:
                    found.append(sp_)
    return found


def _try_double_zero(problem, second, x0, a, b, d, c_range, d_range, spacing, found, digits):
    (ca, pa, xa), (cb, pb, xb) = a, b
    lo, hi = c_range
    r, system, W = double_zero_newton(problem, second, x0, 0.5 * (ca + cb), d, pa, pb, c_scale=hi - lo,
                                      d_scale=spacing, x_free=None if x0 is not None else 0.5 * (xa + xb))
    if not r.converged:
        return None
    # an isolated point: the (c, d) columns of the Jacobian have rank 2 (with a continuous symmetry, e.g.
    # O(2), the double zero persists along a whole line: no bicritical or tetracritical point)
    J = np.asarray(system.jacobian(r.x), float)
    k = problem.k
    cols = J[:, :2] if x0 is not None else J[:, k:k + 2]
    sv = np.linalg.svd(cols / np.maximum(np.linalg.norm(cols, axis=0), 1e-300), compute_uv=False)
    if sv[-1] < 1e-6:
        return None
    _, c_s, d_s = system.point(r.x)
    c_s, d_s = float(c_s), float(d_s)
    if not (lo <= c_s <= hi and d_range[0] <= d_s <= d_range[1] and abs(d_s - d) <= 1.5 * spacing):
        return None
    if any(abs(c_s - u.values[problem.control]) <= 1e-7 * (hi - lo)
           and abs(d_s - u.values[second]) <= 1e-7 * spacing for u in found):
        return None
    return _multicritical_point(problem, second, system, r, W, (lo, hi), spacing, digits)


def _multicritical_point(problem, second, system, r, W, c_range, spacing, digits):
    x0, c_s, d_s = system.point(r.x)
    c_s, d_s = float(c_s), float(d_s)
    x0 = tuple(float(v) for v in x0)
    beta = [float(v) for v in r.x[problem.k + 2:]] if system.x0 is None else [0.0, 0.0]
    if max(map(abs, beta)) > 1e-8:
        return None       # the point found is not stationary (grad f = -V beta): no disordered state there
    p = problem.with_params(**{second: d_s})
    at_symmetric = p.symmetric_point is not None and np.allclose(x0, p.symmetric_point, rtol=0, atol=1e-12)
    w = np.linalg.eigvalsh(p.at(x0, c_s).hessian)
    tol = 1e-7 * max(1.0, float(np.max(np.abs(w))))
    # a double zero inside an ordered phase is no point of the phase diagram: x0 must be the global minimum
    f0 = float(p.f(list(x0), c_s))
    if np.any(w < -tol) or any(m.f < f0 - 1e-9 * (1 + abs(f0)) for m in all_minima(p, [c_s])[0]):
        return None
    quartic = kernel_quartic(p, x0, c_s, W, use_compiled=at_symmetric)
    landau_kind, landau_reason = multicritical_kind(quartic)
    seq, samples = _phases_around(problem, second, x0, c_s, d_s, system.V, 0.02 * (c_range[1] - c_range[0]),
                                  0.1 * spacing)
    phases_kind = _phases_kind(seq)
    kind = landau_kind
    if kind is None:
        return None           # the Landau quartic does not decide (marginal, unbounded, odd or cubic terms)
    flag = "ok" if landau_kind == phases_kind else "landau-and-phases-disagree"
    meeting = {"bicritical-point": "two second-order lines (disordered -> mode-1, disordered -> mode-2) and one "
                                   "first-order line (mode-1 <-> mode-2) meet",
               "tetracritical-point": "two second-order lines of x0 cross; four second-order lines meet and a "
                                      "mixed phase (both modes ordered) opens between them"}[kind]
    evidence = {"disordered_state": {n: float(v) for n, v in zip(problem.order_names, x0)},
                "at_fixed_symmetric_point": bool(at_symmetric), "gradient_multipliers": beta,
                "kernel": [[float(v) for v in col] for col in W.T],
                "hessian_eigenvalues": [float(v) for v in w],
                "schur_residual": float(r.residual), "newton_iterations": r.iterations,
                "kernel_quartic": quartic, "landau_kind": landau_kind, "landau_reason": landau_reason,
                "phases_around": seq, "phases_kind": phases_kind, "phase_samples": samples,
                "lines_meeting": meeting}
    values_digits = _refined_digits(problem, second, system, r, digits, evidence,
                                    0 if system.x0 is not None else problem.k)
    return SpecialPoint(kind, {problem.control: c_s, second: d_s}, True, float(r.residual), system.method, flag,
                        evidence, values_digits)


def _critical_end_point(problem, second, crits, first_orders, d_bracket, c_range, digits=None):
    """Critical end point near the end of a second-order line: crits = [(c, d, x)] tracked points of the line
    to start from (in order), first_orders = [(d, Transition)] first-order transitions nearby. Newton on the
    CriticalEndPoint system from the critical phase and, as its partner, the coexisting phase farther from it;
    accepted when both phases are global minima there and distinct (a finite jump: not a tricritical point,
    where they merge)."""
    lo_d, hi_d = min(d_bracket), max(d_bracket)
    c_scale = c_range[1] - c_range[0]
    d_scale = hi_d - lo_d
    starts = [(crit, d_f, tr) for crit in crits for d_f, tr in
              sorted(first_orders, key=lambda t: abs(t[0] - crit[1]) + abs(t[1].critical_value - crit[0]) / c_scale)]
    for (c0, d0, xa), d_f, tr in starts:
        sides = [_x_of(problem, tr.order_parameters[n]) for n in ("before", "after")]
        xb = max(sides, key=lambda v: float(np.linalg.norm(v - xa)))
        r, system, _ = critical_end_point_newton(problem, second, xa, c0, d0, xb, c_scale=c_scale, d_scale=d_scale)
        if not r.converged:
            continue
        xa_s, c_s, d_s, phi, beta, xb_s = (np.asarray(v, float) for v in system.split(r.x))
        c_s, d_s = float(c_s[0]), float(d_s[0])
        if not (lo_d - 1e-9 * d_scale <= d_s <= hi_d + 1e-9 * d_scale and c_range[0] <= c_s <= c_range[1]):
            continue
        p = problem.with_params(**{second: d_s})
        jump = float(np.max(np.abs(xa_s - xb_s)))
        if jump <= 1e-6 * (1 + float(np.max(np.abs(xa_s)))):
            continue                       # the phases merge: a tricritical or critical point, not this
        f_s = float(p.f(list(xa_s), c_s))
        lower = [m for m in all_minima(p, [c_s])[0] if m.f < f_s - 1e-9 * (1 + abs(f_s))]
        if lower or not (_stable(p, xa_s, c_s) and _stable(p, xb_s, c_s)):
            continue                       # not on the phase boundary of the global minimum
        from ._analysis import landau_at

        lan = landau_at(p, xa_s, c_s, phi)
        evidence = {"critical_phase": {n: float(v) for n, v in zip(problem.order_names, xa_s)},
                    "coexisting_phase": {n: float(v) for n, v in zip(problem.order_names, xb_s)},
                    "soft_direction": [float(v) for v in phi / np.linalg.norm(phi)],
                    "observable_jump": abs(float(p.obs(list(xa_s), c_s)) - float(p.obs(list(xb_s), c_s))),
                    "order_parameter_jump": jump,
                    "landau_at_critical_phase": lan,
                    "second_order_line_last_point": {problem.control: float(c0), second: float(d0)},
                    "first_order_nearby": [{second: float(d), problem.control: float(t.critical_value)}
                                           for d, t in first_orders],
                    "newton_iterations": r.iterations,
                    "lines_meeting": "a second-order line ends on a first-order line, which continues through it: "
                                     "the critical phase coexists with a distinct phase (a finite jump)"}
        flag = "ok" if (lan.get("a4_effective") or 0.0) > 0 else "landau-quartic-not-positive"
        values_digits = _refined_digits(problem, second, system, r, digits, evidence, problem.k)
        return SpecialPoint("critical-end-point", {problem.control: c_s, second: d_s}, True, float(r.residual),
                            system.method, flag, evidence, values_digits)
    return None


def _follow(problem, second, state, d_from, ds):
    """Follow a line from its state at d_from through ds: the tracked points [(c, d, x)] (a second-order
    line is followed on past where it stops being a transition of the global minimum, as a branch point of a
    metastable minimum: the critical end point lies between)."""
    prev, prev_d, cur_d = None, None, d_from
    passed = []
    for d in ds:
        weight = None if prev is None else (d - cur_d) / (cur_d - prev_d)
        new = _track(problem.with_params(**{second: float(d)}), state, prev, weight)
        if new is None:
            break
        prev, prev_d, state, cur_d = state, cur_d, new, float(d)
        passed.append((new["c"], cur_d, np.asarray(new["x"], float)))
    return passed


def _split_at_specials(lines, specials, control, second):
    """A line continued straight through a bicritical or tetracritical point, or a second-order line through a
    critical end point (where the branch point it follows passes from one line onto another), is cut there
    into two lines that end on the point."""
    out = list(lines)
    for sp_ in specials:
        if sp_.kind not in ("bicritical-point", "tetracritical-point", "critical-end-point"):
            continue
        c_s, d_s = sp_.values[control], sp_.values[second]
        nxt = []
        for m in out:
            pts = m["points"]
            if sp_.kind == "critical-end-point" and m["kind"] == "first-order":
                nxt.append(m)         # the first-order line continues through a critical end point
                continue
            cut = None
            for i in range(1, len(pts) - 1):
                (c0, d0, _), (c1, d1, _) = pts[i - 1], pts[i + 1]
                if (pts[i][1] - d_s) * (pts[i - 1][1] - d_s) <= 0 or (pts[i][1] - d_s) * (d1 - d_s) < 0:
                    near = abs(pts[i][0] - c_s) <= 2 * (abs(c1 - c0) + abs(pts[i][0] - c0)) + 1e-12 * (1 + abs(c_s))
                    if near and min(abs(pts[i][1] - d_s), abs(pts[i - 1][1] - d_s)) > 1e-12 * (1 + abs(d_s)):
                        cut = i if (pts[i][1] - d_s) * (pts[i - 1][1] - d_s) <= 0 else i + 1
                        break
            if cut is None:
                nxt.append(m)
                continue
            point = (c_s, d_s, None)
            nxt.append({"kind": m["kind"], "points": list(pts[:cut]) + [point]})
            nxt.append({"kind": m["kind"], "points": [point] + list(pts[cut:])})
        out = nxt
    return out


def phase_diagram(problem: Problem, second: str, second_range, control_range=None, *, n_coarse: int = 7,
                  n_points: int = 41, log=None, digits: int | None = None, spinodals: bool = True) -> PhaseDiagram:
    """Transition lines in (control, second) for second in second_range; control_range None = automatic
    bracket at each coarse point."""
    lo2, hi2 = map(float, second_range)
    if second not in problem.param_values:
        from copyhead.errors import InvalidParameterError
        raise InvalidParameterError(second, f"is not a parameter of this free energy; known: {', '.join(problem.param_values)}")
    if not hi2 > lo2:
        from copyhead.errors import InvalidParameterError
        raise InvalidParameterError("second-range", f"need LO < HI, got [{lo2}, {hi2}]")
    warnings = []
    coarse = np.linspace(lo2, hi2, max(2, n_coarse))
    fine = np.linspace(lo2, hi2, max(n_points, n_coarse))
    reports, ranges = [], []
    for d in coarse:
        p = problem.with_params(**{second: d})
        rng = control_range
        if rng is None:
            rng = auto_range(p)
        ranges.append(rng)
        if rng is None:
            reports.append([])
            continue
        rep = find_transitions(p, *rng, spinodals=True)
        reports.append(list(rep.transitions))
        warnings.extend(f"{second}={d:.6g}: {w}" for w in rep.warnings)
        if log:
            log(f"{second}={d:.6g}: " + ", ".join(f"{t.kind} at {t.critical_value:.6g}" for t in rep.transitions))
    lines = []       # each: {"kind", "points": [(c, d)], "spinodals": [...]}
    specials = _multicritical_points(problem, second, coarse, ranges, reports, digits)

    def multicritical_in(d0, d1):     # second-order lines ending there end on that point
        return any(min(d0, d1) <= u.values[second] <= max(d0, d1) for u in specials
                   if u.kind in ("bicritical-point", "tetracritical-point"))
    for j in range(len(coarse) - 1):
        d0, d1 = coarse[j], coarse[j + 1]
        used = set()
        seg_fine = [d for d in fine if d0 < d < d1]
        # second-order lines first: a critical end point found on one explains a first-order line changing
        # its pair of phases there (not an end of it)
        for tr in sorted(reports[j], key=lambda t: t.kind != "second-order"):
            state = _state(problem.with_params(**{second: d0}), tr)
            pts = [(tr.critical_value, d0, tr.spinodals)]
            prev, prev_d = None, None
            cur_d = d0
            ok_all = True
            d_fail = d1
            for d in seg_fine:
                p = problem.with_params(**{second: d})
                weight = None if prev is None else (d - cur_d) / (cur_d - prev_d)
                new = _track(p, state, prev, weight)
                if new is None:
                    ok_all = False
                    d_fail = d
                    break
                prev, prev_d, state, cur_d = state, cur_d, new, d
                pts.append((new["c"], d, None))
            # the partner at d1: the same line continued one more step (else: the nearest of the same kind)
            partner = None
            at_d1 = None
            if ok_all:
                weight = None if prev is None else (d1 - cur_d) / (cur_d - prev_d)
                at_d1 = _track(problem.with_params(**{second: d1}), state, prev, weight)
            cands = [(q, t2) for q, t2 in enumerate(reports[j + 1]) if q not in used and t2.kind == tr.kind]
            if at_d1 is not None:
                for q, t2 in cands:
                    if abs(t2.critical_value - at_d1["c"]) <= 1e-6 * (1 + abs(at_d1["c"])):
                        partner = q
                        break
            if partner is None and ok_all:
                for q, t2 in cands:
                    if abs(t2.critical_value - tr.critical_value) <= 0.5 * (abs(tr.critical_value)
                                                                           + abs(t2.critical_value)) + 1e-12:
                        partner = q
                        break
            if partner is not None:
                used.add(partner)
                tr2 = reports[j + 1][partner]
                pts.append((tr2.critical_value, d1, tr2.spinodals))
            lines.append({"kind": tr.kind, "points": pts})
            if partner is None and tr.kind == "second-order" and any(
                    t.kind == "first-order" for t in reports[j] + reports[j + 1]) and not multicritical_in(d0, d1):
                here = (state["c"], cur_d, np.asarray(state["x"], float))
                # on past d1 (the line may have been missed at d1, close to the first-order line)
                passed = _follow(problem, second, state, cur_d, [d for d in fine if d > cur_d]) if ok_all else []
                d_hi = max([d1] + [q[1] for q in passed])
                fo = [(coarse[i], t) for i in range(j, len(coarse)) if coarse[i] <= d_hi for t in reports[i]
                      if t.kind == "first-order"]
                sp_ = _critical_end_point(problem, second, [here] + passed[-1:], fo, (d0, d_hi),
                                          ranges[j] or ranges[j + 1] or (-np.inf, np.inf), digits)
                if sp_:
                    specials.append(sp_)
                    d_s = sp_.values[second]
                    # a branch point followed past the critical end point is no transition any more: cut there
                    lines[-1]["points"] = [q for q in pts if (q[1] - d_s) * (d0 - d_s) >= 0]
                    continue
            if partner is None:
                # the line ends between d0 and d1: find out why
                kinds_next = {t.kind for t in reports[j + 1]}
                if (tr.kind == "second-order" and "first-order" in kinds_next and problem.quartic is not None
                        and problem.symmetric_point is not None):
                    nxt = min((t for t in reports[j + 1] if t.kind == "first-order"),
                              key=lambda t: abs(t.critical_value - tr.critical_value))
                    sp_ = _tricritical(problem, second, d0, tr.critical_value, d1, nxt.critical_value, digits)
                    if sp_:
                        specials.append(sp_)
                elif tr.kind == "second-order" and problem.quartic is not None and problem.symmetric_point:
                    # the first-order continuation may lie outside the control range at d1 (a wide box): the
                    # instability line of the symmetric point still continues, and a4_eff changes sign on it
                    sp_ = _tricritical(problem, second, cur_d, state["c"], d_fail, state["c"], digits)
                    if sp_ and min(d0, d1) <= sp_.values[second] <= max(d0, d1):
                        specials.append(sp_)
                elif tr.kind == "first-order" and _involves_symmetric(problem, tr):
                    if "second-order" not in kinds_next or problem.quartic is None:
                        continue

                    nxt = min((t for t in reports[j + 1] if t.kind == "second-order"),
                              key=lambda t: abs(t.critical_value - tr.critical_value))
                    sp_ = _tricritical(problem, second, d0, tr.critical_value, d1, nxt.critical_value, digits)
                    if sp_:
                        specials.append(sp_)
                elif tr.kind == "first-order" and any(u.kind == "critical-end-point" and min(d0, d1) <= u.values[
                        second] <= max(d0, d1) for u in specials):
                    continue        # the first-order line continues through the critical end point
                elif tr.kind == "first-order":
                    sp_ = _critical_point(problem, second, d0, _state(problem.with_params(**{second: d0}), tr), d1, digits)
                    if sp_:
                        specials.append(sp_)
        for q, tr2 in enumerate(reports[j + 1]):
            if q in used:
                continue
            # a line starting between d0 and d1 (reverse direction of the cases above)
            earlier = {t.kind for t in reports[j]}
            if tr2.kind == "second-order" and any(t.kind == "first-order" for t in reports[j] + reports[j + 1]) \
                    and not multicritical_in(d0, d1):
                fo = [(d0, t) for t in reports[j] if t.kind == "first-order"] + [
                    (d1, t) for t in reports[j + 1] if t.kind == "first-order"]
                # back to d0 and on (the line may have been missed at d0, close to the first-order line)
                passed = _follow(problem, second, _state(problem.with_params(**{second: d1}), tr2), d1,
                                 [d for d in fine[::-1] if d < d1])
                inside = [q for q in passed if q[1] > d0]
                crits = ([inside[-1]] if inside else []) + [q for q in passed if q[1] <= d0][:1] + passed[-1:]
                d_lo = min([d0] + [q[1] for q in passed])
                fo += [(coarse[i], t) for i in range(j) if coarse[i] >= d_lo for t in reports[i]
                       if t.kind == "first-order"]
                sp_ = _critical_end_point(problem, second, crits or [(tr2.critical_value, d1, _x_of(
                    problem, tr2.order_parameters["before"]))], fo, (d_lo, d1),
                    ranges[j + 1] or ranges[j] or (-np.inf, np.inf), digits)
                if sp_:
                    specials.append(sp_)
                    d_s = sp_.values[second]
                    # the line from the critical end point on: the back-tracked points beyond it, then d1
                    kept = [(c, d, None) for c, d, _ in passed[::-1] if (d - d_s) * (d1 - d_s) > 0]
                    lines.append({"kind": tr2.kind, "points": kept + [(tr2.critical_value, d1, tr2.spinodals)],
                                  "start": True})
                    continue
            if tr2.kind == "second-order" and problem.quartic is not None and any(
                    _involves_symmetric(problem, t) for t in reports[j]):
                prv = min((t for t in reports[j] if _involves_symmetric(problem, t)),
                          key=lambda t: abs(t.critical_value - tr2.critical_value))
                sp_ = _tricritical(problem, second, d0, prv.critical_value, d1, tr2.critical_value, digits)
                if sp_:
                    specials.append(sp_)
            if tr2.kind == "first-order" and not _involves_symmetric(problem, tr2) and "first-order" not in earlier:
                sp_ = _critical_point(problem, second, d1, _state(problem.with_params(**{second: d1}), tr2), d0, digits)
                if sp_:
                    specials.append(sp_)
            lines.append({"kind": tr2.kind, "points": [(tr2.critical_value, d1, tr2.spinodals)], "start": True})
    if len(coarse) == 1:
        for tr in reports[0]:
            lines.append({"kind": tr.kind, "points": [(tr.critical_value, coarse[0], tr.spinodals)]})
    # the same special point may be reached from both sides of a coarse interval
    unique = []
    for sp_ in specials:
        if not any(u.kind == sp_.kind and all(abs(u.values[k] - sp_.values[k]) <= 1e-6 * (1 + abs(sp_.values[k]))
                                              for k in sp_.values) for u in unique):
            unique.append(sp_)
    specials = unique
    # merge line pieces of the same kind that join at coarse points
    merged = []

    def at_special(pt):       # lines meeting at a special point are different lines
        return any(abs(pt[0] - u.values[problem.control]) <= 1e-9 * (1 + abs(pt[0]))
                   and abs(pt[1] - u.values[second]) <= 1e-9 * (1 + abs(pt[1])) for u in specials)

    for ln in lines:
        for m in merged:
            if m["kind"] == ln["kind"] and abs(m["points"][-1][1] - ln["points"][0][1]) < 1e-12 and \
                    abs(m["points"][-1][0] - ln["points"][0][0]) <= 1e-9 * (1 + abs(ln["points"][0][0])) and \
                    not at_special(ln["points"][0]):
                m["points"].extend(ln["points"][1:])
                break
        else:
            merged.append({"kind": ln["kind"], "points": list(ln["points"])})
    merged = _split_at_specials(merged, specials, problem.control, second)
    # lines end at their special points: extend each adjacent line to it (for plots and tables)
    spacing = (hi2 - lo2) / max(1, len(coarse) - 1)
    for sp_ in specials:
        c_s, d_s = sp_.values[problem.control], sp_.values[second]
        kinds = ("first-order",) if sp_.kind == "critical-point" else ("first-order", "second-order")
        for m in merged:
            if m["kind"] not in kinds or not m["points"]:
                continue
            first, last = m["points"][0], m["points"][-1]
            if at_special(first) or at_special(last):
                continue
            if abs(last[1] - d_s) <= spacing and (last[1] - first[1]) * (d_s - last[1]) >= 0:
                m["points"].append((c_s, d_s, None))
            elif abs(first[1] - d_s) <= spacing and (last[1] - first[1]) * (first[1] - d_s) >= 0:
                m["points"].insert(0, (c_s, d_s, None))
    boundaries = []
    for m in merged:
        pts = tuple((float(c), float(d)) for i, (c, d, _) in enumerate(m["points"])
                    if i == 0 or (c, d) != tuple(m["points"][i - 1][:2]))
        if len(pts) == 1 and at_special(pts[0]):
            continue           # the lines meeting at a special point, seen at a coarse point exactly on it
        boundaries.append(Boundary(m["kind"], pts, "coarse full analysis + Newton continuation in the second parameter"))
    if spinodals:
        for pts, ends, d_start in _spinodal_lines(problem, second, coarse, fine, reports):
            pts, ends = _clipped_at_tricritical(problem.control, second, pts, list(ends), d_start, specials, spacing)
            for sp_ in specials:      # a spinodal line ends where the two spinodals merge
                if sp_.kind not in ("critical-point", "bicritical-point"):
                    continue
                c_s, d_s = sp_.values[problem.control], sp_.values[second]
                if len(pts) >= 2 and abs(pts[0][1] - d_s) <= spacing and (pts[-1][1] - pts[0][1]) * (pts[0][1] - d_s) >= 0:
                    pts = [(c_s, d_s)] + pts
                    ends[0] = sp_.kind.replace("-", " ")
                elif len(pts) >= 2 and abs(pts[-1][1] - d_s) <= spacing and (pts[-1][1] - pts[0][1]) * (d_s - pts[-1][1]) >= 0:
                    pts = pts + [(c_s, d_s)]
                    ends[1] = sp_.kind.replace("-", " ")
            boundaries.append(Boundary("spinodal", tuple((float(c), float(d)) for c, d in pts),
                                       "fold system (grad=0, H phi=0, l.phi=1; Goldstone modes deflated), branch-point "
                                       "system, or H(x0) phi = 0 at a fixed point, continued in the second parameter "
                                       "with a linear predictor and step halving",
                                       tuple(ends)))
    return PhaseDiagram(problem.control, second, tuple(control_range) if control_range else ("auto",),
                        (lo2, hi2), {k: v for k, v in problem.param_values.items() if k != second},
                        tuple(boundaries), tuple(specials), tuple(warnings))


def _clipped_at_tricritical(control, second, pts, ends, d_start, specials, spacing):
    """A spinodal line through a tricritical point: beyond it the limit of stability of the symmetric phase is
    the second-order line itself, and the other spinodal has merged into it. Keep the side of the start (the
    first-order side), ending at the tricritical point with that reason."""
    for sp_ in specials:
        if sp_.kind != "tricritical" or len(pts) < 2:
            continue
        c_t, d_t = sp_.values[control], sp_.values[second]
        ds_ = [d for _, d in pts]
        if not (min(ds_) - spacing <= d_t <= max(ds_) + spacing):
            continue
        if d_start <= d_t:
            kept = [(c, d) for c, d in pts if d < d_t]
            if kept and kept[-1][1] != d_t:
                kept.append((c_t, d_t))
            pts, ends = kept, [ends[0], "tricritical point: the spinodal joins the second-order line"]
        else:
            kept = [(c, d) for c, d in pts if d > d_t]
            pts, ends = [(c_t, d_t)] + kept, ["tricritical point: the spinodal joins the second-order line", ends[1]]
    return pts, ends


def _spinodal_lines(problem, second, coarse, fine, reports):
    """Each spinodal (fold) of a first-order transition at a coarse point, continued in both directions of the
    second parameter until the fold Newton fails or the line turns back (it ends, e.g. at a critical point)."""
    ds = np.array(sorted(set(map(float, fine)) | set(map(float, coarse))))
    lines = []

    def known(c, d):
        return any(abs(dd - d) < 1e-12 and abs(cc - c) <= 1e-7 * (1 + abs(c)) for ln, _, _ in lines for cc, dd in ln)

    for j, d in enumerate(coarse):
        for tr in reports[j]:
            if tr.kind != "first-order":
                continue
            for key in ("spinodal_lo", "spinodal_hi"):
                fold = tr.evidence.get(key)
                if not isinstance(fold, dict) or not fold.get("converged") or known(fold["control"], float(d)):
                    continue
                start = (np.asarray(fold["x"], float), float(fold["control"]))
                fwd, why_fwd = continue_spinodal(problem, second, float(d), start, [v for v in ds if v > d])
                bwd, why_bwd = continue_spinodal(problem, second, float(d), start, [v for v in ds[::-1] if v < d])
                lines.append((bwd[::-1] + [(start[1], float(d))] + fwd, (why_bwd, why_fwd), float(d)))
    return lines


def transition_line(problem: Problem, second: str, values, start_transition):
    """Continue one transition (a Transition at values[0]) through the given second-parameter values.
    Returns list of (control, second) pairs; stops where the line ends."""
    state = _state(problem.with_params(**{second: values[0]}), start_transition)
    pts = [(state["c"], float(values[0]))]
    prev, prev_d, cur_d = None, None, float(values[0])
    for d in values[1:]:
        p = problem.with_params(**{second: float(d)})
        weight = None if prev is None else (d - cur_d) / (cur_d - prev_d)
        new = _track(p, state, prev, weight)
        if new is None:
            break
        prev, prev_d, state, cur_d = state, cur_d, new, float(d)
        pts.append((new["c"], float(d)))
    return pts
