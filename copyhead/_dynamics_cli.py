"""``copyhead dynamics``: integrate the overlap ODEs (Langevin or gradient flow) and time the copy head's emergence.

The model options are added by ``copyhead.cli``; :func:`configure` adds the rest and :func:`run` runs it.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

from ._cli_common import (UsageError, check_plot_path, parse_int, parse_number, print_json, progress,
                          refuse_existing, spec_from_args)

#: default --t-max: at least this, and at least twice the bottleneck time at 1e-4 (relative) above the spinodal
MIN_T_MAX = 200.0
DEFAULT_RELATIVE_DISTANCE = 1e-4


def configure(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("dynamics options")
    g.add_argument("--alphas", nargs="+", required=True, metavar="A", help="data ratios alpha = n/N, positive")
    g.add_argument("--dynamics", default="langevin",
                   help="langevin (N -> oo limit of Langevin on the Bayes posterior, with the entropic term) | "
                        "gradient-flow (the MAP); default langevin")
    g.add_argument("--init", default="prior",
                   help="prior (A = sigma_q^2 I, B = sigma_k^2 I, S = 0) | uniform (Q, K scaled by 0.05) | copy "
                        "(balanced Q, K with m = 0.95); default prior")
    g.add_argument("--t-max", dest="t_max", default=None,
                   help="end time, positive (default: max(200, twice the plateau time at 1e-4 above the upper "
                        "spinodal))")
    g.add_argument("--N", dest="N", default=None,
                   help="finite-N start: order parameters of size sigma_q sigma_k / sqrt(N mu) (needed for linear "
                        "attention, whose S = 0 is a fixed point); integer >= 1")
    g.add_argument("--points", default="401", help="output times per trajectory, integer in [2, 100001] (default 401)")
    g.add_argument("--json", action="store_true", help="print one JSON object")
    g.add_argument("--plot", default=None, metavar="FILE", help="write the m(t) figure")
    g.add_argument("--force", action="store_true", help="overwrite FILE if it exists")


def _validate(args):
    from .numerics.dynamics import INITS
    from .theory.dynamics import DYNAMICS

    spec = spec_from_args(args)
    alphas = [parse_number("--alphas", text, positive=True) for text in args.alphas]
    if args.dynamics not in DYNAMICS:
        raise UsageError(f"--dynamics: must be one of {', '.join(DYNAMICS)}; got {args.dynamics!r}")
    if args.init not in INITS:
        raise UsageError(f"--init: must be one of {', '.join(INITS)}; got {args.init!r}")
    t_max = None if args.t_max is None else parse_number("--t-max", args.t_max, positive=True)
    if t_max is not None and t_max > 1e7:
        raise UsageError(f"--t-max: at most 1e7, got {args.t_max!r}")
    N = None if args.N is None else parse_int("--N", args.N, minimum=1)
    points = parse_int("--points", args.points, minimum=2)
    if points > 100001:
        raise UsageError(f"--points: at most 100001, got {points}")
    if args.plot is not None:
        check_plot_path(args.plot, force=args.force)
    return spec, alphas, t_max, N, points


def default_t_max(spec, dynamics, info) -> tuple[float, str]:
    """Twice the saddle-node plateau time at 1e-4 (relative) above the upper spinodal, at least 200."""
    from .numerics.dynamics import fold

    if info.get("upper") is None or dynamics == "gradient-flow":
        return MIN_T_MAX, f"no upper spinodal of the {dynamics} fixed points: {MIN_T_MAX:g}"
    sn = fold(spec, dynamics, info["upper"])
    plateau = sn.prefactor / math.sqrt(DEFAULT_RELATIVE_DISTANCE * sn.alpha_sp)
    value = max(MIN_T_MAX, 2 * plateau)
    return value, (f"2 x plateau time pi/sqrt(c1 c2 d) = {plateau:.4g} at d = {DEFAULT_RELATIVE_DISTANCE:g} alpha_sp "
                   f"above the spinodal {sn.alpha_sp:.10g}")


def run(args) -> int:
    from . import __version__
    from .numerics.dynamics import spinodal_info, trajectory

    spec, alphas, t_max, N, points = _validate(args)
    info = spinodal_info(spec, args.dynamics)
    source = "--t-max"
    if t_max is None:
        t_max, source = default_t_max(spec, args.dynamics, info)
    trajectories = []
    for a in alphas:
        trajectories.append(trajectory(spec, a, dynamics=args.dynamics, init=args.init, t_max=t_max, N=N,
                                       n_points=points, spinodal_info=info))
    if args.plot is not None:
        import io

        from ._io import atomic_write_bytes
        from .plotting_dynamics import plot_trajectories  # the backend is chosen by copyhead.cli.main

        fig = plot_trajectories(trajectories, title=f"{spec.attention}, T={spec.T}, {args.dynamics}, init {args.init}")
        buffer = io.BytesIO()
        fig.savefig(buffer, format=os.path.splitext(args.plot)[1].lstrip(".").lower(), dpi=130)
        atomic_write_bytes(args.plot, buffer.getvalue(), force=args.force, parameter="--plot")   # whole or absent
        progress(f"dynamics: wrote {args.plot}")
    if args.json:
        print_json({"model": spec.to_dict(), "version": __version__, "dynamics": args.dynamics, "init": args.init,
                    "t_max": t_max, "t_max_source": source, "N": N,
                    "trajectories": [tr.to_dict() for tr in trajectories],
                    "spinodals": info["spinodals"], "spinodal_source": info["source"]})
        return 0
    print(f"{args.dynamics} from {args.init} ({spec.attention}, T={spec.T}, V={spec.V}, {spec.prior} prior), "
          f"t_max = {t_max:.6g}; spinodals {', '.join(f'{s:.8g}' for s in info['spinodals']) or 'none'}")
    print(f"{'alpha':>12s}  {'t_emerge':>12s}  {'t_peak dm/dt':>12s}  {'m(t_max)':>10s}  {'test error':>10s}  final branch")
    for tr in trajectories:
        fmt = lambda v: f"{v:12.6g}" if v is not None else f"{'-':>12s}"  # noqa: E731
        print(f"{tr.alpha:12.6g}  {fmt(tr.t_emerge)}  {fmt(tr.t_peak_rate)}  {tr.m[-1]:10.6f}  "
              f"{tr.test_error[-1]:10.6f}  {tr.final_branch}")
    return 0


# ----------------------------------------------------------------------------- shared by experiments/dynamics_*.py
def parse_and_prepare(parser, argv, outputs, name, validate=None):
    """Parsed args, or None after a one-line error on stderr (bad option, or outputs that exist without --force)."""
    try:
        args = parser.parse_args(argv)
        if validate is not None:
            validate(args)
        os.makedirs(args.out, exist_ok=True)
        refuse_existing([os.path.join(args.out, f) for f in outputs], args.force)
    except UsageError as exc:
        sys.stderr.write(f"{name}: error: {exc}\n")
        return None
    return args


def save_figure(fig, out, filename, started) -> None:
    fig.savefig(os.path.join(out, filename), dpi=130)
    print(f"wrote {out} in {time.perf_counter() - started:.0f} s")
