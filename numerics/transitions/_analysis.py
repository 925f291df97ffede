"""Drivers: build problems, locate and classify transitions, map phase diagrams."""
from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from copyhead.errors import ConvergenceError, InvalidParameterError

from . import _landau
from ._continuation import continue_branch, refine_fold
from ._domain import infer_domain
from ._engine import (OFFSET_LIMIT, XMAX, Problem, f_difference, all_minima, control_value, minimum_test,
                      minima_nd, newton_stationary, rounding_noise, scalar_blocks, stationary_1d, track_minimum,
                      unit_exponents,
                      with_symmetry, with_units, x_unit)
from ._special_points import (branch_point_newton, coexistence_bisection, coexistence_newton, critical_newton, golden_max,
                              measure_exponent, mp_coexistence, mp_critical)
from ._systems import fourth_directional
from .results import Fold, Transition, TransitionReport, jsonable

WIDE_RANGE = (1e-60, 1e60)          # decades scanned for the model's own control scale


# ------------------------------------------------------------------ builders

def expression_problem(text: str, order_params, control: str, params: dict | None = None) -> Problem:
    """A user-typed free energy (parsed safely, compiled with exact derivatives)."""
    from copyhead.numerics.compiled import compile_free_energy

    import sympy as sp

    from .expression import parse_free_energy

    params = dict(params or {})
    parsed = parse_free_energy(text, order_params, control, list(params))
    cf = compile_free_energy(parsed.expr, parsed.order_params, parsed.control, parsed.params)
    # Candidate symmetric point: the origin. It is used only where grad f vanishes there for every
    # control value at the current parameters (checked numerically, again after every parameter change).
    candidate = tuple(0.0 for _ in parsed.order_params)
    quartic = None
    try:
        q4, ys = _landau.quartic_form_expr(parsed.expr, parsed.order_params, candidate)
        if not q4.has(sp.nan, sp.zoo):
            quartic = compile_free_energy(q4, ys, parsed.control, parsed.params)
    except (ValueError, TypeError, ZeroDivisionError):
        quartic = None
    domain = infer_domain(parsed.expr, parsed.order_params, parsed.control, parsed.params)
    problem = Problem(cf, str(parsed.control), {k: float(v) for k, v in params.items()},
                      tuple(str(s) for s in parsed.order_params), str(parsed.order_params[0]), None, None,
                      quartic, label=text, extra={"expression": text, "domain": domain.describe()},
                      symmetric_candidate=candidate, domain=domain)
    return with_symmetry(problem)


# ------------------------------------------------------------------ helpers

def _grid(lo, hi, n):
    if lo > 0 and hi / lo > 8:
        return np.geomspace(lo, hi, n)
    return np.linspace(lo, hi, n)


def _close(a, b, rel=1e-6):
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b)))) <= rel * (1 + float(np.max(np.abs(a))))


def _global_minima(problem, cs, mins):
    """Global minimum per control value; ties (e.g. +-x of a symmetric problem) go to the previous choice."""
    out = []
    prev = None
    for c, pts in zip(cs, mins):
        if not pts:
            out.append(None)
            continue
        ref = min(pts, key=lambda p: p.f)
        diffs, errs = zip(*[f_difference(problem, p.x, ref.x, c, with_error=True) if p is not ref else (0.0, 0.0)
                            for p in pts])
        low = min(diffs)
        tol = max(1e-11 * (1 + min(abs(ref.f), OFFSET_LIMIT)), 10 * max(errs))
        cands = [(p, d) for p, d in zip(pts, diffs) if d <= low + tol]
        if prev is not None and len(cands) > 1:
            best = min(cands, key=lambda pd: float(np.max(np.abs(pd[0].x - prev.x))))[0]
        else:
            best = min(cands, key=lambda pd: (pd[1], float(np.max(pd[0].x))))[0]
        out.append(best)
        prev = best
    return out


def _point_dict(problem, x, c):
    f, g, H = scalar_blocks(problem, x, c)
    return {"x": [float(v) for v in x], "observable": float(problem.obs(list(x), c)), "free_energy": f,
            "gradient_norm": float(np.max(np.abs(g))), "hessian_eigenvalues": [float(v) for v in np.linalg.eigvalsh(H)]}


def _named(problem, x):
    return {n: float(v) for n, v in zip(problem.order_names, x)}


def _is_stable(problem, x, c):
    return minimum_test(problem, x, c)[0]


def _at_symmetric(problem, x):
    return problem.symmetric_point is not None and _close(x, problem.symmetric_point, 1e-7)


def _lambda_sym(problem, c):
    _, _, H = scalar_blocks(problem, problem.symmetric_point, c)
    return float(np.linalg.eigvalsh(H)[0])


def susceptibility(problem, x, c):
    """d obs / d control along the minimum through (x, c): exact dx/dc = -H^-1 d grad/dc."""
    _, _, H = scalar_blocks(problem, x, c)
    gc = np.asarray(problem.blk("gradient_d_control", list(x), c), float).reshape(problem.k)
    dx = np.linalg.lstsq(H, -gc, rcond=1e-12)[0]     # minimum norm: flat directions do not count
    return float(problem.obs_gradient(x, c) @ dx + problem.obs_d_control(x, c))


# ------------------------------------------------------------------ main driver

def find_transitions(problem: Problem, lo: float, hi: float, *, digits: int | None = None, n_grid: int = 49,
                     range_source: str = "user", log=None, spinodals: bool = True) -> TransitionReport:
    """Locate and classify every transition of the global minimum for control in [lo, hi].

    A range far from 1 (a control of order 1e-20 or 1e12) is solved in the reduced control u = c / 10^k with
    u = O(1), so every tolerance is relative to the range's own scale; the report is in the user's units."""
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        raise InvalidParameterError("range", f"need finite LO < HI, got [{lo}, {hi}]")
    if problem.positive_control and lo <= 0:
        raise InvalidParameterError("range", f"{problem.control} must be positive; got LO = {lo}")
    if unit_exponents(problem) == (0, 0, 0):
        c_exp = range_exponent(lo, hi)
        cu = 10.0 ** c_exp
        x_exp, f_exp = order_parameter_exponents(problem, c_exp, lo / cu, hi / cu)
        if c_exp or x_exp or f_exp:
            reduced = _find_transitions(with_units(problem, c_exp, x_exp, f_exp), lo / cu, hi / cu, digits=digits,
                                        n_grid=n_grid, range_source=range_source, spinodals=spinodals)
            return in_user_units(reduced, c_exp, x_exp, f_exp, (lo, hi))
    return _find_transitions(problem, lo, hi, digits=digits, n_grid=n_grid, range_source=range_source,
                             spinodals=spinodals)


def order_parameter_exponents(problem: Problem, c_exp: int, lo: float, hi: float, n: int = 9) -> tuple:
    """(k_x, k_f): with the control in units of 10^c_exp, in units of 10^k_x the local minima over [lo, hi] are
    O(1) (the largest |x| of a coarse scan), and in units of 10^k_f so is the curvature there (the largest
    |Hessian eigenvalue| in those x units, reduced only below 1e-3). Each is 0 within 1e-3 .. 1e3, or without
    minima to measure.
    The curvature is measured first: minima of a free energy whose variations are ~1e-40 are found only once
    f is O(1); their size then gives k_x, and the curvature in units of 10^k_x gives k_f."""
    cs = _grid(lo, hi, n)

    def scan(p_):     # without all_minima's snapping onto the symmetric point (absolute tolerances in x and f)
        with np.errstate(all="ignore"):
            if p_.k == 1:
                return [[m for m in pts if m.stable] for pts in stationary_1d(p_, cs)]
            return minima_nd(p_, cs)

    # the largest scale seen (not a median): near-zero minima of a symmetric phase and the flat quartic
    # minimum at a critical point carry no scale, rounding noise there even less
    def curvature_exponent(mins, x_factor=1.0):
        curv = [float(np.max(np.abs(m.eig))) * x_factor for pts in mins for m in pts]
        curv = [v for v in curv if v > 0 and math.isfinite(v)]
        k = int(round(math.log10(max(curv)))) if curv else 0
        # only a tiny curvature is reduced (f ~ 1e-40 meets absolute tolerances); a large one is usually local
        # (a log boundary: Curie-Weiss at T = 0.1 has f'' ~ 1e7 there) and harmless
        return k if k <= -3 else 0

    first = scan(with_units(problem, c_exp))
    k_f0 = curvature_exponent(first)
    mins = scan(with_units(problem, c_exp, 0, k_f0)) if k_f0 else first
    sizes = [max(float(np.max(np.abs(m.x))) for m in pts) for pts in mins if pts]
    sizes = [v for v in sizes if v > 0 and math.isfinite(v)]
    k_x = int(round(math.log10(max(sizes)))) if sizes else 0
    k_x = k_x if abs(k_x) >= 3 else 0
    return k_x, k_f0 + curvature_exponent(mins, 10.0 ** (2 * k_x))


def range_exponent(lo: float, hi: float) -> int:
    """k such that the range measured in units of 10^k is O(1) (0 within 1e-2 .. 1e2: nothing to reduce).
    A geometric grid (0 < lo, hi/lo > 8) is centred on its geometric mean."""
    if lo > 0 and hi / lo > 8:
        size = math.sqrt(lo * hi)
    else:
        size = max(abs(lo), abs(hi))
    k = int(round(math.log10(size)))
    return k if abs(k) >= 2 else 0


# evidence entries measured in the control (times its unit), per unit of the control (divided by it)
_CONTROL_KEYS = ("bracket", "half_width_range", "distance_range", "control", "det_sign_changes")
_PER_CONTROL_KEYS = ("da2_dcontrol", "susceptibility_peak")
# entries measured in the order parameters: power of the order-parameter unit they carry
_X_POWERS = {"x": 1, "distance_at_1e-2": 1, "distance_at_1e-4": 1, "gradient_norm": -1, "hessian_eigenvalues": -2,
             "a2": -2, "da2_dcontrol": -2, "a3": -3, "a4": -4, "a4_effective": -4, "a4_stiff_mode_correction": -4}
# entries that are (derivatives of) the free energy: they carry its unit once
_F_KEYS = ("free_energy", "free_energy_difference", "gradient_norm", "hessian_eigenvalues", "a2", "da2_dcontrol",
           "a3", "a4", "a4_effective", "a4_stiff_mode_correction")


def _evidence_in_user_units(obj, cu, xu, fu=1.0, named=False):
    """Evidence computed in reduced units, in the user's units (cu, xu: units of control and order parameters).
    named: inside an order-parameter dict {name: value} (order_parameters, branch_point x)."""
    if isinstance(obj, dict):
        out = {}
        for key, v in obj.items():
            if named:
                out[key] = _times(v, xu)
                continue
            factor = 1.0
            if key in _CONTROL_KEYS:
                factor *= cu
            if key in _PER_CONTROL_KEYS:
                factor /= cu
            if key in _X_POWERS and key != "x":
                factor *= xu ** _X_POWERS[key]
            if key in _F_KEYS:
                factor *= fu
            if key == "amplitude" and isinstance(obj.get("beta"), (int, float)):
                factor = xu / cu ** obj["beta"]              # |x - x0| = A |c - c*|^beta
            if key in ("x", "symmetric_point") and isinstance(v, dict):
                out[key] = _evidence_in_user_units(v, cu, xu, fu, named=True)
            elif key == "x" and not isinstance(v, str):
                out[key] = _times(v, xu)
            elif factor != 1.0 and v is not None and not isinstance(v, (str, dict, bool)):
                out[key] = _times(v, factor)
            else:
                out[key] = _evidence_in_user_units(v, cu, xu, fu)
        return out
    if isinstance(obj, (list, tuple)):
        return type(obj)(_evidence_in_user_units(v, cu, xu, fu) for v in obj)
    return obj


def _times(v, unit):
    if v is None or isinstance(v, (str, bool)):
        return v
    if isinstance(v, (list, tuple)):
        return type(v)(_times(u, unit) for u in v)
    if isinstance(v, dict):
        return {k: _times(u, unit) for k, u in v.items()}
    return float(v) * unit


def _digits_in_user_units(text, exponent, digits):
    import mpmath

    if text is None:
        return None
    with mpmath.workdps(digits + 10):       # a decimal shift: exact, no second rounding
        return mpmath.nstr(mpmath.mpf(text) * mpmath.mpf(10) ** exponent, digits)


def in_user_units(report: TransitionReport, c_exp: int, x_exp: int, f_exp: int, user_range) -> TransitionReport:
    """A report computed in reduced units (control / 10^c_exp, order parameters / 10^x_exp, f / 10^f_exp), in
    the user's units."""
    cu, xu, fu = 10.0 ** c_exp, 10.0 ** x_exp, 10.0 ** f_exp
    transitions = []
    for t in report.transitions:
        transitions.append(dataclasses.replace(
            t, critical_value=t.critical_value * cu,
            spinodals=None if t.spinodals is None else tuple(v * cu for v in t.spinodals),
            df_dcontrol_jump=None if t.df_dcontrol_jump is None else t.df_dcontrol_jump * fu / cu,
            critical_value_digits=_digits_in_user_units(t.critical_value_digits, c_exp, t.digits or 0),
            order_parameters=_times(jsonable(t.order_parameters), xu),
            evidence={**_evidence_in_user_units(jsonable(t.evidence), cu, xu, fu),
                      "reduced_units": f"solved in {report.control} / 1e{c_exp}, order parameters / 1e{x_exp}, "
                                       f"f / 1e{f_exp}"}))
    folds = tuple(dataclasses.replace(f, control=f.control * cu, x=tuple(v * xu for v in f.x)) for f in report.folds)
    return dataclasses.replace(report, range=(float(user_range[0]), float(user_range[1])),
                               transitions=tuple(transitions), folds=folds,
                               branches=_evidence_in_user_units(dict(report.branches), cu, xu, fu))


def _find_transitions(problem: Problem, lo: float, hi: float, *, digits: int | None = None, n_grid: int = 49,
                      range_source: str = "user", spinodals: bool = True) -> TransitionReport:
    t0 = time.perf_counter()
    warnings = []
    cs = _grid(lo, hi, n_grid)
    mins = all_minima(problem, cs)
    gm = _global_minima(problem, cs, mins)
    # a grid point exactly at a critical point has only a quartic (not strict) minimum: it is bridged over
    missing = [float(cs[j]) for j, g in enumerate(gm) if g is None and not (
        0 < j < len(cs) - 1 and gm[j - 1] is not None and gm[j + 1] is not None)]
    if missing:
        if problem.domain.unbounded:
            why = f"the free energy may be unbounded below or its minimum outside |x| < {XMAX * x_unit(problem):g}"
        else:
            why = ("the minimum may lie on the edge of the domain (" + ", ".join(problem.domain.describe())
                   + ") or closer to it than double precision resolves")
        warnings.append(f"no local minimum found at {len(missing)} control value(s), e.g. {control_value(problem, missing[0]):.6g}: {why}")
    noisy = [j for j, m in enumerate(mins) if not resolved_minima(problem, m)]
    if noisy:
        warnings.append(f"minima not resolved in double precision at {len(noisy)} control value(s), e.g. "
                        f"{problem.control} = {control_value(problem, cs[noisy[0]]):.6g}: rounding makes closely "
                        "spaced spurious minima (a term of f too large for its digits); transitions there are "
                        "not trusted")
    for j, end in ((0, "LO"), (len(cs) - 1, "HI")):
        if gm[j] is not None and len(_distinct_minima(problem, mins[j], cs[j])) > 1:
            warnings.append(f"a second local minimum exists at the range end {end} = {control_value(problem, cs[j]):.6g}: its branch (and a "
                            "transition between the two) may continue past the searched range")
    unbounded = _unbounded_below(problem, cs, gm)
    if unbounded:
        c_u, x_u, f_u, f_m = unbounded[0]
        f_unit = 10.0 ** unit_exponents(problem)[2]
        warnings.append(f"free energy unbounded below (or its global minimum lies beyond |x| = {XMAX * x_unit(problem):g}): at "
                        f"{problem.control} = {control_value(problem, c_u):.6g}, f = {f_u * f_unit:.6g} at x = {[float(v) * x_unit(problem) for v in x_u]}, below the "
                        f"lowest minimum found or f inside the domain (f = {f_m * f_unit:.6g}), at {len(unbounded)} of {len(cs)} control values; "
                        "transitions of local minima are flagged")
    scale = hi - lo
    transitions, folds, branch_info = [], [], {"continued": 0, "steps": 0, "det_sign_changes": []}
    events = []
    # a grid point where the global minimum is soft (quartic, exactly at a critical point) is bridged over
    # (a zero mode found at one grid point only, not at its neighbours, is such a quartic point, not a symmetry)
    def extra_zero_modes(j):
        near = [gm[i].zero_modes for i in (j - 1, j + 1) if gm[i] is not None]
        return bool(near) and gm[j].zero_modes > min(near)

    present = [j for j, g in enumerate(gm) if g is not None and (j in (0, len(cs) - 1) or not (
        _soft(g) or extra_zero_modes(j)))]
    for i, i2 in zip(present[:-1], present[1:]):
        # a grid point without a strict minimum (e.g. a quartic minimum exactly at a critical point) is bridged
        ev = _classify_interval(problem, cs, i, gm[i], gm[i2], scale, warnings, i2=i2)
        if ev is not None:
            ev["i2"] = i2
            events.append(ev)
    splits = []              # events confirmed as transitions split the continuous stretches
    for ev in events:
        if ev["type"] == "jump":
            tr, fl = _first_order(problem, ev, lo, hi, scale, digits, branch_info, spinodals, warnings)
            folds.extend(fl)
        elif ev["type"] == "continuous-anywhere":
            tr = _second_order_anywhere(problem, ev, scale, digits)
        else:
            tr = _second_order(problem, ev, scale, digits)
        if tr is not None:
            transitions.append(tr)
            splits.append(ev)
    stretches = []           # index ranges of continuous global-minimum pieces (for crossovers)
    start = 0
    for ev in splits:
        stretches.append((start, ev["i"]))
        start = ev["i2"]
    if present:
        stretches.append((start, present[-1]))
    stretches = [(s_, e_) for s_, e_ in stretches if all(gm[j] is not None for j in range(s_, e_ + 1))]
    for s, e in stretches:
        tr = _crossover(problem, cs, gm, s, e, scale)
        if tr is not None:
            transitions.append(tr)
    transitions.sort(key=lambda t: t.critical_value)
    if unbounded:
        transitions = [dataclasses.replace(t, flag="free-energy-unbounded-below") for t in transitions]
    branch_info["grid_points"] = int(len(cs))
    branch_info["seconds"] = time.perf_counter() - t0
    return TransitionReport(problem.control, problem.observable_name, (float(lo), float(hi)), range_source,
                            dict(problem.param_values), tuple(transitions), tuple(folds), branch_info,
                            tuple(_deduplicated(warnings)), _report_flag(unbounded, transitions, bool(missing)))


def _report_flag(unbounded: bool, transitions, missing: bool = False) -> str:
    """The report is "ok" only when every transition in it is: one unconverged transition taints the whole, and
    control values without a local minimum (it lies on the domain's edge, or nowhere) leave the answer open."""
    if unbounded:
        return "free-energy-unbounded-below"
    if missing:
        return "minimum-not-found"
    bad = sorted({t.flag for t in transitions if t.flag != "ok"})
    return "ok" if not bad else "transition-not-ok: " + ", ".join(bad)


def _deduplicated(warnings) -> list:
    """Each warning once; runs of "continuous but singular" intervals become one warning over their union."""
    out, singular = [], []
    for w in warnings:
        if w.startswith("global minimum continuous but singular between "):
            singular.append(w)
        elif w not in out:
            out.append(w)
    if len(singular) > 1:
        import re

        ends = [float(v) for w in singular for v in re.findall(r"between (\S+) and (\S+) ", w)[0]]
        out.append(f"global minimum continuous but singular in {len(singular)} grid intervals between {min(ends):.10g} "
                   f"and {max(ends):.10g} (diverging susceptibility: a critical point?)")
    else:
        out.extend(singular)
    return out


def _distinct_minima(problem, minima, c):
    """Minima with distinct free energies (mirror images, equal in f, count once)."""
    if len(minima) < 2:
        return list(minima)
    ref = minima[0]
    out, seen = [ref], [0.0]
    tol = 1e-9 * (1 + min(abs(ref.f), OFFSET_LIMIT))
    for m in minima[1:]:
        d = f_difference(problem, m.x, ref.x, c)
        if all(abs(d - s_) > tol for s_ in seen):
            out.append(m)
            seen.append(d)
    return out


def _soft(m) -> bool:
    """The global minimum has a (non-symmetry) Hessian eigenvalue at zero: a quartic minimum."""
    w = np.sort(m.eig)
    n0 = min(m.zero_modes, w.size - 1)
    return bool(m.zero_modes and w.size == m.zero_modes) or (
        m.zero_modes < w.size and abs(w[m.zero_modes if m.zero_modes else 0]) <= 1e-8 * max(1.0, float(np.max(np.abs(w))))
        and n0 >= 0)


FAR_RADII = np.geomspace(10.0, 1e100, 34)   # out to the far scale of double precision: a term growing like
# log(x)^2 loses to t*x only beyond x ~ 1e5 at t = -1e-3 (1e23 at t = -1e-20)


def _unbounded_below(problem, cs, gm):
    """(c, x, f, f_ref) wherever f far out along an unbounded direction of the domain lies below the lowest
    minimum found (or, with no minimum, below f at a point inside the domain): the free energy is unbounded
    below, or its minimum lies beyond the search region. Rays are sampled geometrically out to 1e100 (growth
    rates are compared at the domain's far scale, not at a fixed radius), and every candidate is confirmed
    in mpmath at two precisions, so rounding in a cancelling expression far out is not taken for a descent."""
    k = problem.k
    lo, hi = problem.domain.box(k, cs, problem.p)
    found = []
    signs = [np.array(v) for v in np.array(np.meshgrid(*([[-1.0, 0.0, 1.0]] * k), indexing="ij")).reshape(k, -1).T
             if np.any(v)]
    for j, (c, m) in enumerate(zip(cs, gm)):
        free = [d for d in signs if all((d[i] >= 0 or lo[i, j] == -np.inf) and (d[i] <= 0 or hi[i, j] == np.inf)
                                        for i in range(k))]
        if not free:
            continue
        if m is not None:
            base, f_ref = np.asarray(m.x, float), float(m.f)
        else:
            base = _interior_point(problem, lo[:, j], hi[:, j], c)
            if base is None:
                continue
            f_ref = float(problem.f(list(base), c))
        D = np.array([d / np.linalg.norm(d) for d in free])
        P = (base[None, None, :] + FAR_RADII[None, :, None] * (1 + np.max(np.abs(base))) * D[:, None, :]).reshape(-1, k)
        with np.errstate(all="ignore"):
            fv = np.asarray(problem.f(list(P.T), c), float).reshape(-1)
            inside = problem.domain.inside(list(P.T), c, problem.p).reshape(-1)
        fv = np.where(np.isfinite(fv) & inside, fv, np.inf)
        below = np.nonzero(fv < f_ref - 1e-9 * (1 + abs(f_ref)))[0]
        # the nearest candidates first: the closer to the minimum, the less rounding can fake a descent
        radius_index = below % FAR_RADII.size
        for i in below[np.argsort(radius_index, kind="stable")][:3]:
            exact = _confirmed_value(problem, P[i], c)
            if exact is not None and exact < f_ref - 1e-9 * (1 + abs(f_ref)):
                found.append((float(c), P[i], exact, f_ref))
                break
    return found


def _interior_point(problem, lo, hi, c):
    """A point inside the domain at control c (no minimum was found there to start the far-field rays from)."""
    k = problem.k
    x = np.zeros(k)
    for i in range(k):
        if np.isfinite(lo[i]) and np.isfinite(hi[i]):
            x[i] = 0.5 * (lo[i] + hi[i])
        elif np.isfinite(lo[i]):
            x[i] = lo[i] + 1e-3 * max(1.0, abs(lo[i]))
        elif np.isfinite(hi[i]):
            x[i] = hi[i] - 1e-3 * max(1.0, abs(hi[i]))
    with np.errstate(all="ignore"):
        ok = bool(np.all(problem.domain.inside(list(x), c, problem.p))) and np.isfinite(float(problem.f(list(x), c)))
    return x if ok else None


def _confirmed_value(problem, x, c):
    """f(x) in mpmath at two precisions, each with 10 digits per decade of |x| (a polynomial of degree 10 far
    out cancels no more), or None if they disagree (rounding) or f is not real there."""
    import mpmath

    values = []
    base = 30 + 10 * int(max(0.0, math.log10(1.0 + float(np.max(np.abs(x))))))
    for dps in (base, 2 * base):
        with mpmath.workdps(dps):
            try:
                v = problem.at(x, c, mp=True).value
            except (ArithmeticError, ValueError, TypeError):
                return None
            if not isinstance(v, mpmath.mpf) or not mpmath.isfinite(v):
                return None
            values.append(v)
    if abs(values[0] - values[1]) > 1e-6 * (1 + abs(values[1])):
        return None
    return float(values[1])


def _classify_interval(problem, cs, i, a, b, scale, warnings, i2=None):
    """None if the global minimum is continuous over [c_i, c_i2]; else an event dict."""
    i2 = i + 1 if i2 is None else i2
    c0, c1 = float(cs[i]), float(cs[i2])
    if problem.symmetric_point is not None and (_at_symmetric(problem, a.x) != _at_symmetric(problem, b.x)):
        ev = _pitchfork_event(problem, c0, c1, a, b, scale)
        if ev is not None:
            ev["i"] = i
            return ev
    y, c_reached, status = track_minimum(problem, a.x, c0, c1)
    if status == "ok":
        if _close(y, b.x) or f_difference(problem, y, b.x, c1) <= 1e-11 * (1 + min(abs(b.f), OFFSET_LIMIT)):
            return None
    else:
        ev = _branch_point_event(problem, c0, c1, a, b, y, c_reached, scale)
        if ev is not None:
            ev["i"] = i
            return ev
    return {"type": "jump", "i": i, "c0": c0, "c1": c1, "a": a, "b": b}


def _approach(problem, m, c_from, c_star, x_star):
    """Follow the minimum m from c_from towards c_star; distances to x_star at 1e-2 and 1e-4 of the way left
    (None if the minimum is lost on the way)."""
    x, c = m.x, c_from
    dists = []
    for frac in (0.1, 1e-2, 1e-3, 1e-4):
        cq = c_star + (c_from - c_star) * frac
        x, c_got, status = track_minimum(problem, x, c, cq)
        if status != "ok":
            return None, x
        c = cq
        if frac in (1e-2, 1e-4):
            dists.append(float(np.linalg.norm(x - x_star)))
    return dists, x


def _branch_point_event(problem, c0, c1, a, b, y, c_reached, scale):
    """Second order anywhere: the minimum followed from c0 loses stability at a branch point (x*, c*) of the
    stationary set, and the global minimum on the far side grows continuously out of x* (its distance to x*
    shrinks as a power of |c - c*|). Symmetric point, shifted coordinates or an ordered phase alike."""
    bp = branch_point_newton(problem, y, c_reached, c_scale=scale)
    lo_, hi_ = min(c0, c1), max(c0, c1)
    if not (bp["converged"] and lo_ - 1e-9 * scale <= bp["c"] <= hi_ + 1e-9 * scale):
        return None
    c_star, x_star = bp["c"], np.asarray(bp["x"], float)
    if not (lo_ < c_star < hi_):
        return None
    tiny = 1e-9 * (1 + float(np.max(np.abs(x_star))))
    sides = {}
    for name, m, c_from in (("before", a, c0), ("after", b, c1)):
        dists, x_near = _approach(problem, m, c_from, c_star, x_star)
        if dists is None:
            return None
        d2, d4 = dists
        if not (d4 <= tiny or d4 < 0.5 * d2):      # a finite jump does not shrink
            return None
        sides[name] = {"x": m.x, "c": c_from, "distance_at_1e-2": d2, "distance_at_1e-4": d4, "x_near": x_near}
    # the ordered side is the one whose minimum departs from x* faster than linearly (power < 1)
    ratio = {n: (s_["distance_at_1e-2"] / max(s_["distance_at_1e-4"], 1e-300)) for n, s_ in sides.items()
             if s_["distance_at_1e-2"] > tiny}
    if not ratio:
        return None
    broken = min(ratio, key=ratio.get)
    return {"type": "continuous-anywhere", "c0": c0, "c1": c1, "branch_point": bp, "sides": sides,
            "broken": broken}


def _pitchfork_event(problem, c0, c1, a, b, scale):
    """Second-order candidate: the symmetric minimum loses stability inside [c0, c1] and the broken
    minimum, followed towards the instability, shrinks onto the symmetric point."""
    lam0, lam1 = _lambda_sym(problem, c0), _lambda_sym(problem, c1)
    if np.sign(lam0) == np.sign(lam1):
        return None
    sym_first = _at_symmetric(problem, a.x)
    broken = b if sym_first else a
    c_broken = c1 if sym_first else c0
    cc = critical_newton(problem, problem.symmetric_point, 0.5 * (c0 + c1))
    if not (cc["converged"] and min(c0, c1) - 1e-9 * scale <= cc["c"] <= max(c0, c1) + 1e-9 * scale):
        return None
    x0 = np.asarray(problem.symmetric_point, float)
    xcur, ok = newton_stationary(problem, broken.x, c_broken)
    if not ok:
        return None
    prev = 1.0
    for frac in (0.5, 0.1, 1e-2, 1e-3):
        cq = cc["c"] + (c_broken - cc["c"]) * frac
        for power in (0.5, 0.25, 1.0):       # guesses for exponents 1/2 (generic), 1/4 (tricritical), 1
            xg = x0 + (xcur - x0) * (frac / prev) ** power
            xnew, okq = newton_stationary(problem, xg, cq)
            if okq and not _at_symmetric(problem, xnew) and _is_stable(problem, xnew, cq):
                break
        else:
            return None
        xcur = xnew
        prev = frac
    if np.linalg.norm(xcur - x0) >= 0.5 * np.linalg.norm(broken.x - x0) + 1e-12:
        return None
    return {"type": "continuous", "c0": c0, "c1": c1, "critical": cc, "broken_x": broken.x,
            "broken_c": c_broken, "sym_first": sym_first}


def _distinct_pair(problem, sol):
    """Two different minima whose free energies differ as functions of the control (a nonzero latent heat):
    excludes symmetry-related pairs (e.g. +x and -x), whose free energies are identically equal."""
    xa, xb, c = sol["xa"], sol["xb"], float(sol["c"])
    if _close(xa, xb, 1e-7):
        return False
    dfc, err = f_difference(problem, xa, xb, c, "d_control", with_error=True)
    f_typ = min(abs(float(problem.f(list(xa), c))), OFFSET_LIMIT)
    # far above its rounding too: mirror images whose df/dc carries a huge offset (linear attention at
    # sigma2 = 1e-20) differ by rounding only
    return abs(dfc) * max(abs(c), 1.0) > 1e-10 * (1 + f_typ) and abs(dfc) > 1e6 * err


def _spinodal(problem, x_start, c, ext_lo, ext_hi, direction, scale, branch_info, ds_max, x_scale=1.0, stops=None):
    """Continue the branch of the minimum at (x_start, c) in `direction`; the first point where it stops being
    a minimum (fold: dc/ds changes sign; branch point: lowest Hessian eigenvalue changes sign), refined.
    Goldstone modes of a continuous symmetry are kept out of the continuation. Why a continuation ended
    without one is appended to `stops`."""
    zero_modes = minimum_test(problem, x_start, c)[1]         # Goldstone modes of a continuous symmetry
    br = continue_branch(problem, x_start, c, ext_lo, ext_hi, direction, scale=scale, ds0=ds_max / 5,
                         stop_after_stability_change=3, ds_max=ds_max, x_scale=x_scale, zero_modes=zero_modes)
    if stops is not None:
        stops.append(f"{br.stop} at {problem.control} = {control_value(problem, br.c[-1]):.6g} after {br.steps} steps")
    branch_info["continued"] += 1
    branch_info["steps"] += br.steps
    for (i0, i1) in br.folds + br.branch_points:
        branch_info["det_sign_changes"].append([float(br.c[i0]), float(br.c[i1])])
    for i0 in range(len(br.c) - 1):
        if np.sign(br.min_eig[i0]) == np.sign(br.min_eig[i0 + 1]) and (i0, i0 + 1) not in br.folds:
            continue
        i1 = i0 + 1
        j = i0 if abs(br.det[i0]) < abs(br.det[i1]) else i1
        is_fold = (i0, i1) in br.folds
        fixed = None
        if not is_fold and problem.symmetric_point is not None and _at_symmetric(problem, br.x[i0]) \
                and _at_symmetric(problem, br.x[i1]):
            fixed = np.asarray(problem.symmetric_point, float)
        elif not is_fold and _close(br.x[i0], br.x[i1], 1e-12):
            # the minimum does not move with the control (a symmetric value away from the origin, e.g. the
            # Potts simplex centre): the branch point is where H at that fixed point becomes singular
            fixed = np.asarray(br.x[j], float)
        if fixed is not None:
            cc = critical_newton(problem, fixed, br.c[j], c_scale=scale)
            xf, cf, res, conv = fixed, cc["c"], cc["residual"], cc["converged"]
            g = np.asarray(problem.grad(list(fixed), cf), float).ravel() if conv else None
            conv = bool(conv and np.all(np.isfinite(g)) and np.max(np.abs(g)) <= 1e-10 * (1 + float(np.max(np.abs(
                problem.at(fixed, cf).hessian)))) and abs(cf - br.c[j]) <= 5 * abs(br.c[i1] - br.c[i0]) + 1e-9 * scale)
            method = "newton(det H(x0)=0): branch point of the symmetric branch"
        if fixed is None or not conv:
            conv = False
            if not is_fold:
                bp = branch_point_newton(problem, br.x[j], br.c[j], c_scale=scale)
                xf, cf, res, conv = np.asarray(bp["x"], float), bp["c"], bp["residual"], bp["converged"]
                method = bp["method"] + ": branch point (the minimum ends where another branch crosses)"
            if not conv:
                xf, cf, res, conv, its = refine_fold(problem, br.x[j], br.c[j], zero_modes=zero_modes)
                method = ("newton(grad=0, H phi=0, l.phi=1)" + ("" if is_fold else ": branch point")
                          + (f"; {zero_modes} Goldstone mode(s) deflated" if zero_modes else ""))
            step = float(np.max(np.abs(br.x[i1] - br.x[i0]))) + abs(br.c[i1] - br.c[i0])
            near = (abs(cf - br.c[j]) + float(np.max(np.abs(xf - br.x[j])))) <= 5 * step + 1e-9 * scale
            if not (conv and near):
                w = br.min_eig[i0] / (br.min_eig[i0] - br.min_eig[i1])
                xf, cf = br.x[i0] + w * (br.x[i1] - br.x[i0]), br.c[i0] + w * (br.c[i1] - br.c[i0])
                res, conv, method = abs(float(br.min_eig[i0])), False, "linear interpolation of lambda_min"
        return Fold(float(cf), tuple(float(v) for v in xf), float(problem.obs(list(xf), cf)), float(res),
                    bool(conv), method=method, flag="ok" if conv else "not-refined", direction=direction)
    return None


def _single_valued(problem, c0, c1, n: int = 17) -> bool:
    """At most one local minimum (mirror images of equal f count once) at each of n controls in [c0, c1]."""
    for c, minima in zip(np.linspace(c0, c1, n), all_minima(problem, np.linspace(c0, c1, n))):
        if len(minima) < 2:
            continue
        ref = minima[0]
        diffs = sorted([0.0] + [f_difference(problem, m.x, ref.x, c) for m in minima[1:]])
        tol = 1e-9 * (1 + min(abs(ref.f), OFFSET_LIMIT))
        distinct = [d for j, d in enumerate(diffs) if j == 0 or abs(d - diffs[j - 1]) > tol]
        if len(distinct) > 1:
            return False
    return True


def _first_order(problem, ev, lo, hi, scale, digits, branch_info, want_spinodals, warnings=None):
    a, b, c0, c1 = ev["a"], ev["b"], ev["c0"], ev["c1"]
    xa, oka = newton_stationary(problem, a.x, 0.5 * (c0 + c1))
    xb, okb = newton_stationary(problem, b.x, 0.5 * (c0 + c1))
    sol = coexistence_newton(problem, xa if oka else a.x, xb if okb else b.x, 0.5 * (c0 + c1))
    good = (sol["converged"] and c0 - 0.5 * (c1 - c0) <= sol["c"] <= c1 + 0.5 * (c1 - c0)
            and _distinct_pair(problem, sol)
            and _is_stable(problem, sol["xa"], sol["c"]) and _is_stable(problem, sol["xb"], sol["c"]))
    if not good:
        # narrow the switch of the global minimum down by bisection, then Newton again from there
        n0, n1, na, nb, shrinks = _narrow_jump(problem, c0, c1, a, b)
        if not shrinks:
            sol2 = coexistence_newton(problem, na.x, nb.x, 0.5 * (n0 + n1))
            if (sol2["converged"] and _distinct_pair(problem, sol2)
                    and n0 - (n1 - n0) <= sol2["c"] <= n1 + (n1 - n0)
                    and _is_stable(problem, sol2["xa"], sol2["c"]) and _is_stable(problem, sol2["xb"], sol2["c"])):
                sol, good = sol2, True
            else:
                alt = coexistence_bisection(problem, na.x, nb.x, n0, n1)
                if alt is not None and _distinct_pair(problem, alt):
                    sol, good = alt, True
    if not good:
        # no two distinct minima with equal free energy: are they one and the same minimum (a continuous but
        # singular point, e.g. exactly at a critical point)? Then there is no first-order transition here.
        if shrinks:
            if warnings is not None:
                warnings.append(f"global minimum continuous but singular between {control_value(problem, c0):.10g} and {control_value(problem, c1):.10g} "
                                "(diverging susceptibility: a critical point?)")
            return None, []
        if _single_valued(problem, c0, c1):
            # first order needs two distinct minima coexisting; a soft but unique minimum that tracking lost
            # (e.g. a near-critical crossover) is not a jump
            if warnings is not None:
                warnings.append(f"between {control_value(problem, c0):.10g} and {control_value(problem, c1):.10g} the minimum was not tracked continuously, but a "
                                "17-point scan finds a single minimum throughout: no first-order transition")
            return None, []
    c = float(sol["c"])
    xa, xb = np.asarray(sol["xa"]), np.asarray(sol["xb"])
    flag = "ok" if good else "coexistence-not-converged"
    if not good:
        c = 0.5 * (c0 + c1)
        xa, xb = a.x, b.x
    oa, ob = float(problem.obs(list(xa), c)), float(problem.obs(list(xb), c))
    latent = -f_difference(problem, xa, xb, c, "d_control")       # fcb - fca without the offset's cancellation
    evidence = {"minima": [_point_dict(problem, xa, c), _point_dict(problem, xb, c)],
                "free_energy_difference": f_difference(problem, xa, xb, c),
                "bracket": [c0, c1], "newton_iterations": sol["iterations"], "newton_method": sol["method"]}
    folds = []
    spin = None
    if want_spinodals:
        ext_lo, ext_hi = lo - 2 * scale, hi + 2 * scale
        if problem.positive_control:
            ext_lo = max(ext_lo, lo * 1e-3)
        found = {}
        jump_x = float(np.max(np.abs(xa - xb)))
        # order parameters are measured in units of the jump where it is small (softmax logits ~ 1/gamma)
        x_scale = min(1.0, jump_x) if jump_x > 0 else 1.0
        for x_start, direction, side in ((xa, +1, "hi"), (xb, -1, "lo")):
            stops = []
            for ds_scale in (1.0, 0.1, 0.01):
                x_rel = float(np.max(np.abs(x_start))) / x_scale
                fold = _spinodal(problem, x_start, c, ext_lo, ext_hi, direction, scale, branch_info,
                                 ds_max=ds_scale * min(0.05, 0.05 * (jump_x / x_scale) / (1 + x_rel)),
                                 x_scale=x_scale, stops=stops)
                # a spinodal lies on the metastable side of the coexistence point
                if fold is not None and (fold.control - c) * direction >= -1e-12 * (1 + abs(c)):
                    folds.append(fold)
                    found[side] = fold
                    break
            if side not in found:
                # a branch shown stable out to the end of the continued range, or to the edge of the domain,
                # has no spinodal there
                ends = [s_ for s_ in stops if s_.startswith(("left-range", "control-nonpositive",
                                                             "order-parameter-diverged", "domain-edge"))]
                left = bool(ends)
                evidence[f"spinodal_{side}"] = (
                    ("no spinodal: the minimum stays stable along its branch in "
                     f"[{control_value(problem, ext_lo):.6g}, {control_value(problem, ext_hi):.6g}] until it stops ("
                     + ends[0] + ")")
                    if left else "spinodal not found: the continuation ended before the minimum lost stability ("
                    + "; ".join(stops) + ")")
                if not left:
                    flag = "spinodal-not-found" if flag == "ok" else flag
        for side_, fold_ in found.items():
            evidence[f"spinodal_{side_}"] = fold_.to_dict()
            if fold_.flag != "ok" and flag == "ok":
                flag = "spinodal-not-refined"
        if "lo" in found and "hi" in found:
            spin = (found["lo"].control, found["hi"].control)
            evidence["spinodal_folds"] = [found["lo"].to_dict(), found["hi"].to_dict()]
            if not (spin[0] <= c <= spin[1]):
                flag = "spinodals-do-not-bracket-coexistence"
    digits_str = None
    if digits and good:
        mp = mp_coexistence(problem, xa, xb, c, digits)
        evidence["mpmath"] = {"converged": mp["converged"], "iterations": mp["iterations"], "dps": mp["dps"],
                              "residual": mp["residual"]}
        if mp["converged"]:
            digits_str = mp["c_str"]
            c = float(mp["c"])
    return Transition("first-order", c, spin, {"before": oa, "after": ob},
                      {"before": _named(problem, xa), "after": _named(problem, xb)}, abs(ob - oa), latent,
                      bool(good), flag, sol["method"], float(sol["residual"]), digits, digits_str, evidence), folds


def _narrow_jump(problem, c0, c1, a, b, halvings: int = 16):
    """Bisect the interval where the global minimum changes (global minima recomputed at each midpoint).
    Returns (c0, c1, a, b, shrinks): shrinks is True if the change of x shrinks with the interval (a
    continuous, if singular, global minimum) rather than staying a finite jump."""
    initial = float(np.max(np.abs(a.x - b.x)))
    if initial == 0:
        return c0, c1, a, b, True
    for _ in range(halvings):
        cm = 0.5 * (c0 + c1)
        mins = all_minima(problem, np.array([cm]))
        # ties (symmetry-related minima) resolved towards the nearer end's minimum
        ga = _global_minima(problem, [c0, cm], [[a], mins[0]])[1]
        gb = _global_minima(problem, [c1, cm], [[b], mins[0]])[1]
        if ga is None or gb is None:
            break
        g = ga if np.max(np.abs(ga.x - a.x)) <= np.max(np.abs(gb.x - b.x)) else gb
        if np.max(np.abs(g.x - a.x)) <= np.max(np.abs(g.x - b.x)):
            c0, a = cm, g
        else:
            c1, b = cm, g
    return c0, c1, a, b, float(np.max(np.abs(a.x - b.x))) < 0.05 * initial


def _landau_evidence(problem, c):
    x0 = np.asarray(problem.symmetric_point, float)
    _, _, H = scalar_blocks(problem, x0, c)
    w, V = np.linalg.eigh(H)
    v = V[:, 0]
    Hc = np.asarray(problem.blk("hessian_d_control", list(x0), c), float).reshape(problem.k, problem.k)
    D3 = np.asarray(problem.blk("third", list(x0), c), float).reshape(problem.k, problem.k, problem.k)
    # several soft directions at once (a continuous symmetry, e.g. O(2)): the degeneracy of the soft mode
    degeneracy = int(np.sum(np.abs(w - w[0]) <= 1e-8 * max(1.0, float(np.max(np.abs(w))))))
    out = {"a2": float(w[0]) / 2, "da2_dcontrol": float(v @ Hc @ v) / 2, "soft_direction": [float(t) for t in v],
           "degeneracy": degeneracy}
    if problem.quartic is not None:
        q4 = float(problem.quartic.value(list(v), c, problem.p))
        a4, a3, corr = _landau.effective_quartic(q4, v, H, D3)
        out.update({"a3": a3, "a4": q4, "a4_effective": a4, "a4_stiff_mode_correction": corr,
                    "source": "symbolic (exact quartic Taylor form, compiled)"})
    return out


def landau_at(problem, x, c, phi):
    """Landau coefficients of f along the soft direction phi at a branch point (x, c): a2 = lambda/2 with its
    control derivative, a3 = D3[phi^3]/6, a4 = D4[phi^4]/24 (difference of the exact third derivatives) and
    a4_eff = a4 - (1/8) b . H_perp^+ b with b = D3[phi, phi, .] (stiff modes eliminated)."""
    phi = np.asarray(phi, float)
    phi = phi / np.linalg.norm(phi)
    pt = problem.at(x, c)
    H, D3 = pt.hessian, pt.third
    w, V = np.linalg.eigh(H)
    d4 = fourth_directional(problem, x, c, phi)
    a4, a3, corr = _landau.effective_quartic(d4 / 24, phi, H, D3)
    zero = int(np.sum(np.abs(w) <= 1e-6 * max(1.0, float(np.max(np.abs(w))))))
    return {"a2": float(phi @ H @ phi) / 2, "da2_dcontrol": float(phi @ pt.hessian_d_control @ phi) / 2,
            "a3": a3, "a4": d4 / 24, "a4_effective": a4, "a4_stiff_mode_correction": corr,
            "soft_direction": [float(t) for t in phi], "degeneracy": zero,
            "source": "exact derivative blocks at the branch point; a4 by Richardson difference of the exact D3"}


def _quartic_flag(lan, expo, evidence) -> str:
    """A second-order point whose broken minimum was followed continuously onto it needs a4_eff > 0, or, where
    a4_eff vanishes or the free energy is not analytic there, a measured exponent to stand on: then the
    Landau expansion is reported but does not decide (beta = 1/4 at a tricritical point, beta = 1 for |x|^3)."""
    a4 = lan.get("a4_effective")
    if a4 is None or a4 > 1e-8 * (1 + abs(lan.get("a4", 0.0) or 0.0)):
        return "ok"
    if expo is not None and expo.get("stderr", 1.0) < 1e-3 and 0.0 < expo["beta"] <= 1.5:
        evidence["landau_note"] = ("effective quartic not positive (vanishing, or a non-analytic term): "
                                   "classified by the measured exponent")
        return "ok"
    return "landau-quartic-not-positive"


def _second_order_anywhere(problem, ev, scale, digits):
    bp = ev["branch_point"]
    c, x_star = float(bp["c"]), np.asarray(bp["x"], float)
    lan = landau_at(problem, x_star, c, bp["phi"])
    side = ev["sides"][ev["broken"]]
    expo = measure_exponent(problem, x_star, c, side["x_near"], c + (side["c"] - c) * 1e-4, scale)
    evidence = {"branch_point": {"x": _named(problem, x_star), "phi": [float(v) for v in bp["phi"]],
                                 "newton_iterations": bp["iterations"], "residual": bp["residual"]},
                "landau": lan, "exponent": expo, "bracket": [ev["c0"], ev["c1"]],
                "approach": {n: {"distance_at_1e-2": s_["distance_at_1e-2"], "distance_at_1e-4": s_["distance_at_1e-4"]}
                             for n, s_ in ev["sides"].items()},
                "ordered_side": ev["broken"],
                "criterion": "the minimum loses stability at a branch point of grad f = 0 and the global minimum "
                             "on the other side grows continuously out of it"}
    flag = "ok"
    if abs(lan["a3"]) > 1e-6 * (1 + abs(lan["a4"])):
        flag = "cubic-landau-term"        # a transcritical exchange: continuous but not a symmetric Landau point
    else:
        flag = _quartic_flag(lan, expo, evidence)
    digits_str = None
    if digits:
        mp = branch_point_newton(problem, x_star, c, c_scale=scale, digits=digits)
        evidence["mpmath"] = {"converged": mp["converged"], "iterations": mp["iterations"], "dps": mp.get("dps")}
        if mp["converged"]:
            digits_str = mp["c_str"]
    o0 = float(problem.obs(list(x_star), c))
    named = _named(problem, x_star)
    return Transition("second-order", c, None, {"before": o0, "after": o0}, {"before": named, "after": named}, 0.0,
                      None, True, flag, bp["method"], float(bp["residual"]), digits, digits_str, evidence)


def _second_order(problem, ev, scale, digits):
    cc = ev["critical"]
    c = float(cc["c"])
    x0 = np.asarray(problem.symmetric_point, float)
    lan = _landau_evidence(problem, c)
    expo = measure_exponent(problem, x0, c, ev["broken_x"], ev["broken_c"], scale)
    ordered_zero_modes = minimum_test(problem, ev["broken_x"], ev["broken_c"])[1]
    evidence = {"symmetric_point": _named(problem, x0), "landau": lan, "exponent": expo,
                "ordered_phase_zero_modes": ordered_zero_modes,
                "bracket": [ev["c0"], ev["c1"]], "newton_iterations": cc["iterations"],
                "hessian_eigenvalue_sign_change": "lowest Hessian eigenvalue at the symmetric point changes sign"}
    flag = "ok" if cc["converged"] else "critical-newton-not-converged"
    if flag == "ok":
        flag = _quartic_flag(lan, expo, evidence)
    digits_str = None
    if digits:
        mp = mp_critical(problem, x0, c, digits)
        evidence["mpmath"] = {"converged": mp["converged"], "iterations": mp["iterations"], "dps": mp["dps"]}
        if mp["converged"]:
            digits_str = mp["c_str"]
            c = float(mp["c"])
    o0 = float(problem.obs(list(x0), c))
    return Transition("second-order", c, None, {"before": o0, "after": o0},
                      {"before": _named(problem, x0), "after": _named(problem, x0)}, 0.0, None,
                      bool(cc["converged"]), flag, cc["method"], float(cc["residual"]), digits, digits_str, evidence)


def _crossover(problem, cs, gm, s, e, scale):
    """Interior susceptibility peak with prominence on a continuous piece of the global minimum."""
    if e - s < 4:
        return None
    idx = list(range(s, e + 1))
    chi = []
    for j in idx:
        try:
            chi.append(abs(susceptibility(problem, gm[j].x, cs[j])))
        except np.linalg.LinAlgError:
            chi.append(0.0)
    chi = np.array(chi)
    if not np.all(np.isfinite(chi)):
        return None
    jm = int(np.argmax(chi))
    if jm == 0 or jm == len(idx) - 1:
        return None
    if chi[jm] < 1.5 * max(chi[0], chi[-1]):
        return None
    obs = np.array([float(problem.obs(list(gm[j].x), cs[j])) for j in idx])
    if np.ptp(obs) <= 1e-9 * (1 + np.max(np.abs(obs))):
        return None
    ca, cb = float(cs[idx[jm - 1]]), float(cs[idx[jm + 1]])
    state = {"x": gm[idx[jm]].x}

    def chi_at(c):
        y, ok = newton_stationary(problem, state["x"], c)
        if not ok:
            return -math.inf
        state["x"] = y
        return abs(susceptibility(problem, y, c))

    c = golden_max(chi_at, ca, cb, 1e-10 * (1 + abs(ca)))
    y, ok = newton_stationary(problem, state["x"], c)
    peak = abs(susceptibility(problem, y, c))
    half = [float(cs[idx[j]]) for j in range(len(idx)) if chi[j] >= peak / 2]
    before, after = float(obs[0]), float(obs[-1])
    evidence = {"susceptibility_peak": peak, "peak_minimum": _point_dict(problem, y, c),
                "half_width_range": [min(half), max(half)] if half else None,
                "observable_range": [before, after],
                "no_jump": "global minimum continuous on this piece (followed by Newton between grid points)",
                "grid_susceptibility_max_to_edge_ratio": float(chi[jm] / max(chi[0], chi[-1], 1e-300))}
    o = float(problem.obs(list(y), c))
    return Transition("crossover", float(c), None, {"before": o, "after": o},
                      {"before": _named(problem, y), "after": _named(problem, y)}, 0.0, None, bool(ok),
                      "ok" if ok else "peak-newton-not-converged", "golden-section max |d obs/d control|", 0.0,
                      evidence=evidence)


# ------------------------------------------------------------------ automatic bracket




def control_scale(problem: Problem, lo: float = WIDE_RANGE[0], hi: float = WIDE_RANGE[1], per_decade: int = 1):
    """The decades of a positive control in which the global minimum changes, from a scan of [lo, hi] at
    `per_decade` points per decade (the model's own scale: alpha* is proportional to sigma2, for instance).
    Returns (c_lo, c_hi) padded by two scan steps, or None if nothing changes."""
    n = int(round(np.log10(hi / lo) * per_decade)) + 1
    cs = np.geomspace(lo, hi, n)
    with np.errstate(all="ignore"):
        mins = all_minima(problem, cs, **({"nx": 601} if problem.k == 1 else {"per_dim": 7}))
    # the observable of the lowest minimum; among minima equal in f to 1e-9 (mirror images, or rounding far
    # out) the one continuing the previous value, so a sign flip between mirror images is no change
    obs = np.full(n, np.nan)
    prev = None
    for j, (c, pts) in enumerate(zip(cs, mins)):
        if not pts:
            continue
        low = min(pts, key=lambda p_: p_.f)
        # (a control value with unresolved minima is dropped below; its hundreds of pairs are not compared)
        tied = [p_ for p_ in pts if p_ is low or (len(pts) <= 2 * problem.k + 1 and abs(p_.f - low.f) <= 1e-3 * (
            1 + abs(low.f)) and _tied(problem, p_, low, c))]
        vals = [float(problem.obs(list(p_.x), c)) for p_ in tied]
        obs[j] = vals[0] if prev is None else min(vals, key=lambda v: abs(v - prev))
        prev = obs[j]
    # far out in the control, rounding makes spurious minima (hundreds for the copy head at alpha ~ 1e14 and
    # T = 2^48, pairs 2e-5 apart already at 1e12): keep the longest run of control values whose minima are
    # resolved in double precision, where the numbers can be trusted
    clean = np.isfinite(obs) & np.array([resolved_minima(problem, m) for m in mins])
    best, start = (0, 0), None
    for j, ok in enumerate(list(clean) + [False]):
        if ok and start is None:
            start = j
        elif not ok and start is not None:
            if j - start > best[1] - best[0]:
                best = (start, j)
            start = None
    fin = np.zeros(n, bool)
    fin[best[0]:best[1]] = True
    obs = np.where(fin, obs, np.nan)
    if fin.sum() < 2:
        return None
    # the decades where the observable does the bulk of its total variation
    steps = np.abs(np.diff(np.where(fin, obs, 0.0)))
    steps[~(fin[:-1] & fin[1:])] = 0.0
    total = float(np.sum(steps))
    if not total > 0:
        return None
    cum = np.concatenate([[0.0], np.cumsum(steps)]) / total
    # 10% .. 90% of the variation (padded by two decades below): rounding noise far out adds a few percent of
    # variation and must not stretch the range
    j0 = int(np.nonzero(cum >= 0.10)[0][0]) - 1
    j1 = int(np.nonzero(cum <= 0.90)[0][-1]) + 1
    # coexisting minima are the structural signal even where the observable hardly moves (at large T the jump
    # is to m ~ T^-1/2, a tiny part of the total variation): their decades belong to the range too
    # Only below the bulk: far above it, rounding in a huge f makes spurious pairs of minima.
    # (With a symmetric point, its stability change is that signal: see symmetric_instability_decades.)
    multi = [] if problem.symmetric_point is not None else [
        j for j in range(best[0], min(j1 + 1, best[1])) if len(_distinct_minima(problem, mins[j], cs[j])) >= 2]
    if multi:
        j0 = min(j0, multi[0])
    j0, j1 = max(j0 - 2 * per_decade, best[0]), min(j1 + 2 * per_decade, best[1] - 1)
    return float(cs[j0]), float(cs[j1])


def _tied(problem, a, b, c) -> bool:
    """Two minima equal in f to 1e-9, or within the measured rounding of f (mirror images far out)."""
    tol = 1e-9 * (1 + min(abs(b.f), OFFSET_LIMIT))
    if abs(a.f - b.f) <= max(tol, 10 * (rounding_noise(problem, a.x, c)[0] + rounding_noise(problem, b.x, c)[0])):
        return True           # equal within the measured rounding of f itself (no need for the line integral)
    d, err = f_difference(problem, a.x, b.x, c, with_error=True, max_panels=64)
    return abs(d) <= max(tol, 10 * err)


def resolved_minima(problem: Problem, minima) -> bool:
    """False where rounding makes spurious minima: more than 2k + 1 of them, or two closer to each other than
    1e-4 of their size (noise zeros of a gradient that has lost its digits to a large term, e.g. the copy
    head far out in alpha). Distinct minima of a smooth f are not that close without being one."""
    if len(minima) > 2 * problem.k + 1:
        return False
    for i, a in enumerate(minima):
        for b in minima[i + 1:]:
            size = max(float(np.max(np.abs(a.x))), float(np.max(np.abs(b.x))))
            if float(np.max(np.abs(a.x - b.x))) <= 1e-4 * size:
                return False
    return True


def symmetric_instability_decades(problem: Problem, lo: float = WIDE_RANGE[0], hi: float = WIDE_RANGE[1],
                                  per_decade: int = 2):
    """(c_lo, c_hi): the decades of a positive control where the symmetric point's lowest Hessian eigenvalue
    changes sign (a continuous transition, or the spinodal of the symmetric phase), padded by one scan step;
    None without a symmetric point or a sign change. Far out, where rounding flips signs, is not trusted:
    only the first and last sign changes within a run of finite, non-flickering values count."""
    if problem.symmetric_point is None or not problem.positive_control:
        return None
    n = int(round(np.log10(hi / lo) * per_decade)) + 1
    cs = np.geomspace(lo, hi, n)
    with np.errstate(all="ignore"):
        lam = np.array([_lambda_sym_or_nan(problem, c) for c in cs])
    changes = [j for j in range(n - 1)
               if np.isfinite(lam[j]) and np.isfinite(lam[j + 1]) and np.sign(lam[j]) != np.sign(lam[j + 1])]
    if not changes or len(changes) > 4:     # many flips: rounding noise, no structural signal
        return None
    return float(cs[max(changes[0] - 1, 0)]), float(cs[min(changes[-1] + 2, n - 1)])


def _lambda_sym_or_nan(problem, c) -> float:
    try:
        return _lambda_sym(problem, c)
    except (ArithmeticError, ValueError, np.linalg.LinAlgError):
        return float("nan")


def auto_range(problem: Problem, lo: float | None = None, hi: float | None = None, n: int = 57):
    """Find a control range that contains every change of the global minimum by a log-spaced scan:
    changes in the number of minima, sign changes of the symmetric point's Hessian, or the
    observable moving between 0.5% and 99.5% of its total change. Without lo/hi the scanned decades come
    from control_scale (the model's own scale), so the answer does not depend on units."""
    if lo is None or hi is None:
        # finer decades for one order parameter without a symmetric point: a narrow coexistence window must
        # fall on a scan point (a symmetric point's stability change is found separately)
        fine = problem.k == 1 and problem.symmetric_point is None
        wide = control_scale(problem, per_decade=4 if fine else 1)
        sym = symmetric_instability_decades(problem)
        if sym is not None and (wide is None or wide[0] > sym[1] or wide[1] < sym[0]):
            # the symmetric point changes stability outside the decades where the observable varies most (an
            # order parameter that keeps growing far out): the instability is the structural change to bracket
            wide = sym
        elif sym is not None:
            wide = (min(wide[0], sym[0]), max(wide[1], sym[1]))
        if wide is None:
            return None
        lo = wide[0] if lo is None else lo
        hi = wide[1] if hi is None else hi
    cs = np.geomspace(lo, hi, n)
    mins = all_minima(problem, cs)
    resolved = [resolved_minima(problem, m) for m in mins]
    if not all(resolved) and any(resolved):
        # rounding far out makes spurious minima: scan again within the longest resolved run
        runs, start = [], None
        for j, ok in enumerate(resolved + [False]):
            if ok and start is None:
                start = j
            elif not ok and start is not None:
                runs.append((start, j - 1))
                start = None
        j0, j1 = max(runs, key=lambda r: r[1] - r[0])
        if j1 > j0:
            cs = np.geomspace(cs[j0], cs[j1], n)
            mins = all_minima(problem, cs)
    gm = _global_minima(problem, cs, mins)
    good = [j for j, g in enumerate(gm) if g is not None]
    if not good:
        raise ConvergenceError(f"no minimum of the free energy found for {problem.control} in [{lo}, {hi}]")
    interesting = set()
    counts = [len(m) for m in mins]
    for j in range(n - 1):
        if counts[j] != counts[j + 1]:
            interesting.update((j, j + 1))
    if problem.symmetric_point is not None:
        lam = [_lambda_sym(problem, c) for c in cs]
        for j in range(n - 1):
            if np.sign(lam[j]) != np.sign(lam[j + 1]):
                interesting.update((j, j + 1))
    obs = np.array([float(problem.obs(list(gm[j].x), cs[j])) if gm[j] is not None else np.nan for j in range(n)])
    fin = np.isfinite(obs)
    steps = np.abs(np.diff(obs))
    if np.any(np.isfinite(steps)) and np.nanmax(steps) > 0.1 * (np.nanmax(obs) - np.nanmin(obs)) > 0:
        j = int(np.nanargmax(steps))       # the largest single change of the global minimum (a jump?)
        interesting.update((j, j + 1))
    if interesting:     # structural changes found: bracket them with three grid steps to spare, enough for a
        # crossover's susceptibility peak to stand out against the edges of the range
        j0, j1 = max(min(interesting) - 3, 0), min(max(interesting) + 3, n - 1)
        return float(cs[j0]), float(cs[j1])
    total = np.nanmax(obs) - np.nanmin(obs)
    if total > 1e-12:       # smooth change only (crossover): bracket its central part
        o0, o1 = obs[fin][0], obs[fin][-1]
        rel = (obs - o0) / (o1 - o0) if abs(o1 - o0) > 1e-12 else (obs - np.nanmin(obs)) / total
        for j in range(n):
            if fin[j] and 0.02 < rel[j] < 0.98:
                interesting.add(j)
    if not interesting:
        return None
    j0, j1 = max(min(interesting) - 1, 0), min(max(interesting) + 1, n - 1)
    return float(cs[j0]), float(cs[j1])
