"""Replica exchange (parallel tempering) over a ladder of tempered densities, and the finite network's ladders.

A ladder has K rungs; rung k has weights ``w_k`` (P,) on P energy components ``E(theta)``, and samples
``p_k(theta) ∝ exp(w_k · E(theta))``. For the finite network ``E = (log prior of Q, K, log marginal likelihood)``
(:class:`PowerPosterior`), so ``w = (1, 1)`` is the posterior, ``(beta, beta)`` the posterior at inverse
temperature beta and ``(a, b)`` any power of prior and likelihood.

Each rung moves by MALA (:func:`copyhead.numerics.sampling.mala_chains`, a step of its own, adapted during
burn-in only). Every ``swap_every`` steps the neighbouring rungs (k, k+1), even pairs and odd pairs in turn,
propose to exchange their states with the exact Metropolis ratio
``exp((w_k - w_{k+1}) · (E(theta_{k+1}) - E(theta_k)))``; the normalisers cancel. Every rung therefore samples
its own density exactly whatever the ladder; the ladder decides only how fast.

Several independent ladders run in one batched call (their chains at rung k give between-ladder R-hat and
error bars). Burn-in policy as in sampling.py: the first half of the steps is discarded.

At a first-order transition a ladder in one control crosses the coexistence line and does not remove the
barrier: a state moved along it must pay the free-energy difference of the phases. :func:`follow_coexistence`
builds the ladder along the line of equal phase weight instead, in the plane of the two weights, up to where
the two phases merge (beyond the critical point), so that a state leaves one phase and comes back in the other
without crossing a barrier. The line is followed by its tangent, orthogonal to the difference of the phases'
mean energies (d log(Z_1/Z_2) = dw · (<E>_1 - <E>_2)), measured by short metastable chains at each rung.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from copyhead.errors import InvalidParameterError

from .diagnostics import diagnose
from .network import Network
from .sampling import BURN_IN_POLICY, mala_chains

__all__ = ["PowerPosterior", "ReplicaRun", "replica_exchange", "CoexistencePath", "follow_coexistence"]

#: components(thetas (C, d)) -> (E (C, P), dE/dtheta (C, P, d), observable (C,))
Components = Callable[[np.ndarray], tuple]


class PowerPosterior:
    """Energy components of the finite network for a batch of (Q, K): (log prior, log marginal likelihood).

    Built on :meth:`Network.marginal_batch` (W integrated out); the prior part is the Gaussian prior of Q, K
    (variances from :meth:`Network.preconditioner`), the likelihood part is the rest.
    """

    def __init__(self, net: Network):
        self.net = net
        self.var = net.preconditioner()
        self.const = -0.5 * float(np.sum(np.log(2 * math.pi * self.var)))

    def __call__(self, thetas: np.ndarray):
        thetas = np.asarray(thetas, dtype=float)
        lp, grad, m = self.net.marginal_batch(thetas)
        prior = self.const - 0.5 * np.einsum("cd,cd->c", thetas, thetas / self.var)
        g_prior = -thetas / self.var
        E = np.stack([prior, lp - prior], axis=1)
        dE = np.stack([g_prior, grad - g_prior], axis=1)
        return E, dE, m

    def log_likelihood(self, thetas: np.ndarray) -> np.ndarray:
        return self(thetas)[0][:, 1]


@dataclass(frozen=True)
class ReplicaRun:
    """What :func:`replica_exchange` returns (L ladders, K rungs, P components).

    Fields:
      weights          (K, P) rung weights
      m                (L, K, kept) observable after every kept step, per ladder and rung (second half)
      energies         (L, K, S, P) components of the state at each rung after each kept swap round
      m_at_swaps       (L, K, S) observable at the same instants (pairs with ``energies``)
      records          list (length S) of what ``observe`` returned after each kept swap round, or None
      swap_attempts, swap_accepts  (L, K-1) kept-half swap statistics of the pair (k, k+1)
      round_trips      (L, K) completed round trips rung 0 -> K-1 -> 0 of each walker (kept half)
      up_fraction      (K,) fraction of visits to rung k by walkers whose last end was rung 0 (flow)
      acceptance, step (L, K) MALA acceptance (kept half) and frozen step of each rung
      steps, swap_every, seed
    """

    weights: np.ndarray
    m: np.ndarray
    energies: np.ndarray
    m_at_swaps: np.ndarray
    records: list | None
    swap_attempts: np.ndarray
    swap_accepts: np.ndarray
    round_trips: np.ndarray
    up_fraction: np.ndarray
    acceptance: np.ndarray
    step: np.ndarray
    steps: int
    swap_every: int
    seed: object = field(default=None)

    @property
    def swap_rate(self) -> np.ndarray:
        """(K-1,) kept-half acceptance of the swaps of each neighbouring pair, pooled over ladders."""
        att = self.swap_attempts.sum(axis=0)
        return np.where(att > 0, self.swap_accepts.sum(axis=0) / np.maximum(att, 1), np.nan)

    def diagnostics(self, rung: int) -> dict:
        """Rank-normalised split R-hat and bulk/tail ESS of the observable at ``rung`` over the ladders."""
        return diagnose(self.m[:, rung, :])

    def summary(self) -> dict:
        """JSON-ready summary: swap rates, round trips, flow, per-rung means and diagnostics."""
        clean = lambda v: None if not math.isfinite(v) else float(v)  # noqa: E731
        return {"weights": self.weights.tolist(), "steps": self.steps, "swap_every": self.swap_every,
                "burn_in": BURN_IN_POLICY, "ladders": int(self.m.shape[0]), "rungs": int(self.m.shape[1]),
                "swap_rate": [clean(v) for v in self.swap_rate],
                "round_trips_total": int(self.round_trips.sum()),
                "round_trips_per_ladder": self.round_trips.sum(axis=1).tolist(),
                "up_fraction": [clean(v) for v in self.up_fraction],
                "mala_acceptance": self.acceptance.tolist(), "mala_step": self.step.tolist(),
                "m_mean": self.m.mean(axis=(0, 2)).tolist(),
                "rung_diagnostics": [self.diagnostics(k) for k in range(self.m.shape[1])]}


def _check_ladder(weights, thetas0, n_steps, swap_every):
    weights = np.asarray(weights, dtype=float)
    thetas0 = np.asarray(thetas0, dtype=float)
    if weights.ndim != 2 or weights.shape[0] < 1 or not np.all(np.isfinite(weights)):
        raise InvalidParameterError("weights", "must be a finite (rungs, components) array")
    if thetas0.ndim != 3 or thetas0.shape[1] != weights.shape[0]:
        raise InvalidParameterError("thetas0", "must be (ladders, rungs, dim) with one state per rung")
    if int(swap_every) < 2:
        raise InvalidParameterError("swap_every", f"must be >= 2 MALA steps, got {swap_every}")
    if int(n_steps) < 4 * int(swap_every):
        raise InvalidParameterError("n_steps", f"must be >= 4 swap intervals ({4 * int(swap_every)}), got {n_steps}")
    return weights, thetas0


def replica_exchange(components: Components, weights, thetas0, *, n_steps: int, seed, swap_every: int = 10,
                     step=0.1, precond=None, observe: Callable[[np.ndarray], object] | None = None) -> ReplicaRun:
    """Parallel tempering: L independent ladders of K rungs (``weights`` (K, P)), started from ``thetas0``
    (L, K, d).

    ``step`` is the initial MALA step (a number or (K,) per rung); ``precond`` the diagonal preconditioner.
    ``seed`` (int or SeedSequence) is spawned into one generator per chain and one per ladder for the swaps.
    ``observe(thetas (L, K, d))`` is called after every kept swap round; its results are returned in
    ``records``. ``n_steps`` is rounded up to whole swap intervals.
    """
    weights, thetas0 = _check_ladder(weights, thetas0, n_steps, swap_every)
    L, K, d = thetas0.shape
    swap_every = int(swap_every)
    n_seg = -(-int(n_steps) // swap_every)
    burn_seg = n_seg // 2
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    chain_ss, swap_ss = ss.spawn(2)
    rngs = [np.random.default_rng(s) for s in chain_ss.spawn(L * K)]
    swap_rngs = [np.random.default_rng(s) for s in swap_ss.spawn(L)]
    W = np.tile(weights, (L, 1))                                   # (L K, P), row l K + k is rung k
    steps = np.broadcast_to(np.asarray(step, dtype=float), (K,))
    h = np.tile(steps, L)
    thetas = thetas0.reshape(L * K, d).copy()
    E, dE, obs = components(thetas)
    walker = np.tile(np.arange(K), (L, 1))                         # walker id at each rung
    last_end = np.full((L, K), -1)                                 # per walker: 0 = rung 0, 1 = rung K-1
    half_trips = np.zeros((L, K), dtype=int)
    visits_up, visits = np.zeros(K), np.zeros(K)
    att, acc = np.zeros((L, max(K - 1, 0)), dtype=int), np.zeros((L, max(K - 1, 0)), dtype=int)
    kept_m, kept_E, kept_m_swap, records, acc_mala = [], [], [], [], []
    cache = {}

    def target(th):
        if "E" in cache and np.array_equal(th, cache["theta"]):  # the state just evaluated for the swaps
            E_, dE_, obs_ = cache.pop("E"), cache.pop("dE"), cache.pop("obs")
        else:
            E_, dE_, obs_ = components(th)
        return np.einsum("cp,cp->c", W, E_), np.einsum("cp,cpd->cd", W, dE_), obs_

    for seg in range(n_seg):
        production = seg >= burn_seg
        cache.update(theta=thetas, E=E, dE=dE, obs=obs)
        runs = mala_chains(target, thetas, step=h, n_steps=swap_every, rngs=rngs, precond=precond,
                           adapt=not production)
        cache.clear()
        thetas = np.stack([r.theta for r in runs])
        h = np.array([r.step for r in runs])
        E, dE, obs = components(thetas)
        if production:
            kept_m.append(np.stack([r.observable for r in runs]).reshape(L, K, swap_every))
            acc_mala.append([r.acceptance for r in runs])
        # swaps: even pairs on even rounds, odd pairs on odd rounds (a fixed, state-independent schedule)
        for l in range(L):
            for k in range(seg % 2, K - 1, 2):
                i, j = l * K + k, l * K + k + 1
                log_r = float(np.dot(weights[k] - weights[k + 1], E[j] - E[i]))
                accept = math.log(swap_rngs[l].uniform()) < min(0.0, log_r)
                if production:
                    att[l, k] += 1
                    acc[l, k] += accept
                if accept:
                    for arr in (thetas, E, dE):
                        arr[[i, j]] = arr[[j, i]]
                    obs[[i, j]] = obs[[j, i]]
                    walker[l, [k, k + 1]] = walker[l, [k + 1, k]]
        if production and K > 1:
            for l in range(L):
                for end, rung in ((0, 0), (1, K - 1)):
                    w = walker[l, rung]
                    if last_end[l, w] != end:
                        if last_end[l, w] != -1:
                            half_trips[l, w] += 1
                        last_end[l, w] = end
                up = last_end[l, walker[l]] == 0
                visits_up += up
                visits += last_end[l, walker[l]] != -1
            kept_E.append(E.reshape(L, K, -1).copy())
            kept_m_swap.append(np.asarray(obs, dtype=float).reshape(L, K).copy())
            if observe is not None:
                records.append(observe(thetas.reshape(L, K, d)))
    m = np.concatenate(kept_m, axis=2)
    return ReplicaRun(weights=weights, m=m, energies=np.stack(kept_E, axis=2), m_at_swaps=np.stack(kept_m_swap, axis=2),
                      records=records if observe is not None else None, swap_attempts=att, swap_accepts=acc,
                      round_trips=half_trips // 2,
                      up_fraction=np.where(visits > 0, visits_up / np.maximum(visits, 1), np.nan),
                      acceptance=np.mean(acc_mala, axis=0).reshape(L, K), step=h.reshape(L, K),
                      steps=n_seg * swap_every, swap_every=swap_every, seed=seed)


# ----------------------------------------------------------------------------- ladder along coexistence
@dataclass(frozen=True)
class CoexistencePath:
    """A ladder built by :func:`follow_coexistence`.

    Fields:
      weights     (K, 2) rungs, the first one the start
      delta_m     (K,) mean observable of the second phase minus the first at each rung (metastable chains)
      delta_E     (K, 2) difference of the phases' mean energy components
      states      (2, K, d) final metastable state of each phase at each rung (starts for the ladder)
      step        (K,) MALA step adapted at each rung
      merged      True if the phases merged (the ladder reaches past the end of the first-order line)
      note        why the walk stopped
    """

    weights: np.ndarray
    delta_m: np.ndarray
    delta_E: np.ndarray
    states: np.ndarray
    step: np.ndarray
    merged: bool
    note: str

    def to_json(self) -> dict:
        return {"weights": self.weights.tolist(), "delta_m": self.delta_m.tolist(),
                "delta_E": self.delta_E.tolist(), "merged": self.merged, "note": self.note}


def follow_coexistence(components: Components, theta_first, theta_second, *, seed, start=(1.0, 1.0),
                       pilot_steps: int = 600, step: float = 0.1, precond=None, chains: int = 2,
                       swap_sd: float = 1.2, merge_tol: float = 0.05, extra_rungs: int = 2,
                       max_rungs: int = 80, decreasing: int = 0, positive=(True, True),
                       max_relative_step: float = 0.25, min_rungs: int = 1) -> CoexistencePath:
    """Walk from ``start`` in the plane of two weights along the tangent of the line of constant phase-weight
    ratio, until the two phases merge.

    At each rung ``chains`` MALA chains start from each phase's current state (``theta_first``,
    ``theta_second`` (d,)), run ``pilot_steps`` (first half burn-in) and give the phases' mean components
    ``<E>_1, <E>_2`` and their within-phase covariance Sigma. The next rung is ``w + s t`` with ``t``
    orthogonal to ``<E>_2 - <E>_1`` (pointing to decreasing weight ``decreasing``) and ``s`` chosen so that the
    swap log-ratio between the rungs has standard deviation about ``swap_sd`` (s = swap_sd / sqrt(2 t'Sigma t)),
    but at most ``max_relative_step`` times the current |w|. Where the phases already look merged and no
    tangent is known yet (short chains crossed the barrier), the walk heats: t ∝ -(1, 1). At least
    ``min_rungs`` rungs are built (a lone rung at a barrier that short chains cross can still mix slowly).
    The walk stops ``extra_rungs`` rungs after the phases' mean observables first differ by less than
    ``merge_tol``, or at ``max_rungs`` (then ``merged`` is False), or where a weight marked ``positive`` would
    leave (0, inf) (a prior or likelihood raised to a power <= 0 is no density).
    """
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    rngs = [np.random.default_rng(s) for s in ss.spawn(2 * chains)]
    w = np.asarray(start, dtype=float)
    positive = np.asarray(positive, dtype=bool)
    if w.shape != (2,) or not np.all(np.isfinite(w)) or np.any(w[positive] <= 0):
        raise InvalidParameterError("start", "must be two finite weights, positive where marked positive")
    states = np.stack([np.asarray(theta_first, float)] * chains + [np.asarray(theta_second, float)] * chains)
    out_w, out_dm, out_dE, out_states, out_step = [], [], [], [], []
    h = np.full(2 * chains, float(step))
    t_prev, merged_for, note = None, -1, ""
    while True:
        wv = w.copy()

        def target(th):
            E, dE, m = components(th)
            return E @ wv, np.einsum("p,cpd->cd", wv, dE), np.concatenate([m[:, None], E], axis=1)

        runs = mala_chains(target, states, step=h, n_steps=pilot_steps, rngs=rngs, precond=precond)
        kept = np.stack([r.observable[pilot_steps // 2:] for r in runs])        # (2c, n, 1 + P)
        first, second = kept[:chains].reshape(-1, kept.shape[2]), kept[chains:].reshape(-1, kept.shape[2])
        dm = float(second[:, 0].mean() - first[:, 0].mean())
        dE = second[:, 1:].mean(axis=0) - first[:, 1:].mean(axis=0)
        sigma = 0.5 * (np.cov(first[:, 1:].T) + np.cov(second[:, 1:].T))
        states = np.stack([r.theta for r in runs])
        h = np.array([r.step for r in runs])
        out_w.append(wv)
        out_dm.append(dm)
        out_dE.append(dE)
        out_states.append(np.stack([states[0], states[chains]]))
        out_step.append(float(np.exp(np.mean(np.log(h)))))
        if abs(dm) < merge_tol and merged_for < 0:
            merged_for = 0
        elif merged_for >= 0:
            merged_for += 1
        if merged_for >= extra_rungs and len(out_w) >= min_rungs:
            note = f"phases merged (|delta m| < {merge_tol}) and {extra_rungs} rungs added beyond"
            break
        if len(out_w) >= max_rungs:
            note = f"stopped at max_rungs = {max_rungs} before the phases merged"
            break
        t = np.array([dE[1], -dE[0]])
        if merged_for >= 0:   # past the merge the difference is noise: keep going straight, or heat
            t = t_prev if t_prev is not None else -np.ones(2)
        t = t / np.linalg.norm(t)
        if t[decreasing] > 0:
            t = -t
        s = min(swap_sd / math.sqrt(max(2.0 * float(t @ sigma @ t), 1e-300)), max_relative_step * float(np.linalg.norm(w)))
        w_next = w + s * t
        if np.any(w_next[positive] <= 0):
            note = "a weight would leave (0, inf); the phases had not merged"
            break
        w, t_prev = w_next, t
    return CoexistencePath(np.array(out_w), np.array(out_dm), np.array(out_dE),
                           np.stack(out_states, axis=1), np.array(out_step), merged_for >= 0, note)
