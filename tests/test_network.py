"""The finite network: data, attention, the W-marginal posterior and the full one.

References are independent computations: the sample-space GP evidence, central
finite differences, the exact Gaussian integral over W, and closed forms.
"""
import math

import numpy as np
import pytest

from copyhead.errors import InvalidParameterError

from copyhead.numerics.network import (DirectNetwork, Network, attention, copy_order_parameter,
                                       initial_state, make_data, require_bilinear)
from copyhead.spec import ModelSpec

KINDS = [(a, t) for a in ("softmax", "linear") for t in ("centred", "onehot")]


def small_spec(attention="softmax", tokens="centred", **kw):
    base = dict(attention=attention, tokens=tokens, T=5, V=4, gamma=1.3, sigma_q=0.9,
                sigma_k=1.1, sigma_w=0.8, sigma2=0.7)
    base.update(kw)
    return ModelSpec(**base)


def random_params(spec, N, rng, scale=1.0):
    Q = scale * rng.standard_normal((spec.T, N))
    K = scale * rng.standard_normal((spec.T, N))
    W = 0.5 * rng.standard_normal((spec.V, spec.V))
    return Q, K, W


def central_differences(fun, x, h=1e-5):
    out = np.empty_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e[i] = h
        out[i] = (fun(x + e) - fun(x - e)) / (2 * h)
    return out


# ----------------------------------------------------------------------------- data
@pytest.mark.parametrize("tokens", ["centred", "onehot"])
def test_data_is_the_cyclic_copy_task(tokens):
    spec = small_spec(tokens=tokens)
    d = make_data(spec, 50, np.random.default_rng(3))
    assert d.X.shape == (50, spec.T, spec.V) and d.n == 50
    onehot = np.eye(spec.V)[d.tokens]
    expected = onehot - 1.0 / spec.V if tokens == "centred" else onehot
    np.testing.assert_array_equal(d.X, expected)
    for t in range(spec.T):  # target at t is the token at t-1, cyclically (t=0 -> T-1)
        np.testing.assert_array_equal(d.Y[:, t], d.X[:, (t - 1) % spec.T])


def test_data_seeded_and_uniform():
    spec = ModelSpec(V=8)
    a = make_data(spec, 4000, np.random.default_rng(11))
    b = make_data(spec, 4000, np.random.default_rng(11))
    np.testing.assert_array_equal(a.tokens, b.tokens)
    counts = np.bincount(a.tokens.ravel(), minlength=8)
    expected = a.tokens.size / 8
    chi2 = float(np.sum((counts - expected) ** 2 / expected))
    assert chi2 < 30.0  # 7 dof: P(chi2 > 30) ~ 1e-4


def test_attention_kinds():
    rng = np.random.default_rng(0)
    S = rng.standard_normal((6, 6)) * 40  # large logits: the softmax must stay finite
    A = attention(small_spec(T=6), S)
    assert np.all(np.isfinite(A))
    np.testing.assert_allclose(A.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(attention(small_spec("linear", T=6), S), 1.3 * S)
    Pi = np.roll(np.eye(6), -1, axis=1)  # Pi[t, t-1] = 1
    assert copy_order_parameter(Pi) == 1.0
    assert copy_order_parameter(np.full((6, 6), 1 / 6)) == pytest.approx(1 / 6)


def test_prior_must_be_bilinear():
    with pytest.raises(InvalidParameterError, match=r"^prior: the finite network samples Q and K; only 'bilinear'"):
        require_bilinear(ModelSpec(prior="gaussian-logit"))


# ----------------------------------------------------------------------------- posteriors
@pytest.mark.parametrize("kind", KINDS)
def test_marginal_equals_sample_space_gp_evidence(kind):
    spec = small_spec(*kind)
    rng = np.random.default_rng(1)
    N = 6
    data = make_data(spec, 9, rng)
    Q, K, _ = random_params(spec, N, rng)
    theta = Network.pack(Q, K)
    net = Network(spec, N, data)
    log_prior = (-0.5 * np.sum(Q ** 2) / spec.sigma_q ** 2 - 0.5 * np.sum(K ** 2) / spec.sigma_k ** 2
                 - 0.5 * Q.size * math.log(2 * math.pi * spec.sigma_q ** 2)
                 - 0.5 * K.size * math.log(2 * math.pi * spec.sigma_k ** 2))
    gp = DirectNetwork(spec, N, data).gp_log_evidence(theta)
    assert net.marginal(theta).logp - log_prior == pytest.approx(gp, rel=1e-11, abs=1e-9)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("posterior", ["marginal", "full"])
def test_gradient_matches_central_differences(kind, posterior):
    spec = small_spec(*kind)
    rng = np.random.default_rng(2)
    N = 6
    net = Network(spec, N, make_data(spec, 7, rng))
    Q, K, W = random_params(spec, N, rng)
    theta = net.pack(Q, K, W if posterior == "full" else None)
    fun = getattr(net, posterior)
    fd = central_differences(lambda x: fun(x).logp, theta)
    g = fun(theta).grad
    assert np.max(np.abs(g - fd)) / np.max(np.abs(fd)) < 1e-6


@pytest.mark.parametrize("kind", KINDS)
def test_full_integrates_to_marginal(kind):
    """log integral exp(full) dW, done exactly (it is Gaussian in W), equals the marginal."""
    spec = small_spec(*kind)
    rng = np.random.default_rng(4)
    N, V = 6, spec.V
    net = Network(spec, N, make_data(spec, 8, rng))
    Q, K, _ = random_params(spec, N, rng)
    theta = net.pack(Q, K)
    # Independent route: build H from the raw data, maximise over W in closed form.
    A = attention(spec, Q @ K.T / N)
    H = np.einsum("ts,nsv->ntv", A, net.data.X).reshape(-1, V)
    Y = net.data.Y.reshape(-1, V)
    P = H.T @ H / spec.sigma2 + N / spec.sigma_w ** 2 * np.eye(V)   # precision of each row of W
    W_star = np.linalg.solve(P, H.T @ Y / spec.sigma2).T
    top = net.full(net.pack(Q, K, W_star)).logp
    log_integral = top + 0.5 * V * V * math.log(2 * math.pi) - 0.5 * V * np.linalg.slogdet(P)[1]
    assert log_integral == pytest.approx(net.marginal(theta).logp, rel=1e-11, abs=1e-9)
    np.testing.assert_allclose(net.ridge_readout(theta), W_star, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_sufficient_statistics_match_direct_computation(kind):
    spec = small_spec(*kind)
    rng = np.random.default_rng(5)
    N = 7
    data = make_data(spec, 300, rng)
    fast, slow = Network(spec, N, data), DirectNetwork(spec, N, data)
    Q, K, W = random_params(spec, N, rng, scale=0.7)
    for posterior, theta in (("marginal", fast.pack(Q, K)), ("full", fast.pack(Q, K, W))):
        a, b = getattr(fast, posterior)(theta), getattr(slow, posterior)(theta)
        assert a.logp == pytest.approx(b.logp, rel=1e-11)
        np.testing.assert_allclose(a.grad, b.grad, rtol=1e-9, atol=1e-9 * np.max(np.abs(b.grad)))
        assert a.m == pytest.approx(b.m)
    # The per-step state does not grow with n.
    assert fast.Gsu.shape == (spec.T ** 2, spec.V ** 2)


# ----------------------------------------------------------------------------- initial states
@pytest.mark.parametrize("attention_kind", ["softmax", "linear"])
@pytest.mark.parametrize("N", [3, 40])
def test_initial_states(attention_kind, N):
    spec = ModelSpec(attention=attention_kind, T=8, V=4, gamma=0.7)
    rng = np.random.default_rng(6)
    Q, K = initial_state(spec, N, "copy", rng)
    assert Q.shape == K.shape == (8, N)
    A = attention(spec, Q @ K.T / N)
    if N >= spec.T:  # exact construction: S is the requested copy pattern
        assert copy_order_parameter(A) == pytest.approx(0.95, abs=1e-9)
    else:            # rank-N truncation still favours the previous token strongly
        assert copy_order_parameter(A) > 2.0 / spec.T
    Q, K = initial_state(spec, N, "uniform", rng)
    A = attention(spec, Q @ K.T / N)
    expected = 1.0 / spec.T if attention_kind == "softmax" else 0.0
    assert copy_order_parameter(A) == pytest.approx(expected, abs=0.01)
