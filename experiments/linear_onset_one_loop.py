"""Linear onset: the measured m_rms(alpha) of verify_linear_onset.py against the one-loop prediction, point by point.

    python experiments/verify_linear_onset.py --N 32 64 128 --steps 8000 --workers 2 --out /tmp/lin_onset
    python experiments/linear_onset_one_loop.py /tmp/lin_onset/linear_onset.json [--out FILE]

The prediction is the quantity measured: sqrt(<m^2>)_N from the exact soft-mode integral with the O(1)
terms (numerics.finite_n.soft_mode_m_rms, as in `copyhead finite-n --attention linear ...`, field
onset.m_rms_curve), at the same alphas and N. The apparent onset (alpha-intercept of a straight-line fit of
m_rms^2 over the experiment's fit window) is computed the same way on both curves, so the two are the same
quantity. The measurement uses one data set per N; the prediction is annealed (population data term).
Prints a table and, with --out, writes JSON (never overwrites).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from copyhead import ModelSpec, __version__
from copyhead.numerics import finite_n as fn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verify_linear_onset import intercept_fit  # noqa: E402  (the experiment's own fit, reused)


def compare(doc: dict) -> dict:
    model = dict(doc["meta"]["model"])
    spec = ModelSpec(**{k: model[k] for k in ("attention", "tokens", "prior", "T", "V", "gamma", "sigma_q",
                                              "sigma_k", "sigma_w", "sigma2")})
    Ns = [int(N) for N in doc["per_N"]]
    alphas = sorted({p["alpha"] for v in doc["per_N"].values() for p in v["points"]})
    window = doc["fit_window"]["alphas"]
    predicted = {a: fn.soft_mode_m_rms(spec, a, Ns) for a in alphas}
    rows, onsets = [], {}
    for N in Ns:
        measured = {p["alpha"]: p for p in doc["per_N"][str(N)]["points"]}
        for a in alphas:
            p = measured[a]
            pred, lead = predicted[a]["with_phi"][str(N)], predicted[a]["leading"][str(N)]
            rows.append({"N": N, "alpha": a, "measured": p["m_rms"], "measured_err": p["m_rms_err"],
                         "predicted": pred, "predicted_leading": lead, "theory_N_infinite": p["theory_m"],
                         "relative_difference": (pred - p["m_rms"]) / p["m_rms"],
                         "rhat": max((v["rhat"] or 0) for v in p["by_init"].values())})
        onsets[str(N)] = {"measured": intercept_fit(window, [measured[a]["m_rms"] for a in window]),
                          "predicted": intercept_fit(window, [predicted[a]["with_phi"][str(N)] for a in window]),
                          "predicted_leading": intercept_fit(window, [predicted[a]["leading"][str(N)]
                                                                      for a in window])}
    onset = fn.onset(spec, Ns)
    return {"rows": rows, "apparent_onset": onsets, "fit_window_alphas": window, "alpha_c": onset["alpha_c"],
            "curvature_shift": onset["shift"], "model": spec.to_dict(), "version": __version__,
            "source": doc["meta"].get("command")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("measured", help="linear_onset.json written by experiments/verify_linear_onset.py")
    parser.add_argument("--out", default=None, help="write the comparison as JSON (never overwrites)")
    args = parser.parse_args(argv)
    if args.out and os.path.exists(args.out):
        sys.stderr.write(f"linear_onset_one_loop: --out: {args.out!r} exists; choose another file\n")
        return 2
    try:
        with open(args.measured) as fh:
            doc = json.load(fh)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"linear_onset_one_loop: measured: cannot read {args.measured!r}: {exc}\n")
        return 2
    out = compare(doc)
    print(f"{'N':>4} {'alpha':>6} {'measured':>16} {'one loop':>9} {'leading':>9} {'N=inf':>7} {'rel.diff':>9} {'R-hat':>6}")
    for r in out["rows"]:
        print(f"{r['N']:>4} {r['alpha']:>6.3g} {r['measured']:>9.4f}±{r['measured_err']:.4f} {r['predicted']:>9.4f} "
              f"{r['predicted_leading']:>9.4f} {r['theory_N_infinite']:>7.4f} {r['relative_difference']:>+9.3f} "
              f"{r['rhat']:>6.3f}")
    print(f"apparent onset (intercept of m_rms^2 over alpha = {out['fit_window_alphas']}), alpha_c = "
          f"{out['alpha_c']:.4f}, curvature shift {out['curvature_shift']:.3f}/N:")
    for N, v in out["apparent_onset"].items():
        fmt = lambda x: "-" if x is None else f"{x:.4f}"  # noqa: E731
        print(f"  N = {N}: measured {fmt(v['measured'])}, one loop {fmt(v['predicted'])}, "
              f"leading order {fmt(v['predicted_leading'])}")
    if args.out:
        with open(args.out, "x") as fh:
            json.dump(out, fh, indent=1, allow_nan=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
