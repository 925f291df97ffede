"""Equilibrium location of the softmax jump at small N, where barrier crossings happen in a run.

    python experiments/softmax_equilibrium.py --out experiments/out/softmax_equilibrium
    python experiments/softmax_equilibrium.py --quick --out /tmp/eq_quick      # ~1 minute smoke run

Default model: softmax, T=8, V=16 (other knobs at their defaults).  Its large-N
theory has two minima only in a narrow window (spinodals ~5.3 and ~6.1) and a
barrier of ~0.25 per N between them at alpha*, so at N = 8 ... 32 MALA chains
cross between the basins within a run (exp(0.25 N) = 7 ... 3000).

At every (N, alpha) two MALA chains (exact marginal posterior over Q, K) start
from the uniform and from the copy state.  Each N uses ONE data set whose
first n = alpha N sequences are used at each alpha (``make_data`` draws
sequences row by row, so smaller data sets are prefixes of larger ones); this
removes data-to-data noise between neighbouring alphas.

Posterior weight of the copy basin: the fraction of kept samples (second half
of each chain, both chains pooled) with m above a threshold.  The threshold at
each N is the minimum of the pooled m-histogram between the two modes (the
valley; it falls back to the midpoint of the theory branches at alpha* if the
histogram is not bimodal).  alpha_eq(N) is where that fraction crosses 1/2
(linear interpolation between the grid points bracketing the crossing; the
logistic fit of logit(p) against alpha is given too).  A point "mixes" if each
chain crosses the threshold at least twice (recorded per point): where chains
do not mix, the fraction reflects the starts and alpha_eq is flagged.

alpha* of the theory is computed here from
``copyhead.numerics.free_energy.local_minima``: the root of
f_copy(alpha) - f_uniform(alpha) (brentq between the spinodals).

Writes into --out (refuses to overwrite unless --force): ``equilibrium.json``
(every point, the thresholds, alpha_eq(N), |alpha_eq - alpha*|, a fit of the
trend in 1/N, metadata), ``p_copy.png`` (copy-basin weight against alpha per
N, and alpha_eq against 1/N) and ``histograms.png`` (m near the jump per N).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np

from copyhead import __version__
from copyhead.cli import UsageError, add_model_options, refuse_existing
from copyhead.scripting import add_run_options, network_spec
from copyhead.numerics.executors import open_executor
from copyhead.numerics.sampling import BURN_IN_POLICY, ChainTask, run_chain

OUTPUTS = ("equilibrium.json", "p_copy.png", "histograms.png")
BINS = np.linspace(0.0, 1.0, 101)


# ----------------------------------------------------------------------------- theory
def theory_coexistence(spec, lo=1.0, hi=20.0, step=0.05):
    """Spinodals (ends of the alpha range with two minima on a grid) and alpha* where
    f_copy = f_uniform (brentq), with both branches' m at alpha*."""
    from scipy.optimize import brentq

    from copyhead.numerics.free_energy import local_minima

    grid = np.arange(lo, hi + step / 2, step)
    two = [a for a in grid if len(local_minima(spec, float(a))) >= 2]
    if not two:
        return {"first_order": False}

    def gap(a):
        mins = sorted(local_minima(spec, float(a)), key=lambda x: x.m)
        return mins[-1].f - mins[0].f

    a0, a1 = min(two), max(two)
    star = brentq(gap, a0, a1, xtol=1e-10)
    mins = sorted(local_minima(spec, star), key=lambda x: x.m)
    return {"first_order": True, "alpha_star": star, "spinodal_low": a0, "spinodal_high": a1,
            "spinodal_resolution": step, "m_uniform_at_star": mins[0].m, "m_copy_at_star": mins[-1].m,
            "method": "brentq on f_copy - f_uniform from copyhead.numerics.free_energy.local_minima"}


def theory_branches(spec, alphas):
    from copyhead.numerics.free_energy import local_minima

    out = []
    for a in alphas:
        out.append({"alpha": float(a), "minima": [{"m": x.m, "f": x.f, "is_global": x.is_global}
                                                 for x in local_minima(spec, float(a))]})
    return out


# ----------------------------------------------------------------------------- analysis
def valley_threshold(samples, lo, hi, fallback):
    """Minimum of the (lightly smoothed) pooled histogram between two modes in [lo, hi]."""
    counts, edges = np.histogram(samples, bins=BINS)
    smooth = np.convolve(counts, np.ones(3) / 3, mode="same")
    centres = 0.5 * (edges[1:] + edges[:-1])
    inside = (centres >= lo) & (centres <= hi)
    if not inside.any():
        return fallback, False
    idx = np.nonzero(inside)[0]
    k = idx[np.argmin(smooth[idx])]
    left, right = smooth[: k].max() if k > 0 else 0, smooth[k + 1:].max() if k + 1 < len(smooth) else 0
    bimodal = smooth[k] < 0.5 * min(left, right)
    return (float(centres[k]) if bimodal else fallback), bool(bimodal)


def crossings(trace, threshold):
    above = trace > threshold
    return int(np.count_nonzero(above[1:] != above[:-1]))


def alpha_at_half(alphas, ps):
    """Linear interpolation of the first upward crossing of p = 1/2."""
    for (a0, p0), (a1, p1) in zip(zip(alphas, ps), zip(alphas[1:], ps[1:])):
        if p0 < 0.5 <= p1:
            return a0 + (0.5 - p0) * (a1 - a0) / (p1 - p0)
    return None


def logistic_fit(alphas, ps, n_eff):
    """Weighted least squares of logit(p) = k (alpha - a0) over points with 0 < p < 1."""
    a, p, w = np.asarray(alphas), np.asarray(ps), np.asarray(n_eff)
    ok = (p > 0.01) & (p < 0.99)
    if ok.sum() < 2:
        return None
    y = np.log(p[ok] / (1 - p[ok]))
    wt = w[ok] * p[ok] * (1 - p[ok])  # inverse variance of logit(p) ~ n p (1-p)
    X = np.stack([np.ones(ok.sum()), a[ok]], axis=1)
    coef = np.linalg.lstsq(X * np.sqrt(wt)[:, None], y * np.sqrt(wt), rcond=None)[0]
    if coef[1] <= 0:
        return None
    return {"alpha_half": float(-coef[0] / coef[1]), "slope": float(coef[1]), "points_used": int(ok.sum())}


# ----------------------------------------------------------------------------- main
def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_options(p)
    p.set_defaults(T="8", V="16")
    p.add_argument("--N", dest="N_list", type=int, nargs="+", default=[8, 12, 16, 24, 32])
    p.add_argument("--alphas", type=float, nargs="+", default=[float(x) for x in np.arange(5.0, 12.01, 0.5)])
    p.add_argument("--steps", type=int, default=20000, help="MALA steps per chain (first half burn-in)")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--scheduler", default=None)
    add_run_options(p, out="experiments/out/softmax_equilibrium", quick="N=8 16, alphas 6 8 10 12, 4000 steps")
    args = p.parse_args(argv)
    try:
        spec = network_spec(args, attention="softmax", about="the softmax jump")
        if args.quick:
            args.N_list, args.alphas, args.steps = [8, 16], [6.0, 8.0, 10.0, 12.0], 4000
        if any(N < 2 for N in args.N_list) or any(a <= 0 for a in args.alphas) or args.steps < 8:
            raise UsageError("--N >= 2, --alphas > 0, --steps >= 8")
        paths = {k: os.path.join(args.out, k) for k in OUTPUTS}
        refuse_existing(paths.values(), args.force)
    except UsageError as exc:
        sys.stderr.write(f"softmax_equilibrium: {exc}\n")
        return 2
    os.makedirs(args.out, exist_ok=True)
    alphas = sorted(set(args.alphas))
    t0 = time.perf_counter()
    sys.stderr.write("theory: alpha* and spinodals ...\n")
    th = theory_coexistence(spec)
    sys.stderr.write(f"theory: {th}\n")

    root = np.random.SeedSequence(args.seed)
    per_N = root.spawn(len(args.N_list))
    tasks = []
    for N, ss in zip(args.N_list, per_N):
        data_ss, chains_ss = ss.spawn(2)
        chain_seeds = chains_ss.spawn(2 * len(alphas))
        for i, a in enumerate(alphas):
            for k, init in enumerate(("uniform", "copy")):
                tasks.append(ChainTask(spec, N, a, init, "mala", "marginal", args.steps, None,
                                       data_ss, chain_seeds[2 * i + k], k))
    traces = {}
    with open_executor(args.scheduler, args.workers) as ex:
        futs = {ex.submit(run_chain, t): t for t in tasks}
        from concurrent.futures import as_completed
        for done, fut in enumerate(as_completed(futs), 1):
            o = fut.result()
            t = o.task
            traces[(t.N, t.alpha, t.init)] = (o.m_trace[args.steps // 2:], o.acceptance, o.step)
            sys.stderr.write(f"[{done}/{len(tasks)}] N={t.N} alpha={t.alpha:g} {t.init} "
                             f"mean m={o.m_trace[args.steps // 2:].mean():.3f} "
                             f"({time.perf_counter() - t0:.0f}s)\n")
    fallback = 0.5 * (th["m_uniform_at_star"] + th["m_copy_at_star"]) if th.get("first_order") else 0.33
    results = {}
    for N in args.N_list:
        pooled = np.concatenate([traces[(N, a, i)][0] for a in alphas for i in ("uniform", "copy")])
        thr, bimodal = valley_threshold(pooled, 0.12, 0.6, fallback)
        pts = []
        for a in alphas:
            tu, tc = traces[(N, a, "uniform")][0], traces[(N, a, "copy")][0]
            both = np.concatenate([tu, tc])
            pu, pc = float(np.mean(tu > thr)), float(np.mean(tc > thr))
            xu, xc = crossings(tu, thr), crossings(tc, thr)
            counts, _ = np.histogram(both, bins=BINS)
            pts.append({"alpha": a, "p_copy": float(np.mean(both > thr)), "p_copy_uniform_start": pu,
                        "p_copy_copy_start": pc, "crossings": [xu, xc],
                        "mixes": bool(min(xu, xc) >= 2 or abs(pu - pc) < 0.05),
                        "m_mean": float(both.mean()), "m_sd": float(both.std()),
                        "acceptance": [traces[(N, a, i)][1] for i in ("uniform", "copy")],
                        "step": [traces[(N, a, i)][2] for i in ("uniform", "copy")],
                        "hist_counts": counts.tolist()})
        ps = [q["p_copy"] for q in pts]
        a_half = alpha_at_half(alphas, ps)
        fit = logistic_fit(alphas, ps, [2 * args.steps // 2 / 50.0] * len(alphas))
        near = [q for q in pts if q["alpha"] == min(alphas, key=lambda a: abs(a - (a_half or np.inf)))] if a_half else []
        res = {"threshold": thr, "histogram_bimodal": bimodal, "points": pts, "alpha_eq": a_half,
               "alpha_eq_logistic": fit,
               "mixing_at_crossing": (all(q["mixes"] for q in near) if near else None)}
        if a_half is not None and th.get("first_order"):
            res["alpha_eq_minus_alpha_star"] = a_half - th["alpha_star"]
        results[N] = res
        sys.stderr.write(f"N={N}: threshold {thr:.3f} (bimodal={bimodal}); alpha_eq = {a_half}; "
                         f"alpha* = {th.get('alpha_star')}\n")
    trend = None
    usable = [(N, r["alpha_eq_minus_alpha_star"]) for N, r in results.items() if r.get("alpha_eq_minus_alpha_star") is not None]
    if len(usable) >= 2:
        Ns = np.array([u[0] for u in usable], float)
        d = np.array([u[1] for u in usable])
        c1 = float(np.sum(d / Ns) / np.sum(1 / Ns ** 2))            # d = c/N
        slope, icpt = np.polyfit(1 / Ns, d, 1)                       # d = b + c/N
        pw = np.polyfit(np.log(Ns), np.log(np.abs(d)), 1) if np.all(d != 0) else [math.nan, math.nan]
        trend = {"fit_c_over_N": {"c": c1, "rms_residual": float(np.sqrt(np.mean((d - c1 / Ns) ** 2)))},
                 "fit_b_plus_c_over_N": {"b": float(icpt), "c": float(slope)},
                 "power_law_exponent_of_abs_distance": float(pw[0])}
    wall = time.perf_counter() - t0

    _plot(results, th, alphas, paths, spec)
    doc = {"theory": th, "theory_branches": theory_branches(spec, alphas) if th.get("first_order") else [],
           "results": {str(N): r for N, r in results.items()}, "trend_in_N": trend,
           "histogram_bin_edges": BINS.tolist(),
           "meta": {"version": __version__, "model": spec.to_dict(),
                    "params": {"N": args.N_list, "alphas": alphas, "sampler": "mala", "posterior": "marginal",
                               "steps": args.steps, "burn_in": BURN_IN_POLICY,
                               "chains_per_point": "2 (uniform and copy start)",
                               "data": "one data set per N; alpha uses its first round(alpha N) sequences"},
                    "seed": args.seed, "seeding": "SeedSequence(seed).spawn per N -> (data, chains); "
                                                  "chains spawn 2 per alpha (uniform, copy)",
                    "wall_time_s": wall, "command": " ".join(sys.argv)}}
    with open(paths["equilibrium.json"], "w") as fh:
        json.dump(doc, fh, indent=1, allow_nan=False)
    sys.stderr.write(f"trend: {trend}\nwrote {', '.join(paths.values())} in {wall:.0f}s\n")
    return 0


def _plot(results, th, alphas, paths, spec):
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10, 4))
    for N, r in results.items():
        ax.plot([q["alpha"] for q in r["points"]], [q["p_copy"] for q in r["points"]], "o-", label=f"N={N}")
    if th.get("first_order"):
        for key, ls in (("alpha_star", "-"), ("spinodal_low", ":"), ("spinodal_high", ":")):
            ax.axvline(th[key], color="grey", ls=ls, lw=1)
    ax.axhline(0.5, color="k", lw=0.5)
    ax.set_xlabel(r"$\alpha$")
    ax.set_ylabel("posterior weight of the copy basin")
    ax.set_title(f"softmax T={spec.T} V={spec.V}: MALA, grey = theory alpha*, spinodals", fontsize=8)
    ax.legend(fontsize=7)
    Ns = [N for N, r in results.items() if r["alpha_eq"] is not None]
    if Ns:
        bx.plot([1 / N for N in Ns], [results[N]["alpha_eq"] for N in Ns], "ko-", label=r"$\alpha_{eq}(N)$")
    if th.get("first_order"):
        bx.axhline(th["alpha_star"], color="grey", label=r"theory $\alpha^*$")
    bx.set_xlim(left=0)
    bx.set_xlabel("1/N")
    bx.set_ylabel(r"$\alpha$ where copy weight = 1/2")
    bx.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(paths["p_copy.png"])
    plt.close(fig)

    fig, axes = plt.subplots(1, len(results), figsize=(3.0 * len(results), 2.8), squeeze=False)
    centres = 0.5 * (BINS[1:] + BINS[:-1])
    for axh, (N, r) in zip(axes[0], results.items()):
        ref = r["alpha_eq"] if r["alpha_eq"] is not None else th.get("alpha_star", alphas[len(alphas) // 2])
        ordered = sorted(alphas, key=lambda a: abs(a - ref))[:3]
        for q in r["points"]:
            if q["alpha"] in ordered:
                c = np.asarray(q["hist_counts"], float)
                axh.step(centres, c / c.sum() / (BINS[1] - BINS[0]), where="mid", label=f"alpha={q['alpha']:g}")
        axh.axvline(r["threshold"], color="k", ls=":", lw=0.8)
        axh.set_title(f"N={N}", fontsize=9)
        axh.set_xlabel("m")
        axh.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(paths["histograms.png"])
    plt.close(fig)


if __name__ == "__main__":
    import matplotlib

    matplotlib.use("Agg")  # the entry point, not the library, chooses the backend
    raise SystemExit(main())
