"""`copyhead finite-n` speed: the closed-form Fourier sectors against the explicit sector basis (the earlier
code path, kept as `method="sector-basis"`), measured in the same run, and the CLI against its goals
(<= 2 s per alpha at T = 16, <= 20 s at T = 64).

    python benchmarks/bench_finite_n.py [--no-slow-baseline]

* one-loop points: numerics.finite_n.points(spec, [8]) (every minimum: c, its parts, Var m, Phi), default
  softmax model with V = T, warm compile cache; fourier (default) vs sector-basis, best of `--repeats`;
  the outputs are compared (largest relative difference printed);
* the whole command: `python -m copyhead finite-n --T T --V T --alphas 8 --N 32 64 128 --json` in a fresh
  process (Python start, imports, points, jump with its Brent roots, barriers with Kramers times), and with
  --alphas 6 7 8 9 (the per-alpha time, fixed costs shared).
`--no-slow-baseline` skips the sector-basis path at T = 64 (about a minute on a loaded 2-core machine).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")      # as the CLI does: small matrices, BLAS threads only contend

from copyhead import ModelSpec  # noqa: E402
from copyhead.numerics import finite_n as fn  # noqa: E402


def _timed(call, repeats):
    best, out = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = call()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _difference(a, b) -> float:
    worst = 0.0
    for p, q in zip(a, b):
        for x, y in ((p.m_correction, q.m_correction), (p.phi, q.phi), (p.m_std_sqrtN, q.m_std_sqrtN)):
            worst = max(worst, abs(x - y) / (1 + abs(y)))
    return worst


def _cli_seconds(T: int, alphas) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "copyhead", "finite-n", "--T", str(T), "--V", str(T), "--alphas", *alphas,
                    "--N", "32", "64", "128", "--json"], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--no-slow-baseline", action="store_true")
    args = parser.parse_args()
    fn.points(ModelSpec(T=4, V=4), [8.0])            # compile cache warm
    print(f"{'T':>4} {'sector basis (s)':>17} {'fourier (s)':>12} {'ratio':>8} {'max rel. diff':>14}")
    for T in (16, 32, 64):
        spec = ModelSpec(T=T, V=T)
        fast, new = _timed(lambda: fn.points(spec, [8.0]), args.repeats)
        if T == 64 and args.no_slow_baseline:
            print(f"{T:>4} {'(skipped)':>17} {fast:>12.3f}")
            continue
        slow, old = _timed(lambda: fn.points(spec, [8.0], method="sector-basis"), 1 if T == 64 else args.repeats)
        print(f"{T:>4} {slow:>17.3f} {fast:>12.3f} {slow / fast:>7.1f}x {_difference(new, old):>14.1e}")
    print()
    four = ["6", "7", "8", "9"]
    print(f"{'T':>4} {'finite-n --alphas 8 (s)':>24} {'--alphas 6 7 8 9 (s)':>21} {'per alpha (s)':>14} {'goal':>6}")
    for T, goal in ((16, 2), (32, None), (64, 20)):
        one = min(_cli_seconds(T, ["8"]) for _ in range(args.repeats))
        many = min(_cli_seconds(T, four) for _ in range(args.repeats))
        print(f"{T:>4} {one:>24.2f} {many:>21.2f} {many / len(four):>14.2f} {goal if goal else '-':>6}")
    print("(fresh process each: Python start, imports, the one-time SymPy build of the overlap ODE for kappa, "
          "points, jump with its Brent roots, barriers)")
    print(f"\nload average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
