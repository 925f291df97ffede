"""Adam against gradient flow: when does the copy head emerge from the uniform start?

    python experiments/dynamics_adam.py --out experiments/out/dynamics_adam

Default model softmax T = V = 8 (MAP threshold of the uniform state from the closed form). For each alpha:

* the gradient-flow ODE (theory/dynamics.py) from the network's uniform start: t_emerge;
* plain gradient ascent on the finite network's W-marginal log posterior, lr = h, same start: the emergence
  time steps * h (the discretised gradient flow: checks the ODE on the network);
* Adam (coupled weight decay = the prior, numerics/sampling.adam) on the full (Q, K, W) posterior with W at
  its ridge value, the setting of experiments/adam_vs_map.py: the emergence step, reported as steps * lr.

Emergence = first crossing of the midpoint between m = 1/T and the MAP copy minimum. Writes
dynamics_adam.json (with metadata) and dynamics_adam.png into --out (refuses to overwrite unless --force).
"""
from __future__ import annotations

import os
import time

import numpy as np

from copyhead import ModelSpec
from copyhead.scripting import ArgumentParser, UsageError, metadata, parse_and_prepare, save_figure, write_json
from copyhead.numerics import dynamics as nd
from copyhead.numerics.network import Network, initial_state, make_data
from copyhead.numerics.sampling import adam, sample_size

OUTPUTS = ("dynamics_adam.json", "dynamics_adam.png")


def _crossing(trace, level, dt):
    above = np.nonzero(np.asarray(trace) >= level)[0]
    return None if len(above) == 0 else float((above[0] + 1) * dt)


def run_point(spec, alpha, N, lr, steps, seed):
    info = nd.spinodal_info(spec, "gradient-flow")
    ode = nd.trajectory(spec, alpha, dynamics="gradient-flow", init="uniform", t_max=steps * lr, n_points=2001,
                        spinodal_info=info)
    level = ode.branches.midpoint
    rng = np.random.default_rng(seed)
    net = Network(spec, N, make_data(spec, sample_size(N, alpha), rng))
    Q, K = initial_state(spec, N, "uniform", rng)
    theta = net.pack(Q, K)
    gd_trace, th = [], theta.copy()
    for _ in range(steps):
        ev = net.marginal(th)
        th = th + lr * ev.grad
        gd_trace.append(ev.m)
    full = np.concatenate([theta, net.ridge_readout(theta).ravel()])

    def target(x):
        ev = net.full(x)
        return ev.logp, ev.grad, ev.m

    run = adam(target, full, lr=lr, n_steps=steps)
    return {"alpha": alpha, "midpoint": level, "ode_t_emerge": ode.t_emerge,
            "gd_t_emerge": _crossing(gd_trace, level, lr) if level is not None else None,
            "adam_t_emerge": _crossing(run.observable, level, lr) if level is not None else None,
            "ode_final_m": ode.m[-1], "gd_final_m": float(gd_trace[-1]), "adam_final_m": float(run.observable[-1])}


def _validate(args):
    if args.N < 2:
        raise UsageError(f"--N: must be an integer >= 2, got {args.N}")
    if not (args.lr > 0 and args.lr < 1):
        raise UsageError(f"--lr: must be in (0, 1), got {args.lr}")
    if args.steps < 1:
        raise UsageError(f"--steps: must be an integer >= 1, got {args.steps}")
    if args.seed < 0:
        raise UsageError(f"--seed: must be an integer >= 0, got {args.seed}")
    if any(not f > 0 for f in args.factors):
        raise UsageError("--factors: must be positive")


def main(argv=None) -> int:
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--force", action="store_true")
    p.add_argument("--N", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--steps", type=int, default=6000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--factors", type=float, nargs="+", default=[0.9, 0.98, 1.02, 1.1, 1.3, 2.0],
                   help="alpha / MAP threshold")
    args = parse_and_prepare(p, argv, OUTPUTS, "dynamics_adam", _validate)
    if args is None:
        return 2
    spec = ModelSpec(T=8, V=8)
    threshold = nd.map_uniform_threshold(spec)
    t0 = time.perf_counter()
    rows = [run_point(spec, f * threshold, args.N, args.lr, args.steps, args.seed + i)
            for i, f in enumerate(args.factors)]
    for r in rows:
        print(f"alpha/thr = {r['alpha'] / threshold:5.3f}: ODE {r['ode_t_emerge']}, GD {r['gd_t_emerge']}, "
              f"Adam {r['adam_t_emerge']}  (final m: {r['ode_final_m']:.4f} {r['gd_final_m']:.4f} {r['adam_final_m']:.4f})")
    result = {"model": spec.to_dict(), "map_threshold": threshold, "rows": rows}
    write_json(os.path.join(args.out, OUTPUTS[0]), result, force=args.force,
               meta=metadata(vars(args), seeds=args.seed, timings={"seconds": time.perf_counter() - t0},
                             command="experiments/dynamics_adam.py"))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    for key, label in (("ode_t_emerge", "gradient-flow ODE"), ("gd_t_emerge", "network, gradient ascent"),
                       ("adam_t_emerge", "network, Adam (steps x lr)")):
        pts = [(r["alpha"] / threshold, r[key]) for r in rows if r[key] is not None]
        if pts:
            ax.semilogy(*zip(*pts), "o-", label=label)
    ax.axvline(1.0, ls=":", color="k", lw=0.8)
    ax.set_xlabel("alpha / MAP threshold of the uniform state")
    ax.set_ylabel("emergence time (units of lr)")
    ax.legend(fontsize=8)
    save_figure(fig, args.out, OUTPUTS[1], t0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
