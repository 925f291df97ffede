"""How far the measured softmax jump lies from the theory's alpha* at each N, and the trend with N.

    python experiments/jump_summary.py \
        --equilibrium experiments/out/softmax_equilibrium/equilibrium.json [more ...] \
        --sweep experiments/out/softmax/m_of_alpha.json [more sweeps ...] \
        --out experiments/out/jump_summary.json

Reads the outputs of ``softmax_equilibrium.py`` (equilibrium location
alpha_eq(N) at small N, where chains cross the barrier) and of
``verify_m_of_alpha.py`` (hysteresis brackets at large N, where they do not),
and writes one JSON with, per N: alpha_eq, alpha_eq from the uniform-start and
copy-start chains separately (their spread measures residual non-mixing), the
hysteresis bracket, and their distances to the theory's alpha* (each input
file's own theory, which must be for the same model to be compared).  No
sampling is done here.  Refuses to overwrite --out without --force.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from copyhead import __version__


def _half(alphas, ps):
    for (a0, p0), (a1, p1) in zip(zip(alphas, ps), zip(alphas[1:], ps[1:])):
        if p0 < 0.5 <= p1:
            return a0 + (0.5 - p0) * (a1 - a0) / (p1 - p0)
    return None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--equilibrium", nargs="*", default=[], help="one or more softmax_equilibrium.py outputs (same model)")
    p.add_argument("--sweep", nargs="*", default=[])
    p.add_argument("--out", required=True)
    p.add_argument("--force", action="store_true")
    args = p.parse_args(argv)
    if os.path.exists(args.out) and not args.force:
        sys.stderr.write(f"jump_summary: --out: {args.out!r} already exists; pass --force to overwrite\n")
        return 2
    doc = {"meta": {"version": __version__, "inputs": {"equilibrium": args.equilibrium, "sweeps": args.sweep},
                    "command": " ".join(sys.argv)}}
    runs = []
    for path in args.equilibrium:
        with open(path) as fh:
            eq = json.load(fh)
        star = eq["theory"].get("alpha_star")
        per_N = {}
        for N, r in eq["results"].items():
            pts = r["points"]
            al = [q["alpha"] for q in pts]
            a_u = _half(al, [q["p_copy_uniform_start"] for q in pts])
            a_c = _half(al, [q["p_copy_copy_start"] for q in pts])
            per_N[N] = {"alpha_eq": r["alpha_eq"], "alpha_eq_uniform_start": a_u, "alpha_eq_copy_start": a_c,
                        "alpha_eq_logistic": (r.get("alpha_eq_logistic") or {}).get("alpha_half"),
                        "distance_to_alpha_star": None if r["alpha_eq"] is None or star is None else r["alpha_eq"] - star,
                        "threshold_m": r["threshold"], "histogram_bimodal": r["histogram_bimodal"],
                        "mixing_at_crossing": r.get("mixing_at_crossing")}
        runs.append({"file": path, "model": eq["meta"]["model"], "seed": eq["meta"]["seed"], "alpha_star": star,
                     "spinodals": [eq["theory"].get("spinodal_low"), eq["theory"].get("spinodal_high")],
                     "alphas": eq["meta"]["params"]["alphas"], "per_N": per_N, "trend_in_N": eq.get("trend_in_N")})
    if runs:
        models = {json.dumps(r["model"], sort_keys=True) for r in runs}
        if len(models) != 1:
            sys.stderr.write("jump_summary: --equilibrium files are for different models\n")
            return 2
        star = runs[0]["alpha_star"]
        combined = {}
        for N in sorted({int(N) for r in runs for N in r["per_N"]}):
            vals = [r["per_N"][str(N)]["alpha_eq"] for r in runs
                    if str(N) in r["per_N"] and r["per_N"][str(N)]["alpha_eq"] is not None]
            if vals:
                mean = sum(vals) / len(vals)
                spread = (max(vals) - min(vals)) / 2
                combined[str(N)] = {"alpha_eq_values": vals, "alpha_eq_mean": mean, "half_spread": spread,
                                    "distance_to_alpha_star": mean - star, "N_times_distance": N * (mean - star)}
        trend = None
        pts = [(int(N), v["distance_to_alpha_star"]) for N, v in combined.items()]
        if len(pts) >= 2:
            import numpy as np
            Ns = np.array([x[0] for x in pts], float)
            dd = np.array([x[1] for x in pts])
            c = float(np.sum(dd / Ns) / np.sum(1 / Ns ** 2))
            slope, icpt = np.polyfit(1 / Ns, dd, 1)
            trend = {"fit_c_over_N": {"c": c, "rms_residual": float(np.sqrt(np.mean((dd - c / Ns) ** 2)))},
                     "fit_b_plus_c_over_N": {"b": float(icpt), "c": float(slope)},
                     "power_law_exponent": float(np.polyfit(np.log(Ns), np.log(np.abs(dd)), 1)[0])
                     if np.all(dd != 0) else None}
        doc["equilibrium"] = {"model": runs[0]["model"], "alpha_star": star, "runs": runs,
                              "combined_per_N": combined, "trend_in_N": trend,
                              "note": "combined over data sets (one per file and N); half_spread is half the "
                                      "range of the estimates, i.e. data-to-data scatter plus grid resolution"}
    sweeps = []
    for path in args.sweep:
        with open(path) as fh:
            sw = json.load(fh)
        marks = sw.get("theory_landmarks", {})
        sweeps.append({"file": path, "model": sw["meta"]["model"], "alpha_star": marks.get("alpha_star"),
                       "alpha_star_resolution": marks.get("alpha_star_resolution"),
                       "spinodals": [marks.get("spinodal_low"), marks.get("spinodal_high")],
                       "hysteresis": sw.get("hysteresis"), "params": sw["meta"]["params"]})
    doc["hysteresis_sweeps"] = sweeps
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(doc, fh, indent=1, allow_nan=False)
    sys.stderr.write(json.dumps({k: v for k, v in doc.items() if k != "meta"}, indent=1)[:4000] + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
