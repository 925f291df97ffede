"""The overlap ODE against the finite network sampled with ULA: ensemble averages of m, delta and a along time.

    python experiments/dynamics_network.py --out experiments/out/dynamics_network

Softmax T = V = 8 at alpha = 1.3 alpha_sp, prior start, ULA without preconditioner (clock t = steps h) on the
W-marginal posterior, h = 0.005, N = 256, 512, 1024. Writes dynamics_network.json (with metadata) and
dynamics_network.png into --out (refuses to overwrite unless --force).
"""
from __future__ import annotations

import os
import time

import numpy as np

from copyhead import ModelSpec
from copyhead.scripting import ArgumentParser, UsageError, metadata, parse_and_prepare, save_figure, write_json
from copyhead.numerics import dynamics as nd

OUTPUTS = ("dynamics_network.json", "dynamics_network.png")


def _validate(args):
    if any(N < 2 for N in args.Ns) or args.chains < 2 or not 0 < args.step < 0.1 or not args.t_max > 0:
        raise UsageError("--Ns >= 2, --chains >= 2, 0 < --step < 0.1, --t-max > 0")


def main(argv=None) -> int:
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--force", action="store_true")
    p.add_argument("--Ns", type=int, nargs="+", default=[256, 512, 1024])
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--step", type=float, default=0.005)
    p.add_argument("--t-max", dest="t_max", type=float, default=8.0)
    p.add_argument("--seed", type=int, default=0)
    args = parse_and_prepare(p, argv, OUTPUTS, "dynamics_network", _validate)
    if args is None:
        return 2
    t0 = time.perf_counter()
    spec = ModelSpec(T=8, V=8)
    info = nd.spinodal_info(spec)
    alpha = 1.3 * info["upper"]
    ode = nd.trajectory(spec, alpha, t_max=args.t_max, n_points=1601, spinodal_info=info)
    rows, nets = [], []
    for i, N in enumerate(args.Ns):
        net = nd.ula_overlaps(spec, alpha, N, t_max=args.t_max, step=args.step, chains=args.chains,
                              seed=args.seed + i)
        nets.append(net)
        t = np.array(net.t)
        m_ode = np.interp(t, ode.t, ode.m)
        m_dev = np.abs(np.array(net.m) - m_ode)
        above = np.nonzero(np.array(net.m) >= ode.branches.midpoint)[0]
        crossing = float(t[above[0]]) if len(above) else None
        row = {"N": N, "max_abs_m_deviation": float(m_dev.max()),
               "mean_abs_m_deviation": float(m_dev.mean()),
               "max_rel_delta_deviation": float(np.max(np.abs(np.array(net.p) - np.interp(t, ode.t, ode.states["delta"])))
                                                / max(ode.states["delta"])),
               "max_rel_a_deviation": float(np.max(np.abs(np.array(net.a) - np.interp(t, ode.t, ode.states["a_delta"])))
                                            / max(ode.states["a_delta"])),
               "max_sem_m": float(max(net.m_sem)), "t_cross_network": crossing, "t_emerge_ode": ode.t_emerge}
        rows.append(row)
        print(f"N = {N}: max |m - m_ODE| = {row['max_abs_m_deviation']:.4f} (mean {row['mean_abs_m_deviation']:.4f}, "
              f"max s.e.m. {row['max_sem_m']:.4f}); delta, a rel. dev. {row['max_rel_delta_deviation']:.3f}, "
              f"{row['max_rel_a_deviation']:.3f}; crossing t = {crossing} (ODE {ode.t_emerge})")
    write_json(os.path.join(args.out, OUTPUTS[0]), {"model": spec.to_dict(), "alpha": alpha, "rows": rows},
               force=args.force, meta=metadata(vars(args), seeds=args.seed,
                                               timings={"seconds": time.perf_counter() - t0},
                                               command="experiments/dynamics_network.py"))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    ax.plot(ode.t, ode.m, "k-", lw=1.5, label="overlap ODE (N -> oo)")
    for net in nets:
        ax.errorbar(net.t[::4], net.m[::4], yerr=net.m_sem[::4], fmt=".", ms=3, label=f"ULA, N = {net.N}")
    ax.set_xlabel("t = ULA steps x h")
    ax.set_ylabel("m")
    ax.set_title(f"softmax T = V = 8, alpha = {alpha:.4g}: ensemble of {args.chains} chains")
    ax.legend(fontsize=8)
    save_figure(fig, args.out, OUTPUTS[1], t0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
