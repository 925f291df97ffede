"""When the copy head emerges: trajectories, plateau law, ln N delay, learning curves, context length.

    python experiments/dynamics_emergence.py --out experiments/out/dynamics

All from the overlap ODEs (theory/dynamics.py, numerics/dynamics.py), N -> oo; default softmax model.
Writes dynamics.json (with metadata) and the figures trajectories.png, plateau_law.png,
learning_curves.png, context_length.png into --out (refuses to overwrite unless --force).
"""
from __future__ import annotations

import os
import time

import numpy as np

from copyhead import ModelSpec
from copyhead.scripting import ArgumentParser, UsageError, metadata, parse_and_prepare, write_json
from copyhead.numerics import dynamics as nd
from copyhead.numerics.transitions.results import jsonable

OUTPUTS = ("dynamics.json", "trajectories.png", "plateau_law.png", "learning_curves.png", "context_length.png")


def _validate(args):
    if any(T < 2 for T in args.Ts):
        raise UsageError("--Ts: integers >= 2")


def main(argv=None) -> int:
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True)
    p.add_argument("--force", action="store_true")
    p.add_argument("--Ts", type=int, nargs="+", default=[8, 16, 32, 64, 128, 256, 512])
    args = parse_and_prepare(p, argv, OUTPUTS, "dynamics_emergence", _validate)
    if args is None:
        return 2
    t0 = time.perf_counter()
    spec = ModelSpec()
    info = nd.spinodal_info(spec)
    upper = info["upper"]
    alphas = [4.0, 7.0, upper + 1e-3, upper + 0.1, 10.0, 12.0, 20.0]
    trajs = [nd.trajectory(spec, a, t_max=400.0, n_points=2001, spinodal_info=info) for a in alphas]
    result = {"model": spec.to_dict(), "spinodals": info["spinodals"],
              "trajectories": [{k: v for k, v in tr.to_dict().items() if k not in ("t", "m", "q", "test_error")}
                               for tr in trajs]}
    distances = list(np.geomspace(1e-5, 1e-1, 9))
    laws = {}
    for prior in ("bilinear", "gaussian-logit"):
        s = spec.replace(prior=prior)
        laws[prior] = nd.plateau_law(s, "langevin", nd.spinodal_info(s)["upper"], distances)
        law = laws[prior]
        print(f"{prior}: alpha_sp = {law.alpha_sp:.12g}; exponent {law.exponent:.4f}; local exponents "
              f"{', '.join(f'{e:.4f}' for e in law.local_exponents)}; t sqrt(d) {law.scaled[0]:.4f} -> "
              f"pi/sqrt(c1 c2) = {law.saddle_node.prefactor:.4f}")
    result["plateau_law"] = jsonable({k: v.__dict__ | {"saddle_node": v.saddle_node.__dict__} for k, v in laws.items()})
    lin = ModelSpec(attention="linear")
    delays = [nd.linear_delay(lin, a, [64, 256, 1024, 4096, 16384, 65536]) for a in (1.1, 1.5, 3.0)]
    for d in delays:
        print(f"linear alpha = {d.alpha}: slope d t/d ln N = {d.slope:.5f}, 1/(2 lambda) = {d.predicted_slope:.5f}")
    result["linear_delay"] = jsonable([d.__dict__ for d in delays])
    curves = {name: nd.learning_curves(s, np.geomspace(1.0, 100.0, 41))
              for name, s in (("softmax", spec), ("linear", lin))}
    result["learning_curves"] = jsonable({k: {"bayes": c.bayes, "map": c.map, "alpha_star": c.alpha_star,
                                              "map_threshold": c.map_threshold, "map_alpha_star": c.map_alpha_star}
                                          for k, c in curves.items()})
    c = curves["softmax"]
    print(f"softmax: Bayes alpha* = {c.alpha_star:.10g}; MAP jump (equal depth) = {c.map_alpha_star:.10g}; "
          f"MAP kink threshold = {c.map_threshold:.10g}")
    for est, rows in (("Bayes", c.bayes), ("MAP", c.map)):
        print(f"  {est} global-minimum test error: " + ", ".join(f"alpha {a:.3g}: {e:.4f} ({b})"
                                                                 for a, b, e, g in rows[::8] if g))
    scan = nd.context_scan(args.Ts)
    for prior, rows in scan.rows.items():
        for r in rows:
            print(f"{prior} T = {r['T']}: alpha* = {r['alpha_star']:.5g}, alpha_sp = {r['alpha_sp']:.5g}, "
                  f"MAP threshold = {r['map_threshold']}, t_emerge(1.1 alpha_sp) = {r['t_emerge']}")
    for prior, rows in scan.rows.items():
        for key in ("alpha_star", "alpha_sp", "map_threshold"):
            pts = [(r["T"], r[key]) for r in rows if r[key] is not None]
            if len(pts) >= 2:
                (T0, v0), (T1, v1) = pts[-2], pts[-1]
                print(f"{prior}: local exponent d ln {key} / d ln T at T = {T0}..{T1}: "
                      f"{np.log(v1 / v0) / np.log(T1 / T0):.3f}")
    result["context_length"] = jsonable(scan.__dict__)
    write_json(os.path.join(args.out, OUTPUTS[0]), result, force=args.force,
               meta=metadata(vars(args), timings={"seconds": time.perf_counter() - t0},
                             command="experiments/dynamics_emergence.py"))
    import matplotlib

    matplotlib.use("Agg")
    from copyhead import plotting_dynamics as pd

    for name, fig in (("trajectories.png", pd.plot_trajectories([tr for tr in trajs if tr.alpha > 5])),
                      ("plateau_law.png", pd.plot_plateau_law(laws["bilinear"])),
                      ("learning_curves.png", pd.plot_learning_curves(curves["softmax"])),
                      ("context_length.png", pd.plot_context_length(scan))):
        fig.savefig(os.path.join(args.out, name), dpi=130)
    print(f"wrote {args.out} in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
