"""Sampler throughput: sufficient statistics versus rebuilding every h each step.

    python benchmarks/bench_sampler.py [--alpha 4] [--seconds 3]

For N in {64, 256} (T = V = 16, n = alpha N sequences) it times MALA steps on
the W-marginal posterior with :class:`Network` (sufficient statistics, cost
independent of n) and with :class:`DirectNetwork` (the straightforward
implementation that rebuilds the per-sample features h^mu_t from the raw data
at every step), in the same run, and prints steps/s and their ratio.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from copyhead.numerics.network import DirectNetwork, Network, initial_state, make_data
from copyhead.numerics.sampling import mala
from copyhead.spec import ModelSpec


def steps_per_second(net, theta, seconds: float, seed: int = 0) -> float:
    def target(th):
        e = net.marginal(th)
        return e.logp, e.grad, e.m

    precond = net.preconditioner()
    mala(target, theta, step=0.05, n_steps=20, rng=np.random.default_rng(seed), precond=precond)  # warm-up
    n, elapsed = 50, 0.0
    while True:
        t0 = time.perf_counter()
        mala(target, theta, step=0.05, n_steps=n, rng=np.random.default_rng(seed), precond=precond, adapt=False)
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds or n >= 1_000_000:
            return n / elapsed
        n = int(n * max(2.0, 1.2 * seconds / max(elapsed, 1e-9)))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--alpha", type=float, default=4.0)
    p.add_argument("--seconds", type=float, default=3.0, help="minimum timing per measurement")
    p.add_argument("--Ns", type=int, nargs="+", default=[64, 256])
    args = p.parse_args(argv)
    spec = ModelSpec(T=16, V=16)
    print(f"MALA steps/s, W-marginal posterior, T=16 V=16 softmax, alpha={args.alpha:g}")
    print(f"{'N':>5} {'n':>6} {'sufficient-stats':>17} {'rebuild-h':>10} {'ratio':>7}")
    for N in args.Ns:
        n = max(1, int(round(args.alpha * N)))
        data = make_data(spec, n, np.random.default_rng(1))
        Q, K = initial_state(spec, N, "copy", np.random.default_rng(2))
        fast, slow = Network(spec, N, data), DirectNetwork(spec, N, data)
        theta = fast.pack(Q, K)
        assert abs(fast.marginal(theta).logp - slow.marginal(theta).logp) < 1e-6 * abs(slow.marginal(theta).logp)
        a = steps_per_second(fast, theta, args.seconds)
        b = steps_per_second(slow, theta, args.seconds)
        print(f"{N:>5} {n:>6} {a:>17.0f} {b:>10.0f} {a / b:>6.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
