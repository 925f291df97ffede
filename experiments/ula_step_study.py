"""ULA's step-size bias against MALA: on a Gaussian with a known answer and on the finite network.

    python experiments/ula_step_study.py --out experiments/out/ula_step
    python experiments/ula_step_study.py --quick --out /tmp/ula_quick     # ~1 minute smoke run

1. Gaussian, d = 50 coordinates with variances v_i = geomspace(0.5, 2), M = 1.
   ULA's exact stationary variance is v / (1 - h/(2v)) (the AR(1) recursion
   x' = (1 - h/v) x + sqrt(2h) xi), so <x^2/v> averaged over coordinates has a
   known bias; MALA at the same (frozen) h is exact.
2. The network: exact marginal posterior over (Q, K), softmax T=8, V=16, N=16,
   alpha=3 (one basin: uniform phase), the samplers' preconditioner (prior
   variances).  Observables <m>, sd(m) and <log p>.  Reference: MALA with the
   step adapted in burn-in (long chains).  For each h: ULA and MALA with h
   frozen (no adaptation).  ULA's bias is the difference from the reference;
   its error bar combines both chains' Monte Carlo errors (sqrt(var/ESS)).

Writes into --out (refuses to overwrite unless --force): ``ula_step.json`` and
``ula_step.png``.
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
from copyhead.numerics.network import Network, initial_state, make_data
from copyhead.numerics.sampling import effective_sample_size, mala, sample_size, ula
from copyhead.spec import ModelSpec

OUTPUTS = ("ula_step.json", "ula_step.png")


def _mc(x):
    x = np.asarray(x, float)
    ess = effective_sample_size(x)
    return float(x.mean()), float(math.sqrt(x.var(ddof=1) / ess)), float(ess)


def gaussian_study(hs, steps, rng):
    v = np.geomspace(0.5, 2.0, 50)

    def target(th):
        return float(-0.5 * np.sum(th * th / v)), -th / v, float(np.mean(th * th / v))

    rows = []
    for h in hs:
        exact_ula = float(np.mean(1.0 / (1.0 - h / (2 * v))))
        r_u = ula(target, rng.standard_normal(v.size) * np.sqrt(v), step=h, n_steps=steps, rng=rng)
        r_m = mala(target, rng.standard_normal(v.size) * np.sqrt(v), step=h, n_steps=steps, rng=rng, adapt=False)
        mu, eu, _ = _mc(r_u.observable[steps // 2:])
        mm, em, _ = _mc(r_m.observable[steps // 2:])
        rows.append({"h": h, "ula_x2_over_v": mu, "ula_err": eu, "ula_exact": exact_ula,
                     "mala_x2_over_v": mm, "mala_err": em, "mala_acceptance": r_m.acceptance, "target": 1.0})
        sys.stderr.write(f"gaussian h={h:g}: ULA {mu:.4f}+-{eu:.4f} (exact {exact_ula:.4f}), "
                         f"MALA {mm:.4f}+-{em:.4f} (acc {r_m.acceptance:.2f})\n")
    return {"dim": int(v.size), "variances": "geomspace(0.5, 2, 50)", "observable": "mean of x_i^2 / v_i",
            "ula_stationary_variance": "v / (1 - h/(2 v))", "rows": rows}


def network_study(spec, N, alpha, hs, steps, ref_steps, ref_chains, seed):
    root = np.random.SeedSequence(seed)
    data_ss, ref_ss, grid_ss = root.spawn(3)
    net = Network(spec, N, make_data(spec, sample_size(N, alpha), np.random.default_rng(data_ss)))
    M = net.preconditioner()

    def target(th):
        e = net.marginal(th)
        return e.logp, e.grad, e.m

    def observables(run, n):
        m = run.observable[n // 2:]
        lp = run.logp[n // 2:]
        mm, me_, ess = _mc(m)
        sd = float(m.std())
        lm, le, _ = _mc(lp)
        return {"m": mm, "m_err": me_, "m_sd": sd, "logp": lm, "logp_err": le, "ess_m": ess}

    ref_runs = []
    for k, ss in enumerate(ref_ss.spawn(ref_chains)):
        rng = np.random.default_rng(ss)
        th0 = net.pack(*initial_state(spec, N, "uniform", rng))
        run = mala(target, th0, step=0.1, n_steps=ref_steps, rng=rng, precond=M)
        ref_runs.append(run)
        sys.stderr.write(f"network reference chain {k}: acc {run.acceptance:.2f}, h {run.step:.3f}\n")
    m_all = np.stack([r.observable[ref_steps // 2:] for r in ref_runs])
    lp_all = np.stack([r.logp[ref_steps // 2:] for r in ref_runs])
    ess_m, ess_lp = effective_sample_size(m_all), effective_sample_size(lp_all)
    ref = {"m": float(m_all.mean()), "m_err": float(math.sqrt(m_all.var(ddof=1) / ess_m)),
           "m_sd": float(m_all.std()), "logp": float(lp_all.mean()),
           "logp_err": float(math.sqrt(lp_all.var(ddof=1) / ess_lp)),
           "steps": ref_steps, "chains": ref_chains, "step": [r.step for r in ref_runs],
           "acceptance": [r.acceptance for r in ref_runs]}
    rows = []
    for h, ss in zip(hs, grid_ss.spawn(len(hs))):
        rng = np.random.default_rng(ss)
        th0 = net.pack(*initial_state(spec, N, "uniform", rng))
        row = {"h": h}
        try:
            ru = ula(target, th0, step=h, n_steps=steps, rng=rng, precond=M)
            row["ula"] = observables(ru, steps)
        except FloatingPointError as exc:
            row["ula"] = {"diverged": str(exc)}
        rm = mala(target, th0, step=h, n_steps=steps, rng=rng, precond=M, adapt=False)
        row["mala"] = {**observables(rm, steps), "acceptance": rm.acceptance}
        for key in ("ula", "mala"):
            o = row[key]
            if "m" in o:
                o["bias_m"] = o["m"] - ref["m"]
                o["bias_m_err"] = math.hypot(o["m_err"], ref["m_err"])
                o["bias_m_sd"] = o["m_sd"] - ref["m_sd"]
                o["bias_logp"] = o["logp"] - ref["logp"]
                o["bias_logp_err"] = math.hypot(o["logp_err"], ref["logp_err"])
        rows.append(row)
        u = row["ula"]
        sys.stderr.write(f"network h={h:g}: ULA bias m {u.get('bias_m', math.nan):+.4f}+-{u.get('bias_m_err', 0):.4f}, "
                         f"logp {u.get('bias_logp', math.nan):+.2f}+-{u.get('bias_logp_err', 0):.2f}; "
                         f"MALA bias m {row['mala']['bias_m']:+.4f}, logp {row['mala']['bias_logp']:+.2f} "
                         f"(acc {row['mala']['acceptance']:.2f})\n")
    return {"model": spec.to_dict(), "N": N, "alpha": alpha, "n": sample_size(N, alpha), "dim": net.dim_marginal,
            "reference": ref, "rows": rows, "steps": steps}


def _plot(gauss, netw, path):
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    g = gauss["rows"]
    hs = [r["h"] for r in g]
    ax = axes[0]
    ax.errorbar(hs, [r["ula_x2_over_v"] - 1 for r in g], yerr=[r["ula_err"] for r in g], fmt="o", label="ULA measured")
    ax.plot(hs, [r["ula_exact"] - 1 for r in g], "k-", lw=0.8, label="ULA exact: v/(1-h/2v)")
    ax.errorbar(hs, [r["mala_x2_over_v"] - 1 for r in g], yerr=[r["mala_err"] for r in g], fmt="s", label="MALA (h frozen)")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xscale("log")
    ax.set_xlabel("h")
    ax.set_ylabel(r"bias of $\langle x^2/v\rangle$")
    ax.set_title("Gaussian, d=50", fontsize=9)
    ax.legend(fontsize=7)
    rows = netw["rows"]
    for ax, key, label in ((axes[1], "m", r"bias of $\langle m\rangle$"), (axes[2], "logp", r"bias of $\langle\log p\rangle$")):
        for sampler, fmt in (("ula", "o"), ("mala", "s")):
            sel = [r for r in rows if f"bias_{key}" in r[sampler]]
            ax.errorbar([r["h"] for r in sel], [r[sampler][f"bias_{key}"] for r in sel],
                        yerr=[r[sampler][f"bias_{key}_err"] for r in sel], fmt=fmt,
                        label=f"{sampler.upper()}{' (h frozen)' if sampler == 'mala' else ''}")
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_xscale("log")
        ax.set_xlabel("h (dimensionless, preconditioned)")
        ax.set_ylabel(label)
        ax.set_title(f"network: softmax T={netw['model']['T']} V={netw['model']['V']} N={netw['N']} "
                     f"alpha={netw['alpha']:g}", fontsize=8)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hs", type=float, nargs="+", default=[0.01, 0.02, 0.05, 0.1, 0.2, 0.3])
    p.add_argument("--steps", type=int, default=24000)
    p.add_argument("--ref-steps", type=int, default=60000)
    p.add_argument("--ref-chains", type=int, default=2)
    p.add_argument("--gauss-steps", type=int, default=100000)
    p.add_argument("--N", type=int, default=16)
    p.add_argument("--alpha", type=float, default=3.0)
    p.add_argument("--T", type=int, default=8)
    p.add_argument("--V", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="experiments/out/ula_step")
    p.add_argument("--force", action="store_true")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    if args.quick:
        args.steps, args.ref_steps, args.gauss_steps, args.hs = 4000, 8000, 20000, [0.02, 0.1, 0.4]
    paths = {k: os.path.join(args.out, k) for k in OUTPUTS}
    existing = [q for q in paths.values() if os.path.exists(q)]
    if existing and not args.force:
        sys.stderr.write(f"ula_step_study: --out: {existing[0]!r} already exists; pass --force to overwrite\n")
        return 2
    os.makedirs(args.out, exist_ok=True)
    t0 = time.perf_counter()
    spec = ModelSpec(T=args.T, V=args.V)
    gauss = gaussian_study(args.hs, args.gauss_steps, np.random.default_rng(np.random.SeedSequence([args.seed, 1])))
    netw = network_study(spec, args.N, args.alpha, args.hs, args.steps, args.ref_steps, args.ref_chains, args.seed)
    wall = time.perf_counter() - t0
    _plot(gauss, netw, paths["ula_step.png"])
    doc = {"gaussian": gauss, "network": netw,
           "meta": {"version": __version__, "params": vars(args), "seed": args.seed,
                    "seeding": "Gaussian: SeedSequence([seed, 1]); network: SeedSequence(seed).spawn(3) -> "
                               "(data, reference chains, one per h)",
                    "burn_in": "first half discarded", "wall_time_s": wall, "command": " ".join(sys.argv)}}
    with open(paths["ula_step.json"], "w") as fh:
        json.dump(doc, fh, indent=1, allow_nan=False)
    sys.stderr.write(f"wrote {', '.join(paths.values())} in {wall:.0f}s\n")
    return 0


if __name__ == "__main__":
    import matplotlib

    matplotlib.use("Agg")  # the entry point, not the library, chooses the backend
    raise SystemExit(main())
