"""Finite-N one-loop theory: exact Hessians, one-loop means against independent integrals, CLI."""
import json

import numpy as np
import pytest

from copyhead import ModelSpec
from copyhead.cli import main
from copyhead.derivations import finite_n as section
from copyhead.numerics import finite_n as fn
from copyhead.numerics.free_energy import local_minima
from copyhead.numerics.full import _pieces as full_pieces
from copyhead.numerics.network import initial_state
from copyhead.numerics.sampling import mala


@pytest.mark.parametrize("check", [section._check_hessian_finite_differences, section._check_sectors,
                                   section._check_one_loop_exact_T1, section._check_one_loop_cumulants,
                                   section._check_occam_sampled, section._check_saddle_point_density,
                                   section._check_jump_expansion])
def test_derivation_checks_pass(check):
    result = check()
    assert result.passed, result.detail


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


def test_cli_linear_onset(capsys):
    assert main(["finite-n", "--attention", "linear", "--T", "4", "--V", "4", "--alphas", "0.5", "--N", "64",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["jump"] is None and out["onset"]["alpha_c"] > 0 and set(out["onset"]["m_rms"]) == {"64"}


@pytest.mark.parametrize("argv, message", [
    (["--alphas", "-1"], "--alphas"), (["--alphas", "abc"], "--alphas"), (["--alphas", "2", "--N", "1"], "--N"),
    (["--alphas", "2", "--N", "x"], "--N"), (["--alphas", "2", "--T", "1"], "--T"), ([], "--alphas"),
    (["--alphas", "nan"], "--alphas")])
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
