"""Drivers: build problems, locate and classify transitions, map phase diagrams."""
from __future__ import annotations

import math
import time

import numpy as np

from copyhead.errors import ConvergenceError, InvalidParameterError

from . import _landau
from ._continuation import continue_branch, refine_fold
from ._engine import Problem, all_minima, newton_stationary, scalar_blocks, track_minimum, with_symmetry
from ._special_points import (coexistence_bisection, coexistence_newton, critical_newton, golden_max,
                              measure_exponent, mp_coexistence, mp_critical)
from .results import Fold, Transition, TransitionReport

MODEL_NUMERIC = ("T", "V", "gamma", "sigma_q", "sigma_k", "sigma_w", "sigma2")


# ------------------------------------------------------------------ builders

def model_problem(spec, control: str = "alpha", alpha: float | None = None) -> Problem:
    """The copy-head reduced free energy of ``spec`` (a ModelSpec) with ``control`` free.

    The reported observable is m, the mean attention on the previous token.
    For linear attention the symmetric point is S = 0 and Landau coefficients
    come from the symbolic layer (compiled and disk-cached).
    """
    from copyhead.numerics.compiled import compiled_landau_quartic, compiled_model, compiled_observables

    if control not in ("alpha",) + MODEL_NUMERIC:
        raise InvalidParameterError(control, f"is not a model parameter; choose alpha or one of {', '.join(MODEL_NUMERIC)}")
    cf = compiled_model(spec.attention, spec.tokens, spec.prior, control)
    values = dict(spec.numeric_params)
    values["alpha"] = 1.0 if alpha is None else float(alpha)
    param_values = {n: float(values[n]) for n in cf.params}
    obs_fns = compiled_observables(spec.attention, spec.tokens)
    m_fn = obs_fns["m"]

    def observable(xs, c, pv, _ctrl=control):
        full = [c if name == _ctrl else pv[name] for name in MODEL_NUMERIC]
        return m_fn(*xs, *full)

    symmetric = None
    quartic = None
    if spec.attention == "linear":
        symmetric = tuple(0.0 for _ in cf.order_params)

        quartic = compiled_landau_quartic(spec.attention, spec.tokens, spec.prior, control)
    return Problem(cf, control, param_values, tuple(cf.order_params), "m", observable, symmetric, quartic,
                   label=f"copy head {spec.attention}/{spec.tokens}/{spec.prior}",
                   positive_control=(control != "alpha" or True),
                   extra={"spec": spec.to_dict()})


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
    problem = Problem(cf, str(parsed.control), {k: float(v) for k, v in params.items()},
                      tuple(str(s) for s in parsed.order_params), str(parsed.order_params[0]), None, None,
                      quartic, label=text, extra={"expression": text}, symmetric_candidate=candidate)
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
        fbest = min(p.f for p in pts)
        tol = 1e-11 * (1 + abs(fbest))
        cands = [p for p in pts if p.f <= fbest + tol]
        if prev is not None and len(cands) > 1:
            best = min(cands, key=lambda p: float(np.max(np.abs(p.x - prev.x))))
        else:
            best = min(cands, key=lambda p: (p.f, float(np.max(p.x))))
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
    _, _, H = scalar_blocks(problem, x, c)
    return bool(np.all(np.isfinite(H)) and np.all(np.linalg.eigvalsh(H) > 0))


def _at_symmetric(problem, x):
    return problem.symmetric_point is not None and _close(x, problem.symmetric_point, 1e-7)


def _lambda_sym(problem, c):
    _, _, H = scalar_blocks(problem, problem.symmetric_point, c)
    return float(np.linalg.eigvalsh(H)[0])


def susceptibility(problem, x, c):
    """d obs / d control along the minimum through (x, c): exact dx/dc = -H^-1 d grad/dc."""
    _, _, H = scalar_blocks(problem, x, c)
    gc = np.asarray(problem.blk("gradient_d_control", list(x), c), float).reshape(problem.k)
    dx = np.linalg.solve(H, -gc)
    return float(problem.obs_gradient(x, c) @ dx + problem.obs_d_control(x, c))


# ------------------------------------------------------------------ main driver

def find_transitions(problem: Problem, lo: float, hi: float, *, digits: int | None = None, n_grid: int = 49,
                     range_source: str = "user", log=None, spinodals: bool = True) -> TransitionReport:
    """Locate and classify every transition of the global minimum for control in [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        raise InvalidParameterError("range", f"need finite LO < HI, got [{lo}, {hi}]")
    if problem.positive_control and lo <= 0:
        raise InvalidParameterError("range", f"{problem.control} must be positive; got LO = {lo}")
    t0 = time.perf_counter()
    warnings = []
    cs = _grid(lo, hi, n_grid)
    mins = all_minima(problem, cs)
    gm = _global_minima(problem, cs, mins)
    # a grid point exactly at a critical point has only a quartic (not strict) minimum: it is bridged over
    missing = [float(cs[j]) for j, g in enumerate(gm) if g is None and not (
        0 < j < len(cs) - 1 and gm[j - 1] is not None and gm[j + 1] is not None)]
    if missing:
        warnings.append(f"no local minimum found at {len(missing)} control value(s), e.g. {missing[0]:.6g}: "
                        "the free energy may be unbounded below or its minimum outside |x| < 1e4")
    scale = hi - lo
    transitions, folds, branch_info = [], [], {"continued": 0, "steps": 0, "det_sign_changes": []}
    events = []
    present = [j for j, g in enumerate(gm) if g is not None]
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
    branch_info["grid_points"] = int(len(cs))
    branch_info["seconds"] = time.perf_counter() - t0
    return TransitionReport(problem.control, problem.observable_name, (float(lo), float(hi)), range_source,
                            dict(problem.param_values), tuple(transitions), tuple(folds), branch_info,
                            tuple(warnings))


def _classify_interval(problem, cs, i, a, b, scale, warnings, i2=None):
    """None if the global minimum is continuous over [c_i, c_i2]; else an event dict."""
    i2 = i + 1 if i2 is None else i2
    c0, c1 = float(cs[i]), float(cs[i2])
    if problem.symmetric_point is not None and (_at_symmetric(problem, a.x) != _at_symmetric(problem, b.x)):
        ev = _pitchfork_event(problem, c0, c1, a, b, scale)
        if ev is not None:
            ev["i"] = i
            return ev
    y, _, status = track_minimum(problem, a.x, c0, c1)
    if status == "ok":
        fy = float(problem.f(list(y), c1))
        if _close(y, b.x) or fy <= b.f + 1e-11 * (1 + abs(b.f)):
            return None
    return {"type": "jump", "i": i, "c0": c0, "c1": c1, "a": a, "b": b}


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
    xa, xb, c = sol["xa"], sol["xb"], sol["c"]
    if _close(xa, xb, 1e-7):
        return False
    fca = float(np.asarray(problem.blk("d_control", list(xa), c)))
    fcb = float(np.asarray(problem.blk("d_control", list(xb), c)))
    return abs(fca - fcb) > 1e-10 * (1 + abs(fca) + abs(fcb))


def _spinodal(problem, x_start, c, ext_lo, ext_hi, direction, scale, branch_info, ds_max):
    """Continue the branch of the minimum at (x_start, c) in `direction`; the first point where it stops being
    a minimum (fold: dc/ds changes sign; branch point: lowest Hessian eigenvalue changes sign), refined."""
    br = continue_branch(problem, x_start, c, ext_lo, ext_hi, direction, scale=scale, ds0=ds_max / 5,
                         stop_after_stability_change=3, ds_max=ds_max)
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
        if (not is_fold and problem.symmetric_point is not None and _at_symmetric(problem, br.x[i0])
                and _at_symmetric(problem, br.x[i1])):
            cc = critical_newton(problem, problem.symmetric_point, br.c[j])
            xf, cf, res, conv = np.asarray(problem.symmetric_point, float), cc["c"], cc["residual"], cc["converged"]
            method = "newton(det H(x0)=0): branch point of the symmetric branch"
        else:
            xf, cf, res, conv, its = refine_fold(problem, br.x[j], br.c[j])
            method = "newton(grad=0, detH=0)" + ("" if is_fold else ": branch point")
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
    for minima in all_minima(problem, np.linspace(c0, c1, n)):
        fs = sorted(float(m.f) for m in minima)
        distinct = [f for j, f in enumerate(fs) if j == 0 or abs(f - fs[j - 1]) > 1e-9 * (1 + abs(f))]
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
                warnings.append(f"global minimum continuous but singular between {c0:.10g} and {c1:.10g} "
                                "(diverging susceptibility: a critical point?)")
            return None, []
        if _single_valued(problem, c0, c1):
            # first order needs two distinct minima coexisting; a soft but unique minimum that tracking lost
            # (e.g. a near-critical crossover) is not a jump
            if warnings is not None:
                warnings.append(f"between {c0:.10g} and {c1:.10g} the minimum was not tracked continuously, but a "
                                "17-point scan finds a single minimum throughout: no first-order transition")
            return None, []
    c = float(sol["c"])
    xa, xb = np.asarray(sol["xa"]), np.asarray(sol["xb"])
    flag = "ok" if good else "coexistence-not-converged"
    if not good:
        c = 0.5 * (c0 + c1)
        xa, xb = a.x, b.x
    oa, ob = float(problem.obs(list(xa), c)), float(problem.obs(list(xb), c))
    fca = float(np.asarray(problem.blk("d_control", list(xa), c)))
    fcb = float(np.asarray(problem.blk("d_control", list(xb), c)))
    evidence = {"minima": [_point_dict(problem, xa, c), _point_dict(problem, xb, c)],
                "free_energy_difference": float(problem.f(list(xa), c) - problem.f(list(xb), c)),
                "bracket": [c0, c1], "newton_iterations": sol["iterations"], "newton_method": sol["method"]}
    folds = []
    spin = None
    if want_spinodals:
        ext_lo, ext_hi = lo - 2 * scale, hi + 2 * scale
        if problem.positive_control:
            ext_lo = max(ext_lo, lo * 1e-3)
        found = {}
        jump_x = float(np.max(np.abs(xa - xb)))
        for x_start, direction, side in ((xa, +1, "hi"), (xb, -1, "lo")):
            for ds_scale in (1.0, 0.1, 0.01):
                fold = _spinodal(problem, x_start, c, ext_lo, ext_hi, direction, scale, branch_info,
                                 ds_max=ds_scale * min(0.05, 0.05 * jump_x / (1 + np.max(np.abs(x_start)))))
                # a spinodal lies on the metastable side of the coexistence point
                if fold is not None and (fold.control - c) * direction >= -1e-12 * (1 + abs(c)):
                    folds.append(fold)
                    found[side] = fold
                    break
            if side not in found:
                evidence[f"spinodal_{side}"] = ("the minimum stays stable along its branch until it leaves "
                                                f"[{ext_lo:.6g}, {ext_hi:.6g}] (no spinodal there)")
        for side_, fold_ in found.items():
            evidence[f"spinodal_{side_}"] = fold_.to_dict()
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
                      {"before": _named(problem, xa), "after": _named(problem, xb)}, abs(ob - oa), fcb - fca,
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
    out = {"a2": float(w[0]) / 2, "da2_dcontrol": float(v @ Hc @ v) / 2, "soft_direction": [float(t) for t in v]}
    if problem.quartic is not None:
        q4 = float(problem.quartic.value(list(v), c, problem.p))
        a4, a3, corr = _landau.effective_quartic(q4, v, H, D3)
        out.update({"a3": a3, "a4": q4, "a4_effective": a4, "a4_stiff_mode_correction": corr,
                    "source": "symbolic (exact quartic Taylor form, compiled)"})
    return out


def _second_order(problem, ev, scale, digits):
    cc = ev["critical"]
    c = float(cc["c"])
    x0 = np.asarray(problem.symmetric_point, float)
    lan = _landau_evidence(problem, c)
    expo = measure_exponent(problem, x0, c, ev["broken_x"], ev["broken_c"], scale)
    evidence = {"symmetric_point": _named(problem, x0), "landau": lan, "exponent": expo,
                "bracket": [ev["c0"], ev["c1"]], "newton_iterations": cc["iterations"],
                "hessian_eigenvalue_sign_change": "lowest Hessian eigenvalue at the symmetric point changes sign"}
    flag = "ok" if cc["converged"] else "critical-newton-not-converged"
    if lan.get("a4_effective") is not None and lan["a4_effective"] <= 0:
        flag = "landau-quartic-not-positive"
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

def auto_range(problem: Problem, lo: float = 1e-3, hi: float = 1e5, n: int = 57):
    """Find a control range that contains every change of the global minimum by a log-spaced scan:
    changes in the number of minima, sign changes of the symmetric point's Hessian, or the
    observable moving between 0.5% and 99.5% of its total change."""
    cs = np.geomspace(lo, hi, n)
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
