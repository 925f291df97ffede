"""``copyhead finite-n``: one-loop finite-N predictions (means, jump shift, linear onset, barriers).

The model options are added by ``copyhead.cli``; this module adds the rest and runs the command.
"""
from __future__ import annotations

import argparse
import sys
import time

from ._cli_common import UsageError, parse_int, parse_number, print_json, spec_from_args


def configure(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("finite-n options")
    g.add_argument("--alphas", nargs="+", required=True, metavar="A", help="data ratios alpha = n/N (positive)")
    g.add_argument("--N", dest="N_list", nargs="+", default=["32", "64", "128"], metavar="N",
                   help="network widths for the finite-N values, integers >= 2 (default 32 64 128)")
    g.add_argument("--run-time", default=None, metavar="T_RUN",
                   help="also predict the hysteresis edges of runs of this Langevin time (numerics/dynamics.py's "
                        "clock: ULA steps x step), from the Kramers/Langer escape times; positive")
    g.add_argument("--json", action="store_true", help="print one JSON object to stdout")


def _validate(args):
    alphas = [parse_number("--alphas", text, positive=True) for text in args.alphas]
    Ns = [parse_int("--N", text, minimum=2) for text in args.N_list]
    return alphas, Ns


def _run_time(args) -> float | None:
    return None if args.run_time is None else parse_number("--run-time", args.run_time, positive=True)


def _check_T(spec) -> None:
    from .numerics.finite_n import MAX_T

    if spec.T > MAX_T:
        raise UsageError(f"--T: finite-n needs T <= {MAX_T} (memory and time grow like T^3 and T^4), got {spec.T}")


def run(args) -> int:
    from . import __version__
    from .numerics import finite_n as fn

    spec = spec_from_args(args)
    alphas, Ns = _validate(args)
    run_time = _run_time(args)
    _check_T(spec)
    started = time.perf_counter()
    from .errors import ConvergenceError

    point_dicts, barrier_rows, failures = [], [], []
    for a in alphas:
        # one alpha without a usable minimum (e.g. the soft mode at alpha_c, where one loop diverges) is
        # reported with its reason; the other alphas still get their predictions
        try:
            found = fn.points(spec, [a])
            barrier_rows.extend(fn.barriers(spec, [a], Ns))
        except ConvergenceError as exc:
            failures.append({"alpha": a, "error": f"{type(exc).__name__}: {exc}"})
            continue
        for p in found:
            d = p.to_dict(Ns)
            d["flag"] = fn.reliability_flag(p, Ns)
            point_dicts.append(d)
    if failures and not point_dicts:
        raise ConvergenceError(f"no one-loop prediction at any alpha; at alpha = {failures[0]['alpha']:g}: "
                               + failures[0]["error"].split(": ", 1)[-1])
    jump = fn.jump(spec, Ns) if spec.attention == "softmax" else None
    onset = fn.onset(spec, Ns, alphas)
    out = {"model": spec.to_dict(), "version": __version__, "N": Ns, "points": point_dicts, "jump": jump,
           "onset": onset, "barriers": barrier_rows, "failed_alphas": failures,
           "hysteresis": None if run_time is None else fn.hysteresis_edges(spec, Ns, run_time),
           "approximation": "annealed one loop: population data term, Gaussian fluctuations of all T^2 logits, "
                            "density prefactor, Occam factor; data-set fluctuations (O(N^-1/2) per data set) excluded",
           "seconds": time.perf_counter() - started}
    if args.json:
        print_json(_clean(out))
        return 0
    w = sys.stdout.write
    w(f"one-loop finite-N predictions ({spec.attention}, T={spec.T}, V={spec.V}); <m>_N = m + c/N\n")
    w(f"{'alpha':>8s} {'branch':>9s} {'m':>10s} {'c':>10s} {'sqrt(N) std':>12s}  " +
      "  ".join(f"{'m(N=' + str(N) + ')':>11s}" for N in Ns) + "\n")
    for d in point_dicts:
        w(f"{d['alpha']:8.4g} {d['branch']:>9s} {d['m']:10.6f} {d['m_correction']:10.4f} {d['m_std_sqrtN']:12.4f}  "
          + "  ".join(f"{d['m_N'][str(N)]:11.6f}" for N in Ns) + ("" if d["flag"] == "ok" else "  *") + "\n")
    for item in failures:
        w(f"alpha = {item['alpha']:g}: no one-loop prediction ({item['error']})\n")
    if jump:
        w(f"jump: alpha* = {jump['alpha_star']:.8g}, alpha_eq(N) = alpha* + C/N with C = {jump['shift']:.5g}: "
          + ", ".join(f"N={N}: {v:.5g}" for N, v in jump["alpha_eq_first_order"].items()) + "\n")
    if out["hysteresis"]:
        for N, e in out["hysteresis"]["edges"].items():
            fmt = lambda d: "-" if d["alpha"] is None else f"{d['alpha']:.5g}" + ("" if d["flag"] == "ok" else "*")  # noqa: E731
            w(f"hysteresis (run time {run_time:g}), N={N}: down {fmt(e['down'])}, up {fmt(e['up'])}\n")
    if onset:
        w(f"onset: alpha_c = {onset['alpha_c']:.8g}, shift {onset['shift']:.5g}/N; m_rms(alpha_c): "
          + ", ".join(f"N={N}: {v:.4g}" for N, v in onset["m_rms"].items()) + "\n")
    return 0


def _clean(obj):
    """JSON-safe (finite floats or None)."""
    import math

    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if hasattr(obj, "item"):
        return _clean(obj.item())
    return obj


__all__ = ["configure", "run"]
