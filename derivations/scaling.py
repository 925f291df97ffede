"""Section g: how the critical amount of data grows with the context length (softmax)."""
from __future__ import annotations

import math

import sympy as sp
from scipy import optimize

from copyhead.spec import ModelSpec

from ..numerics.free_energy import local_minima
from ..theory.reduced import kinematics
from ..theory.symbols import T, V, delta, eps, gamma, sigma2, sigma_k, sigma_q
from ._core import CheckResult, Step, as_check, symbolic_check

SECTION = "Scaling of the critical amount of data with T"


def leading_order(prior: str, T_: float, spec: ModelSpec) -> float:
    """alpha* ~ (2 sigma2 V/(V-1)) psi(ln T / (2 gamma sigma_q sigma_k)), psi = x (bilinear) or x^2/2."""
    x = math.log(T_) / (2 * spec.gamma * spec.sigma_q * spec.sigma_k)
    return 2 * spec.sigma2 * spec.V / (spec.V - 1) * (x if prior == "bilinear" else x * x / 2)


def alpha_star_by_equal_depth(spec: ModelSpec, lo: float, hi: float) -> float:
    """Coexistence from two local minima of equal f (Brent on alpha): independent of the transition engine."""
    def gap(a):
        minima = sorted(local_minima(spec, a), key=lambda mn: mn.m)
        if len(minima) < 2:
            # one minimum: signed by which side of the window we are on
            return -1.0 if minima[0].m > 0.5 / math.sqrt(spec.T) else 1.0
        return minima[-1].f - minima[0].f
    return optimize.brentq(gap, lo, hi, xtol=1e-10)


def _check_saturation() -> CheckResult:
    """With gamma delta = ln(T)/2 + c the energy ratio m^2/(q + eps) tends to e^(2c)/(1 + e^(2c)) for eps -> 0."""
    c = sp.Symbol("c", real=True)
    kin = kinematics("softmax", "centred")
    at = {delta: (sp.log(T) / 2 + c) / gamma}
    ratio = (kin.m**2 / (kin.q + eps)).subs(at)
    limit = sp.limit(sp.limit(ratio, eps, 0), T, sp.oo)
    return symbolic_check(limit - sp.exp(2 * c) / (1 + sp.exp(2 * c)),
                          "lim_{T->oo} m^2/q at gamma delta = ln(T)/2 + c, minus e^2c/(1+e^2c)")


def _check_ratio(prior: str) -> CheckResult:
    spec = ModelSpec(prior=prior)
    rows = []
    for k in (16, 28, 40):
        s = spec.replace(T=2**k)
        lead = leading_order(prior, 2**k, s)
        star = alpha_star_by_equal_depth(s, 0.7 * lead, 2.5 * lead)
        rows.append((k, star, star / lead))
    ratios = [r[2] for r in rows]
    decreasing = all(b < a for a, b in zip(ratios, ratios[1:]))
    passed = decreasing and 1.0 < ratios[-1] < (1.1 if prior == "bilinear" else 1.4)
    detail = "; ".join(f"T=2^{k}: alpha*={star:.6g}, ratio {ratio:.4f}" for k, star, ratio in rows)
    return CheckResult(passed, "optimisation",
                       f"{prior}: alpha* from equal depths of two local minima (Brent) over the leading-order law: "
                       f"{detail} (decreasing towards 1 with O(ln ln T / ln T) corrections)")


def steps() -> list[Step]:
    c = sp.Symbol("c", real=True)
    psi = sp.Function(r"\psi")
    astar = sp.Symbol(r"\alpha^*")
    law = 2 * sigma2 * V / (V - 1) * psi(sp.log(T) / (2 * gamma * sigma_q * sigma_k))
    P_star = sp.Symbol("P^*")
    return [
        Step(SECTION, "g.saturation", "The copy state needs only m ~ T^(-1/2)",
             sp.Eq(sp.Limit((kinematics("softmax", "centred").m**2 / kinematics("softmax", "centred").q)
                            .subs(delta, (sp.log(T) / 2 + c) / gamma), T, sp.oo),
                   sp.exp(2 * c) / (1 + sp.exp(2 * c)), evaluate=False),
             "q = m^2 + (1-m)^2/(T-1) is dominated by the uniform background 1/T, so m^2/(q + eps) saturates once "
             "m >> T^(-1/2), i.e. at gamma delta = ln(T)/2 + O(ln ln T), long before m ~ 1.",
             (as_check("symbolic", _check_saturation),)),
        Step(SECTION, "g.law", "Leading-order law",
             sp.Tuple(sp.Eq(astar, law, evaluate=False),
                      sp.Eq(P_star, astar * sp.Symbol("N") * T, evaluate=False)),
             "The energy gain is at most kappa = alpha T (V-1)/(2 sigma2 V); the prior costs (T-1) psi(delta). "
             "Equating them at gamma delta = ln(T)/2 gives alpha* ~ (sigma2 V/((V-1) gamma sigma_q sigma_k)) ln T "
             "for the bilinear prior (psi ~ x): P* ~ L ln L, which disagrees with the claim P* ~ L ln^2 L; and "
             "alpha* ~ sigma2 V ln^2 T/(4 (V-1) gamma^2 sigma_q^2 sigma_k^2) for the Gaussian-logit prior "
             "(psi = x^2/2): P* ~ L ln^2 L, which agrees with the claim. Here P* counts training tokens n T "
             "and L = T.",
             (as_check("optimisation", lambda: _check_ratio("bilinear")),
              as_check("optimisation", lambda: _check_ratio("gaussian-logit")))),
    ]


__all__ = ["steps", "leading_order", "alpha_star_by_equal_depth"]
