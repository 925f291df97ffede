"""Overlap ODEs: plateau law, ln N delay, emergence-time definitions, Lyapunov decrease, MAP threshold."""
import math

import numpy as np
import pytest

from copyhead import ModelSpec
from copyhead.numerics import dynamics as nd


@pytest.fixture(scope="module")
def default_info():
    return nd.spinodal_info(ModelSpec())


def test_plateau_law_is_a_saddle_node_bottleneck(default_info):
    law = nd.plateau_law(ModelSpec(), "langevin", default_info["upper"], [1e-5, 1e-4, 1e-3])
    assert abs(law.alpha_sp - default_info["upper"]) < 1e-9 * law.alpha_sp
    assert abs(law.exponent - 0.5) < 0.01
    # t sqrt(d) -> pi/sqrt(c1 c2) (normal form from the Jacobian and second derivatives, not from the runs)
    assert abs(law.scaled[0] / law.saddle_node.prefactor - 1) < 0.01
    # at the fold one eigenvalue vanishes and the others are negative (a saddle-node)
    eig = sorted(law.saddle_node.eigenvalues, key=abs)
    assert abs(eig[0]) < 1e-8 and all(e < 0 for e in eig[1:])


def test_linear_delay_slope_matches_landau_growth_rate():
    """t_emerge = ln N / (2 lambda) + c with lambda = -2 a2 (sigma_q^2 + sigma_k^2)/T (Landau a2, closed form)."""
    from copyhead.theory.landau import landau_expansion
    from copyhead.theory.symbols import MODEL_PARAMS, alpha, sigma_k, sigma_q, T

    spec = ModelSpec(attention="linear", sigma_q=1.2, sigma_k=0.9)
    a = 2.0
    a2 = landau_expansion("bilinear").a2
    lam = -2 * a2 * (sigma_q**2 + sigma_k**2) / T
    values = dict(zip(MODEL_PARAMS, spec.numeric_params.values()))
    lam_value = float(lam.subs({**values, alpha: a}))
    delay = nd.linear_delay(spec, a, [100, 1000, 10000, 100000])
    assert lam_value > 0
    assert abs(delay.growth_rate / lam_value - 1) < 1e-10
    assert abs(delay.slope * 2 * lam_value - 1) < 0.01


def test_emergence_definitions_agree_and_are_solver_independent(default_info):
    spec = ModelSpec()
    for a in (8.7, 9.5, 12.0):
        tr = nd.trajectory(spec, a, t_max=200, spinodal_info=default_info)
        assert tr.final_branch == "copy"
        assert abs(tr.t_peak_rate - tr.t_emerge) < 0.05 * tr.t_emerge
        loose = nd.trajectory(spec, a, t_max=200, rtol=1e-6, atol=1e-9, spinodal_info=default_info)
        assert abs(loose.t_emerge - tr.t_emerge) < 1e-3 * tr.t_emerge


def test_below_spinodal_prior_start_stays_uniform(default_info):
    tr = nd.trajectory(ModelSpec(), 7.0, t_max=500, spinodal_info=default_info)
    assert tr.t_emerge is None and tr.final_branch == "uniform"
    assert abs(tr.m[-1] - tr.branches.uniform_m) < 1e-6


def test_copy_start_stays_on_copy_branch_down_to_lower_spinodal(default_info):
    tr = nd.trajectory(ModelSpec(), default_info["lower"] * 1.02, init="copy", t_max=500, spinodal_info=default_info)
    assert tr.final_branch == "copy"
    tr = nd.trajectory(ModelSpec(), default_info["lower"] * 0.98, init="copy", t_max=500, spinodal_info=default_info)
    assert tr.final_branch == "uniform"


@pytest.mark.parametrize("dynamics", ["langevin", "gradient-flow"])
def test_lyapunov_function_decreases(dynamics):
    spec = ModelSpec(T=8, V=8, sigma_q=1.3)
    cd = nd.compiled_dynamics("softmax", "centred", "bilinear", dynamics)
    tr = nd.trajectory(spec, 30.0 if dynamics == "gradient-flow" else 6.0, dynamics=dynamics, init="copy", t_max=50,
                       n_points=501)
    params = [*spec.numeric_params.values(), tr.alpha]
    ys = np.array([tr.states[name] for name in cd.state_names]).T[1:]   # t = 0 is singular (det M = 0) for copy
    L = np.array([cd.lyapunov(y, params) for y in ys])
    assert np.all(np.diff(L) <= 1e-10 * np.maximum(1, np.abs(L[1:])))
    assert L[0] - L[-1] > 0


def test_gaussian_logit_langevin_equals_gradient_flow():
    spec = ModelSpec(prior="gaussian-logit")
    a, b = (nd.trajectory(spec, 11.0, dynamics=d, t_max=100) for d in ("langevin", "gradient-flow"))
    assert np.allclose(a.m, b.m, atol=1e-9)


def test_gradient_flow_from_uniform_emerges_only_above_the_map_threshold():
    from copyhead.theory.map_estimate import softmax_kink_threshold
    from copyhead.theory.symbols import MODEL_PARAMS, alpha

    spec = ModelSpec(T=8, V=8)
    thr = nd.map_uniform_threshold(spec)
    ratio = softmax_kink_threshold().subs(dict(zip(MODEL_PARAMS, spec.numeric_params.values())))
    assert abs(float(ratio.subs(alpha, thr)) - 1) < 1e-12
    info = nd.spinodal_info(spec, "gradient-flow")
    below = nd.trajectory(spec, 0.97 * thr, dynamics="gradient-flow", init="uniform", t_max=400, spinodal_info=info)
    above = nd.trajectory(spec, 1.05 * thr, dynamics="gradient-flow", init="uniform", t_max=400, spinodal_info=info)
    assert below.t_emerge is None and below.final_branch == "uniform"
    assert above.t_emerge is not None and above.final_branch == "copy"


def test_map_threshold_grows_with_T_unlike_alpha_star():
    thresholds = [nd.map_uniform_threshold(ModelSpec(T=T)) for T in (8, 16, 32, 64)]
    assert all(b > 1.5 * a for a, b in zip(thresholds, thresholds[1:]))


def test_test_error_limits():
    """S = 0 in softmax: m = q = 1/T, w = m/(q + eps); strong copy state: error -> 0 as alpha grows."""
    from copyhead.theory.population import kappa_eps
    from copyhead.theory.symbols import MODEL_PARAMS, alpha

    spec = ModelSpec(T=8, V=5)
    a = 3.0
    eps = float(kappa_eps()[1].subs({**dict(zip(MODEL_PARAMS, spec.numeric_params.values())), alpha: a}))
    w = (1 / 8) / (1 / 8 + eps)
    expected = (4 / 5) * (1 - 2 * w / 8 + w * w / 8)
    assert abs(nd.test_error_at(spec, a, [0.0]) - expected) < 1e-14
    assert abs(nd.test_error_at(spec, a, [0.0], label_noise=0.2) - expected - 5 * 0.2) < 1e-14
    assert nd.test_error_at(spec, 1e6, [40.0]) < 1e-5


def test_learning_curves_jump_at_alpha_star():
    spec = ModelSpec()
    curves = nd.learning_curves(spec, [5.5, 6.5])
    glob = {a: e for a, _, e, g in curves.bayes if g}
    assert curves.alpha_star is not None and 5.5 < curves.alpha_star < 6.5
    assert glob[6.5] < 0.3 < 0.85 < glob[5.5]
    assert curves.map_threshold > 20
    assert curves.alpha_star < curves.map_alpha_star < curves.map_threshold
    from copyhead.theory.map_estimate import map_minima

    for factor, kind in ((0.99, "kink"), (1.01, "smooth")):
        assert [mn.kind for mn in map_minima(spec, factor * curves.map_alpha_star) if mn.is_global] == [kind]


def test_bad_inputs_name_the_parameter():
    from copyhead.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="alpha"):
        nd.trajectory(ModelSpec(), -1.0)
    with pytest.raises(InvalidParameterError, match="init"):
        nd.trajectory(ModelSpec(), 3.0, init="sideways")
    with pytest.raises(InvalidParameterError, match="dynamics"):
        nd.compiled_dynamics("softmax", "centred", "bilinear", "sgd")
    with pytest.raises(InvalidParameterError, match="t_max"):
        nd.trajectory(ModelSpec(), 3.0, t_max=math.inf)


@pytest.mark.slow
def test_circulant_reduction_is_attracting_in_the_full_matrix_ode():
    """The unreduced T x T ODE from a non-circulant perturbation of the prior start follows the reduced ODE."""
    from scipy import integrate

    from copyhead.derivations.dynamics import _full_matrix_drift
    from copyhead.numerics.network import attention, copy_order_parameter

    spec = ModelSpec(T=6)
    info = nd.spinodal_info(spec)
    alpha = 1.3 * info["upper"]      # T = 6 has a first-order transition (V = 16: critical end point at T = 5.06)
    T = spec.T
    rng = np.random.default_rng(5)
    X = 0.05 * rng.standard_normal((2 * T, 2 * T))
    M0 = np.eye(2 * T) + X @ X.T            # positive definite, not circulant
    A0, B0, S0 = M0[:T, :T], M0[T:, T:], M0[:T, T:]

    def rhs(t, y):
        A, B, S = y[:T * T].reshape(T, T), y[T * T:2 * T * T].reshape(T, T), y[2 * T * T:].reshape(T, T)
        return np.concatenate([d.ravel() for d in _full_matrix_drift(spec, alpha, A, B, S, "langevin")])

    ts = np.linspace(0, 15, 61)
    full = integrate.solve_ivp(rhs, (0, 15), np.concatenate([A0.ravel(), B0.ravel(), S0.ravel()]), t_eval=ts,
                               rtol=1e-8, atol=1e-10)
    m_full = [copy_order_parameter(attention(spec, full.y[2 * T * T:, j].reshape(T, T))) for j in range(len(ts))]
    reduced = nd.trajectory(spec, alpha, t_max=15, n_points=61)
    deviation = np.max(np.abs(np.array(m_full) - np.array(reduced.m)))
    assert 0 < deviation < 0.02, deviation   # 0.0077 at the jump (timing); the end states agree
    assert abs(m_full[-1] - reduced.m[-1]) < 1e-4


def test_random_models_end_at_a_minimum_with_positive_overlap_matrix():
    """Random models and starts: the Langevin trajectory ends at a local minimum of f (or, for linear attention
    from S = 0, at the symmetric point) and M = [[a, p], [p, b]] stays positive definite along the way."""
    from copyhead.numerics.free_energy import local_minima

    rng = np.random.default_rng(11)
    for _ in range(6):
        spec = ModelSpec(attention=str(rng.choice(["softmax", "linear"])), T=int(rng.integers(2, 40)),
                         V=int(rng.integers(2, 30)), gamma=float(np.exp(rng.uniform(-1, 1.5))),
                         sigma_q=float(np.exp(rng.uniform(-1, 1))), sigma_k=float(np.exp(rng.uniform(-1, 1))),
                         sigma_w=float(np.exp(rng.uniform(-1, 1))), sigma2=float(np.exp(rng.uniform(-2, 1))))
        alpha = float(np.exp(rng.uniform(-2, 4)))
        init = str(rng.choice(["prior", "copy", "uniform"]))
        N = 1000 if spec.attention == "linear" and init != "copy" else None
        tr = nd.trajectory(spec, alpha, init=init, N=N, t_max=3000, n_points=301)
        assert tr.final_rhs_norm < 1e-6, (spec, alpha, init)
        targets = [mn.m for mn in local_minima(spec, alpha)] + ([0.0] if spec.attention == "linear" else [])
        assert min(abs(tr.m[-1] - t) for t in targets) < 1e-6, (spec, alpha, init, tr.m[-1], targets)
        a, b, p = (np.array(tr.states[k][1:]) for k in tr.states)   # t = 0 of the copy start has det M = 0
        assert np.all(a > 0) and np.all(b > 0) and np.all(a * b - p * p > 0)


def test_branch_names_without_precomputed_spinodals():
    """trajectory() finds the spinodals itself: the default softmax above alpha_sp is 'copy', T = 4 (below the
    critical end point) is 'crossover'; the copy start has m = 0.95 as the finite network's."""
    above = nd.trajectory(ModelSpec(), 10.0, init="copy", t_max=50, n_points=11)
    assert above.final_branch == "copy" and abs(above.m[0] - 0.95) < 1e-12
    assert nd.trajectory(ModelSpec(T=4), 10.0, t_max=50, n_points=11).final_branch == "crossover"
