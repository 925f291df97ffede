"""Local minima of the reduced free energy: stationarity, curvature and the expected phases."""
import math

import numpy as np
import pytest

from copyhead import InvalidParameterError, ModelSpec
from copyhead.numerics.compiled import compiled_model
from copyhead.numerics.free_energy import local_minima, model_params


def _alpha_c(spec):
    # closed form of THEORY.md's Landau step, typed independently here as the reference
    return spec.sigma2 * spec.V / (spec.gamma * spec.sigma_w * spec.sigma_q * spec.sigma_k * math.sqrt(spec.T * (spec.V - 1)))


@pytest.mark.parametrize("spec,alpha", [(ModelSpec(), 6.0), (ModelSpec(), 3.0), (ModelSpec(attention="linear"), 2.0),
                                        (ModelSpec(attention="linear", tokens="onehot"), 1.5),
                                        (ModelSpec(prior="gaussian-logit", T=8), 7.0)])
def test_minima_are_stationary_with_positive_curvature(spec, alpha):
    fe = compiled_model(spec.attention, spec.tokens, spec.prior)
    for mn in local_minima(spec, alpha):
        x = list(mn.order_parameters.values())
        assert np.linalg.norm(fe.gradient(x, alpha, model_params(spec, alpha))) < 1e-8
        assert min(mn.hessian_eigenvalues) > 0


def test_softmax_is_bistable_inside_the_spinodal_window():
    minima = local_minima(ModelSpec(), 6.0)
    assert len(minima) == 2
    assert minima[0].is_global and not minima[1].is_global
    assert minima[0].m > 0.4 > 0.1 > minima[1].m   # copy state beats the near-uniform one at alpha = 6


def test_linear_symmetric_phase_below_alpha_c_and_broken_above():
    spec = ModelSpec(attention="linear")
    ac = _alpha_c(spec)
    below = local_minima(spec, 0.9 * ac)
    assert len(below) == 1 and abs(below[0].m) < 1e-12
    above = local_minima(spec, 1.2 * ac)
    assert len(above) == 2 and np.isclose(above[0].m, -above[1].m, rtol=1e-10)
    assert all(abs(mn.m) > 0.1 for mn in above)


def test_order_parameter_exponent_is_one_half():
    spec = ModelSpec(attention="linear")
    ac = _alpha_c(spec)
    eps = np.array([1e-6, 1e-5])
    m = [max(abs(mn.m) for mn in local_minima(spec, ac * (1 + e))) for e in eps]
    slope = np.log(m[1] / m[0]) / np.log(eps[1] / eps[0])
    assert abs(slope - 0.5) < 1e-3


@pytest.mark.parametrize("alpha", [0.0, -1.0, float("nan"), float("inf"), "2", True])
def test_bad_alpha_is_named(alpha):
    with pytest.raises(InvalidParameterError, match="^alpha"):
        local_minima(ModelSpec(), alpha)
