"""Sweep each knob of the copy-head model over many decades and check the transition engine's answer.

    python experiments/knob_sweep.py --attention linear --out /tmp/sweep_linear.json
    python experiments/knob_sweep.py --attention softmax --out /tmp/sweep_softmax.json

For every knob (sigma2, gamma, T, V, sigma_q, sigma_k, sigma_w) and value, the engine runs with its
automatic range (as `copyhead transition --KNOB VALUE` does) and is compared with an independent reference:

* linear attention above its tricritical line: the closed form alpha_c = sigma2 V / (gamma sigma_w sigma_q
  sigma_k sqrt(T (V - 1))) (derivation step e); below it (first order) the upper spinodal is that alpha_c;
* softmax: alpha* = sigma2 alpha*(sigma2 = 1) exactly; for the other knobs the equal-depth coexistence of
  derivation step g (independent minimiser numerics.free_energy + mpmath at 30 digits), or, where that
  solver cannot bracket, mpmath on the theory's free energy from the engine's minima as a start.

Prints one table row per run (knob, value, kind, engine value, reference, relative error, flag) and writes
them as JSON (refuses to overwrite without --force).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import mpmath as mp

from copyhead import CopyHeadModel, ModelSpec
from copyhead.numerics.transitions import auto_range, find_transitions

KNOBS = {
    "sigma2": [1e-30, 1e-20, 1e-12, 1e-6, 1e-2, 1.0, 1e2, 1e6, 1e12, 1e20, 1e30],
    "gamma": [1e-3, 1e-2, 0.1, 0.5, 2.0, 10.0, 1e2, 1e4, 1e6, 1e8],
    "T": [2, 3, 4, 8, 64, 1024, 2 ** 20, 2 ** 40],
    "V": [2, 3, 4, 64, 1024, 2 ** 20],
    "sigma_q": [1e-3, 0.1, 0.5, 2.0, 10.0, 1e3],
    "sigma_k": [1e-3, 0.1, 0.5, 2.0, 10.0, 1e3],
    "sigma_w": [1e-6, 1e-3, 0.1, 0.5, 2.0, 10.0, 1e3, 1e6],
}


def linear_reference(spec):
    alpha_c = spec.sigma2 * spec.V / (spec.gamma * spec.sigma_w * spec.sigma_q * spec.sigma_k
                                      * math.sqrt(spec.T * (spec.V - 1)))
    gamma_tc = math.sqrt(spec.V - 1) / (2 * math.sqrt(spec.T) * spec.sigma_q * spec.sigma_k * spec.sigma_w)
    return alpha_c, gamma_tc


def softmax_reference(spec, tr):
    from copyhead.derivations.scaling import mpmath_pieces, coexistence_exact

    if spec.replace(sigma2=1.0) == ModelSpec():       # alpha* is proportional to sigma2, exactly
        return float(spec.sigma2 * coexistence_exact(ModelSpec())["alpha_star"]), "sigma2 x alpha*(sigma2 = 1)"
    try:
        return float(coexistence_exact(spec)["alpha_star"]), "equal depth (minimiser + mpmath)"
    except (ArithmeticError, ValueError) as exc:
        reason = str(exc)[:60]
    f, f_d, _, _ = mpmath_pieces(spec.prior)
    with mp.workdps(40):
        p = [mp.mpf(v) for v in spec.numeric_params.values()]
        d1, d2 = tr.order_parameters["before"]["delta"], tr.order_parameters["after"]["delta"]
        try:
            _, _, a = mp.findroot(lambda x1, x2, a_: [f_d(x1, a_, *p), f_d(x2, a_, *p), f(x2, a_, *p) - f(x1, a_, *p)],
                                  (mp.mpf(d1), mp.mpf(d2), mp.mpf(tr.critical_value)))
        except (ValueError, ZeroDivisionError) as exc2:
            return None, f"no reference ({reason}; {exc2})"[:100]
    return float(a), f"mpmath coexistence from the engine's minima ({reason})"


def run(attention, knob, value):
    spec = ModelSpec(attention=attention, **{knob: value})
    started = time.perf_counter()
    row = {"attention": attention, "knob": knob, "value": value}
    try:
        problem = CopyHeadModel(spec).problem()
        rng = auto_range(problem)
        rep = find_transitions(problem, *rng) if rng else None
    except Exception as exc:          # a refusal (out of the engine's range) is a result too
        row.update(kind="error", note=f"{type(exc).__name__}: {exc}"[:120], seconds=time.perf_counter() - started)
        return row
    row["seconds"] = time.perf_counter() - started
    row["flag"] = rep.flag if rep else "no range"
    trs = list(rep.transitions) if rep else []
    row["kinds"] = [t.kind for t in trs]
    row["warnings"] = len(rep.warnings) if rep else 0
    if attention == "linear":
        alpha_c, gamma_tc = linear_reference(spec)
        main = [t for t in trs if t.kind in ("second-order", "first-order")]
        if not main:
            row.update(kind="none", reference=alpha_c, error=None)
            return row
        t = main[0]
        if t.kind == "second-order":
            row.update(kind=t.kind, engine=t.critical_value, reference=alpha_c,
                       error=abs(t.critical_value / alpha_c - 1), expected_kind="second-order" if spec.gamma > gamma_tc else "first-order")
        else:
            up = t.spinodals[1] if t.spinodals else None
            row.update(kind=t.kind, engine=up, reference=alpha_c, error=None if up is None else abs(up / alpha_c - 1),
                       compared="upper spinodal", expected_kind="second-order" if spec.gamma > gamma_tc else "first-order")
        return row
    first = [t for t in trs if t.kind == "first-order"]
    if not first:
        row.update(kind=trs[0].kind if trs else "none", engine=trs[0].critical_value if trs else None)
        return row
    t = first[0]
    ref, how = softmax_reference(spec, t)
    row.update(kind=t.kind, engine=t.critical_value, reference=ref, reference_method=how,
               error=None if ref is None else abs(t.critical_value / ref - 1))
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--attention", choices=("softmax", "linear"), required=True)
    ap.add_argument("--knobs", nargs="*", default=list(KNOBS), help="subset of " + ", ".join(KNOBS))
    ap.add_argument("--out", required=True, help="JSON file to write")
    ap.add_argument("--force", action="store_true", help="overwrite --out")
    args = ap.parse_args(argv)
    if os.path.exists(args.out) and not args.force:
        print(f"error: --out: {args.out} exists; pass --force to overwrite", file=sys.stderr)
        return 2
    bad = [k for k in args.knobs if k not in KNOBS]
    if bad:
        print(f"error: --knobs: unknown knob {bad[0]}; choose from {', '.join(KNOBS)}", file=sys.stderr)
        return 2
    rows = []
    for knob in args.knobs:
        for value in KNOBS[knob]:
            row = run(args.attention, knob, value)
            rows.append(row)
            err = row.get("error")
            print(f"{args.attention:8s} {knob:8s} {value:<10.4g} {row.get('kind', ''):13s} "
                  f"{row.get('engine') if row.get('engine') is not None else '':<24} "
                  f"{'' if err is None else f'{err:.1e}':8s} {row.get('flag', row.get('note', ''))} "
                  f"({row['seconds']:.1f} s)", flush=True)
    with open(args.out, "w") as fh:
        json.dump({"rows": rows, "command": " ".join(sys.argv)}, fh, indent=1, default=str)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
