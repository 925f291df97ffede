"""The replica-exchange and hysteresis experiment scripts: helpers against hand-computed cases, refusal to
overwrite, one-line errors."""
import math

import numpy as np
import pytest

def test_jump_helpers(load_experiment):
    j = load_experiment("finite_n_jump.py")
    rng = np.random.default_rng(0)
    two = np.concatenate([rng.normal(0.15, 0.02, 5000), rng.normal(0.5, 0.03, 3000)])
    assert 0.2 < j.valley(two) < 0.42
    assert j.valley(rng.normal(0.15, 0.02, 5000)) is None
    # logit-linear interpolation: p = 0.2 at n = 10, 0.8 at n = 12 -> crossing at n = 11 (symmetric logits)
    assert j.crossing([8, 10, 12], [0.0, 0.2, 0.8], N=2) == pytest.approx(5.5)
    assert j.crossing([8, 10], [0.1, 0.2], N=2) is None
    # equal weights: plain fraction, Kish fraction 1; one dominant weight: Kish fraction 1/n
    p, k = j.weighted_copy_fraction(np.zeros(4), np.array([1.0, 0, 0, 1]))
    assert p == 0.5 and k == pytest.approx(1.0)
    p, k = j.weighted_copy_fraction(np.array([50.0, 0, 0, 0]), np.array([1.0, 0, 0, 0]))
    assert p == pytest.approx(1.0) and k == pytest.approx(0.25, rel=1e-6)
    # recentring: whole window above 1/2 -> move down half a window; bracket -> middle
    bracket = [None, None]
    res = {"alpha_eq": None, "p_copy": [0.9, 1.0], "p_copy_rung0": 1.0}
    assert j.recentre(res, [-4, 0, 4], 100, bracket) == 96 and bracket == [None, 100]
    res = {"alpha_eq": None, "p_copy": [0.0, 0.1], "p_copy_rung0": 0.0}
    assert j.recentre(res, [-4, 0, 4], 96, bracket) == 98 and bracket == [96, 100]
    found = {"alpha_eq": 5.0, "n": [96, 100], "alpha": [4.8, 5.0], "p_copy_rung0": 0.02}
    assert j.recentre(found, [-4, 0, 4], 100, [None, None]) == 100
    assert j.recentre(dict(found, p_copy_rung0=0.5), [-4, 0, 4], 100, [None, None]) is None


def test_jump_analysis_recovers_a_known_crossing(load_experiment):
    """Synthetic rung-0 draws: P(copy at n) = sigmoid(n - 100) exactly when the copy draws carry the weights
    exp(+(n - n0)/2) and the uniform ones exp(-(n - n0)/2) at n0 = 100 with equal counts."""
    j = load_experiment("finite_n_jump.py")
    offsets = [-4, -2, 0, 2, 4]
    S = 400
    m = np.tile(np.r_[np.full(S // 2, 0.5), np.full(S // 2, 0.15)], (2, 1))
    copy = m > 0.33
    ll = np.stack([np.where(copy, o / 2, -o / 2) for o in offsets], axis=2)
    res = j.analyse(ll, m, offsets, 100, 50, 0.33, blocks=2)
    assert res["p_copy"][0] == pytest.approx(1 / (1 + math.e ** 4))
    assert res["alpha_eq"] == pytest.approx(2.0)


@pytest.mark.parametrize("script, output", [("finite_n_jump.py", "finite_n_jump.json"),
                                            ("finite_n_hysteresis.py", "finite_n_hysteresis.json")])
def test_scripts_refuse_to_overwrite_and_reject_bad_input_in_one_line(script, output, tmp_path, capsys, load_experiment):
    mod = load_experiment(script)
    (tmp_path / output).write_text("{}")
    assert mod.main(["--out", str(tmp_path)]) == 2
    assert "--force" in capsys.readouterr().err and (tmp_path / output).read_text() == "{}"
    assert mod.main(["--attention", "linear", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--attention" in err and not (tmp_path / "o").exists()


def test_hysteresis_edges(load_experiment):
    h = load_experiment("finite_n_hysteresis.py")
    alphas = np.array([5.0, 5.5, 6.0, 6.5])
    means = np.array([[0.1, 0.1, 0.5, 0.5], [0.1, 0.1, 0.1, 0.1], [0.5, 0.5, 0.5, 0.5]])
    assert h.edges(alphas, means, 0.33, rising=True) == ([6.0, None, None], 1)
