"""The claims of issue 15: exact alpha*(T) exponents, the raw one-hot onset, the reduction proofs."""
from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest

from copyhead import CopyHeadModel, ModelSpec
from copyhead.derivations import reduction, scaling
from copyhead.numerics.transitions import find_transitions


@pytest.mark.parametrize("prior", ["bilinear", "gaussian-logit"])
def test_exact_coexistence_agrees_with_the_engine(prior):
    """mpmath root-finding of the equal-depth condition against the transition engine (independent code)."""
    spec = ModelSpec(prior=prior, T=64)
    exact = scaling.coexistence_exact(spec)
    report = find_transitions(CopyHeadModel(spec).problem(), 0.5 * float(exact["alpha_star"]), 2.0 * float(exact["alpha_star"]))
    first = [t for t in report.transitions if t.kind == "first-order"]
    assert first and abs(first[0].critical_value - float(exact["alpha_star"])) < 1e-9 * first[0].critical_value
    assert abs(exact["alpha_star"] - exact["alpha_star_brent"]) < 1e-8 * exact["alpha_star"]


@pytest.mark.parametrize("kw", [dict(prior="gaussian-logit", sigma_q=0.5),      # window 0.05 % wide, near the end point
                                dict(gamma=10.0, sigma_k=2.0, T=1024)])            # alpha* far below the law
def test_exact_coexistence_off_the_default_model(kw):
    spec = ModelSpec(**kw)
    exact = float(scaling.coexistence_exact(spec)["alpha_star"])
    report = find_transitions(CopyHeadModel(spec).problem(), 0.5 * exact, 2.0 * exact)
    first = [t for t in report.transitions if t.kind == "first-order"]
    assert first and abs(first[0].critical_value - exact) < 1e-9 * exact


def test_local_exponent_against_differences_off_the_default_model():
    """p = T ln T alpha*'(T)/alpha* from the envelope theorem against a difference of exact alpha*, at a model
    outside the derivation's (T = 100, gamma = 0.7, V = 5)."""
    spec = ModelSpec(T=100, V=5, gamma=0.7)
    row = scaling.coexistence_exact(spec)
    h = mp.mpf("1e-5")
    ends = [scaling._alpha_star_at_real_T(spec, mp.exp(mp.exp(mp.log(mp.log(100)) + sign * h)), row)
            for sign in (1, -1)]
    numeric = (mp.log(ends[0]) - mp.log(ends[1])) / (2 * h)
    assert abs(numeric - row["local_exponent"]) < 1e-7
    assert 0 < row["local_exponent"] < 1


def test_below_the_critical_end_point_there_is_no_coexistence():
    with pytest.raises(ArithmeticError, match="no first-order transition"):
        scaling.coexistence_exact(ModelSpec(T=4))
    rows = scaling.local_exponent_table("gaussian-logit", [8, 16])   # Gaussian-logit end point at T = 11.5
    assert "no_first_order" in rows[0] and "local_exponent" in rows[1]


def test_onehot_onset_is_the_engine_transition_and_mostly_the_row_sum_mode():
    spec = ModelSpec(attention="linear", tokens="onehot", T=8, V=5, gamma=1.3)
    onset = reduction.onehot_linear_onset(spec)
    report = find_transitions(CopyHeadModel(spec).problem(), 0.2, 5.0)
    second = [t for t in report.transitions if t.kind == "second-order"]
    assert second and abs(second[0].critical_value - float(onset["alpha_c"])) < 1e-8
    s_, u_ = (float(v) for v in onset["soft_mode"])
    assert abs(s_**2 + u_**2 - 1) < 1e-12 and abs(u_) > abs(s_)
    assert float(onset["alpha_copy_alone"]) > float(onset["alpha_c"])


def test_shift_average_is_a_projection_onto_circulants():
    rng = np.random.default_rng(3)
    with mp.workdps(30):
        S = mp.matrix(rng.normal(size=(5, 5)).tolist())
        once = reduction.shift_average(S)
        twice = reduction.shift_average(once)
        assert mp.mnorm(once - twice, 1) < mp.mpf(10) ** -25
        C = reduction._mp_shift(5) * 2 + mp.eye(5)
        assert mp.mnorm(reduction.shift_average(C) - C, 1) < mp.mpf(10) ** -25


def test_a_concave_rate_would_fail_the_convexity_step():
    """Negative control: sum_i sqrt(sigma_i) is not convex in S, and the pairs of the derivation check find it."""
    rng = np.random.default_rng(4)
    g = lambda M: np.sum(np.sqrt(np.linalg.svd(M, compute_uv=False)))   # noqa: E731
    worst = max(g(w * A + (1 - w) * B) - w * g(A) - (1 - w) * g(B)
                for T_ in (3, 5, 8) for A, B, w in reduction.convexity_pairs(rng, T_))
    assert worst > 0


def test_softmax_full_matrix_search_small_T():
    """The starts include partial-copy and two-offset matrices, and the search reaches the reduced minimum."""
    spec = ModelSpec(T=4, V=6, gamma=2.0)
    out = reduction.softmax_reduction_search(spec, 3.0, seed=1)
    assert out["beaten_by"] < 1e-12 and abs(out["full_f"] - out["reduced_f"]) < 1e-8 * abs(out["reduced_f"])
    assert out["starts"] >= 10


def _softmax_cases():
    cases = []
    for T_ in (8, 16, 32):
        for prior in ("bilinear", "gaussian-logit"):
            if prior == "gaussian-logit" and T_ < 12:        # below its critical end point: crossover only
                cases += [(T_, prior, factor) for factor in ("crossover-low", "crossover-high")]
                continue
            cases += [(T_, prior, factor) for factor in (0.6, 1.0, 1.05, 1.6)]
    return [(T_, prior, 1.0, factor) for T_, prior, factor in cases] + [(T_, "bilinear", 2.0, factor)
                                                                       for T_ in (16, 32) for factor in (0.9, 1.1)]


@pytest.mark.slow
@pytest.mark.parametrize("T_, prior, gamma, factor", _softmax_cases())
def test_softmax_reduction_holds_for_unconstrained_matrices(T_, prior, gamma, factor):
    """Nothing in the unconstrained T x T logit space beats the reduced global minimum (T = 8, 16, 32)."""
    spec = ModelSpec(T=T_, prior=prior, gamma=gamma)
    if isinstance(factor, str):
        alpha_ = 5.0 if factor == "crossover-low" else 14.0
    else:
        alpha_ = factor * float(scaling.coexistence_exact(spec)["alpha_star"])
    out = reduction.softmax_reduction_search(spec, alpha_, seed=T_, random_starts=6)
    assert out["beaten_by"] < 1e-12, out
    assert abs(out["full_f"] - out["reduced_f"]) < 1e-9 * abs(out["reduced_f"]), out
    # the best full matrix is a reduced minimum of the same depth (at alpha* either of the two)
    assert any(abs(f - out["full_f"]) < 1e-9 * abs(f) and abs(m - out["full_m"]) < 1e-6
               for f, m in out["reduced_minima"]), out


def test_scaling_experiment_writes_exact_exponents_and_no_verdict(tmp_path, capsys):
    import importlib.util
    import json
    import pathlib

    path = pathlib.Path(__file__).resolve().parent.parent / "experiments" / "scaling_alpha_star.py"
    module_spec = importlib.util.spec_from_file_location("scaling_alpha_star", path)
    script = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(script)
    out = tmp_path / "s.json"
    assert script.main(["--out", str(out), "--kmin", "4", "--kmax", "10", "--kstep", "3"]) == 0
    result = json.loads(out.read_text())["result"]
    text = out.read_text()
    assert "disagrees" not in text and "agrees with the claim" not in text
    for prior in ("bilinear", "gaussian-logit"):
        engine = {r["T"]: r["alpha_star"] for r in result["priors"][prior]["points"] if "alpha_star" in r}
        for row in result["priors"][prior]["exact_local_exponent"]:
            if row["T"] in engine:       # engine and exact root-finding agree
                assert abs(row["alpha_star"] - engine[row["T"]]) < 1e-8 * row["alpha_star"]
    assert "p = 0.2338" in capsys.readouterr().out          # bilinear, T = 16
    assert script.main(["--out", str(out)]) == 2            # refuses to overwrite
