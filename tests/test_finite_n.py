"""Finite-N one-loop theory: exact Hessians, one-loop means against independent integrals, CLI."""
import json

import numpy as np
import pytest

from copyhead import ModelSpec
from copyhead.cli import main
from copyhead.derivations import finite_n as section
from copyhead.errors import InvalidParameterError
from copyhead.numerics import finite_n as fn
from copyhead.numerics.free_energy import local_minima
from copyhead.numerics.full import _pieces as full_pieces
from copyhead.numerics.network import initial_state
from copyhead.numerics.sampling import mala


@pytest.mark.parametrize("check", [section._check_hessian_finite_differences, section._check_sectors,
                                   section._check_one_loop_exact_T1, section._check_one_loop_cumulants,
                                   section._check_occam_sampled, section._check_saddle_point_density,
                                   section._check_jump_expansion, section._check_kramers_mfpt,
                                   section._check_langer_pieces])
def test_derivation_checks_pass(check):
    result = check()
    assert result.passed, result.detail


@pytest.mark.parametrize("spec, alpha", [(ModelSpec(T=4, V=4), 8.0), (ModelSpec(T=5, V=3, tokens="onehot"), 6.0),
                                         (ModelSpec(T=6, V=4, attention="linear", gamma=0.7), 3.0),
                                         (ModelSpec(T=7, V=3, prior="gaussian-logit", sigma_k=0.8), 9.0),
                                         (ModelSpec(T=8, V=5, sigma_q=1.3), 5.6)])
def test_fourier_blocks_equal_sector_basis_and_dense(spec, alpha):
    """The closed-form Fourier blocks give the same c, variance and Phi as the explicit sector basis and as
    the dense T^2 x T^2 matrices (which need no circulant structure), at every minimum."""
    for mn in local_minima(spec, alpha):
        S = fn.logit_matrix(spec, list(mn.order_parameters.values()))
        results = {method: fn.mean_correction(spec, alpha, S, method) for method in fn.METHODS}
        ref_c, ref_var, ref_phi, _ = results["dense"]
        for method in ("fourier", "sector-basis"):
            c, var, phi, _ = results[method]
            for key in ref_c:
                assert abs(c[key] - ref_c[key]) <= 1e-10 * (1 + abs(ref_c[key])), (method, key)
            for key in ref_phi:
                assert abs(phi[key] - ref_phi[key]) <= 1e-10 * (1 + abs(ref_phi[key])), (method, key)
            assert abs(var - ref_var) <= 1e-10 * (1 + abs(ref_var))


def test_barriers_carry_kramers_times():
    spec, Ns = ModelSpec(T=8), (32, 512)
    (row,) = fn.barriers(spec, [5.6], Ns)
    assert row["kappa"] > 0 and row["saddle_negative_count"] == 1
    for N in Ns:
        for side in ("low_m", "high_m"):
            assert abs(row["log_tau"][str(N)][side] - row["log_tau0"][side] - N * row["dF_from"][side]) < 1e-9
            assert abs(row["effective_barrier"][str(N)][side] - row["log_tau"][str(N)][side]
                       - np.log(row["kappa"] / (2 * np.pi))) < 1e-9
    # the copy side's O(1) terms exceed N dF at N = 32 (no activated escape there): flagged, not hidden
    assert row["effective_barrier"]["32"]["high_m"] < 5 and "N = 32 from high_m" in row["flag"]


def test_library_rejects_bad_alpha_and_large_T():
    with pytest.raises(InvalidParameterError, match="alpha"):
        fn.points(ModelSpec(T=4), [0.0])
    with pytest.raises(InvalidParameterError, match="T"):
        fn.points(ModelSpec(T=fn.MAX_T + 1), [2.0])
    for call in (lambda: fn.jump(ModelSpec(T=8), [1]), lambda: fn.barriers(ModelSpec(T=8), [5.6], [0]),
                 lambda: fn.onset(ModelSpec(attention="linear", T=4), [2.5])):
        with pytest.raises(InvalidParameterError, match="N"):
            call()


def test_verify_prints_the_one_loop_prediction(capsys):
    argv = ["verify", "--T", "4", "--V", "4", "--alphas", "8", "--N", "16", "--steps", "30", "--chains", "1",
            "--inits", "copy", "--workers", "1"]
    assert main([*argv, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    (row,) = out["finite_n"]["rows"]
    (p,) = fn.points(ModelSpec(T=4, V=4), [8.0])
    assert row["branch"] == p.branch and abs(row["m_N"] - p.m_N(16)) < 1e-12 and row["flag"] == "ok"
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "one-loop m_N" in text and f"{p.m_N(16):.4f}" in text


def test_verify_with_adam_has_no_posterior_prediction(capsys):
    assert main(["verify", "--T", "4", "--V", "4", "--alphas", "8", "--N", "16", "--steps", "5", "--chains", "1",
                 "--inits", "copy", "--workers", "1", "--sampler", "adam", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["finite_n"] is None


def test_stationary_and_symmetric_uniform_branch():
    # the uniform branch's correction is tiny (README: matches to 1e-3), the copy branch's is O(1)
    out = {p.branch: p for p in fn.points(ModelSpec(), [8.0])}
    assert out["copy"].gradient_norm < 1e-10 and out["uniform"].gradient_norm < 1e-10
    assert abs(out["uniform"].m_correction) < 0.05 < abs(out["copy"].m_correction)
    parts = out["copy"].parts["m_correction"]
    assert abs(sum(parts.values()) - out["copy"].m_correction) < 1e-12


def test_linear_symmetric_point_has_no_mean_shift():
    (p,) = fn.points(ModelSpec(attention="linear", T=4, V=4), [0.5])
    assert p.branch == "symmetric" and abs(p.m_correction) < 1e-8 and p.m_std_sqrtN > 0


def test_jump_shift_consistent_with_solved_balance():
    out = fn.jump(ModelSpec(T=8), Ns=(1000,))
    assert out is not None and out["shift"] > 0
    assert abs((out["alpha_eq"]["1000"] - out["alpha_star"]) * 1000 - out["shift"]) < 0.03 * out["shift"]
    assert abs(sum(out["parts"].values()) - out["shift"]) < 1e-9


def test_cli_json_shape(capsys):
    assert main(["finite-n", "--T", "6", "--V", "5", "--alphas", "6", "--N", "32", "64", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"points", "jump", "onset", "barriers"}
    point = out["points"][0]
    assert set(point) >= {"alpha", "branch", "m", "m_correction", "m_std_sqrtN", "m_N", "parts", "flag"}
    assert set(point["m_N"]) == {"32", "64"}
    assert abs(point["m_N"]["32"] - point["m"] - point["m_correction"] / 32) < 1e-12


def test_soft_mode_m_rms_tends_to_the_gaussian_below_alpha_c():
    """Below alpha_c the soft-mode integral must give <s^2> = 1/(N f2 + Phi2) - f4/(2 N^2 f2^3) + ...:
    N (m_rms sqrt(N f2)/gamma - 1) -> -Phi2/(2 f2) - f4/(4 f2^2) (f2, f4, Phi2: second and fourth derivatives
    at s = 0; f2 from the generated Hessian, f4 and Phi2 by finite differences, independent of the quadrature)."""
    from copyhead.numerics.compiled import compiled_model

    spec, a = ModelSpec(attention="linear", T=6, V=5, gamma=0.7), 0.5
    fe = compiled_model("linear", "centred", "bilinear")
    params = list(spec.numeric_params.values())
    f2 = float(fe.hessian([0.0], a, params)[0, 0])
    h = 0.05
    f4 = sum(c * float(fe.value([k * h], a, params)) for k, c in ((-2, 1), (-1, -4), (0, 6), (1, -4), (2, 1))) / h**4
    phi = fn._soft_mode_potential(spec, a, [-1e-2, 0.0, 1e-2])
    phi2 = (phi[0] - 2 * phi[1] + phi[2]) / 1e-4
    expected = -phi2 / (2 * f2) - f4 / (4 * f2**2)
    for N in (2000, 8000):
        value = fn.soft_mode_m_rms(spec, a, [N])["with_phi"][str(N)]
        assert abs(N * (value * np.sqrt(N * f2) / spec.gamma - 1) - expected) < 0.01 * abs(expected) + 2e-3


def test_cli_linear_onset(capsys):
    assert main(["finite-n", "--attention", "linear", "--T", "4", "--V", "4", "--alphas", "0.5", "--N", "64",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["jump"] is None and out["onset"]["alpha_c"] > 0 and set(out["onset"]["m_rms"]) == {"64"}
    (row,) = out["onset"]["m_rms_curve"]
    assert row["alpha"] == 0.5 and 0 < row["m_rms"]["64"] < row["m_rms_leading"]["64"] * 1.5


@pytest.mark.parametrize("argv, message", [
    (["--alphas", "-1"], "--alphas"), (["--alphas", "abc"], "--alphas"), (["--alphas", "2", "--N", "1"], "--N"),
    (["--alphas", "2", "--N", "x"], "--N"), (["--alphas", "2", "--T", "1"], "--T"), ([], "--alphas"),
    (["--alphas", "nan"], "--alphas"), (["--alphas", "0"], "--alphas"), (["--alphas", "2", "--N", "0"], "--N"),
    (["--alphas", "2", "--T", "129"], "--T")])
def test_cli_bad_input_one_line(capsys, argv, message):
    assert main(["finite-n", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


@pytest.mark.slow
def test_one_loop_mean_against_mala_on_the_annealed_posterior():
    """Independent: MALA over Q, K in R^{T x N} (exact Gaussian prior, no saddle point) with the population energy
    and h_W; <m>_N against m* + c/N. T=3, V=4, alpha=8, N=16: c/N = -0.0185."""
    spec, a, N = ModelSpec(T=3, V=4), 8.0, 16
    (mn,) = local_minima(spec, a)
    pred = fn.one_loop(spec, a, mn, "copy")
    energy = full_pieces(spec.tokens, spec.prior)[2]
    T = spec.T

    def target(th):
        Q, K = th[:T * N].reshape(T, N), th[T * N:].reshape(T, N)
        S = Q @ K.T / N
        p = fn._Point(spec, a, S)
        E = float(energy(*p.ov, T, spec.V, a, spec.sigma2, spec.sigma_w))
        dS = -p.backprop(N * p.e_grad + p.occam_grad)
        grad = np.concatenate([(dS @ K / N - Q).ravel(), (dS.T @ Q / N - K).ravel()])
        return -0.5 * np.sum(Q * Q) - 0.5 * np.sum(K * K) - N * E - p.occam, grad, p.ov[0]

    rng = np.random.default_rng(3)
    means = []
    for _ in range(2):
        Q, K = initial_state(spec, N, "copy", rng, m_target=mn.m)
        run = mala(target, np.concatenate([Q.ravel(), K.ravel()]), step=0.1, n_steps=30000, rng=rng)
        means.append(run.observable[15000:].mean())
    measured = float(np.mean(means))
    assert abs(measured - pred.m_N(N)) < 0.1 * abs(pred.m_correction / N), (measured, pred.m_N(N), pred.m)


@pytest.mark.slow
def test_barrier_times_beyond_double_precision_stay_finite_in_json():
    """Failed before: at T = 64 log tau0 = 823 overflowed math.exp (internal error of finite-n). Now tau0 is inf,
    null in the command's JSON, log_tau0 carries the value, and the row is flagged (the circulant saddle has 64
    unstable directions)."""
    from copyhead._finite_n_cli import _clean

    (row,) = fn.barriers(ModelSpec(T=64, V=64), [6.0], [64])
    assert row["log_tau0"]["low_m"] > 700 and json.loads(json.dumps(_clean(row)))["tau0"]["low_m"] is None
    assert row["saddle_negative_count"] > 1 and "unstable directions" in row["flag"]


def test_cli_reports_an_alpha_without_a_usable_minimum_and_keeps_the_others(capsys):
    """At alpha_c (linear) the soft mode has zero curvature: that alpha is listed with its reason, alpha = 2 is
    still predicted; with only alpha_c the command fails with one line (exit 1)."""
    alpha_c = repr(fn.onset(ModelSpec(attention="linear", T=4, V=4))["alpha_c"])
    assert main(["finite-n", "--attention", "linear", "--T", "4", "--V", "4", "--alphas", alpha_c, "2", "--N", "64",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [f["alpha"] for f in out["failed_alphas"]] == [float(alpha_c)]
    assert {p["alpha"] for p in out["points"]} == {2.0}
    assert main(["finite-n", "--attention", "linear", "--T", "4", "--V", "4", "--alphas", alpha_c, "--N", "64"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "alpha" in err and "Traceback" not in err


def test_single_minimum_branch_names():
    (low,) = fn.points(ModelSpec(T=3), [0.01])
    (high,) = fn.points(ModelSpec(T=3), [100.0])
    assert (low.branch, high.branch) == ("uniform", "copy")


def test_hysteresis_edges_widen_with_N_and_sit_where_tau_equals_the_run_time(capsys):
    spec, run_time = ModelSpec(T=8), 1e4
    out = fn.hysteresis_edges(spec, [128, 512], run_time)
    e128, e512 = out["edges"]["128"], out["edges"]["512"]
    assert out["spinodals"][0] < e512["down"]["alpha"] < e128["down"]["alpha"] < e128["up"]["alpha"] \
        < e512["up"]["alpha"] < out["spinodals"][1]
    (row,) = fn.barriers(spec, [e128["up"]["alpha"]], [128])
    assert abs(row["log_tau"]["128"]["low_m"] - np.log(run_time)) < 1e-6
    assert main(["finite-n", "--T", "8", "--alphas", "5.6", "--run-time", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--run-time" in err
    with pytest.raises(InvalidParameterError, match="run_time"):
        fn.hysteresis_edges(spec, [128], float("nan"))


def test_prediction_beside_a_chain_on_the_mirror_branch():
    """Linear attention: a chain at m < 0 (the S -> -S mirror) is set beside the mirrored prediction."""
    spec = ModelSpec(attention="linear", T=4, V=4)
    (p,) = [q for q in fn.points(spec, [3.0]) if q.branch == "broken"]
    rows = fn.predictions_for_measurements(spec, [(64, 3.0, -p.m), (64, 3.0, p.m)])["rows"]
    assert rows[0]["m_N"] == pytest.approx(-p.m_N(64)) and rows[1]["m_N"] == pytest.approx(p.m_N(64))
    assert rows[0]["branch"] == rows[1]["branch"] == "broken"


def test_saddle_state_and_kappa_match_the_dynamics_module():
    """finite_n builds the ODE state and Jacobian from the disk-cached blocks (no SymPy when warm): the same state
    as numerics.dynamics._state_at_minimum and the same unstable eigenvalue as its CompiledDynamics.jac."""
    from copyhead.numerics.dynamics import _params, _state_at_minimum, compiled_dynamics

    spec, a = ModelSpec(T=8), 5.6
    (row,) = fn.barriers(spec, [a])
    x = row["saddle_order_parameter"]
    cd = compiled_dynamics(spec.attention, spec.tokens, spec.prior, "langevin")
    y = _state_at_minimum(spec, cd, [x])
    assert np.array_equal(y, fn._saddle_state(spec, x))
    assert row["kappa"] == pytest.approx(float(np.max(np.linalg.eigvals(cd.jac(y, _params(spec, a))).real)), rel=1e-12)
