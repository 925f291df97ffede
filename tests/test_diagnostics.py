"""Rank-normalised R-hat and bulk/tail ESS against cases with known answers."""
import math

import numpy as np

from copyhead.numerics.diagnostics import diagnose, ess_bulk, ess_tail, rhat
from copyhead.numerics.sampling import split_rhat


def test_iid_chains_mix():
    x = np.random.default_rng(0).standard_normal((4, 2000))
    assert abs(rhat(x) - 1) < 0.01
    assert 0.8 * x.size < ess_bulk(x) < 1.2 * x.size and 0.7 * x.size < ess_tail(x) < 1.3 * x.size
    assert diagnose(x)["flag"] == "ok"


def test_ar1_ess_matches_closed_form():
    # AR(1) with coefficient phi: tau = (1 + phi)/(1 - phi)
    rng, phi = np.random.default_rng(1), 0.8
    x = np.zeros((4, 20000))
    for t in range(1, x.shape[1]):
        x[:, t] = phi * x[:, t - 1] + rng.standard_normal(4)
    expected = x.size * (1 - phi) / (1 + phi)
    assert 0.85 * expected < ess_bulk(x) < 1.15 * expected


def test_one_chain_in_another_mode_is_flagged():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 1000))
    x[3] = 3.0 + rng.standard_normal(1000)     # a chain stuck in another mode
    assert rhat(x) > 1.2
    assert "different modes" in diagnose(x)["flag"]


def test_heavy_tail_scale_difference_seen_by_tail_rhat():
    # same location, one chain with 5x the spread: classic R-hat stays near 1, the folded one does not
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 2000))
    x[0] *= 5
    assert split_rhat(x) < 1.01 < rhat(x)


def test_constant_chains_give_nan():
    x = np.ones((2, 100))
    assert math.isnan(rhat(x)) and math.isnan(ess_bulk(x)) and math.isnan(ess_tail(x))
    d = diagnose(x)
    assert d["rhat"] is None and "constant" in d["flag"]


def test_short_chains_flagged():
    rng, phi = np.random.default_rng(4), 0.99
    x = np.zeros((2, 400))
    for t in range(1, 400):
        x[:, t] = phi * x[:, t - 1] + rng.standard_normal(2)
    assert "autocorrelation times" in diagnose(x)["flag"]
