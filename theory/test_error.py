"""Generalisation (test) error of an attention state with the posterior-mean readout, N -> oo.

At fixed attention A the readout posterior is Gaussian; its mean (= its mode, so the same
for Bayes and for the MAP) is the ridge estimate.  In the limit n = alpha N the data
statistics concentrate on the population channels of theory.population: on a channel of
multiplicity mu with population cross moment c and feature moment M (per sequence), the
readout is ``W = w Pi_ch`` and the ridge objective per N is

    alpha mu (T l - 2 w c + w^2 M) / (2 sigma2) + mu w^2 / (2 sigma_w^2),

with ``l = 1/V`` the label second moment per channel dimension.  Its minimiser is
``w = c / (M + sigma2/(alpha sigma_w^2))`` and its minimum is the channel's energy (checked in
derivations/dynamics.py).  A fresh position t then has squared error (summed over the V
output components)

    err = sum_ch mu (l - 2 w c/T + w^2 M/T) + V tau^2,

where tau^2 is the variance of the label noise on the test labels (0: noise-free; training
label noise leaves w unchanged in the limit, it only shifts the data constant).
Centred tokens: err = ((V-1)/V) (1 - 2 w m + w^2 q) with w = m/(q + eps).
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from . import population
from .reduced import kinematics
from .symbols import MODEL_PARAMS, R, T, V, alpha, m, q, r, sigma2, sigma_w

__all__ = ["LABEL_MOMENT", "ridge_objective", "readout_weight", "test_error", "test_error_of_order_params",
           "label_noise"]

label_noise = sp.Symbol("tau2", nonnegative=True)

#: E[y y^T] projected on a channel, per channel dimension (checked by enumeration in derivations/dynamics.py).
LABEL_MOMENT = 1 / V


def ridge_objective(c_, M_, w, mult):
    """Ridge objective per N of one channel with readout W = w Pi_ch (population limit)."""
    return alpha * mult * (T * LABEL_MOMENT - 2 * w * c_ + w**2 * M_) / (2 * sigma2) + mult * w**2 / (2 * sigma_w**2)


@lru_cache(maxsize=None)
def readout_weight() -> sp.Expr:
    """w minimising the ridge objective of a generic channel (c, M), by SymPy."""
    w = sp.Symbol("w", real=True)
    (root,) = sp.solve(sp.diff(ridge_objective(population.c, population.M, w, 1), w), w)
    return sp.simplify(root)


@lru_cache(maxsize=None)
def test_error(tokens: str) -> sp.Expr:
    """Test error per position as a function of the overlaps (m, q [, r, R]) and tau2."""
    w_ = readout_weight()
    total = V * label_noise
    for mult, c_, M_ in population.channels(tokens):
        w = w_.subs({population.c: c_, population.M: M_}, simultaneous=True)
        total += mult * (LABEL_MOMENT - 2 * w * c_ / T + w**2 * M_ / T)
    return sp.simplify(total)


@lru_cache(maxsize=None)
def test_error_of_order_params(attention: str, tokens: str) -> sp.Expr:
    """The test error through the kinematics of theory.reduced: a function of the order parameters."""
    kin = kinematics(attention, tokens)
    return test_error(tokens).subs({m: kin.m, q: kin.q, r: kin.r, R: kin.R}, simultaneous=True)


def arguments(attention: str, tokens: str) -> tuple:
    """(order parameters..., MODEL_PARAMS..., alpha, tau2): the argument order of the compiled function."""
    return (*kinematics(attention, tokens).order_params, *MODEL_PARAMS, alpha, label_noise)
