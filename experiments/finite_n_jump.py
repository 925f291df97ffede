"""Equilibrium location alpha_eq(N) of the softmax jump by replica exchange, against the one-loop prediction.

    python experiments/finite_n_jump.py --N 128 --out experiments/out/finite_n_jump_N128
    python experiments/finite_n_jump.py --quick --out /tmp/jump_quick          # ~1 minute smoke run

Default model: softmax, T = 8, V = 16 (other knobs at their defaults), as in the README's finite-N table.

For each N and each of ``--datasets`` independent data sets:

1. n0 = round(alpha_0 N) sequences, alpha_0 the one-loop alpha_eq(N) of ``copyhead.numerics.finite_n.jump``
   (the Brent root, else the first-order estimate alpha* + C/N), or ``--alpha0``. When a run (steps 2-4) mixes
   (rung-0 R-hat < 1.1) but its crossing lies outside the reweighting window, it is repeated half a window
   towards the crossing, or in the middle of the bracket once both sides are known (at most ``--recentre``
   runs); the prediction only chooses where to start.
2. A ladder of power posteriors p_(a,b) ∝ prior^a L^b on this data set (``numerics/replica.py``), built by
   ``follow_coexistence`` from (a, b) = (1, 1) along the line of equal copy/uniform weight up to where the
   phases merge; its rung 0 is the exact posterior at n0.
3. ``--ladders`` independent ladders (half started in the uniform, half in the copy state) run by replica
   exchange for ``--steps`` MALA steps (first half burn-in).
4. After every kept swap round the state at rung 0 is evaluated under the exact marginal posteriors of the
   nested data sets n = n0 + j (j in --offsets; data are prefixes of one draw). Importance weights
   exp(log L_n - log L_n0) give the posterior fraction p(n) of draws in the copy phase (m above the valley of
   the rung-0 histogram of m) at each n; alpha_eq is where p crosses 1/2, interpolated linearly in logit p
   between the bracketing n, divided by N.

Error bars: ``alpha_eq_err_sampling`` is the jackknife over blocks (each ladder's kept half cut into two) of
one data set; the summary per N gives the mean over data sets and its standard error (their spread / sqrt(D)),
which contains the data-set fluctuations that the annealed theory leaves out.

Writes into --out (refuses to overwrite unless --force): ``finite_n_jump.json`` (everything, parameters,
seeds, version, wall time), ``finite_n_jump.csv`` (one row per N and data set, and one summary row per N),
``draws_N{N}_d{d}.npz`` (kept draws of m at every rung, the rung-0 log-likelihood offsets and m at the swap
rounds).
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time

import numpy as np

from copyhead import __version__
from copyhead.cli import UsageError, add_model_options, refuse_existing
from copyhead.scripting import add_run_options, network_spec, write_json_and_csv
from copyhead.numerics.network import CopyData, Network, initial_state, make_data
from copyhead.numerics.replica import PowerPosterior, follow_coexistence, replica_exchange
from copyhead.numerics.sampling import BURN_IN_POLICY

M_BINS = np.linspace(0.0, 1.0, 101)


def prefix(data: CopyData, n: int) -> CopyData:
    return CopyData(data.tokens[:n], data.X[:n], data.Y[:n])


def valley(m: np.ndarray, lo: float = 0.1, hi: float = 0.7):
    """Middle of the lowest stretch of the smoothed histogram of m between its highest peak and the highest
    peak on the other side (peaks in [lo, hi] at least 0.1 apart); None if that dip is not below half the
    lower peak (unimodal)."""
    counts, edges = np.histogram(m, bins=M_BINS)
    smooth = np.convolve(counts, np.ones(5) / 5, mode="same")
    centres = 0.5 * (edges[1:] + edges[:-1])
    inside = (centres >= lo) & (centres <= hi)
    if not np.any(smooth[inside]):
        return None
    p1 = int(np.argmax(np.where(inside, smooth, -1)))
    far = inside & (np.abs(centres - centres[p1]) >= 0.1)
    if not np.any(smooth[far]):
        return None
    p2 = int(np.argmax(np.where(far, smooth, -1)))
    i, j = sorted((p1, p2))
    low = smooth[i:j + 1].min()
    if not low < 0.5 * min(smooth[p1], smooth[p2]):
        return None
    at_min = np.nonzero(smooth[i:j + 1] == low)[0] + i
    return float(centres[int(round(at_min.mean()))])


def weighted_copy_fraction(log_w: np.ndarray, copy: np.ndarray) -> tuple[float, float]:
    """Self-normalised importance estimate of P(copy) and the Kish effective fraction of the weights."""
    w = np.exp(log_w - log_w.max())
    p = float(np.sum(w * copy) / np.sum(w))
    return p, float(np.sum(w) ** 2 / np.sum(w * w) / w.size)


def crossing(ns, ps, N):
    """alpha where p = 1/2, linear in logit p between the bracketing n (first upward crossing); None if none."""
    eps = 1e-6
    lg = [math.log(min(max(p, eps), 1 - eps) / (1 - min(max(p, eps), 1 - eps))) for p in ps]
    for (n0, l0, p0), (n1, l1, p1) in zip(zip(ns, lg, ps), zip(ns[1:], lg[1:], ps[1:])):
        if p0 < 0.5 <= p1:
            return (n0 + (0 - l0) * (n1 - n0) / (l1 - l0)) / N
    return None


def analyse(ll_offsets, m_swaps, offsets, n0, N, threshold, blocks):
    """p(n) and alpha_eq from the rung-0 samples (ladders, rounds), and a jackknife over ``blocks``."""
    L, S = m_swaps.shape
    copy = (m_swaps > threshold).astype(float)
    ns = [n0 + j for j in offsets]

    def estimate(mask):
        ps, kish = [], []
        for i in range(len(offsets)):
            p, k = weighted_copy_fraction(ll_offsets[:, :, i][mask], copy[mask])
            ps.append(p)
            kish.append(k)
        return ps, kish, crossing(ns, ps, N)

    ps, kish, a_eq = estimate(np.ones((L, S), bool))
    block_id = np.repeat(np.arange(L)[:, None] * blocks, S, axis=1) + (np.arange(S) * blocks // S)[None, :]
    jack = []
    for b in range(L * blocks):
        est = estimate(block_id != b)[2]
        jack.append(est)
    err = None
    if a_eq is not None and all(j is not None for j in jack):
        jk = np.array(jack)
        nb = jk.size
        err = float(math.sqrt((nb - 1) / nb * np.sum((jk - jk.mean()) ** 2)))
    return {"n": ns, "alpha": [n / N for n in ns], "p_copy": ps, "kish_fraction": kish, "alpha_eq": a_eq,
            "alpha_eq_err_sampling": err, "jackknife_blocks": L * blocks,
            "jackknife_estimates": jack, "p_copy_rung0": float(copy[:, :].mean())}


def _ladder_and_run(spec, N, data, n0, offsets, args, path_ss, pt_ss, steps, rng):
    net = Network(spec, N, prefix(data, n0))
    others = [Network(spec, N, prefix(data, n0 + j)) for j in offsets]
    comp = PowerPosterior(net)
    precond = net.preconditioner()
    u = net.pack(*initial_state(spec, N, "uniform", rng))
    c = net.pack(*initial_state(spec, N, "copy", rng))
    t0 = time.perf_counter()
    path = follow_coexistence(comp, u, c, seed=path_ss, pilot_steps=args.pilot_steps, precond=precond,
                              max_rungs=args.max_rungs, min_rungs=args.min_rungs)
    t_path = time.perf_counter() - t0
    L = args.ladders
    # ladder l starts in phase l % 2 at every rung: the rung's metastable state where the two phases were
    # still distinct there, else the initial uniform / copy state (so that unmixed ladders disagree in R-hat)
    distinct = np.abs(path.delta_m) >= 0.05
    th0 = np.stack([np.where(distinct[:, None], path.states[l % 2], (u, c)[l % 2]) for l in range(L)])

    def observe(thetas):
        rung0 = thetas[:, 0, :]
        base = net.marginal_batch(rung0)[0]
        return np.stack([o.marginal_batch(rung0)[0] - base for o in others], axis=1)   # prior cancels

    run = replica_exchange(comp, path.weights, th0, n_steps=steps, seed=pt_ss, swap_every=args.swap_every,
                           step=path.step, precond=precond, observe=observe)
    ll = np.stack(run.records, axis=1)                                    # (L, S, offsets)
    thr = valley(run.m[:, 0, :].ravel())
    thr_source = "valley of the rung-0 histogram of m"
    if thr is None:
        thr, thr_source = args.fallback_threshold, "fallback (rung-0 histogram not bimodal)"
    res = analyse(ll, run.m_at_swaps[:, 0, :], offsets, n0, N, thr, blocks=2)
    res.update({"n0": n0, "threshold_m": thr, "threshold_source": thr_source,
                "seconds": {"ladder": t_path, "replica_exchange": time.perf_counter() - t0 - t_path}})
    return path, run, ll, res


def recentre(res, offsets, n0, bracket):
    """Next n0 when the crossing is not in the window: half a window towards it, or the middle of the
    bracket [n0 with p < 1/2, n0 with p > 1/2] once both sides have been seen; the crossing itself if it was
    found but the fraction at n0 lies outside [0.1, 0.9]; None if done. Only n0 itself enters the bracket:
    where rung 0 saw one phase only, reweighting cannot show the other phase anywhere in the window."""
    if res["alpha_eq"] is not None:   # found; once more on it if n0 saw too little of one phase
        return None if 0.1 <= res["p_copy_rung0"] <= 0.9 else int(round(res["alpha_eq"] * res["n"][0] / res["alpha"][0]))
    below = res["p_copy_rung0"] > 0.5           # copy dominates at n0: the crossing lies below
    if below:
        bracket[1] = n0 if bracket[1] is None else min(bracket[1], n0)
    else:
        bracket[0] = n0 if bracket[0] is None else max(bracket[0], n0)
    if None not in bracket:
        return int(round(0.5 * (bracket[0] + bracket[1])))
    half = (max(offsets) - min(offsets)) // 2
    return n0 - half if below else n0 + half


def run_dataset(spec, N, n0, offsets, args, ss, out_dir, d):
    data_ss, runs_ss = ss.spawn(2)
    rng = np.random.default_rng(data_ss)
    width = max(offsets) - min(offsets)
    n_max = n0 + max(max(offsets), 0) + (args.recentre - 1) * width
    data = make_data(spec, n_max, rng)
    earlier, bracket = [], [None, None]
    # a full run at n0; if its copy fraction does not cross 1/2 inside the window but the run mixed
    # (rung-0 R-hat < 1.1), the next run moves towards the crossing (at most --recentre runs)
    for attempt, rss in enumerate(runs_ss.spawn(args.recentre)):
        path_ss, pt_ss = rss.spawn(2)
        path, run, ll, res = _ladder_and_run(spec, N, data, n0, offsets, args, path_ss, pt_ss, args.steps, rng)
        diag = run.diagnostics(0)
        mixed = diag["rhat"] is not None and diag["rhat"] < 1.1
        nxt = recentre(res, offsets, n0, bracket)
        sys.stderr.write(f"N={N} d={d} run {attempt}: n0 = {n0}, ladder of {len(path.weights)} rungs; "
                         f"alpha_eq {res['alpha_eq']}, p_copy at the window ends {res['p_copy'][0]:.3f}, "
                         f"{res['p_copy'][-1]:.3f}; R-hat {diag['rhat']}\n")
        if (nxt is None or nxt == n0 or not mixed or attempt == args.recentre - 1
                or nxt + min(offsets) < 1 or nxt + max(offsets) > n_max):
            break
        earlier.append({"n0": n0, "p_copy": res["p_copy"], "rhat_rung0": diag["rhat"], "next_n0": nxt})
        n0 = nxt
    np.savez_compressed(os.path.join(out_dir, f"draws_N{N}_d{d}.npz"), m=run.m.astype(np.float32),
                        m_rung0_at_swaps=run.m_at_swaps[:, 0, :], loglik_offsets_rung0=ll,
                        offsets=np.array(offsets), n0=n0, weights=run.weights)
    summary = run.summary()
    summary.pop("rung_diagnostics")
    res.update({"dataset": d, "runs_before": earlier, "ladder": path.to_json(), "replica_exchange": summary,
                "rung0_diagnostics": run.diagnostics(0)})
    sys.stderr.write(f"N={N} d={d}: alpha_eq = {res['alpha_eq']} +- {res['alpha_eq_err_sampling']} "
                     f"(p_copy at n0 {res['p_copy_rung0']:.3f}; round trips {summary['round_trips_total']}; "
                     f"swap rates {min(summary['swap_rate']) if summary['swap_rate'] else None}..; "
                     f"R-hat(m, rung 0) {res['rung0_diagnostics']['rhat']}) in {res['seconds']}\n")
    return res


def prediction(spec, Ns):
    from copyhead.numerics import finite_n

    j = finite_n.jump(spec, Ns)
    if j is None:
        return None
    out = {"alpha_star": j["alpha_star"], "shift_C": j["shift"], "spinodals": j["spinodals"],
           "alpha_eq": {str(N): j["alpha_eq"].get(str(N), j["alpha_eq"].get(N)) for N in Ns},
           "alpha_eq_first_order": {str(N): j["alpha_eq_first_order"].get(str(N), j["alpha_eq_first_order"].get(N))
                                    for N in Ns},
           "source": "copyhead.numerics.finite_n.jump (= copyhead finite-n ... --json, field jump)"}
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_options(p)
    p.set_defaults(T="8", V="16")
    p.add_argument("--N", dest="N_list", type=int, nargs="+", default=[32, 64, 128])
    p.add_argument("--datasets", type=int, default=3)
    p.add_argument("--ladders", type=int, default=2, help="independent ladders per data set (>= 2)")
    p.add_argument("--steps", type=int, default=20000, help="MALA steps per rung (first half burn-in)")
    p.add_argument("--swap-every", type=int, default=10)
    p.add_argument("--pilot-steps", type=int, default=600, help="steps per rung while building the ladder")
    p.add_argument("--max-rungs", type=int, default=60)
    p.add_argument("--min-rungs", type=int, default=8, help="rungs built even where short chains already cross")
    p.add_argument("--offsets", type=int, nargs="+", default=list(range(-16, 17, 2)),
                   help="data-set sizes n0 + j at which the rung-0 draws are reweighted")
    p.add_argument("--alpha0", type=float, default=None, help="first centre n0 = round(alpha0 N) (default: prediction)")
    p.add_argument("--recentre", type=int, default=3, help="runs per data set allowed while moving n0 (>= 1)")
    p.add_argument("--fallback-threshold", type=float, default=0.33)
    add_run_options(p, out="experiments/out/finite_n_jump", quick="N = 32, 1 data set, 4000 steps")
    args = p.parse_args(argv)
    try:
        spec = network_spec(args, attention="softmax", about="the softmax jump")
        if args.quick:
            args.N_list, args.datasets, args.steps = [32], 1, 4000
        if any(N < 2 for N in args.N_list):
            raise UsageError("--N: every N must be >= 2")
        if args.datasets < 1 or args.ladders < 2 or args.recentre < 1:
            raise UsageError("--datasets >= 1, --ladders >= 2 and --recentre >= 1")
        if args.steps < 40 * args.swap_every or args.swap_every < 2:
            raise UsageError("--steps must be >= 40 swap intervals and --swap-every >= 2")
        if 0 not in args.offsets or len(set(args.offsets)) < 3:
            raise UsageError("--offsets: at least three distinct offsets, including 0")
        if args.alpha0 is not None and not args.alpha0 > 0:
            raise UsageError("--alpha0 must be > 0")
        paths = {k: os.path.join(args.out, k) for k in ("finite_n_jump.json", "finite_n_jump.csv")}
        refuse_existing(list(paths.values()) + [os.path.join(args.out, f"draws_N{N}_d{d}.npz")
                                                for N in args.N_list for d in range(args.datasets)], args.force)
    except UsageError as exc:
        sys.stderr.write(f"finite_n_jump: {exc}\n")
        return 2
    os.makedirs(args.out, exist_ok=True)
    offsets = sorted(set(args.offsets))
    t0 = time.perf_counter()
    pred = prediction(spec, args.N_list)
    if pred is None and args.alpha0 is None:
        sys.stderr.write("finite_n_jump: --alpha0: the theory has no first-order jump for this model; give --alpha0\n")
        return 2
    sys.stderr.write(f"prediction: {pred}\n")
    root = np.random.SeedSequence(args.seed)
    results, rows = {}, []
    for N, ss_N in zip(args.N_list, root.spawn(len(args.N_list))):
        if args.alpha0 is not None:
            a0, a0_source = args.alpha0, "--alpha0"
        elif pred["alpha_eq"][str(N)] is not None:
            a0, a0_source = pred["alpha_eq"][str(N)], "one-loop alpha_eq (Brent root)"
        else:
            a0, a0_source = pred["alpha_eq_first_order"][str(N)], "one-loop alpha* + C/N"
        n0 = int(round(a0 * N))
        if n0 + min(offsets) < 1:
            sys.stderr.write(f"finite_n_jump: --offsets: n0 + {min(offsets)} < 1 at N = {N}\n")
            return 2
        per = [run_dataset(spec, N, n0, offsets, args, ss, args.out, d)
               for d, ss in enumerate(ss_N.spawn(args.datasets))]
        vals = [r["alpha_eq"] for r in per if r["alpha_eq"] is not None]
        summ = {"alpha0": a0, "alpha0_source": a0_source, "n0_first": n0, "datasets": per,
                "alpha_eq_values": vals, "alpha_eq_mean": float(np.mean(vals)) if vals else None,
                "alpha_eq_se": float(np.std(vals, ddof=1) / math.sqrt(len(vals))) if len(vals) > 1 else None,
                "datasets_without_crossing": [r["dataset"] for r in per if r["alpha_eq"] is None]}
        if pred is not None and vals:
            star = pred["alpha_star"]
            summ.update({"alpha_eq_minus_alpha_star": summ["alpha_eq_mean"] - star,
                         "N_times_shift": N * (summ["alpha_eq_mean"] - star),
                         "predicted_alpha_eq": pred["alpha_eq"][str(N)],
                         "predicted_alpha_eq_first_order": pred["alpha_eq_first_order"][str(N)]})
        results[str(N)] = summ
        for r in per:
            rows.append({"N": N, "dataset": r["dataset"], "n0": r["n0"], "alpha_eq": r["alpha_eq"],
                         "alpha_eq_err": r["alpha_eq_err_sampling"], "p_copy_at_n0": r["p_copy_rung0"],
                         "rungs": len(r["ladder"]["weights"]), "round_trips": r["replica_exchange"]["round_trips_total"],
                         "rhat_rung0": r["rung0_diagnostics"]["rhat"], "kind": "dataset"})
        rows.append({"N": N, "dataset": "mean", "n0": None, "alpha_eq": summ["alpha_eq_mean"],
                     "alpha_eq_err": summ["alpha_eq_se"], "p_copy_at_n0": None, "rungs": None, "round_trips": None,
                     "rhat_rung0": None, "kind": "mean over data sets (error: standard error)"})
        sys.stderr.write(f"N={N}: alpha_eq = {summ['alpha_eq_mean']} +- {summ['alpha_eq_se']} "
                         f"(predicted {pred['alpha_eq'][str(N)] if pred else None}; "
                         f"{time.perf_counter() - t0:.0f}s so far)\n")
    wall = time.perf_counter() - t0
    doc = {"prediction": pred, "results": results,
           "meta": {"version": __version__, "model": spec.to_dict(), "seed": args.seed,
                    "seeding": "SeedSequence(seed).spawn per N -> per data set -> (data, ladder, replica exchange)",
                    "params": {"N": args.N_list, "datasets": args.datasets, "ladders": args.ladders,
                               "steps": args.steps, "swap_every": args.swap_every, "pilot_steps": args.pilot_steps,
                               "max_rungs": args.max_rungs, "min_rungs": args.min_rungs, "offsets": offsets, "burn_in": BURN_IN_POLICY,
                               "alpha0": args.alpha0},
                    "method": "replica exchange along the equal-weight line of power posteriors prior^a L^b; "
                              "rung 0 = exact posterior at n0, reweighted to n0 + offsets; alpha_eq where the "
                              "copy fraction crosses 1/2 (linear in logit p)",
                    "wall_time_s": wall, "command": " ".join(sys.argv)}}
    write_json_and_csv(paths["finite_n_jump.json"], doc, paths["finite_n_jump.csv"], rows, force=args.force)
    sys.stderr.write(f"wrote {args.out} in {wall:.0f}s\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
