"""Hysteresis edges of the softmax jump against N at a fixed run length, against spinodals and barriers.

    python experiments/finite_n_hysteresis.py --out experiments/out/finite_n_hysteresis
    python experiments/finite_n_hysteresis.py --quick --out /tmp/hyst_quick        # seconds

Default model: softmax, T = 8, V = 16. For each N, ``--chains`` independent plain MALA chains (exact marginal
posterior over Q, K; no tempering) sweep alpha up the grid from the uniform start and down from the copy
start, ``--steps`` steps at each alpha (the fixed run length), carrying their state from one alpha to the
next. One data set per N; alpha uses its first round(alpha N) sequences, so the data grow along the up sweep.
The step is adapted in the first half of the first alpha only and then frozen.

At each alpha the chain's m is averaged over the second half of its steps there. The up edge of a chain is
the first alpha of the up sweep where that mean exceeds ``--threshold`` (default 0.33, the midpoint of the
N -> infinity branches at alpha*); the down edge the first alpha of the down sweep where it falls below. The
edges are given per chain and as median and quartiles over chains.

Theory: the N -> infinity spinodals and alpha* (copyhead.numerics.finite_n.jump); at each measured edge the
N -> infinity barrier N dF(alpha) (copyhead.numerics.finite_n.barriers: from the uniform minimum for the up
edge, from the copy minimum for the down edge; null outside the two-minimum window); and the predicted edges
of copyhead.numerics.finite_n.hysteresis_edges (Kramers/Langer with the one-loop prefactor tau_0) for the run
time of one alpha in Langevin time, steps x the frozen MALA step (the preconditioner is 1 at the default
prior variances; other sigma_q, sigma_k get no prediction). Nothing is fitted.

Writes into --out (refuses to overwrite unless --force): ``finite_n_hysteresis.json`` (per-alpha mean m of
every chain, edges, barriers, parameters, seed, version, wall time), ``finite_n_hysteresis.csv`` (one row per
N and direction), ``draws.npz`` (the per-alpha means and the kept m of every chain).
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from copyhead import __version__
from copyhead.cli import UsageError, add_model_options, refuse_existing
from copyhead.scripting import add_run_options, network_spec, write_json_and_csv
from copyhead.numerics.network import CopyData, Network, initial_state, make_data
from copyhead.numerics.sampling import DEFAULT_STEP, mala_chains, sample_size


def sweep(spec, N, alphas, init, steps, chains, data, rng_seeds, step0):
    """Sweep ``alphas`` in the given order with ``chains`` batched chains; per-alpha mean m (chains, alphas),
    the kept m (chains, alphas, steps - steps // 2) and the frozen MALA step of each chain."""
    rngs = [np.random.default_rng(s) for s in rng_seeds]
    net0 = Network(spec, N, _prefix(data, sample_size(N, alphas[0])))
    thetas = np.stack([net0.pack(*initial_state(spec, N, init, r)) for r in rngs])
    step = np.full(chains, step0)
    means, kept = np.empty((chains, len(alphas))), np.empty((chains, len(alphas), steps - steps // 2))
    for i, a in enumerate(alphas):
        net = Network(spec, N, _prefix(data, sample_size(N, a)))
        runs = mala_chains(net.marginal_batch, thetas, step=step, n_steps=steps, rngs=rngs,
                           precond=net.preconditioner(), adapt=(i == 0))
        thetas = np.stack([r.theta for r in runs])
        step = np.array([r.step for r in runs])
        for c, r in enumerate(runs):
            kept[c, i] = r.observable[steps // 2:]
            means[c, i] = kept[c, i].mean()
    return means, kept, step


def _prefix(data, n):
    return CopyData(data.tokens[:n], data.X[:n], data.Y[:n])


def edges(alphas, means, threshold, rising):
    """First alpha (in sweep order) of each chain where the mean m crosses the threshold; None if never or if
    the chain is already across at the first alpha (no edge inside the grid), counted in the second value."""
    out, at_start = [], 0
    for row in means:
        hit = np.nonzero(row > threshold if rising else row < threshold)[0]
        if hit.size and hit[0] == 0:
            at_start += 1
            out.append(None)
        else:
            out.append(float(alphas[hit[0]]) if hit.size else None)
    return out, at_start


def quartiles(values):
    v = [x for x in values if x is not None]
    if not v:
        return None
    q = np.percentile(v, [25, 50, 75])
    return {"q25": float(q[0]), "median": float(q[1]), "q75": float(q[2]), "chains_with_edge": len(v)}


def barrier_at(spec, alpha, N, side):
    from copyhead.numerics import finite_n

    rows = finite_n.barriers(spec, [alpha], [N])
    if not rows:
        return None
    row = rows[0]
    return {"dF": row["dF_from"][side], "N_dF": N * row["dF_from"][side], "saddle_m_like": row["saddle_order_parameter"]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_options(p)
    p.set_defaults(T="8", V="16")
    p.add_argument("--N", dest="N_list", type=int, nargs="+", default=[8, 12, 16, 24, 32, 48, 64])
    p.add_argument("--alpha-min", type=float, default=4.0)
    p.add_argument("--alpha-max", type=float, default=11.0)
    p.add_argument("--alpha-step", type=float, default=0.1)
    p.add_argument("--steps", type=int, default=2000, help="MALA steps at each alpha (the fixed run length)")
    p.add_argument("--chains", type=int, default=8)
    p.add_argument("--threshold", type=float, default=0.33)
    add_run_options(p, out="experiments/out/finite_n_hysteresis", quick="N = 8 16, alpha 5..9 step 0.5, 300 steps, 2 chains")
    args = p.parse_args(argv)
    try:
        spec = network_spec(args, attention="softmax", about="the softmax jump")
        if args.quick:
            args.N_list, args.alpha_min, args.alpha_max, args.alpha_step = [8, 16], 5.0, 9.0, 0.5
            args.steps, args.chains = 300, 2
        if any(N < 2 for N in args.N_list):
            raise UsageError("--N: every N must be >= 2")
        if not 0 < args.alpha_min < args.alpha_max or not args.alpha_step > 0:
            raise UsageError("--alpha-min, --alpha-max, --alpha-step: need 0 < min < max and step > 0")
        if args.steps < 8 or args.chains < 1:
            raise UsageError("--steps >= 8 and --chains >= 1")
        if not 0 < args.threshold < 1:
            raise UsageError("--threshold must lie in (0, 1)")
        names = ("finite_n_hysteresis.json", "finite_n_hysteresis.csv", "draws.npz")
        paths = {k: os.path.join(args.out, k) for k in names}
        refuse_existing(paths.values(), args.force)
    except UsageError as exc:
        sys.stderr.write(f"finite_n_hysteresis: {exc}\n")
        return 2
    os.makedirs(args.out, exist_ok=True)
    from copyhead.numerics import finite_n

    t0 = time.perf_counter()
    alphas = np.round(np.arange(args.alpha_min, args.alpha_max + args.alpha_step / 2, args.alpha_step), 10)
    jump = finite_n.jump(spec, args.N_list)
    theory = None if jump is None else {"alpha_star": jump["alpha_star"], "spinodals": jump["spinodals"],
                                        "source": "copyhead.numerics.finite_n.jump / barriers / hysteresis_edges"}
    root = np.random.SeedSequence(args.seed)
    results, rows, arrays = {}, [], {}
    for N, ss in zip(args.N_list, root.spawn(len(args.N_list))):
        data_ss, up_ss, down_ss = ss.spawn(3)
        data = make_data(spec, sample_size(N, alphas[-1]), np.random.default_rng(data_ss))
        up_means, up_kept, up_step = sweep(spec, N, alphas, "uniform", args.steps, args.chains, data,
                                  up_ss.spawn(args.chains), DEFAULT_STEP["mala"])
        dn_means, dn_kept, dn_step = sweep(spec, N, alphas[::-1], "copy", args.steps, args.chains, data,
                                  down_ss.spawn(args.chains), DEFAULT_STEP["mala"])
        dn_means, dn_kept = dn_means[:, ::-1], dn_kept[:, ::-1]
        up, up_start = edges(alphas, up_means, args.threshold, rising=True)
        down, down_start = edges(alphas[::-1], dn_means[:, ::-1], args.threshold, rising=False)
        res = {"up_edges": up, "down_edges": down, "up": quartiles(up), "down": quartiles(down),
               "chains_across_at_sweep_start": {"up": up_start, "down": down_start},
               "m_mean_up": up_means.tolist(), "m_mean_down": dn_means.tolist()}
        for side, key, q in (("low_m", "up", res["up"]), ("high_m", "down", res["down"])):
            res[f"barrier_at_{key}_edge"] = (barrier_at(spec, q["median"], N, side)
                                             if q is not None and theory is not None else None)
        if res["up"] and res["down"]:
            res["loop_width"] = res["up"]["median"] - res["down"]["median"]
        # Kramers/Langer edges for this run length in Langevin time: steps x (frozen MALA step); the
        # preconditioner is the prior variance, 1 per coordinate at the default knobs, so time = steps x h
        res["mala_step"] = {"up": up_step.tolist(), "down": dn_step.tolist()}
        res["predicted_edges"] = {}
        if theory is not None and spec.sigma_q == 1.0 and spec.sigma_k == 1.0:
            for key, st in (("up", up_step), ("down", dn_step)):
                run_time = args.steps * float(np.median(st))
                pe = finite_n.hysteresis_edges(spec, [N], run_time)
                res["predicted_edges"][key] = {"run_time": run_time, **(pe["edges"][str(N)][key] if pe else {})}
        results[str(N)] = res
        arrays[f"m_mean_up_N{N}"], arrays[f"m_mean_down_N{N}"] = up_means, dn_means
        arrays[f"m_kept_up_N{N}"] = up_kept.astype(np.float32)
        arrays[f"m_kept_down_N{N}"] = dn_kept.astype(np.float32)
        for key in ("up", "down"):
            q, b = res[key], res[f"barrier_at_{key}_edge"]
            rows.append({"N": N, "direction": key, "steps_per_alpha": args.steps, "chains": args.chains,
                         "edge_median": q["median"] if q else None, "edge_q25": q["q25"] if q else None,
                         "edge_q75": q["q75"] if q else None, "chains_with_edge": q["chains_with_edge"] if q else 0,
                         "N_dF_at_edge": b["N_dF"] if b else None,
                         "predicted_edge": res["predicted_edges"].get(key, {}).get("alpha"),
                         "predicted_edge_flag": res["predicted_edges"].get(key, {}).get("flag"),
                         "spinodal": (theory["spinodals"][1] if key == "up" else theory["spinodals"][0])
                         if theory and theory["spinodals"] else None})
        sys.stderr.write(f"N={N}: up edge {res['up']}, down edge {res['down']}, barriers "
                         f"{res['barrier_at_up_edge']} / {res['barrier_at_down_edge']} "
                         f"({time.perf_counter() - t0:.0f}s)\n")
    wall = time.perf_counter() - t0
    doc = {"theory": theory, "alphas": alphas.tolist(), "results": results,
           "meta": {"version": __version__, "model": spec.to_dict(), "seed": args.seed,
                    "seeding": "SeedSequence(seed).spawn per N -> (data, up chains, down chains)",
                    "params": {"N": args.N_list, "steps_per_alpha": args.steps, "chains": args.chains,
                               "threshold_m": args.threshold, "alpha_grid": [args.alpha_min, args.alpha_max,
                                                                             args.alpha_step],
                               "step_adaptation": "first half of the first alpha only, then frozen",
                               "average": "mean m over the second half of the steps at each alpha"},
                    "wall_time_s": wall, "command": " ".join(sys.argv)}}
    write_json_and_csv(paths["finite_n_hysteresis.json"], doc, paths["finite_n_hysteresis.csv"], rows, force=args.force)
    np.savez_compressed(paths["draws.npz"], alphas=alphas, **arrays)
    sys.stderr.write(f"wrote {args.out} in {wall:.0f}s\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
