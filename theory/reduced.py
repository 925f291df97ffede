"""The free energy per N and its reduction to order parameters.

f(S; alpha) = sum_i phi(s_i(S) / (sigma_q sigma_k)) + energy(A(S)) + data constant.

Softmax: S = delta (Pi - J/T) + (constant mode). The constant Fourier mode does
not change A (rows are shift invariant) and is set to its prior optimum, zero.
Linear, centred: S = s Pi. Linear, onehot: the constant mode u (the row sum)
drives the mean-token channel, so S = s Pi + (u - s) J/T keeps it.
The reduction is proved numerically in derivations/reduction.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from copyhead.errors import DerivationCheckFailed, InvalidParameterError

from . import population
from .functions import RATE_FUNCTIONS
from .symbols import MODEL_PARAMS, R, T, delta, gamma, m, q, r, s, sigma_k, sigma_q, u


@dataclass(frozen=True)
class Kinematics:
    """Attention overlaps as functions of the order parameters.

    target_logit/other_logit: S entries at offset 1 and at the other T-1 offsets;
    singular_values: (value, multiplicity) of S.
    """

    order_params: tuple
    target_logit: sp.Expr
    other_logit: sp.Expr
    singular_values: tuple
    m: sp.Expr
    q: sp.Expr
    r: sp.Expr
    R: sp.Expr


def softmax_row(target_logit, other_logit):
    """(target weight, other weight) of softmax(gamma * row) with T-1 equal others."""
    z_t, z_o = sp.exp(gamma * target_logit), sp.exp(gamma * other_logit)
    denominator = z_t + (T - 1) * z_o
    return z_t / denominator, z_o / denominator


def check_family(attention: str, tokens: str, prior: str | None = None) -> None:
    """Unknown names are errors, never a silent fallback to another family."""
    from copyhead.spec import ATTENTIONS, PRIORS, TOKENS, check_choice

    check_choice("attention", attention, ATTENTIONS)
    check_choice("tokens", tokens, TOKENS)
    if prior is not None:
        check_choice("prior", prior, PRIORS)


@lru_cache(maxsize=None)
def kinematics(attention: str, tokens: str) -> Kinematics:
    check_family(attention, tokens)
    if attention == "softmax":
        target_logit, other_logit = delta * (1 - 1 / T), -delta / T
        w_t, w_o = softmax_row(target_logit, other_logit)
        # exp(-gamma delta) form: overflow-safe for delta -> +oo, the copy side.
        m_ = 1 / (1 + (T - 1) * sp.exp(-gamma * delta))
        if sp.simplify(w_t - m_) != 0:
            raise DerivationCheckFailed("softmax kinematics", "the target weight did not simplify to the logistic form")
        w_o_ = (1 - m_) / (T - 1)
        if sp.simplify(w_o - w_o_) != 0:
            raise DerivationCheckFailed("softmax kinematics", "the off-target weight did not simplify")
        return Kinematics((delta,), target_logit, other_logit, ((sp.Abs(delta), T - 1), (sp.Integer(0), 1)),
                          m_, m_**2 + (T - 1) * w_o_**2, sp.Integer(1), sp.Integer(1))
    if tokens == "centred":
        return Kinematics((s,), s, sp.Integer(0), ((sp.Abs(s), T),), gamma * s, gamma**2 * s**2, gamma * s,
                          gamma**2 * s**2)
    target_logit, other_logit = s + (u - s) / T, (u - s) / T
    w_t, w_o = gamma * target_logit, gamma * other_logit
    return Kinematics((s, u), target_logit, other_logit, ((sp.Abs(s), T - 1), (sp.Abs(u), 1)), w_t,
                      sp.expand(w_t**2 + (T - 1) * w_o**2), gamma * u, gamma**2 * u**2)


@dataclass(frozen=True)
class ReducedModel:
    """The reduced free energy of one (attention, tokens, prior) family.

    free_energy contains the rate as an unevaluated SymPy Function (call
    .doit() for the closed form); parameters are MODEL_PARAMS and alpha.
    symmetric_point: order-parameter values fixed by S -> -S (linear) or None.
    """

    attention: str
    tokens: str
    prior: str
    order_params: tuple
    free_energy: sp.Expr
    prior_rate: sp.Expr
    energy: sp.Expr
    m: sp.Expr
    q: sp.Expr
    symmetric_point: tuple | None

    @property
    def params(self) -> tuple:
        return MODEL_PARAMS


@lru_cache(maxsize=None)
def reduced_model(attention: str, tokens: str, prior: str) -> ReducedModel:
    check_family(attention, tokens, prior)
    kin = kinematics(attention, tokens)
    rate = RATE_FUNCTIONS[prior]
    scale = sigma_q * sigma_k
    prior_rate = sum(mult * rate(sv / scale) for sv, mult in kin.singular_values if sv != 0)
    # phi is even: drop Abs so the expression stays differentiable at 0.
    prior_rate = prior_rate.replace(sp.Abs, lambda arg: arg)
    energy_ = population.energy(tokens).subs({m: kin.m, q: kin.q, r: kin.r, R: kin.R}, simultaneous=True)
    total = prior_rate + energy_ + population.data_constant(tokens)
    symmetric = None if attention == "softmax" else tuple(sp.Integer(0) for _ in kin.order_params)
    return ReducedModel(attention, tokens, prior, kin.order_params, total, prior_rate, energy_, kin.m, kin.q,
                        symmetric)


@lru_cache(maxsize=None)
def stationarity_polynomial(attention: str, tokens: str, prior: str) -> sp.Poly:
    """The numerator of df/dx (one order parameter x) as a polynomial in alpha: at fixed x its positive roots
    are the alphas where x is stationary (the denominators are positive)."""
    from .symbols import alpha

    rm = reduced_model(attention, tokens, prior)
    if len(rm.order_params) != 1:
        raise InvalidParameterError("tokens", f"{attention}/{tokens} has {len(rm.order_params)} order parameters; "
                                              "one is needed")
    numerator, _ = sp.fraction(sp.together(sp.diff(rm.free_energy, rm.order_params[0]).doit()))
    return sp.Poly(sp.expand(numerator), alpha)


def all_families():
    return [(att, tok, pri) for att in ("softmax", "linear") for tok in ("centred", "onehot")
            for pri in ("bilinear", "gaussian-logit")]


__all__ = ["Kinematics", "ReducedModel", "kinematics", "reduced_model", "softmax_row", "all_families", "stationarity_polynomial"]
