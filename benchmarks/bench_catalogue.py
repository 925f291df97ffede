"""The reference catalogue (tests/catalogue.py) as a benchmark, with a brute-force grid baseline in the same run.

    python benchmarks/bench_catalogue.py [--json] [--only ID ...] [--no-diagrams] [--limit SECONDS]

For every case: wall time of the engine (find_transitions, or phase_diagram for diagram cases) with the compiled
free energy in the disk cache (compiled first, untimed), and whether the answer is right (the tests' checker,
catalogue.problems). For every one-order-parameter case with a single expected transition, a brute-force baseline
measured here: the global minimum of f on a fine grid of x (asinh-spaced, |x| <= 100, NaN outside the domain
skipped; uniform across a bounded domain) at each point of a control grid; its estimate of the critical value is the grid cell where the minimiser
jumps (first order, crossover: largest |dx|) or bends (second order: largest |d^2 x|). Reported per case: times,
errors against the independent reference, and the ratios brute/engine.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import statistics
import sys
import time

import numpy as np

N_X, N_CONTROL = 4001, 2001


def _load_catalogue():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "catalogue.py")
    spec = importlib.util.spec_from_file_location("catalogue", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["catalogue"] = module
    spec.loader.exec_module(module)
    return module


def _parabola_vertex(x0, x1, x2, f0, f1, f2):
    """Vertex (x, f) of the parabola through three points (non-uniform spacing)."""
    d01, d12 = (f1 - f0) / (x1 - x0), (f2 - f1) / (x2 - x1)
    curvature = (d12 - d01) / (x2 - x0)
    with np.errstate(all="ignore"):
        xv = np.where(curvature > 0, 0.5 * (x0 + x1) - d01 / (2 * curvature), x1)
    fv = np.where(curvature > 0, f1 + d01 * (xv - x1) + curvature * (xv - x0) * (xv - x1), f1)
    return xv, fv


def brute_force(problem, case):
    """Critical-value estimate from the global minimum on the grid, refined by a parabola through the three grid
    points around it; (estimate, seconds). A first-order transition is a kink of F(c) = min f (largest second
    difference), a second-order one a jump of F'' (largest third difference): both are blind to which of two
    degenerate ordered minima the grid picks. A crossover is the largest step of the (unique) minimiser."""
    t0 = time.perf_counter()
    xs = np.sinh(np.linspace(-math.asinh(100.0), math.asinh(100.0), N_X))
    cs = np.linspace(*case.range, N_CONTROL)
    with np.errstate(all="ignore"):
        inside = np.isfinite(problem.compiled.block("value", [xs], 0.5 * (cs[0] + cs[-1]), problem.p, repair=False))
    if not (inside[0] and inside[-1]):      # a bounded domain: a uniform grid across it
        lo, hi = xs[np.argmax(inside)], xs[len(xs) - 1 - np.argmax(inside[::-1])]
        xs = np.linspace(lo, hi, N_X)
    x_min, f_min = np.empty(N_CONTROL), np.empty(N_CONTROL)
    for i0 in range(0, N_CONTROL, 100):
        c = cs[i0:i0 + 100]
        with np.errstate(all="ignore"):
            f = problem.compiled.block("value", [xs[:, None]], c[None, :], problem.p, repair=False)
        f = np.where(np.isfinite(f), f, np.inf)
        j = np.clip(np.argmin(f, axis=0), 1, N_X - 2)
        cols = np.arange(len(c))
        f0, f1, f2 = f[j - 1, cols], f[j, cols], f[j + 1, cols]
        ok = np.isfinite(f0) & np.isfinite(f2)
        xv, fv = _parabola_vertex(xs[j - 1], xs[j], xs[j + 1], np.where(ok, f0, f1 + 1), f1, np.where(ok, f2, f1 + 1))
        x_min[i0:i0 + 100], f_min[i0:i0 + 100] = xv, fv
    kind = case.expected[0].kind
    if kind == "first-order":
        j = int(np.argmax(np.abs(np.diff(f_min, 2)))) + 1
        estimate = cs[j]
    elif kind == "second-order":
        j = int(np.argmax(np.abs(np.diff(f_min, 3))))
        estimate = 0.5 * (cs[j + 1] + cs[j + 2])
    else:
        j = int(np.argmax(np.abs(np.diff(x_min))))
        estimate = 0.5 * (cs[j] + cs[j + 1])
    return float(estimate), time.perf_counter() - t0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--only", nargs="+", metavar="ID")
    parser.add_argument("--no-diagrams", action="store_true")
    parser.add_argument("--limit", type=float, default=30.0, help="seconds per engine run (default 30)")
    args = parser.parse_args(argv)
    catalogue = _load_catalogue()
    from copyhead import __version__
    from copyhead.numerics.transitions import expression_problem

    cases = [c for c in catalogue.CASES if (not args.only or c.id in args.only)
             and not (args.no_diagrams and c.diagram)]
    rows = []
    for case in cases:
        expression_problem(case.expr, case.order_params, case.control, case.params_dict)   # compile, untimed
        t0 = time.perf_counter()
        try:
            out, error = catalogue.run_engine(case, args.limit)
            found = catalogue.problems(case, out, error)
        except catalogue.CaseTimeout:
            found = [f"over {args.limit:.0f} s"]
        except Exception as exc:                                   # a crash is a result here, not an abort
            found = [f"crash: {type(exc).__name__}: {exc}"]
            out = None
        seconds = time.perf_counter() - t0
        row = {"id": case.id, "order_params": len(case.order_params), "kind": "diagram" if case.diagram else
               ",".join(e.kind for e in case.expected) or "none", "engine_s": seconds, "right": not found,
               "problems": found[:2]}
        if (len(case.order_params) == 1 and len(case.expected) == 1 and not case.diagram and not found
                and out is not None):
            want = case.expected[0].at
            got = out["transitions"][0]["critical_value"]
            problem = expression_problem(case.expr, case.order_params, case.control, case.params_dict)
            estimate, brute_s = brute_force(problem, case)
            scale = case.range[1] - case.range[0]
            floor = 1e-16 * max(scale, abs(want))                   # engine exact to rounding: report the floor
            cell = (case.range[1] - case.range[0]) / (N_CONTROL - 1)
            row.update(engine_error=abs(got - want), brute_s=brute_s, brute_error=abs(estimate - want),
                       brute_resolved=abs(estimate - want) <= 5 * cell,     # within 5 control cells
                       time_ratio=brute_s / seconds,
                       # None where the grid hits the answer exactly (e.g. a symmetric grid centred on it)
                       precision_ratio=(abs(estimate - want) / max(abs(got - want), floor)) if estimate != want
                       else None)
        rows.append(row)
        if not args.json:
            line = f"{case.id:26s} {row['order_params']}  {seconds:7.2f} s  {'right' if row['right'] else 'WRONG'}"
            if "brute_s" in row:
                line += (f"  err {row['engine_error']:.1e} | brute {row['brute_s']:.2f} s err {row['brute_error']:.1e}"
                         + ("" if row["brute_resolved"] else " (brute fails)")
                         + f"  time x{row['time_ratio']:.1f}  precision "
                         + (f"x{row['precision_ratio']:.1e}" if row["precision_ratio"] is not None else "(grid exact)"))
            if found:
                line += f"  [{found[0][:90]}]"
            print(line, flush=True)
    right = sum(r["right"] for r in rows)
    times = [r["engine_s"] for r in rows]
    resolved = [r for r in rows if r.get("brute_resolved")]
    ratios = [r["precision_ratio"] for r in resolved if r["precision_ratio"] is not None]
    summary = {"version": __version__, "cases": len(rows), "right": right, "grid": [N_X, N_CONTROL],
               "load_average_1min": os.getloadavg()[0], "cpus": os.cpu_count(),
               "brute_compared": sum("brute_s" in r for r in rows), "brute_resolved": len(resolved),
               "median_time_ratio": statistics.median([r["time_ratio"] for r in resolved]) if resolved else None,
               "median_precision_ratio": statistics.median(ratios) if ratios else None,
               "median_engine_s": statistics.median(times) if times else None,
               "max_engine_s": max(times) if times else None,
               "over_5s_with_1_or_2_order_params": [r["id"] for r in rows if r["order_params"] <= 2
                                                    and r["engine_s"] > 5]}
    if args.json:
        print(json.dumps({"summary": summary, "rows": rows}, indent=1))
    else:
        print(f"load average {summary['load_average_1min']:.1f} on {summary['cpus']} cores (times scale with it)")
        print(f"{right}/{len(rows)} right; median {summary['median_engine_s']:.2f} s, max {summary['max_engine_s']:.2f} s;"
              f" over 5 s (1-2 order parameters): {', '.join(summary['over_5s_with_1_or_2_order_params']) or 'none'}")
        if resolved:
            print(f"brute force ({N_X} x {N_CONTROL} grid) resolves {len(resolved)} of {summary['brute_compared']} "
                  f"compared cases; median brute/engine time x{summary['median_time_ratio']:.2f}, median "
                  f"brute/engine error x{summary['median_precision_ratio']:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
