"""Replica exchange against targets whose tempered marginals are known (closed form or quadrature)."""
import math
import os

import numpy as np
import pytest
from scipy import integrate

from copyhead.errors import InvalidParameterError
from copyhead.numerics.network import Network, make_data
from copyhead.numerics.replica import PowerPosterior, follow_coexistence, replica_exchange
from copyhead.numerics.sampling import mala_chains
from copyhead.spec import ModelSpec

from test_network import central_differences, random_params

SEED = int(os.environ.get("COPYHEAD_TEST_SEED", "0"))  # fixed in CI; other values probe robustness


def gaussian(thetas):
    """One component E = -|x|^2 / 2: rung beta samples N(0, I / beta)."""
    return (-0.5 * np.sum(thetas ** 2, axis=1))[:, None], -thetas[:, None, :], thetas[:, 0].copy()


W1, W2, MU, SD = 0.7, 0.3, 4.0, 0.5


def mixture(thetas):
    """E = log(W1 N(x; -MU, SD) + W2 N(x; MU, SD)) in one dimension; barrier ~ MU^2 / (2 SD^2) = 32."""
    x = thetas[:, 0]
    a = math.log(W1) - 0.5 * ((x + MU) / SD) ** 2
    b = math.log(W2) - 0.5 * ((x - MU) / SD) ** 2
    E = np.logaddexp(a, b)
    g = np.exp(a - E) * (-(x + MU) / SD ** 2) + np.exp(b - E) * (-(x - MU) / SD ** 2)
    return E[:, None], g[:, None, None], x.copy()


def tilted_double_well(thetas):
    """E = (-(x^2 - 1)^2, x): weights (a, b) give p ∝ exp(-a (x^2-1)^2 + b x), first order at b = 0 for large a."""
    x = thetas[:, 0]
    E = np.stack([-(x ** 2 - 1) ** 2, x], axis=1)
    dE = np.stack([-4 * x * (x ** 2 - 1), np.ones_like(x)], axis=1)[:, :, None]
    return E, dE, x.copy()


def quad_fraction_positive(logp, lo=-8.0, hi=8.0, peaks=(-1.0, 1.0)):
    f = lambda x: math.exp(logp(x))  # noqa: E731
    pos = integrate.quad(f, 0, hi, points=[p for p in peaks if p > 0], limit=200)[0]
    neg = integrate.quad(f, lo, 0, points=[p for p in peaks if p < 0], limit=200)[0]
    return pos / (pos + neg)


def test_gaussian_rungs_have_their_tempered_variance_and_the_swap_rate_of_exact_draws():
    betas = np.array([1.0, 0.7, 0.5, 0.35])
    L, d = 4, 5
    run = replica_exchange(gaussian, betas[:, None], np.zeros((L, 4, d)), n_steps=6000, seed=SEED + 1,
                           swap_every=5, step=0.5)
    # the observable is x_0: variance 1/beta; error from the bulk ESS of each rung
    for k, beta in enumerate(betas):
        x = run.m[:, k, :]
        ess = run.diagnostics(k)["ess_bulk"]
        assert abs(x.var() - 1 / beta) < 5 * (1 / beta) * math.sqrt(2 / ess)
    # swap acceptance of exact independent draws: log r = (b_k - b_k+1)(E(x_k+1) - E(x_k))
    rng = np.random.default_rng(7)
    for k in range(3):
        xk = rng.standard_normal((200000, d)) / math.sqrt(betas[k])
        xl = rng.standard_normal((200000, d)) / math.sqrt(betas[k + 1])
        log_r = (betas[k] - betas[k + 1]) * (-0.5 * np.sum(xl ** 2, 1) + 0.5 * np.sum(xk ** 2, 1))
        expected = np.mean(np.minimum(1.0, np.exp(log_r)))
        n_att = run.swap_attempts[:, k].sum()
        assert abs(run.swap_rate[k] - expected) < 5 * math.sqrt(expected * (1 - expected) / n_att) + 0.02
    assert run.round_trips.sum() > 10
    s = run.summary()
    assert len(s["rung_diagnostics"]) == 4 and s["ladders"] == L


def test_bimodal_target_plain_mala_stays_stuck_replica_exchange_recovers_the_mode_weights():
    betas = np.geomspace(1.0, 0.02, 10)
    L, steps = 4, 5000
    start = np.full((L, len(betas), 1), -MU)
    plain = mala_chains(lambda th: (mixture(th)[0][:, 0], mixture(th)[1][:, 0], th[:, 0].copy()), start[:, 0],
                        step=0.5, n_steps=steps, rngs=[np.random.default_rng(s) for s in range(L)])
    assert all(np.all(r.observable < 0) for r in plain)            # never leaves the left mode
    run = replica_exchange(mixture, betas[:, None], start, n_steps=steps, seed=SEED + 3, swap_every=5, step=0.5)
    for k in (0, 4, 8):
        exact = quad_fraction_positive(lambda x: betas[k] * float(mixture(np.array([[x]]))[0][0, 0]),
                                       lo=-30, hi=30, peaks=(-MU, MU))
        per_ladder = (run.m[:, k, :] > 0).mean(axis=1)
        se = per_ladder.std(ddof=1) / math.sqrt(L)
        assert abs(per_ladder.mean() - exact) < 4 * se + 0.01, (k, per_ladder, exact)
    assert abs((run.m[:, 0, :] > 0).mean() - W2) < 0.05
    assert run.diagnostics(0)["rhat"] < 1.05


def test_coexistence_ladder_follows_the_symmetric_line_and_replica_exchange_gets_the_tilted_weight():
    # b = 0: the line of equal weight is b = 0 exactly (x -> -x symmetry)
    path = follow_coexistence(tilted_double_well, np.array([-1.0]), np.array([1.0]), seed=2, start=(20.0, 0.0),
                              step=0.3, positive=(True, False))
    assert path.merged and path.weights[-1, 0] < 4.0
    before_merge = path.weights[np.abs(path.delta_m) > 1.0]
    assert len(before_merge) >= 3 and np.all(np.abs(before_merge[:, 1]) < 0.1)
    # b = 0.4 at a = 20: weight of x > 0 by quadrature; plain MALA from x = -1 never crosses (barrier a = 20)
    path = follow_coexistence(tilted_double_well, np.array([-1.0]), np.array([1.0]), seed=2, start=(20.0, 0.4),
                              step=0.3, positive=(True, False))
    a, b = path.weights[0]
    exact = quad_fraction_positive(lambda x: -a * (x * x - 1) ** 2 + b * x)
    L = 4
    th0 = np.stack([path.states[l % 2] for l in range(L)])
    run = replica_exchange(tilted_double_well, path.weights, th0, n_steps=6000, seed=SEED, swap_every=5,
                           step=path.step)
    per_ladder = (run.m[:, 0, :] > 0).mean(axis=1)
    assert abs(per_ladder.mean() - exact) < 4 * per_ladder.std(ddof=1) / math.sqrt(L) + 0.01
    assert np.all(run.round_trips.sum(axis=1) > 10)
    assert np.all(run.swap_rate > 0.3)
    # flow: walkers that last saw rung 0 dominate near it, those that saw the top dominate there
    assert run.up_fraction[0] == 1.0 and run.up_fraction[-1] == 0.0


def test_same_seed_same_run_and_identical_rungs_always_swap():
    w = np.array([[1.0], [1.0], [1.0]])
    a = replica_exchange(gaussian, w, np.zeros((2, 3, 2)), n_steps=400, seed=9, step=0.5)
    b = replica_exchange(gaussian, w, np.zeros((2, 3, 2)), n_steps=400, seed=9, step=0.5)
    assert np.array_equal(a.m, b.m) and np.array_equal(a.swap_accepts, b.swap_accepts)
    assert np.all(a.swap_rate == 1.0)
    c = replica_exchange(gaussian, w, np.zeros((2, 3, 2)), n_steps=400, seed=10, step=0.5)
    assert not np.array_equal(a.m, c.m)


def test_bad_ladders_are_refused_naming_the_parameter():
    with pytest.raises(InvalidParameterError, match="thetas0"):
        replica_exchange(gaussian, np.ones((3, 1)), np.zeros((2, 2, 1)), n_steps=100, seed=0)
    with pytest.raises(InvalidParameterError, match="weights"):
        replica_exchange(gaussian, np.array([[np.nan]]), np.zeros((1, 1, 1)), n_steps=100, seed=0)
    with pytest.raises(InvalidParameterError, match="n_steps"):
        replica_exchange(gaussian, np.ones((2, 1)), np.zeros((1, 2, 1)), n_steps=5, seed=0)
    with pytest.raises(InvalidParameterError, match="start"):
        follow_coexistence(tilted_double_well, np.zeros(1), np.ones(1), seed=0, start=(-1.0, 0.0))


def test_power_posterior_components_sum_to_the_marginal_and_have_their_gradients():
    spec = ModelSpec(T=4, V=4)
    rng = np.random.default_rng(5)
    N = 5
    net = Network(spec, N, make_data(spec, 9, rng))
    comp = PowerPosterior(net)
    thetas = np.stack([net.pack(*random_params(spec, N, rng)[:2]) for _ in range(2)])
    E, dE, m = comp(thetas)
    for c, theta in enumerate(thetas):
        ev = net.marginal(theta)
        assert E[c].sum() == pytest.approx(ev.logp, rel=1e-12)
        assert m[c] == pytest.approx(ev.m, rel=1e-12)
        for p in range(2):
            fd = central_differences(lambda x, p=p: comp(x[None])[0][0, p], theta)
            assert np.max(np.abs(dE[c, p] - fd)) / np.max(np.abs(fd)) < 1e-6
    # the prior part is the Gaussian log density of Q, K with the spec's variances
    sq = np.concatenate([np.full(spec.T * N, spec.sigma_q ** 2), np.full(spec.T * N, spec.sigma_k ** 2)])
    ref = np.sum(-0.5 * thetas ** 2 / sq - 0.5 * np.log(2 * math.pi * sq), axis=1)
    assert np.allclose(E[:, 0], ref, rtol=1e-12)


@pytest.mark.slow
def test_network_ladder_rung0_agrees_with_long_plain_chains_where_those_mix():
    """Softmax T = 8, V = 16 at N = 12, alpha = 8 (near alpha_eq(12)): barrier ~ 3, so plain MALA crosses
    many times; the posterior mean of m from rung 0 of the coexistence ladder must agree with it."""
    from copyhead.numerics.diagnostics import ess_bulk
    from copyhead.numerics.network import initial_state

    spec = ModelSpec(T=8, V=16)
    N, n = 12, 96
    rng = np.random.default_rng(1)
    net = Network(spec, N, make_data(spec, n, rng))
    u = net.pack(*initial_state(spec, N, "uniform", rng))
    c = net.pack(*initial_state(spec, N, "copy", rng))
    plain = mala_chains(net.marginal_batch, np.stack([u, c, u, c]), step=0.1, n_steps=40000,
                        rngs=[np.random.default_rng(s) for s in range(4)], precond=net.preconditioner())
    kept = np.stack([r.observable[20000:] for r in plain])
    comp = PowerPosterior(net)
    path = follow_coexistence(comp, u, c, seed=3, precond=net.preconditioner())
    run = replica_exchange(comp, path.weights, np.stack([path.states[l % 2] for l in range(4)]), n_steps=20000,
                           seed=4, step=path.step, precond=net.preconditioner())
    rx = run.m[:, 0, :]
    se = math.sqrt(kept.var() / ess_bulk(kept) + rx.var() / ess_bulk(rx))
    assert abs(kept.mean() - rx.mean()) < 4 * se, (kept.mean(), rx.mean(), se)
