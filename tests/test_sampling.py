"""Samplers, diagnostics and the m(alpha) driver.

Stationary distributions are tested on Gaussian targets whose answers are
known in closed form, including the exact O(h) bias of unadjusted Langevin.
"""
import math

import numpy as np
import pytest

from copyhead.numerics.executors import open_executor
from copyhead.numerics.sampling import (adam, effective_sample_size, integrated_autocorr_time,
                                        m_of_alpha, mala, split_rhat, ula)
from copyhead.spec import ModelSpec

D = 40
MU = np.linspace(-1.0, 2.0, D)
VAR = np.linspace(0.5, 2.0, D)


def gaussian(theta):
    r = theta - MU
    return -0.5 * float(np.sum(r * r / VAR)), -r / VAR, theta.copy()


def ar1(rho, n, chains, rng):
    x = np.empty((chains, n))
    x[:, 0] = rng.standard_normal(chains)
    noise = rng.standard_normal((chains, n)) * math.sqrt(1 - rho ** 2)
    for i in range(1, n):
        x[:, i] = rho * x[:, i - 1] + noise[:, i]
    return x


# ----------------------------------------------------------------------------- diagnostics
def test_autocorrelation_time_of_ar1():
    rho = 0.8
    x = ar1(rho, 50000, 8, np.random.default_rng(0))
    tau_exact = (1 + rho) / (1 - rho)  # = 9; the estimate has ~2% sd here
    assert integrated_autocorr_time(x) == pytest.approx(tau_exact, rel=0.1)
    assert effective_sample_size(x) == pytest.approx(x.size / tau_exact, rel=0.1)


def test_iid_diagnostics():
    x = np.random.default_rng(1).standard_normal((4, 5000))
    assert integrated_autocorr_time(x) == pytest.approx(1.0, abs=0.1)
    assert split_rhat(x) == pytest.approx(1.0, abs=0.01)


def test_anticorrelated_trace_has_capped_ess():
    x = ar1(-0.9, 10000, 2, np.random.default_rng(9))  # tau = 0.1/1.9 ~ 0.05
    assert effective_sample_size(x) == pytest.approx(x.size * math.log10(x.size))


def test_rhat_flags_chains_that_disagree():
    x = np.random.default_rng(2).standard_normal((2, 2000))
    x[1] += 2.0  # second chain stuck elsewhere (expected R-hat ~ sqrt(1 + 4/3) = 1.53)
    assert split_rhat(x) > 1.2
    trend = np.random.default_rng(3).standard_normal((1, 2000)) + np.linspace(0, 3, 2000)
    assert split_rhat(trend) > 1.2  # split halves catch a non-stationary single chain


# ----------------------------------------------------------------------------- samplers
def test_mala_samples_the_gaussian_exactly():
    n = 40000
    run = mala(gaussian, MU + 3.0, step=0.5, n_steps=n, rng=np.random.default_rng(4))
    kept = run.observable[n // 2:]
    assert 0.45 < run.acceptance < 0.7  # adaptation reached its 0.574 target
    tau = max(integrated_autocorr_time(kept[:, i]) for i in range(D))
    ess = kept.shape[0] / tau
    se_mean = np.sqrt(VAR / ess)
    se_var = VAR * math.sqrt(2.0 / ess)
    # All 40 coordinates within 4.5 standard errors (a false alarm has probability ~3e-4).
    assert np.all(np.abs(kept.mean(0) - MU) < 4.5 * se_mean)
    assert np.all(np.abs(kept.var(0) - VAR) < 4.5 * se_var)


def test_mala_with_preconditioner_on_badly_scaled_target():
    scale = np.logspace(-2, 2, 10)

    def target(th):
        return -0.5 * float(np.sum(th ** 2 / scale)), -th / scale, th.copy()

    run = mala(target, np.zeros(10), step=0.5, n_steps=20000, rng=np.random.default_rng(5), precond=scale)
    kept = run.observable[10000:]
    np.testing.assert_allclose(kept.var(0) / scale, 1.0, atol=0.15)


def test_ula_has_the_predicted_order_h_bias():
    """With M = 1 and a Gaussian of variance v, ULA's stationary variance is
    v / (1 - h/(2v)) exactly; the bias shrinks with h."""
    biases = []
    for h in (0.4, 0.1):
        n = 40000
        run = ula(gaussian, MU, step=h, n_steps=n, rng=np.random.default_rng(6))
        kept = run.observable[n // 2:]
        measured = kept.var(0)
        predicted = VAR / (1 - h / (2 * VAR))
        ratio = float(np.mean(measured / predicted))
        assert ratio == pytest.approx(1.0, abs=0.03)
        biases.append(float(np.mean(measured / VAR)) - 1.0)
    assert biases[0] > 0.08              # h = 0.4: visibly biased (predicted ~0.13)
    assert abs(biases[1]) < biases[0] / 2  # h = 0.1: bias shrinks with h (predicted ~0.03)


def test_adam_finds_the_mode():
    run = adam(gaussian, np.zeros(D), lr=0.05, n_steps=3000)
    np.testing.assert_allclose(run.theta, MU, atol=1e-3)


# ----------------------------------------------------------------------------- driver
SMALL = ModelSpec(T=4, V=3)


def test_driver_is_reproducible_and_executor_independent():
    kw = dict(sampler="mala", chains=2, steps=300, seed=7)
    a = m_of_alpha(SMALL, [8], [0.5, 2.0], **kw)
    b = m_of_alpha(SMALL, [8], [0.5, 2.0], **kw)
    with open_executor(workers=2) as ex:
        c = m_of_alpha(SMALL, [8], [0.5, 2.0], executor=ex, **kw)
    assert [p.m_mean for p in a] == [p.m_mean for p in b] == [p.m_mean for p in c]
    assert [(p.alpha, p.init) for p in a] == [(0.5, "uniform"), (0.5, "copy"), (2.0, "uniform"), (2.0, "copy")]
    d = m_of_alpha(SMALL, [8], [0.5, 2.0], sampler="mala", chains=2, steps=300, seed=8)
    assert [p.m_mean for p in d] != [p.m_mean for p in a]


@pytest.mark.parametrize("sampler", ["langevin", "mala", "adam"])
@pytest.mark.parametrize("posterior", ["marginal", "full"])
def test_driver_points_and_diagnostics(sampler, posterior):
    pts = m_of_alpha(SMALL, [6], [1.0], sampler=sampler, chains=2, steps=200, seed=1, posterior=posterior)
    assert len(pts) == 2
    for p in pts:
        assert 0.0 <= p.m_mean <= 1.0 and p.m_err >= 0.0
        assert p.diagnostics["chains"] == 2 and p.diagnostics["posterior"] == posterior
        if sampler != "adam":
            assert p.diagnostics["burn_in"] == "first half discarded"
            assert p.kept.shape == (2, 100)
            assert p.m_mean == pytest.approx(p.kept.mean())
        if sampler == "mala":
            assert all(0.0 < a <= 1.0 for a in p.diagnostics["acceptance"])


def test_both_starts_agree_far_from_the_transition():
    """Default model, alpha well below the jump: both starts relax to the same
    small-m state; well above: both reach the copy state.  Reference values:
    the reduced large-N free energy (T-1) phi(d) - kappa m^2/(q + e) of
    THEORY.md minimised by hand (d = logit gap): m = 0.063 at alpha = 2 and
    m = 0.61 at alpha = 12 (finite N shifts these by a few per cent)."""
    pts = m_of_alpha(ModelSpec(), [32], [2.0, 12.0], sampler="mala", chains=1, steps=3000, seed=3)
    m = {(p.alpha, p.init): p.m_mean for p in pts}
    assert m[2.0, "uniform"] == pytest.approx(0.063, abs=0.01)
    assert m[2.0, "copy"] == pytest.approx(0.063, abs=0.01)
    assert m[12.0, "uniform"] == pytest.approx(0.61, abs=0.05)
    assert m[12.0, "copy"] == pytest.approx(0.61, abs=0.05)


@pytest.mark.slow
def test_full_and_marginal_posteriors_agree():
    """Sampling (Q, K, W) and sampling (Q, K) with W integrated out must give the
    same law of m (same data, same seeds for the data)."""
    kw = dict(sampler="mala", chains=2, steps=20000, seed=5, inits=("uniform",))
    a = m_of_alpha(ModelSpec(T=6, V=4), [16], [3.0], posterior="marginal", **kw)[0]
    b = m_of_alpha(ModelSpec(T=6, V=4), [16], [3.0], posterior="full", **kw)[0]
    assert abs(a.m_mean - b.m_mean) < 4 * math.hypot(a.m_err, b.m_err)
