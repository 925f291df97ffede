"""Theory versus the finite network: m(alpha) from both starts at several N.

    python experiments/verify_m_of_alpha.py --out experiments/out/softmax
    python experiments/verify_m_of_alpha.py --attention linear --alphas 0.5 1 1.5 2 3 4 --out experiments/out/linear
    python experiments/verify_m_of_alpha.py --quick --out /tmp/quick        # ~1 minute smoke run

Writes into --out (refusing to overwrite anything there unless --force):

* ``m_of_alpha.png``  -- measured m(alpha) (filled: uniform start, open: copy
  start, one colour per N) over the theory's global and metastable minima, with
  the theory's coexistence point alpha* and spinodals as vertical lines;
* ``histograms.png``  -- histograms of the kept m samples near the jump, both starts;
* ``m_of_alpha.json`` -- (with --with-adam also the Adam points and the MAP
  minima of ``copyhead.theory.map_estimate``) every point (as ``copyhead verify --json``), the kept
  samples' histograms, the hysteresis bracket per N and its distance to alpha*,
  and metadata (model, run parameters, package version, seeds, wall time).

The theory comes from ``copyhead.numerics.free_energy.local_minima`` when that
module is available; it is never recomputed here.  Without it the figures show
the measurements alone.
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
from copyhead.cli import UsageError, add_model_options, network_spec_from_args, refuse_existing
from copyhead import plotting
from copyhead.model import CopyHeadModel
from copyhead.numerics.executors import open_executor
from copyhead.numerics.sampling import BURN_IN_POLICY, default_steps, m_of_alpha

OUTPUTS = ("m_of_alpha.png", "histograms.png", "m_of_alpha.json")


def theory_landmarks(theory: dict) -> dict:
    """alpha* (where the global minimum changes branch) and the spinodals (ends of
    the range with two or more minima), read off the theory's alpha grid."""
    entries = [e for e in theory.get("alphas", []) if e.get("minima")]
    if not entries:
        return {}
    entries.sort(key=lambda e: e["alpha"])
    glob = [(e["alpha"], max(e["minima"], key=lambda x: x["is_global"])["m"]) for e in entries]
    jumps = [(a0, a1, abs(m1 - m0)) for (a0, m0), (a1, m1) in zip(glob, glob[1:])]
    out = {}
    if jumps:
        a0, a1, size = max(jumps, key=lambda j: j[2])
        if size > 0.1:  # a jump of the global minimum: first-order
            out["alpha_star"] = 0.5 * (a0 + a1)
            out["alpha_star_resolution"] = 0.5 * (a1 - a0)
            out["jump_in_m"] = size
    multi = [e["alpha"] for e in entries if len(e["minima"]) >= 2]
    if multi:
        out["spinodal_low"], out["spinodal_high"] = min(multi), max(multi)
        out["spinodal_resolution"] = max(b - a for a, b in zip([x["alpha"] for x in entries],
                                                                [x["alpha"] for x in entries[1:]]))
    return out


def hysteresis(points, N) -> dict:
    """Where each branch jumps at this N: the uniform start's first crossing of the
    mid-level upward, the copy start's last crossing downward (linear interpolation)."""
    sel = [p for p in points if p.N == N]
    if not sel:
        return {}
    ms = [p.m_mean for p in sel]
    level = 0.5 * (min(ms) + max(ms))

    def crossing(init, upward):
        br = sorted((p for p in sel if p.init == init), key=lambda p: p.alpha)
        pairs = list(zip(br, br[1:]))
        if not upward:
            pairs = pairs[::-1]
        for p, q in pairs:
            if (p.m_mean - level) * (q.m_mean - level) <= 0 and p.m_mean != q.m_mean:
                return p.alpha + (level - p.m_mean) * (q.alpha - p.alpha) / (q.m_mean - p.m_mean)
        return None

    return {"level": level, "alpha_up_from_uniform": crossing("uniform", True),
            "alpha_down_from_copy": crossing("copy", False)}


def plot_histograms(points, alphas_by_N: dict, path: str) -> dict:
    import matplotlib.pyplot as plt

    Ns = sorted(alphas_by_N)
    fig, axes = plt.subplots(1, len(Ns), figsize=(3.2 * len(Ns), 3.0), squeeze=False)
    bins = np.linspace(0.0, 1.0, 81)
    record = {}
    for ax, N in zip(axes[0], Ns):
        a = alphas_by_N[N]
        for p in points:
            if p.N == N and p.alpha == a and p.kept is not None:
                counts, _ = np.histogram(p.kept.ravel(), bins=bins)
                ax.hist(p.kept.ravel(), bins=bins, alpha=0.6, density=True, label=f"{p.init} start")
                record[f"N={N},alpha={a:g},init={p.init}"] = counts.tolist()
        ax.set_title(f"N={N}, alpha={a:g}", fontsize=9)
        ax.set_xlabel("m")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return {"bin_edges": bins.tolist(), "counts": record}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_options(p)
    p.add_argument("--N", dest="N_list", type=int, nargs="+", default=[32, 64, 128, 256])
    p.add_argument("--alphas", type=float, nargs="+", default=[3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 14])
    p.add_argument("--sampler", default="mala", choices=("langevin", "mala", "adam"))
    p.add_argument("--posterior", default="marginal", choices=("marginal", "full"))
    p.add_argument("--with-adam", action="store_true", help="also train with Adam (MAP) from both starts")
    p.add_argument("--chains", type=int, default=2)
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--scheduler", default=None)
    p.add_argument("--out", default="experiments/out")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    p.add_argument("--quick", action="store_true", help="N=32 64, 5 alphas, 1 chain, 10000 steps")
    args = p.parse_args(argv)
    try:
        spec = network_spec_from_args(args)
        if args.quick:
            args.N_list, args.chains, args.steps = [32, 64], 1, 10000
            args.alphas = [3, 5, 7, 9, 12]
        if any(N < 2 for N in args.N_list) or any(not (a > 0 and math.isfinite(a)) for a in args.alphas):
            raise UsageError("--N/--alphas: N must be >= 2 and alphas positive and finite")
        if args.chains < 1 or (args.steps is not None and args.steps < 1):
            raise UsageError("--chains/--steps: must be >= 1")
        paths = {name: os.path.join(args.out, name) for name in OUTPUTS}
        refuse_existing(paths.values(), args.force)
    except UsageError as exc:
        sys.stderr.write(f"verify_m_of_alpha: {exc}\n")
        return 2
    os.makedirs(args.out, exist_ok=True)
    t0 = time.perf_counter()

    def progress(done, total, o):
        t = o.task
        sys.stderr.write(f"[{done}/{total}] {t.sampler} N={t.N} alpha={t.alpha:g} {t.init} chain={t.chain} "
                         f"final m={o.final_m:.3f} ({time.perf_counter() - t0:.0f}s)\n")

    steps = args.steps or default_steps(args.sampler)
    with open_executor(args.scheduler, args.workers) as ex:
        points = m_of_alpha(spec, args.N_list, args.alphas, sampler=args.sampler, chains=args.chains,
                            steps=steps, seed=args.seed, posterior=args.posterior, executor=ex,
                            on_progress=progress)
        adam_points = ()
        if args.with_adam and args.sampler != "adam":
            adam_points = m_of_alpha(spec, args.N_list, args.alphas, sampler="adam", chains=args.chains,
                                     steps=default_steps("adam"), seed=args.seed, posterior="full",
                                     executor=ex, on_progress=progress)
    wall = time.perf_counter() - t0

    hi = max(args.alphas) * 1.1
    grid = sorted(set(args.alphas) | {hi * k / 60 for k in range(1, 61)})
    theory = CopyHeadModel(spec).minima_record(grid)
    marks = theory_landmarks(theory)
    brackets = {}
    for N in args.N_list:
        h = hysteresis(points, N)
        if "alpha_star" in marks:
            for key in ("alpha_up_from_uniform", "alpha_down_from_copy"):
                if h.get(key) is not None:
                    h[key.replace("alpha_", "distance_to_alpha_star_")] = h[key] - marks["alpha_star"]
        brackets[N] = h

    title = f"{spec.attention}, T={spec.T}, V={spec.V}, gamma={spec.gamma:g}; {args.sampler}, seed={args.seed}"
    plotting.save_as(plotting.sampled_m_of_alpha(list(points) + list(adam_points), theory, title=title,
                                                 landmarks=marks), paths["m_of_alpha.png"], force=True)
    near = {}
    for N, h in brackets.items():
        centre = [x for x in (h.get("alpha_up_from_uniform"), h.get("alpha_down_from_copy")) if x is not None]
        c = float(np.mean(centre)) if centre else marks.get("alpha_star", float(np.median(args.alphas)))
        near[N] = min(args.alphas, key=lambda a: abs(a - c))
    hist = plot_histograms(points, near, paths["histograms.png"])

    doc = {
        "points": [p.to_json() for p in points],
        "adam_points": [p.to_json() for p in adam_points],
        # Adam's target is the MAP: its reduced theory (theory/map_estimate.py), not the Bayes minima
        "map_theory": CopyHeadModel(spec).map_minima_record(sorted(set(args.alphas))) if adam_points else {},
        "theory": theory, "theory_landmarks": marks,
        "hysteresis": {str(N): h for N, h in brackets.items()},
        "histograms": hist,
        "meta": {"version": __version__, "model": spec.to_dict(),
                 "params": {"N": args.N_list, "alphas": args.alphas, "sampler": args.sampler,
                            "posterior": args.posterior, "chains": args.chains, "steps": steps,
                            "burn_in": BURN_IN_POLICY, "with_adam": args.with_adam},
                 "seed": args.seed, "seeding": "SeedSequence(seed).spawn per (N, alpha); "
                                               "each spawns the data seed and one seed per (init, chain)",
                 "wall_time_s": wall, "command": " ".join(sys.argv)},
    }
    with open(paths["m_of_alpha.json"], "w") as fh:
        json.dump(doc, fh, indent=1, allow_nan=False)
    for N, h in brackets.items():
        sys.stderr.write(f"N={N}: jump up (uniform start) at {h.get('alpha_up_from_uniform')}, "
                         f"down (copy start) at {h.get('alpha_down_from_copy')}; "
                         f"theory alpha* = {marks.get('alpha_star')}\n")
    sys.stderr.write(f"wrote {', '.join(paths.values())} in {wall:.0f}s\n")
    return 0


if __name__ == "__main__":
    import matplotlib

    matplotlib.use("Agg")  # the entry point, not the library, chooses the backend
    raise SystemExit(main())
