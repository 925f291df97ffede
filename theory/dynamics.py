"""Training-time dynamics: Langevin (Ito) and gradient flow on (Q, K), closed in the overlaps.

The potential of the W-marginal posterior is ``U = N E(S) + |Q|^2/(2 sigma_q^2) + |K|^2/(2 sigma_k^2)``
with ``S = Q K^T / N`` and E the population energy per N.  Langevin dynamics
``dZ = -grad U dt + sqrt(2) dB`` on ``Z = (Q; K)`` (no preconditioner; one unit of
time is one unit of the Langevin clock, i.e. ``steps * h`` of ULA) gives, by Ito's
formula for the overlaps ``A = QQ^T/N, B = KK^T/N, S = QK^T/N`` and ``G = dE/dS``:

    dA/dt = -(G S^T + S G^T) - 2 A / sigma_q^2 + 2 I
    dB/dt = -(G^T S + S^T G) - 2 B / sigma_k^2 + 2 I
    dS/dt = -(G B + A G) - S (1/sigma_q^2 + 1/sigma_k^2)

The ``+2 I`` is the Ito (entropic) term; the martingale part has quadratic
variation O(1/N), so the overlaps are deterministic as N -> oo.  Gradient flow
(the MAP: weight decay = the prior) is the same without ``+2 I``.  Both are derived
symbolically at small concrete sizes by :func:`ito_generator` and checked in
derivations/dynamics.py.

With ``M = [[A, S], [S^T, B]]`` and ``F(M) = E(S) + (tr Sigma^-1 M - log det M)/2``
(the Wishart rate before minimising over A and B), the Langevin drift is
``-2 (X M + M X)`` with ``X = dF/dM``: a gradient flow with a positive mobility, so
its fixed points (M > 0, Lyapunov equation) are the stationary points of F, i.e.
of the free energy ``f(S) = I(S) + E(S)``.

Circulant reduction.  E is invariant under cyclic relabelling of positions, so a
circulant start stays circulant; in Fourier space each mode is a 2x2 block
``[[a, p], [p, b]]`` and the phases cancel.  Each order parameter ``p_j`` of
theory.reduced owns the modes in which S has singular value ``|p_j|`` (multiplicity
``mu_j``); its block obeys the matrix ODE with 1x1 matrices and
``g_j = (dE/dp_j) / mu_j``.  Modes with S = 0 decouple and relax to the prior.

Gaussian-logit prior: the prior sits on S directly; Langevin on S with mobility
``sigma_q^2 + sigma_k^2`` (the bilinear mobility at S = 0, so time units agree) is,
as N -> oo, gradient flow on f; there is no entropic term and Langevin and
gradient flow coincide.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from copyhead.errors import DerivationCheckFailed

from .reduced import kinematics, reduced_model
from .symbols import MODEL_PARAMS, alpha, sigma_k, sigma_q

DYNAMICS = ("langevin", "gradient-flow")

__all__ = ["DYNAMICS", "matrix_drift", "ito_generator", "ReducedDynamics", "reduced_dynamics", "block_free_energy",
           "block_map_objective", "mode_multiplicities"]


def _check_dynamics(dynamics: str) -> None:
    from copyhead.spec import check_choice

    check_choice("dynamics", dynamics, DYNAMICS)


def matrix_drift(G, A_, B_, S_, dynamics: str):
    """Drift (dA/dt, dB/dt, dS/dt) of the overlaps, as SymPy matrices (any square size, 1x1 included)."""
    _check_dynamics(dynamics)
    eye = sp.eye(A_.shape[0])
    noise = 2 * eye if dynamics == "langevin" else sp.zeros(*A_.shape)
    dA = -(G * S_.T + S_ * G.T) - 2 * A_ / sigma_q**2 + noise
    dB = -(G.T * S_ + S_.T * G) - 2 * B_ / sigma_k**2 + noise
    dS = -(G * B_ + A_ * G) - S_ * (1 / sigma_q**2 + 1 / sigma_k**2)
    return dA, dB, dS


@dataclass(frozen=True)
class ItoGenerator:
    """Ito's formula at concrete (T, N) for a generic energy E(S) (an undefined SymPy function).

    Q, K: the symbol matrices; E: the energy per N as a function of S's entries;
    drift: {'A'|'B'|'S': matrix of L phi for phi the overlap entries}, L the generator of
    the chosen dynamics; carre_du_champ: {'A'|'B'|'S': matrix of Gamma(phi, phi) = 2 |grad phi|^2},
    the rate of the martingale's quadratic variation; G: dE/dS in terms of the Q, K entries.
    """

    T: int
    N: int
    Q: sp.Matrix
    K: sp.Matrix
    S: sp.Matrix
    G: sp.Matrix
    drift: dict
    carre_du_champ: dict


def ito_generator(T_: int, N_: int, dynamics: str) -> ItoGenerator:
    """Apply the generator L = -grad U . grad + (Delta if Langevin) to the overlaps, entry by entry."""
    _check_dynamics(dynamics)
    Q = sp.Matrix(T_, N_, lambda i, j: sp.Symbol(f"Q_{i}_{j}", real=True))
    K = sp.Matrix(T_, N_, lambda i, j: sp.Symbol(f"K_{i}_{j}", real=True))
    S_ = Q * K.T / N_
    s_syms = sp.Matrix(T_, T_, lambda i, j: sp.Symbol(f"S_{i}_{j}", real=True))
    E = sp.Function("E")(*s_syms)
    U = N_ * E.subs(dict(zip(s_syms, S_)), simultaneous=True) + (Q.norm() ** 2) / (2 * sigma_q**2) \
        + (K.norm() ** 2) / (2 * sigma_k**2)
    U = U.subs({sp.Abs(z): z for z in (*Q, *K)}).expand(power_base=False)
    coords = list(Q) + list(K)
    grad_U = [sp.diff(U, z) for z in coords]

    def generator(phi):
        drift = -sum(g * sp.diff(phi, z) for g, z in zip(grad_U, coords))
        if dynamics == "langevin":
            drift += sum(sp.diff(phi, z, 2) for z in coords)
        return sp.expand(drift)

    def gamma_(phi):
        return sp.expand(2 * sum(sp.diff(phi, z) ** 2 for z in coords))

    overlaps = {"A": Q * Q.T / N_, "B": K * K.T / N_, "S": S_}
    drift = {k: v.applyfunc(generator) for k, v in overlaps.items()}
    cdc = {k: v.applyfunc(gamma_) for k, v in overlaps.items()}
    # dE/dS_ij evaluated at S = QK^T/N: the matrix G of the closed form
    G = sp.Matrix(T_, T_, lambda i, j: sp.diff(E, s_syms[i, j]).subs(dict(zip(s_syms, S_)), simultaneous=True))
    return ItoGenerator(T_, N_, Q, K, S_, G, drift, cdc)


def mode_multiplicities(attention: str, tokens: str) -> tuple:
    """(order parameter, multiplicity of its singular value |p| in S) for each order parameter."""
    kin = kinematics(attention, tokens)
    out = []
    for p in kin.order_params:
        mult = [mu for sv, mu in kin.singular_values if sp.simplify(sv - sp.Abs(p)) == 0]
        if len(mult) != 1:
            raise DerivationCheckFailed("mode multiplicities", f"order parameter {p} does not own exactly one singular value of S")
        out.append((p, mult[0]))
    return tuple(out)


def _block_symbols(p):
    return sp.Symbol(f"a_{p}", positive=True), sp.Symbol(f"b_{p}", positive=True)


@dataclass(frozen=True)
class ReducedDynamics:
    """The overlap ODE of one family, reduced by circulant symmetry.

    state: SymPy symbols (bilinear: a_j, b_j, p_j per order parameter; gaussian-logit: p_j);
    rhs: their time derivatives; params: MODEL_PARAMS then alpha; energy: E(p) of theory.reduced;
    m, q: observables of the order parameters; order_params; multiplicities; lyapunov: the function
    the flow decreases (bilinear Langevin: E + sum mu_j * block rate; gradient flow: E + weight decay;
    gaussian-logit: the reduced free energy without its data constant).
    """

    attention: str
    tokens: str
    prior: str
    dynamics: str
    state: tuple
    rhs: tuple
    order_params: tuple
    multiplicities: tuple
    energy: sp.Expr
    m: sp.Expr
    q: sp.Expr
    lyapunov: sp.Expr

    @property
    def params(self) -> tuple:
        return (*MODEL_PARAMS, alpha)


def block_free_energy(p, a_, b_, mult):
    """mu * (Wishart rate of [[a, p], [p, b]] with prior variances sigma_q^2, sigma_k^2), minimised at the prior."""
    return mult * ((a_ / sigma_q**2 + b_ / sigma_k**2 - sp.log((a_ * b_ - p**2) / (sigma_q**2 * sigma_k**2))) / 2 - 1)


def block_map_objective(p, a_, b_, mult):
    """mu * weight decay (a/sigma_q^2 + b/sigma_k^2)/2 of one block (no log det: the MAP has no entropy)."""
    return mult * (a_ / sigma_q**2 + b_ / sigma_k**2) / 2


@lru_cache(maxsize=None)
def reduced_dynamics(attention: str, tokens: str, prior: str, dynamics: str) -> ReducedDynamics:
    _check_dynamics(dynamics)
    rm = reduced_model(attention, tokens, prior)
    kin = kinematics(attention, tokens)
    energy = rm.energy
    blocks = mode_multiplicities(attention, tokens)
    state, rhs, lyap = [], [], energy
    for p, mult in blocks:
        g = sp.diff(energy, p) / mult
        if prior == "bilinear":
            a_, b_ = _block_symbols(p)
            dA, dB, dS = matrix_drift(sp.Matrix([[g]]), sp.Matrix([[a_]]), sp.Matrix([[b_]]), sp.Matrix([[p]]),
                                      dynamics)
            state += [a_, b_, p]
            rhs += [dA[0, 0], dB[0, 0], dS[0, 0]]
            lyap += (block_free_energy if dynamics == "langevin" else block_map_objective)(p, a_, b_, mult)
        else:
            # Langevin on S with mobility sigma_q^2 + sigma_k^2: the bilinear block with a, b frozen at the prior
            dA, dB, dS = matrix_drift(sp.Matrix([[g]]), sp.Matrix([[sigma_q**2]]), sp.Matrix([[sigma_k**2]]),
                                      sp.Matrix([[p]]), "gradient-flow")
            state.append(p)
            rhs.append(dS[0, 0])
    if prior != "bilinear":
        lyap = (rm.prior_rate + rm.energy).doit()
    return ReducedDynamics(attention, tokens, prior, dynamics, tuple(state), tuple(rhs),
                           tuple(p for p, _ in blocks), tuple(mu for _, mu in blocks), energy, kin.m, kin.q,
                           lyap)
