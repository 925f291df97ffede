"""Several chains per numpy call: the batched evaluation and MALA are the same target and the same chains."""
import math

import numpy as np
import pytest

from copyhead.numerics.network import Network, initial_state, make_data
from copyhead.numerics.sampling import (chain_generator, integrated_autocorr_time, make_tasks, mala, mala_chains,
                                        run_chain, run_chains)
from copyhead.spec import ModelSpec

from test_network import KINDS, central_differences, random_params, small_spec

D = 30
MU = np.linspace(-1.0, 2.0, D)
VAR = np.linspace(0.5, 2.0, D)


def gaussian_batch(thetas):
    r = thetas - MU
    return -0.5 * np.sum(r * r / VAR, axis=1), -r / VAR, thetas[:, 0].copy()


@pytest.mark.parametrize("kind", KINDS)
def test_batched_marginal_equals_single_and_finite_differences(kind):
    spec = small_spec(*kind)
    rng = np.random.default_rng(3)
    N = 6
    net = Network(spec, N, make_data(spec, 7, rng))
    thetas = np.stack([net.pack(*random_params(spec, N, rng)[:2]) for _ in range(3)])
    logp, grad, m = net.marginal_batch(thetas)
    for c, theta in enumerate(thetas):
        single = net.marginal(theta)
        assert logp[c] == pytest.approx(single.logp, rel=1e-13, abs=1e-12)
        assert np.allclose(grad[c], single.grad, rtol=1e-12, atol=1e-12)
        assert m[c] == pytest.approx(single.m, rel=1e-13)
        fd = central_differences(lambda x: net.marginal_batch(x[None])[0][0], theta)
        assert np.max(np.abs(grad[c] - fd)) / np.max(np.abs(fd)) < 1e-6


@pytest.mark.parametrize("precond", [None, np.linspace(0.3, 3.0, D)])
@pytest.mark.parametrize("generator", [np.random.default_rng, chain_generator])
def test_batched_mala_is_the_same_chain_as_mala(precond, generator):
    """Same generators, same chain: the batched kernel's expanded log q (with the M-norms of the gradients)
    accepts exactly when mala's does, with or without a preconditioner, for both generator types."""
    starts = np.stack([MU + 3.0, MU - 1.0, MU])
    batch = mala_chains(gaussian_batch, starts, step=0.5, n_steps=400, rngs=[generator(s) for s in (1, 2, 3)],
                        precond=precond)

    def single(theta):
        lp, g, obs = gaussian_batch(theta[None])
        return float(lp[0]), g[0], float(obs[0])

    for c, seed in enumerate((1, 2, 3)):
        ref = mala(single, starts[c], step=0.5, n_steps=400, rng=generator(seed), precond=precond)
        assert np.allclose(batch[c].observable, ref.observable, rtol=0, atol=1e-9)
        assert np.allclose(batch[c].theta, ref.theta, rtol=0, atol=1e-9)
        assert batch[c].acceptance == ref.acceptance and batch[c].step == pytest.approx(ref.step, rel=1e-12)


def test_batched_network_chains_have_the_stationary_moments_of_one_chain_mala():
    """On a small network posterior, batched chains (SFC64 streams) and one-chain mala on Network.marginal
    (numpy's default PCG64, other seeds: independent chains) agree on the stationary mean and variance of m
    within their Monte Carlo errors."""
    spec = ModelSpec(T=4, V=4)
    N, steps = 6, 3000
    net = Network(spec, N, make_data(spec, 12, np.random.default_rng(0)))
    starts = np.stack([net.pack(*initial_state(spec, N, init, np.random.default_rng(20 + c)))
                       for c, init in enumerate(["uniform", "copy"] * 2)])
    batched = mala_chains(net.marginal_batch, starts, step=0.3, n_steps=steps,
                          rngs=[chain_generator(100 + c) for c in range(4)], precond=net.preconditioner())

    def target(theta):
        e = net.marginal(theta)
        return e.logp, e.grad, e.m

    single = [mala(target, theta, step=0.3, n_steps=steps, rng=np.random.default_rng(200 + c),
                   precond=net.preconditioner()) for c, theta in enumerate(starts)]
    stats = []
    for runs in (batched, single):
        kept = np.stack([r.observable[steps // 2:] for r in runs])
        ess = kept.size / integrated_autocorr_time(kept)
        stats.append((kept.mean(), kept.var(), kept.var() / ess, ess))
    (m1, v1, e1, ess1), (m2, v2, e2, ess2) = stats
    assert min(ess1, ess2) > 100
    assert abs(m1 - m2) < 4.5 * math.sqrt(e1 + e2)
    assert abs(v1 - v2) < 4.5 * math.sqrt(2 * v1 ** 2 / ess1 + 2 * v2 ** 2 / ess2)


def test_batched_mala_samples_the_gaussian():
    """Statistics against the closed form (mean and variance of every coordinate), pooled over 4 chains."""
    n = 12000
    runs = mala_chains(lambda th: (*gaussian_batch(th)[:2], th.copy()), np.stack([MU + 3.0] * 4), step=0.5,
                       n_steps=n, rngs=[np.random.default_rng(10 + c) for c in range(4)])
    kept = np.concatenate([r.observable[n // 2:] for r in runs])           # (4 n/2, D)
    assert all(0.45 < r.acceptance < 0.7 for r in runs)
    tau = max(integrated_autocorr_time(np.stack([r.observable[n // 2:, i] for r in runs])) for i in range(D))
    ess = kept.shape[0] / tau
    assert np.all(np.abs(kept.mean(0) - MU) < 4.5 * np.sqrt(VAR / ess))
    assert np.all(np.abs(kept.var(0) - VAR) < 4.5 * VAR * math.sqrt(2.0 / ess))


def test_network_chains_agree_with_one_chain_per_call():
    """The driver's batched chains reproduce run_chain (same seeds, same chain up to rounding), and a
    statistically independent set of chains (other seeds) agrees within its error."""
    spec = ModelSpec(T=6, V=6)
    tasks = make_tasks(spec, [12], [3.0], sampler="mala", chains=2, steps=600, seed=5)
    batched = run_chains(tasks)
    single = [run_chain(t) for t in tasks]
    for a, b in zip(batched, single):
        assert a.task is b.task
        assert np.allclose(a.m_trace, b.m_trace, rtol=0, atol=1e-8) and a.acceptance == b.acceptance
    other = run_chains(make_tasks(spec, [12], [3.0], sampler="mala", chains=2, steps=600, seed=6))
    for init in ("uniform", "copy"):
        means = [np.mean([o.m_trace[300:].mean() for o in group if o.task.init == init]) for group in (batched, other)]
        spread = [np.std([o.m_trace[300:].mean() for o in group if o.task.init == init]) for group in (batched, other)]
        assert abs(means[0] - means[1]) < 0.05 + 4 * max(spread)


def test_run_chains_refuses_mixed_points():
    spec = ModelSpec(T=4, V=4)
    tasks = make_tasks(spec, [8], [1.0, 2.0], sampler="mala", chains=1, steps=10, seed=0)
    with pytest.raises(ValueError, match="one point"):
        run_chains(tasks)


def test_outcomes_carry_the_final_state_of_their_chain():
    """ChainOutcome.final_theta (the report's heatmaps draw it) is the chain's last state: its attention gives the
    recorded final m, batched or not."""
    from copyhead.numerics.network import attention, copy_order_parameter

    spec = ModelSpec(T=5, V=5)
    N = 8
    tasks = make_tasks(spec, [N], [3.0], sampler="mala", chains=2, steps=50, seed=2)
    for outcomes in (run_chains(tasks), [run_chain(t) for t in tasks]):
        for o in outcomes:
            Q = o.final_theta[: spec.T * N].reshape(spec.T, N)
            K = o.final_theta[spec.T * N: 2 * spec.T * N].reshape(spec.T, N)
            assert copy_order_parameter(attention(spec, Q @ K.T / N)) == pytest.approx(o.final_m, rel=1e-12)
            assert o.final_m == o.m_trace[-1]
