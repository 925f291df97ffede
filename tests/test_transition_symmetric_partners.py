"""Linear attention is symmetric under S -> -S: its two ordered minima +-s are one phase, never two.

Regression: with sigma_q != sigma_k the automatic range ran to alpha = 1e15 and the engine reported dozens of
"first-order transitions" between the degenerate partners (equal free energy, no jump of df/dalpha).
The reference is the closed form of derivation step e: a single second-order transition at
alpha_c = sigma2 V / (gamma sigma_w sigma_q sigma_k sqrt(T (V - 1))), second order because gamma > gamma_tc.
"""
from __future__ import annotations

import math

import pytest

from copyhead import CopyHeadModel, ModelSpec
from copyhead.numerics.transitions import auto_range, find_transitions


@pytest.mark.parametrize("sigma_q, sigma_k, gamma", [(1.2, 0.9, 1.0), (1.2, 1.0, 1.0), (0.5, 3.0, 2.0),
                                                     (1.0, 1.0, 10.0)])
def test_linear_attention_has_one_second_order_transition(sigma_q, sigma_k, gamma):
    spec = ModelSpec(attention="linear", sigma_q=sigma_q, sigma_k=sigma_k, gamma=gamma)
    T, V = spec.T, spec.V
    gamma_tc = math.sqrt(V - 1) / (2 * math.sqrt(T) * sigma_q * sigma_k * spec.sigma_w)
    assert gamma > gamma_tc
    alpha_c = spec.sigma2 * V / (gamma * spec.sigma_w * sigma_q * sigma_k * math.sqrt(T * (V - 1)))
    problem = CopyHeadModel(spec).problem()
    lo, hi = auto_range(problem)
    report = find_transitions(problem, lo, hi)
    kinds = [(t.kind, t.critical_value, t.flag) for t in report.transitions]
    assert [k for k, _, _ in kinds] == ["second-order"], kinds
    assert abs(report.transitions[0].critical_value / alpha_c - 1) < 1e-10


@pytest.mark.parametrize("sigma2", [1e-30, 1e30])
def test_report_is_ok_only_when_every_transition_is(sigma2):
    """At extreme scales the coexistence Newton may not converge; the report must then not say "ok"."""
    problem = CopyHeadModel(ModelSpec(sigma2=sigma2)).problem()
    report = find_transitions(problem, *auto_range(problem))
    assert report.transitions
    if any(t.flag != "ok" for t in report.transitions):
        assert report.flag != "ok"
    else:
        assert report.flag == "ok"


@pytest.mark.parametrize("gamma", [1e2, 1e4])
def test_softmax_at_large_gamma_keeps_its_jump(gamma):
    """At large gamma the order parameter lives at delta ~ 1/gamma, inside one cell of a sinh grid: the engine
    once missed the copy minimum and called the jump a crossover (flag ok). Reference: equal depth of two
    local minima from numerics.free_energy (an independent minimiser), by Brent on alpha."""
    from copyhead.derivations.scaling import coexistence_exact

    spec = ModelSpec(gamma=gamma)
    problem = CopyHeadModel(spec).problem()
    report = find_transitions(problem, *auto_range(problem))
    (tr,) = [t for t in report.transitions if t.kind == "first-order"]
    reference = coexistence_exact(spec)["alpha_star"]
    assert tr.flag == "ok"
    assert abs(tr.critical_value / reference - 1) < 1e-9


@pytest.mark.parametrize("T", [2 ** 18, 2 ** 28])
def test_automatic_range_finds_the_jump_at_large_context_length(T):
    """At large T the jump is to m ~ T^-1/2, a tiny part of m's total variation: the range chosen from the
    bulk of the variation once missed it (T = 2^18: searched [1.1e4, 1.5e5], no transition, flag ok)."""
    from copyhead.derivations.scaling import coexistence_exact

    spec = ModelSpec(T=T)
    problem = CopyHeadModel(spec).problem()
    report = find_transitions(problem, *auto_range(problem))
    assert report.flag == "ok"
    (tr,) = report.transitions
    assert tr.kind == "first-order"
    assert abs(tr.critical_value / coexistence_exact(spec)["alpha_star"] - 1) < 1e-9
