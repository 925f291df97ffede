"""MAP reduction (theory/map_estimate.py) against an independent hand-written objective.

Reference: the ridge data term per N, derived by hand for centred tokens,
E = -(V-1) alpha^2 c^2 / (2 sigma2 (sigma2/sigma_w^2 + alpha M)), c = T m / V, M = T q / V,
with m, q computed from an explicit softmax row; prior term (T-1)|delta|/(sigma_q sigma_k)
(softmax) or T|s|/(sigma_q sigma_k) (linear).
"""
import math

import numpy as np
import pytest
from scipy import optimize

from copyhead.errors import InvalidParameterError
from copyhead.spec import ModelSpec
from copyhead.theory import map_estimate as me


def _energy(spec, a, m, q):
    T, V, s2, sw = spec.T, spec.V, spec.sigma2, spec.sigma_w
    c, M = T * m / V, T * q / V
    return -(V - 1) * a**2 * c**2 / (2 * s2 * (s2 / sw**2 + a * M))


def _softmax_mq(spec, d):
    T = spec.T
    row = np.full(T, -d / T)
    row[0] += d
    z = np.exp(spec.gamma * (row - row.max()))
    w = z / z.sum()
    return w[0], np.sum(w * w)


def _f_softmax(spec, a, d):
    m, q = _softmax_mq(spec, d)
    return (spec.T - 1) * abs(d) / (spec.sigma_q * spec.sigma_k) + _energy(spec, a, m, q)


def _f_linear(spec, a, s_):
    m, q = spec.gamma * s_, (spec.gamma * s_) ** 2
    return spec.T * abs(s_) / (spec.sigma_q * spec.sigma_k) + _energy(spec, a, m, q)


def _brute_global(f, lo, hi):
    grid = np.linspace(lo, hi, 20001)
    vals = np.array([f(x) for x in grid])
    i = int(np.argmin(vals))
    if vals[i] == f(0.0) and abs(grid[i]) < (hi - lo) / 20000:
        return 0.0, vals[i]
    res = optimize.minimize_scalar(f, bounds=(grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]),
                                   method="bounded", options={"xatol": 1e-12})
    return res.x, res.fun


@pytest.mark.parametrize("spec,a", [(ModelSpec(), 12.0), (ModelSpec(), 4.0), (ModelSpec(T=8, V=16, gamma=1.5), 9.0),
                                    (ModelSpec(sigma_q=1.3, sigma_k=0.7, sigma_w=1.2, sigma2=0.8), 15.0)])
def test_softmax_global_minimum_matches_brute_force(spec, a):
    mins = me.map_minima(spec, a)
    glob = [mn for mn in mins if mn.is_global][0]
    x_ref, f_ref = _brute_global(lambda d: _f_softmax(spec, a, d), -6.0, 12.0)
    assert glob.order_parameter == pytest.approx(x_ref, abs=1e-6)
    m_ref, _ = _softmax_mq(spec, x_ref)
    assert glob.m == pytest.approx(m_ref, abs=1e-7)
    # objectives differ by the data constant only: compare differences between minima instead
    for mn in mins:
        assert mn.f - glob.f == pytest.approx(_f_softmax(spec, a, mn.order_parameter) - f_ref, abs=1e-8)


def test_linear_minima_are_symmetric_and_match_brute_force():
    spec = ModelSpec(attention="linear", T=8, V=8)
    mins = me.map_minima(spec, 6.0)
    smooth = sorted(mn.order_parameter for mn in mins if mn.kind == "smooth")
    assert len(smooth) == 2 and smooth[0] == pytest.approx(-smooth[1], rel=1e-12)
    x_ref, _ = _brute_global(lambda v: _f_linear(spec, 6.0, v), 0.0, 3.0)
    assert smooth[1] == pytest.approx(x_ref, abs=1e-6)
    assert any(mn.kind == "kink" and not mn.is_global for mn in mins)


def test_linear_origin_is_always_a_map_minimum():
    spec = ModelSpec(attention="linear", T=8, V=8)
    for a in (0.5, 2.0, 20.0):
        assert any(mn.kind == "kink" and mn.order_parameter == 0.0 for mn in me.map_minima(spec, a))


def test_softmax_kink_threshold_hand_formula():
    spec = ModelSpec()  # T = V = 16: ratio = alpha^2 (V-1) / (T V (V + alpha)) with unit sigmas
    T, V = spec.T, spec.V
    a_thr = optimize.brentq(lambda a: a**2 * (V - 1) / (T * V * (V + a)) - 1, 1, 100)
    assert a_thr == pytest.approx(27.13, abs=0.01)
    below = me.map_minima(spec, a_thr - 0.3)
    above = me.map_minima(spec, a_thr + 0.3)
    assert any(mn.kind == "kink" for mn in below)
    assert not any(mn.kind == "kink" for mn in above)
    kink = [mn for mn in below if mn.kind == "kink"][0]
    assert kink.m == pytest.approx(1 / T) and kink.q == pytest.approx(1 / T)


def test_unsupported_inputs():
    with pytest.raises(InvalidParameterError):
        me.map_minima(ModelSpec(prior="gaussian-logit"), 3.0)
    with pytest.raises(NotImplementedError):
        me.map_minima(ModelSpec(attention="linear", tokens="onehot"), 3.0)
    with pytest.raises(InvalidParameterError):
        me.map_minima(ModelSpec(), -1.0)
    with pytest.raises(InvalidParameterError):
        me.map_minima(ModelSpec(), math.nan)
