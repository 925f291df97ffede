"""Linear attention: the onset of m near alpha_c on the finite network, with its finite-size rounding.

    python experiments/verify_linear_onset.py --out experiments/out/linear_onset
    python experiments/verify_linear_onset.py --quick --out /tmp/lin_quick     # ~1 minute smoke run

Default model: linear attention, centred tokens, T=8, V=8, all other knobs 1, so
alpha_c = sigma2 V / (gamma sigma_w sigma_q sigma_k sqrt(T (V-1))) = 8/sqrt(56) = 1.0690.

At each (N, alpha): MALA on the exact marginal posterior over (Q, K), one chain
from the uniform start (S ~ 0) and one from the copy start (m = 0.95), first
half burn-in.  S -> -S (with W -> -W) is a symmetry, so the sign of m is not an
observable: we measure m_rms = sqrt(<m^2>) (and <|m|>) over the kept samples.

Analysis (all in the JSON):
* theory m(alpha) = |m| of the global minimum of
  ``copyhead.numerics.free_energy.local_minima``; its local exponent
  d log m / d log(alpha - alpha_c) at alpha - alpha_c = alpha_c 10^-k, k = 1..5
  (should tend to 1/2);
* per N: (i) the exponent of m_rms against alpha - alpha_c (theory alpha_c) over
  the window alpha - alpha_c in [--fit-lo, --fit-hi], next to the theory's
  effective exponent over the same window; (ii) an apparent onset, the
  alpha-intercept of a straight-line fit of m_rms^2 against alpha over that
  window (same fit on the theory gives its own intercept); (iii) rounding: m_rms
  at alpha_c (interpolated) and at the largest alpha below 0.9 alpha_c;
* across N: power laws m_rms(alpha_c) ~ N^-x (mean-field finite-size scaling
  predicts x = 1/4) and m_rms(below) ~ N^-y (Gaussian fluctuations: y = 1/2).

Writes into --out (refuses to overwrite unless --force): ``linear_onset.json``,
``linear_onset.png`` (m_rms against alpha with the theory, and the rounding
against N on log axes).
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
from copyhead.numerics.executors import open_executor
from copyhead.numerics.sampling import BURN_IN_POLICY, m_of_alpha

OUTPUTS = ("linear_onset.json", "linear_onset.png")
DEFAULT_ALPHAS = [0.6, 0.8, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15, 1.2, 1.3, 1.45, 1.65, 2.0]


def alpha_c_formula(spec) -> float:
    """The Landau alpha_c of THEORY.md / issue 4 for centred linear attention."""
    return spec.sigma2 * spec.V / (spec.gamma * spec.sigma_w * spec.sigma_q * spec.sigma_k
                                   * math.sqrt(spec.T * (spec.V - 1)))


def theory_m(spec, alpha: float) -> float:
    from copyhead.numerics.free_energy import local_minima

    mins = [x for x in local_minima(spec, float(alpha)) if x.is_global]
    return float(max(abs(x.m) for x in mins))


def local_exponents(spec, ac: float) -> list:
    out = []
    for k in range(1, 6):
        d = ac * 10.0 ** -k
        m1, m2 = theory_m(spec, ac + d), theory_m(spec, ac + 1.1 * d)
        out.append({"alpha_minus_alpha_c": d, "m": m1,
                    "exponent": math.log(m2 / m1) / math.log(1.1) if m1 > 0 and m2 > 0 else None})
    return out


def power_fit(x, y):
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = (x > 0) & (y > 0)
    if ok.sum() < 2:
        return None
    slope, icpt = np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)
    return {"exponent": float(slope), "prefactor": float(math.exp(icpt)), "points": int(ok.sum())}


def intercept_fit(alphas, m_values):
    a, m = np.asarray(alphas, float), np.asarray(m_values, float)
    if a.size < 2:
        return None
    slope, icpt = np.polyfit(a, m ** 2, 1)
    return float(-icpt / slope) if slope > 0 else None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_options(p)
    p.set_defaults(attention="linear", T="8", V="8")
    p.add_argument("--N", dest="N_list", type=int, nargs="+", default=[32, 64, 128, 256])
    p.add_argument("--alphas", type=float, nargs="+", default=DEFAULT_ALPHAS)
    p.add_argument("--chains", type=int, default=1, help="chains per start (both starts are always run)")
    p.add_argument("--steps", type=int, default=16000)
    p.add_argument("--fit-lo", type=float, default=0.08, help="fit window: alpha - alpha_c >= this")
    p.add_argument("--fit-hi", type=float, default=0.6, help="fit window: alpha - alpha_c <= this")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--scheduler", default=None)
    p.add_argument("--out", default="experiments/out/linear_onset")
    p.add_argument("--force", action="store_true")
    p.add_argument("--quick", action="store_true", help="N=32 64, 6 alphas, 4000 steps")
    args = p.parse_args(argv)
    try:
        spec = network_spec_from_args(args)
        if spec.attention != "linear" or spec.tokens != "centred":
            raise UsageError("--attention/--tokens: this experiment is for linear attention with centred tokens")
        if args.quick:
            args.N_list, args.steps = [32, 64], 4000
            args.alphas = [0.8, 1.0, 1.1, 1.2, 1.45, 2.0]
        if any(N < 2 for N in args.N_list) or any(a <= 0 for a in args.alphas) or args.steps < 8:
            raise UsageError("--N >= 2, --alphas > 0, --steps >= 8")
        paths = {k: os.path.join(args.out, k) for k in OUTPUTS}
        refuse_existing(paths.values(), args.force)
    except UsageError as exc:
        sys.stderr.write(f"verify_linear_onset: {exc}\n")
        return 2
    os.makedirs(args.out, exist_ok=True)
    alphas = sorted(set(args.alphas))
    ac = alpha_c_formula(spec)
    # Theory first: a failure here must not cost a sampling run.
    sys.stderr.write("theory ...\n")
    grid = sorted(set(alphas) | set(np.linspace(0.5 * min(alphas), 1.1 * max(alphas), 120).tolist())
                  | set((ac * (1 + np.geomspace(1e-4, 0.1, 20))).tolist()))
    th_curve = [{"alpha": a, "m": theory_m(spec, a)} for a in grid]
    th_at = {a: theory_m(spec, a) for a in alphas}
    exps = local_exponents(spec, ac)
    t0 = time.perf_counter()

    def progress(done, total, o):
        t = o.task
        sys.stderr.write(f"[{done}/{total}] N={t.N} alpha={t.alpha:g} {t.init} "
                         f"rms m={math.sqrt(np.mean(o.m_trace[t.steps // 2:] ** 2)):.3f} "
                         f"({time.perf_counter() - t0:.0f}s)\n")

    with open_executor(args.scheduler, args.workers) as ex:
        points = m_of_alpha(spec, args.N_list, alphas, sampler="mala", chains=args.chains, steps=args.steps,
                            seed=args.seed, executor=ex, on_progress=progress)
    wall = time.perf_counter() - t0

    window = [a for a in alphas if args.fit_lo <= a - ac <= args.fit_hi]
    th_fit = power_fit([a - ac for a in window], [th_at[a] for a in window])
    th_intercept = intercept_fit(window, [th_at[a] for a in window])

    per_N = {}
    for N in args.N_list:
        rows = []
        for a in alphas:
            kept = np.concatenate([q.kept.ravel() for q in points if q.N == N and q.alpha == a])
            by_init = {q.init: {"m_rms": float(np.sqrt(np.mean(q.kept ** 2))), "m_mean": q.m_mean,
                                "rhat": q.diagnostics.get("rhat"), "ess": q.diagnostics.get("ess"),
                                "acceptance": q.diagnostics.get("acceptance")}
                       for q in points if q.N == N and q.alpha == a}
            ess = sum((v["ess"] or 0) for v in by_init.values())
            m2 = kept ** 2
            rows.append({"alpha": a, "m_rms": float(np.sqrt(m2.mean())), "m_abs": float(np.abs(kept).mean()),
                         "m_rms_err": float(np.sqrt(m2.var() / max(ess, 1.0)) / (2 * np.sqrt(m2.mean()))),
                         "theory_m": th_at[a], "by_init": by_init})
        m_rms = {r["alpha"]: r["m_rms"] for r in rows}
        fit = power_fit([a - ac for a in window], [m_rms[a] for a in window])
        below = [a for a in alphas if a <= 0.9 * ac]
        a_lo = max([a for a in alphas if a <= ac], default=None)
        a_hi = min([a for a in alphas if a > ac], default=None)
        at_c = None
        if a_lo is not None and a_hi is not None:
            at_c = m_rms[a_lo] + (ac - a_lo) * (m_rms[a_hi] - m_rms[a_lo]) / (a_hi - a_lo)
        per_N[N] = {"points": rows, "exponent_fit": fit,
                    "apparent_onset": intercept_fit(window, [m_rms[a] for a in window]),
                    "m_rms_at_alpha_c": at_c,
                    "m_rms_below": {"alpha": max(below), "m_rms": m_rms[max(below)]} if below else None,
                    "max_abs_deviation_from_theory_in_window": float(max(abs(m_rms[a] - th_at[a]) for a in window))
                    if window else None}
        sys.stderr.write(f"N={N}: exponent {fit and round(fit['exponent'], 3)}, onset {per_N[N]['apparent_onset']}, "
                         f"m_rms(alpha_c) {at_c}\n")
    Ns = list(per_N)
    scaling = {
        "m_rms_at_alpha_c_vs_N": power_fit(Ns, [per_N[N]["m_rms_at_alpha_c"] or 0 for N in Ns]),
        "m_rms_below_vs_N": power_fit(Ns, [(per_N[N]["m_rms_below"] or {}).get("m_rms", 0) for N in Ns]),
        "expected": "mean-field finite-size scaling: m_rms(alpha_c) ~ N^-1/4; below alpha_c ~ N^-1/2",
    }
    _plot(spec, per_N, th_curve, ac, paths["linear_onset.png"], scaling)
    doc = {"alpha_c": ac, "alpha_c_formula": "sigma2 V / (gamma sigma_w sigma_q sigma_k sqrt(T (V-1)))",
           "theory": {"curve": th_curve, "local_exponents": exps, "exponent_fit_in_window": th_fit,
                      "apparent_onset_in_window": th_intercept,
                      "source": "copyhead.numerics.free_energy.local_minima (|m| of the global minimum)"},
           "fit_window": {"alpha_minus_alpha_c": [args.fit_lo, args.fit_hi], "alphas": window},
           "per_N": {str(N): v for N, v in per_N.items()}, "finite_size_scaling": scaling,
           "meta": {"version": __version__, "model": spec.to_dict(),
                    "params": {"N": args.N_list, "alphas": alphas, "sampler": "mala", "posterior": "marginal",
                               "chains_per_start": args.chains, "starts": ["uniform", "copy"],
                               "steps": args.steps, "burn_in": BURN_IN_POLICY},
                    "seed": args.seed, "seeding": "as copyhead.numerics.sampling.m_of_alpha",
                    "wall_time_s": wall, "command": " ".join(sys.argv)}}
    with open(paths["linear_onset.json"], "w") as fh:
        json.dump(doc, fh, indent=1, allow_nan=False)
    sys.stderr.write(f"theory exponent in window {th_fit}; local exponents {[e['exponent'] for e in exps]}\n"
                     f"scaling {scaling}\nwrote {', '.join(paths.values())} in {wall:.0f}s\n")
    return 0


def _plot(spec, per_N, th_curve, ac, path, scaling):
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(10.5, 4.2))
    ax.plot([c["alpha"] for c in th_curve], [c["m"] for c in th_curve], "k-", lw=1.2, label="theory |m| (global min)")
    ax.axvline(ac, color="grey", ls=":", label=r"$\alpha_c$")
    for N, v in per_N.items():
        rows = v["points"]
        ax.errorbar([r["alpha"] for r in rows], [r["m_rms"] for r in rows], yerr=[r["m_rms_err"] for r in rows],
                    fmt="o-", ms=4, lw=0.8, label=f"N={N} (MALA, both starts)")
    ax.set_xlabel(r"$\alpha$")
    ax.set_ylabel(r"$\sqrt{\langle m^2\rangle}$")
    ax.set_title(f"linear, T={spec.T}, V={spec.V}: onset and finite-size rounding", fontsize=9)
    ax.legend(fontsize=7)
    Ns = np.array(list(per_N))
    for key, label in (("m_rms_at_alpha_c", r"at $\alpha_c$"), ("m_rms_below", r"below ($\alpha\leq0.9\alpha_c$)")):
        vals = [per_N[N][key] if key == "m_rms_at_alpha_c" else (per_N[N][key] or {}).get("m_rms") for N in Ns]
        bx.loglog(Ns, vals, "o-", label=label)
    bx.loglog(Ns, 0.9 * Ns[0] ** 0.25 * Ns ** -0.25 * (per_N[Ns[0]]["m_rms_at_alpha_c"] or 1), "k:", lw=0.8,
              label=r"$N^{-1/4}$")
    bx.set_xlabel("N")
    bx.set_ylabel(r"$\sqrt{\langle m^2\rangle}$")
    bx.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    import matplotlib

    matplotlib.use("Agg")  # the entry point, not the library, chooses the backend
    raise SystemExit(main())
