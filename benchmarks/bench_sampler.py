"""Sampler throughput, measured in one run against baselines.

    python benchmarks/bench_sampler.py [--alpha 4] [--seconds 3] [--chains 4] [--rounds 3]

For N in {64, 256} (T = V = 16, softmax, n = alpha N sequences), MALA steps per
second on the W-marginal posterior:

* sufficient statistics against :class:`DirectNetwork` (rebuilds every feature
  h^mu_t from the raw data at every step), one chain each;
* several chains per numpy call (:func:`mala_chains` on ``Network.marginal_batch``, with
  the generators ``run_chains`` gives the chains, :func:`chain_generator`) against the
  one-chain-per-call sampler, kept below as ``one_chain_per_call`` (the loop the package
  ran before: ``mala`` on ``Network.marginal``, once per chain, numpy's default generator);
  also the batched sampler with the baseline's generator, to separate the two gains.
  Interleaved rounds, wall and CPU time (the machine may be shared).
"""
from __future__ import annotations

import argparse
import os
import time

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")      # as the CLI does: small matrices, BLAS threads only contend

import numpy as np  # noqa: E402

from copyhead.numerics.network import DirectNetwork, Network, initial_state, make_data  # noqa: E402
from copyhead.numerics.sampling import chain_generator, mala, mala_chains  # noqa: E402
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


def _interleaved(runs: dict, seconds: float, rounds: int) -> dict:
    """Best steps per second of each ``run(n_steps)`` in wall and in CPU (process) time, over ``rounds``
    rounds that alternate between the runs, so that a change of load hits the baseline and ours alike."""
    sizes = {name: max(20, int(_timed(run, seconds / rounds) * seconds / rounds)) for name, run in runs.items()}
    best = {name: [0.0, 0.0] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            t0, c0 = time.perf_counter(), time.process_time()
            run(sizes[name])
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            best[name] = [max(best[name][0], sizes[name] / wall), max(best[name][1], sizes[name] / max(cpu, 1e-9))]
    return best


def one_chain_per_call(net, thetas, n_steps, seed=0):
    """Baseline: today's sampler, each chain its own loop of single evaluations."""
    def target(th):
        e = net.marginal(th)
        return e.logp, e.grad, e.m

    precond = net.preconditioner()
    for c, theta in enumerate(thetas):
        mala(target, theta, step=0.05, n_steps=n_steps, rng=np.random.default_rng(seed + c), precond=precond,
             adapt=False)


def chains_per_call(net, thetas, n_steps, seed=0, generator=chain_generator):
    """Ours: mala_chains on the batched evaluation, with the generators run_chains uses (SFC64)."""
    rngs = [generator(seed + c) for c in range(len(thetas))]
    mala_chains(net.marginal_batch, thetas, step=0.05, n_steps=n_steps, rngs=rngs, precond=net.preconditioner(),
                adapt=False)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--alpha", type=float, default=4.0)
    p.add_argument("--seconds", type=float, default=3.0, help="minimum timing per measurement")
    p.add_argument("--Ns", type=int, nargs="+", default=[64, 256])
    p.add_argument("--chains", type=int, nargs="+", default=[2, 4, 8], help="chains per numpy call")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the batched comparison")
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
    print("several chains per numpy call vs one chain per call (chain-steps/s: steps summed over the chains;")
    print(f"best of {args.rounds} interleaved rounds; wall time, and CPU time of this process in brackets)")
    print("  batched-PCG64: the same batched sampler with the baseline's generator (numpy's default, PCG64)")
    print(f"{'N':>5} {'chains':>6} {'one-per-call':>16} {'batched-PCG64':>16} {'batched':>16} {'ratio':>7} {'CPU ratio':>9}")
    for N, net in nets.items():
        for C in args.chains:
            thetas = np.stack([net.pack(*initial_state(spec, N, init, np.random.default_rng(10 + c)))
                               for c, init in zip(range(C), ["copy", "uniform"] * C)])
            rates = _interleaved({
                "base": lambda k: one_chain_per_call(net, thetas, k),
                "pcg": lambda k: chains_per_call(net, thetas, k, generator=np.random.default_rng),
                "ours": lambda k: chains_per_call(net, thetas, k)}, args.seconds, args.rounds)
            (base, base_cpu), (pcg, pcg_cpu), (ours, ours_cpu) = (
                [C * r for r in rates[name]] for name in ("base", "pcg", "ours"))
            print(f"{N:>5} {C:>6} {base:>7.0f} ({base_cpu:>6.0f}) {pcg:>7.0f} ({pcg_cpu:>6.0f}) "
                  f"{ours:>7.0f} ({ours_cpu:>6.0f}) {ours / base:>6.2f}x {ours_cpu / base_cpu:>8.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
