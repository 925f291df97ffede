"""Adam with weight decay (the MAP) on the finite network against the reduced MAP theory.

    python experiments/adam_vs_map.py --out experiments/out/adam_map_softmax
    python experiments/adam_vs_map.py --attention linear --T 8 --V 8 --alphas 0.5 1 2 3 4 6 8 \
        --out experiments/out/adam_map_linear
    python experiments/adam_vs_map.py --quick --out /tmp/adam_quick

Adam ascends the joint log posterior over (Q, K, W) (``--posterior full``,
default) whose Gaussian prior is exactly coupled L2 weight decay, from the
uniform start (S ~ 0) and from the copy start.  Theory:
``copyhead.theory.map_estimate.map_minima`` (nuclear-norm prior, kink at S = 0)
and, for contrast, the Bayes minima of ``copyhead.numerics.free_energy.local_minima``.
Each run is matched to the nearest MAP minimum in m; the table gives the
distance and whether that minimum is the global one.

Writes into --out (refuses to overwrite unless --force): ``adam_vs_map.json``
and ``adam_vs_map.png``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

from copyhead import __version__
from copyhead.cli import UsageError, add_model_options, network_spec_from_args, refuse_existing
from copyhead.model import CopyHeadModel
from copyhead.numerics.executors import open_executor
from copyhead.numerics.sampling import m_of_alpha

OUTPUTS = ("adam_vs_map.json", "adam_vs_map.png")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_options(p)
    p.add_argument("--N", dest="N_list", type=int, nargs="+", default=[32, 64, 128])
    p.add_argument("--alphas", type=float, nargs="+", default=[2, 4, 6, 8, 10, 12, 16, 20, 25, 29, 35])
    p.add_argument("--runs", type=int, default=2, help="Adam runs per (N, alpha, start)")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--posterior", default="full", choices=("full", "marginal"))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--scheduler", default=None)
    p.add_argument("--out", default="experiments/out/adam_map")
    p.add_argument("--force", action="store_true")
    p.add_argument("--quick", action="store_true", help="N=32, alphas 4 12 30, 1 run, 1500 steps")
    args = p.parse_args(argv)
    try:
        spec = network_spec_from_args(args)
        if args.quick:
            args.N_list, args.alphas, args.runs, args.steps = [32], [4.0, 12.0, 30.0], 1, 1500
        paths = {k: os.path.join(args.out, k) for k in OUTPUTS}
        refuse_existing(paths.values(), args.force)
    except UsageError as exc:
        sys.stderr.write(f"adam_vs_map: {exc}\n")
        return 2
    os.makedirs(args.out, exist_ok=True)
    alphas = sorted(set(args.alphas))
    t0 = time.perf_counter()

    def progress(done, total, o):
        t = o.task
        sys.stderr.write(f"[{done}/{total}] adam N={t.N} alpha={t.alpha:g} {t.init} run={t.chain} "
                         f"final m={o.final_m:.4f} ({time.perf_counter() - t0:.0f}s)\n")

    with open_executor(args.scheduler, args.workers) as ex:
        points = m_of_alpha(spec, args.N_list, alphas, sampler="adam", chains=args.runs, steps=args.steps,
                            seed=args.seed, posterior=args.posterior, step=args.lr, executor=ex,
                            on_progress=progress)
    wall = time.perf_counter() - t0
    mp = CopyHeadModel(spec).map_minima_record(alphas)
    bayes = CopyHeadModel(spec).minima_record(alphas)
    by_alpha = {e["alpha"]: e["minima"] for e in mp.get("alphas", [])}
    rows = []
    for pt in points:
        mins = by_alpha.get(pt.alpha, [])
        finals = pt.diagnostics["final_m"]
        matched = []
        for fm in finals:
            key = abs(fm) if spec.attention == "linear" else fm  # S -> -S symmetry for linear
            best = min(mins, key=lambda mn: abs(mn["m"] - key)) if mins else None
            matched.append({"final_m": fm, "map_m": best and best["m"], "map_kind": best and best["kind"],
                            "map_is_global": best and best["is_global"],
                            "distance": None if best is None else key - best["m"]})
        rows.append({"alpha": pt.alpha, "N": pt.N, "init": pt.init, "m_mean": pt.m_mean, "m_err": pt.m_err,
                     "runs": matched, "final_logp": pt.diagnostics["final_logp"]})
        sys.stderr.write(f"N={pt.N} alpha={pt.alpha:g} {pt.init}: "
                         + "; ".join(f"m={r['final_m']:.4f} vs MAP {r['map_m']:.4f} ({r['map_kind']}"
                                     f"{', global' if r['map_is_global'] else ''})" for r in matched if r["map_m"] is not None)
                         + "\n")
    summary = {}
    for N in args.N_list:
        d = [abs(r["distance"]) for row in rows if row["N"] == N for r in row["runs"] if r["distance"] is not None]
        summary[str(N)] = {"max_abs_distance": max(d) if d else None, "median_abs_distance": float(np.median(d)) if d else None}
    _plot(spec, rows, mp, bayes, paths["adam_vs_map.png"], args)
    doc = {"rows": rows, "summary_by_N": summary, "map_theory": mp, "bayes_theory": bayes,
           "meta": {"version": __version__, "model": spec.to_dict(),
                    "params": {"N": args.N_list, "alphas": alphas, "runs": args.runs, "steps": args.steps,
                               "lr": args.lr, "posterior": args.posterior, "starts": ["uniform", "copy"]},
                    "seed": args.seed, "seeding": "as copyhead.numerics.sampling.m_of_alpha",
                    "wall_time_s": wall, "command": " ".join(sys.argv)}}
    with open(paths["adam_vs_map.json"], "w") as fh:
        json.dump(doc, fh, indent=1, allow_nan=False)
    sys.stderr.write(f"summary {summary}\nwrote {', '.join(paths.values())} in {wall:.0f}s\n")
    return 0


def _plot(spec, rows, mp, bayes, path, args):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.6, 4.4))
    for e in mp.get("alphas", []):
        for mn in e["minima"]:
            ax.plot(e["alpha"], mn["m"], "D" if mn["is_global"] else "d", color="k", mfc="k" if mn["is_global"] else "none",
                    ms=7, zorder=1)
    for e in bayes.get("alphas", []):
        for mn in e.get("minima", []):
            ax.plot(e["alpha"], abs(mn["m"]) if spec.attention == "linear" else mn["m"], "x", color="grey", ms=6, zorder=1)
    ax.plot([], [], "kD", label="MAP theory (filled: global)")
    ax.plot([], [], "x", color="grey", label="Bayes theory minima")
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for k, N in enumerate(args.N_list):
        for init, face, dx in (("uniform", colours[k % 10], -0.08), ("copy", "none", 0.08)):
            sel = [r for r in rows if r["N"] == N and r["init"] == init]
            xs = [r["alpha"] * (1 + dx * 0.1 * (k + 1)) for r in sel for _ in r["runs"]]
            ys = [abs(x["final_m"]) if spec.attention == "linear" else x["final_m"] for r in sel for x in r["runs"]]
            ax.plot(xs, ys, "o", color=colours[k % 10], mfc=face, ms=5, label=f"Adam N={N}, {init} start", zorder=3)
    ax.set_xscale("log")
    ax.set_xlabel(r"$\alpha$")
    ax.set_ylabel("m" if spec.attention == "softmax" else "|m|")
    ax.set_title(f"{spec.attention} T={spec.T} V={spec.V}: Adam ({args.posterior} posterior, {args.steps} steps, "
                 f"lr {args.lr:g}) vs MAP", fontsize=8)
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    import matplotlib

    matplotlib.use("Agg")  # the entry point, not the library, chooses the backend
    raise SystemExit(main())
