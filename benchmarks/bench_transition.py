"""Transition engine vs brute force, measured in one run.

    python benchmarks/bench_transition.py [--json]

1. alpha* of the default softmax copy head (T = V = 16): brute force (global
   minimum of the reduced free energy on a fine delta x alpha grid, then the
   alpha where its argmin jumps) against the engine (continuation + Newton on
   the coexistence system). The reference is the engine's mpmath refinement
   to 30 digits, itself checked by evaluating the SymPy free energy in mpmath
   at 40 digits (|f_a - f_b| / |latent heat| bounds the error in alpha*).
   Reported: times, relative errors, time ratio and precision ratio.
2. A whole warm `python -m copyhead transition --json` process (Python start
   included; falls back to a process calling run_transition when cli.py does
   not register the subcommand yet).
3. A 100-point two-parameter boundary: the first-order line alpha*(T) for
   T in [8, 64] (phase_diagram with 100 points), and the bare line
   continuation of the same 100 points.
4. The automatic range over the model's scale (issue 9): sigma2 from 1e-20 to
   1e8 (alpha* is proportional to sigma2); per value the time of auto_range +
   find_transitions, its ratio to the sigma2 = 1 run, and the relative
   deviation of alpha*/sigma2 from the mpmath reference of part 1.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

import mpmath
import numpy as np

from copyhead import CopyHeadModel, ModelSpec
from copyhead.numerics.transitions import find_transitions, phase_diagram, transition_line

ALPHA_RANGE = (2.0, 20.0)

PROCESS_FALLBACK = """
import argparse, sys
from copyhead.cli import add_model_options
from copyhead._transition_cli import configure_transition, run_transition
p = argparse.ArgumentParser(); add_model_options(p); configure_transition(p)
sys.exit(run_transition(p.parse_args(sys.argv[1:])))
"""


def brute_force(problem, n_delta=4001, n_alpha=4001):
    """Global minimum on a delta x alpha grid; alpha* = midpoint of the grid cell where argmin jumps."""
    deltas = np.linspace(-2.0, 25.0, n_delta)
    alphas = np.linspace(*ALPHA_RANGE, n_alpha)
    argmin = np.empty(n_alpha)
    for i0 in range(0, n_alpha, 200):
        a = alphas[i0:i0 + 200]
        f = problem.compiled.value([deltas[:, None]], a[None, :], problem.p)
        argmin[i0:i0 + 200] = deltas[np.nanargmin(f, axis=0)]
    jumps = np.abs(np.diff(argmin))
    j = int(np.argmax(jumps))
    return 0.5 * (alphas[j] + alphas[j + 1]), {"grid": [n_delta, n_alpha], "jump_in_delta": float(jumps[j]),
                                               "cell": [float(alphas[j]), float(alphas[j + 1])]}


def reference(problem):
    rep = find_transitions(problem, *ALPHA_RANGE, digits=30)
    tr = rep.transitions[0]
    # independent check with the SymPy expression evaluated in mpmath
    import sympy as sp

    from copyhead.theory import symbols
    from copyhead.theory.reduced import reduced_model

    spec = ModelSpec()
    rm = reduced_model(spec.attention, spec.tokens, spec.prior)
    subs = {getattr(symbols, k): sp.Float(v, 50) for k, v in spec.numeric_params.items()}
    f = sp.lambdify((*rm.order_params, symbols.alpha), rm.free_energy.doit().subs(subs), "mpmath")
    with mpmath.workdps(40):
        a = mpmath.mpf(tr.critical_value_digits)
        da = mpmath.findroot(lambda d: mpmath.diff(lambda u: f(u, a), d), tr.order_parameters["before"]["delta"])
        db = mpmath.findroot(lambda d: mpmath.diff(lambda u: f(u, a), d), tr.order_parameters["after"]["delta"])
        bound = abs(f(da, a) - f(db, a)) / abs(tr.df_dcontrol_jump)
    return a, float(bound), tr


def timed(fn, repeats=5):
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def process_time(repeats=5):
    probe = subprocess.run([sys.executable, "-m", "copyhead", "--help"], capture_output=True, text=True)
    if "transition" in probe.stdout:
        cmd, how = [sys.executable, "-m", "copyhead", "transition", "--json"], "python -m copyhead transition --json"
    else:
        cmd, how = [sys.executable, "-c", PROCESS_FALLBACK, "--json"], "python -c <run_transition> --json (cli.py not registered yet)"
    subprocess.run(cmd, capture_output=True, check=True)      # warm the caches
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        times.append(time.perf_counter() - t0)
    json.loads(out.stdout)
    return statistics.median(times), how


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    problem = CopyHeadModel(ModelSpec()).problem()
    ref, ref_bound, ref_tr = reference(problem)
    t_bf, (a_bf, bf_info) = timed(lambda: brute_force(problem), repeats=1)
    t_en, rep = timed(lambda: find_transitions(problem, *ALPHA_RANGE))
    a_en = rep.transitions[0].critical_value
    err_bf = float(abs(mpmath.mpf(a_bf) - ref) / ref)
    err_en = float(abs(mpmath.mpf(a_en) - ref) / ref)
    t_proc, how = process_time()
    # 100-point boundary
    t_pd, pd = timed(lambda: phase_diagram(problem, "T", (8, 64), ALPHA_RANGE, n_coarse=5, n_points=100), repeats=1)
    fo = [b for b in pd.boundaries if b.kind == "first-order"]
    n_pd = sum(len(b.points) for b in fo)
    values = np.linspace(8, 64, 100)
    start = find_transitions(problem.with_params(T=8.0), *ALPHA_RANGE).transitions[0]
    t_line, line = timed(lambda: transition_line(problem, "T", values, start))
    from copyhead.numerics.transitions import auto_range

    scales = []
    for sigma2 in (1e-20, 1e-4, 1.0, 1e4, 1e8):
        p = CopyHeadModel(ModelSpec(sigma2=sigma2)).problem()
        t_s, rep_s = timed(lambda p=p: find_transitions(p, *auto_range(p)), repeats=1)
        first = [t for t in rep_s.transitions if t.kind == "first-order"]
        dev = float(abs(mpmath.mpf(first[0].critical_value / sigma2) - ref) / ref) if first else None
        scales.append({"sigma2": sigma2, "seconds": t_s, "kinds": [t.kind for t in rep_s.transitions],
                       "alpha_star_over_sigma2_rel_error": dev, "flag": first[0].flag if first else None})
    t_unit = next(r["seconds"] for r in scales if r["sigma2"] == 1.0)
    for r in scales:
        r["time_ratio_to_sigma2_1"] = r["seconds"] / t_unit
    out = {
        "alpha_star_reference": mpmath.nstr(ref, 25), "reference_error_bound": ref_bound,
        "auto_range_over_scales": scales,
        "brute_force": {"seconds": t_bf, "alpha_star": a_bf, "relative_error": err_bf, **bf_info},
        "engine": {"seconds": t_en, "alpha_star": a_en, "relative_error": err_en,
                   "spinodals": list(rep.transitions[0].spinodals)},
        "time_ratio_bruteforce_over_engine": t_bf / t_en,
        # brute-force error ~ alpha-grid spacing: at least err_bf / 1e-10 times more alpha points (and a finer
        # delta grid) would be needed for 1e-10, i.e. at least this many seconds:
        "bruteforce_seconds_extrapolated_to_1e-10": t_bf * err_bf / 1e-10,
        "precision_ratio_bruteforce_error_over_engine_error": err_bf / max(err_en, 1e-17),
        "warm_process_seconds": t_proc, "process": how,
        "boundary_100_points": {"phase_diagram_seconds": t_pd, "first_order_points": n_pd,
                                "line_continuation_seconds": t_line, "line_points": len(line)},
        "goals": {"alpha_star_rel_error<=1e-10": err_en <= 1e-10, "warm_process<=1s": t_proc <= 1.0,
                  "100_point_boundary<=5s": t_pd <= 5.0},
    }
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        print(f"alpha* reference (mpmath, 30 digits)  {out['alpha_star_reference']}  (independent bound {ref_bound:.1e})")
        print(f"brute force {bf_info['grid'][0]}x{bf_info['grid'][1]} grid: {t_bf:8.3f} s  alpha* {a_bf:.12f}  rel err {err_bf:.2e}")
        print(f"engine:                     {t_en:8.3f} s  alpha* {a_en:.12f}  rel err {err_en:.2e}")
        print(f"time ratio (brute/engine) {t_bf / t_en:.1f}x   precision ratio (brute err/engine err) "
              f"{out['precision_ratio_bruteforce_error_over_engine_error']:.2e}")
        print(f"brute force extrapolated to rel err 1e-10 (alpha grid only): >= {t_bf * err_bf / 1e-10:.2e} s")
        print(f"warm process: {t_proc:.3f} s  [{how}]")
        print(f"100-point boundary alpha*(T), T in [8, 64]: phase_diagram {t_pd:.2f} s ({n_pd} first-order points), "
              f"line continuation alone {t_line:.3f} s ({len(line)} points)")
        for r in scales:
            err = r["alpha_star_over_sigma2_rel_error"]
            print(f"sigma2 = {r['sigma2']:8.0e}: auto range + transitions {r['seconds']:6.2f} s "
                  f"({r['time_ratio_to_sigma2_1']:.2f}x sigma2 = 1)  kinds {r['kinds']}  "
                  f"alpha*/sigma2 rel err {'-' if err is None else f'{err:.1e}'}  flag {r['flag']}")
        print("goals:", out["goals"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
