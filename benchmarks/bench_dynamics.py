"""Overlap-ODE speed: one trajectory at T = 16 and T = 64 (goals: <= 1 s and <= 10 s), with baselines
measured in the same run.

    python benchmarks/bench_dynamics.py

* trajectory: default softmax model at alpha = (1 + 1e-3) alpha_sp from the prior, to twice its emergence
  time (LSODA, rtol 1e-9, warm compile cache), 401 output points with m, q and test error;
* baseline 1: 1000 evaluations of the reduced free-energy gradient (the engine's inner loop), same run;
* baseline 2: the unreduced T x T matrix ODE (3 T^2 variables, drift by the network's chain rule, RK45)
  over the same time, at T = 16 only (at T = 64 it is too slow to be a useful comparison).
"""
from __future__ import annotations

import time

import numpy as np
from scipy import integrate

from copyhead import ModelSpec
from copyhead.numerics import dynamics as nd
from copyhead.numerics.compiled import compiled_model


def _timed(fn, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _full_matrix_time(spec, alpha, t_end):
    from copyhead.derivations.dynamics import _full_matrix_drift

    T = spec.T

    def rhs(t, y):
        A, B, S = y[:T * T].reshape(T, T), y[T * T:2 * T * T].reshape(T, T), y[2 * T * T:].reshape(T, T)
        return np.concatenate([d.ravel() for d in _full_matrix_drift(spec, alpha, A, B, S, "langevin")])

    y0 = np.concatenate([np.eye(T).ravel(), np.eye(T).ravel(), np.zeros(T * T)])
    t0 = time.perf_counter()
    integrate.solve_ivp(rhs, (0, t_end), y0, method="RK45", rtol=1e-9, atol=1e-12)
    return time.perf_counter() - t0


def main() -> int:
    fe = compiled_model("softmax", "centred", "bilinear")
    params = list(ModelSpec().numeric_params.values())
    base, _ = _timed(lambda: [fe.gradient([0.3 + 1e-4 * i], 6.0, params) for i in range(1000)])
    print(f"baseline: 1000 free-energy gradients: {base:.4f} s")
    for T, goal in ((16, 1.0), (64, 10.0)):
        spec = ModelSpec(T=T)
        info = nd.spinodal_info(spec)
        alpha = info["upper"] * (1 + 1e-3)
        first = nd.trajectory(spec, alpha, t_max=10_000, spinodal_info=info)   # warms the cache, finds t_emerge
        t_end = 2 * first.t_emerge
        seconds, tr = _timed(lambda: nd.trajectory(spec, alpha, t_max=t_end, spinodal_info=info))
        line = (f"T = {T}: one trajectory (t_emerge = {tr.t_emerge:.4g}, t_max = {t_end:.4g}, nfev = "
                f"{tr.solver['nfev']}): {seconds:.3f} s (goal <= {goal:g} s, {'met' if seconds <= goal else 'MISSED'}); "
                f"{seconds / base:.2f} x baseline 1")
        if T == 16:
            full = _full_matrix_time(spec, alpha, t_end)
            line += f"; unreduced {3 * T * T}-variable matrix ODE: {full:.2f} s = {full / seconds:.0f} x slower"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
