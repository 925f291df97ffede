"""Sampler throughput, measured in one run against baselines.

    python benchmarks/bench_sampler.py [--alpha 4] [--seconds 3] [--chains 4]

For N in {64, 256} (T = V = 16, softmax, n = alpha N sequences), MALA steps per
second on the W-marginal posterior:

* sufficient statistics against :class:`DirectNetwork` (rebuilds every feature
  h^mu_t from the raw data at every step), one chain each;
* several chains per numpy call (:func:`mala_chains` on ``Network.marginal_batch``)
  against today's one-chain-per-call sampler, kept below as ``one_chain_per_call``
  (the loop the package ran before: ``mala`` on ``Network.marginal``, once per chain).
"""
from __future__ import annotations

import argparse
import os
import time

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")      # as the CLI does: small matrices, BLAS threads only contend

import numpy as np  # noqa: E402

from copyhead.numerics.network import DirectNetwork  # noqa: E402, Network, initial_state, make_data
from copyhead.numerics.sampling import mala, mala_chains  # noqa: E402
from copyhead.spec import ModelSpec  # noqa: E402


def _timed(run, seconds: float) -> float:
    """Steps per second of ``run(n_steps)``, doubling n until one run lasts ``seconds``."""
    run(20)  # warm-up
    n = 50
    while True:
        t0 = time.perf_counter()
        run(n)
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds or n >= 1_000_000:
            return n / elapsed
        n = int(n * max(2.0, 1.2 * seconds / max(elapsed, 1e-9)))


def one_chain_per_call(net, thetas, n_steps, seed=0):
    """Baseline: today's sampler, each chain its own loop of single evaluations."""
    def target(th):
        e = net.marginal(th)
        return e.logp, e.grad, e.m

    precond = net.preconditioner()
    for c, theta in enumerate(thetas):
        mala(target, theta, step=0.05, n_steps=n_steps, rng=np.random.default_rng(seed + c), precond=precond,
             adapt=False)


def chains_per_call(net, thetas, n_steps, seed=0):
    rngs = [np.random.default_rng(seed + c) for c in range(len(thetas))]
    mala_chains(net.marginal_batch, thetas, step=0.05, n_steps=n_steps, rngs=rngs, precond=net.preconditioner(),
                adapt=False)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--alpha", type=float, default=4.0)
    p.add_argument("--seconds", type=float, default=3.0, help="minimum timing per measurement")
    p.add_argument("--Ns", type=int, nargs="+", default=[64, 256])
    p.add_argument("--chains", type=int, nargs="+", default=[2, 4, 8], help="chains per numpy call")
    args = p.parse_args(argv)
    spec = ModelSpec(T=16, V=16)
    print(f"MALA steps/s per chain, W-marginal posterior, T=16 V=16 softmax, alpha={args.alpha:g}")
    print(f"{'N':>5} {'n':>6} {'sufficient-stats':>17} {'rebuild-h':>10} {'ratio':>7}")
    nets = {}
    for N in args.Ns:
        n = max(1, int(round(args.alpha * N)))
        data = make_data(spec, n, np.random.default_rng(1))
        fast, slow = Network(spec, N, data), DirectNetwork(spec, N, data)
        nets[N] = fast
        theta = fast.pack(*initial_state(spec, N, "copy", np.random.default_rng(2)))
        assert abs(fast.marginal(theta).logp - slow.marginal(theta).logp) < 1e-6 * abs(slow.marginal(theta).logp)
        a = _timed(lambda k: one_chain_per_call(fast, [theta], k), args.seconds)
        b = _timed(lambda k: one_chain_per_call(slow, [theta], k), args.seconds)
        print(f"{N:>5} {n:>6} {a:>17.0f} {b:>10.0f} {a / b:>6.1f}x")
    print()
    print("several chains per numpy call vs one chain per call (chain-steps/s: steps summed over the chains)")
    print(f"{'N':>5} {'chains':>6} {'one-per-call':>13} {'batched':>9} {'ratio':>7}")
    for N, net in nets.items():
        for C in args.chains:
            thetas = np.stack([net.pack(*initial_state(spec, N, init, np.random.default_rng(10 + c)))
                               for c, init in zip(range(C), ["copy", "uniform"] * C)])
            base = C * _timed(lambda k: one_chain_per_call(net, thetas, k), args.seconds)
            ours = C * _timed(lambda k: chains_per_call(net, thetas, k), args.seconds)
            print(f"{N:>5} {C:>6} {base:>13.0f} {ours:>9.0f} {ours / base:>6.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
