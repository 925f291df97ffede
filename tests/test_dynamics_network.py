"""The overlap ODE against the finite network sampled with ULA (ensemble averages along time). Slow."""
import numpy as np
import pytest

from copyhead import ModelSpec
from copyhead.numerics import dynamics as nd


@pytest.mark.slow
def test_ode_matches_ula_ensemble_softmax():
    spec = ModelSpec(T=8, V=8)
    info = nd.spinodal_info(spec)
    alpha = 1.3 * info["upper"]
    ode = nd.trajectory(spec, alpha, t_max=8.0, n_points=801, spinodal_info=info)
    deviations = {}
    for N, chains in ((256, 4), (1024, 3)):
        net = nd.ula_overlaps(spec, alpha, N, t_max=8.0, step=0.005, chains=chains, seed=3)
        t = np.array(net.t)
        m_dev = np.abs(np.array(net.m) - np.interp(t, ode.t, ode.m))
        p_dev = np.abs(np.array(net.p) - np.interp(t, ode.t, ode.states["delta"]))
        a_dev = np.abs(np.array(net.a) - np.interp(t, ode.t, ode.states["a_delta"]))
        deviations[N] = (m_dev.max(), p_dev.max() / max(ode.states["delta"]), a_dev.max() / max(ode.states["a_delta"]))
        # emergence: the ensemble crosses the same midpoint within a few output steps of the ODE
        crossing = t[np.argmax(np.array(net.m) >= ode.branches.midpoint)]
        assert abs(crossing - ode.t_emerge) < 0.15 * ode.t_emerge
    for N, (m_dev, p_rel, a_rel) in deviations.items():
        assert m_dev < 0.05 and p_rel < 0.08 and a_rel < 0.08, (N, deviations)
