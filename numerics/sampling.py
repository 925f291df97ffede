"""Posterior sampling and MAP training of the finite network, with diagnostics.

Samplers work on any differentiable log density given as
``target(theta) -> (logp, grad, observable)``:

* :func:`ula` -- unadjusted Langevin: ``theta' = theta + h M grad + sqrt(2 h M) xi``.
  Biased at O(h) (for a Gaussian of variance ``v`` the stationary variance is
  ``v / (1 - h/(2v))`` with ``M = 1``).
* :func:`mala` -- Metropolis-adjusted Langevin, exact.  The step size is adapted
  (Robbins-Monro on log h, target acceptance 0.574) during burn-in only and
  frozen afterwards, so the kept samples come from a fixed Markov kernel that
  leaves the posterior invariant.
* :func:`adam` -- Adam ascent of the log posterior.  The Gaussian prior's
  gradient ``-theta / var`` is exactly (coupled) L2 weight decay with
  coefficient ``1/var`` per coordinate, so the fixed points are MAP estimates.

``M`` is a constant diagonal preconditioner (see
:meth:`copyhead.numerics.network.Network.preconditioner`): the prior variance of
each coordinate, which makes the dimensionless step ``h`` O(1) for every N.

Burn-in policy (all samplers that sample): the first half of every chain is
discarded; diagnostics and estimates use the second half only.  It is recorded
as ``"burn_in": "first half discarded"`` in the diagnostics.

Diagnostics on the scalar trace of the order parameter ``m``:
:func:`integrated_autocorr_time` (Sokal's automatic window, c = 5, on the
chain-averaged autocorrelation function), :func:`split_rhat` (Gelman et al.,
BDA3: each chain split in two halves) and :func:`effective_sample_size`
(``total kept samples / tau``).

The experiment driver :func:`m_of_alpha` runs, for every (N, alpha), one data
set shared by both initial states and all chains, through any
``concurrent.futures.Executor``.  Seeds: ``SeedSequence(seed)`` is spawned once
per (N, alpha) point; each point's sequence spawns the data seed and one seed
per (init, chain), so every number is reproducible and independent of the
executor and of the order in which tasks finish.
"""
from __future__ import annotations

import math
from concurrent.futures import Executor, as_completed
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from copyhead.errors import InvalidParameterError
from copyhead.spec import ModelSpec

from .network import INITS, Network, initial_state, make_data, require_bilinear

__all__ = [
    "ChainRun", "ula", "mala", "adam", "integrated_autocorr_time", "split_rhat",
    "effective_sample_size", "ChainTask", "ChainOutcome", "Point", "run_chain", "run_chains", "mala_chains", "m_of_alpha",
    "SAMPLERS", "POSTERIORS", "BURN_IN_POLICY", "default_steps", "sample_size",
]

SAMPLERS = ("langevin", "mala", "adam")
POSTERIORS = ("marginal", "full")
BURN_IN_POLICY = "first half discarded"
TARGET_ACCEPT = 0.574  # optimal MALA acceptance in high dimension (Roberts & Rosenthal 1998)

Target = Callable[[np.ndarray], tuple]


@dataclass(frozen=True)
class ChainRun:
    """What a sampler or optimiser returns.

    Fields:
      observable  (n_steps, ...) observable recorded after every step (all steps,
                  burn-in included; callers drop the first half)
      logp        (n_steps,) log density after every step
      theta       final parameter vector
      acceptance  acceptance rate over the kept (second) half; 1.0 for ULA/Adam
      step        step size used in the kept half (final MALA step after adaptation)
    """

    observable: np.ndarray
    logp: np.ndarray
    theta: np.ndarray
    acceptance: float
    step: float


def _check_common(theta0, n_steps, precond):
    theta = np.array(theta0, dtype=float, copy=True)
    if n_steps < 1:
        raise InvalidParameterError("n_steps", f"must be >= 1, got {n_steps}")
    M = np.ones_like(theta) if precond is None else np.asarray(precond, dtype=float)
    if M.shape != theta.shape or np.any(M <= 0):
        raise InvalidParameterError("precond", "must be a positive vector shaped like theta")
    return theta, M


def ula(target: Target, theta0, *, step: float, n_steps: int, rng: np.random.Generator,
        precond=None) -> ChainRun:
    """Unadjusted Langevin with diagonal preconditioner ``precond`` (M).

    ``theta' = theta + h M grad log p + sqrt(2 h M) xi``; stationary law is the
    target only as h -> 0 (bias O(h)).
    """
    theta, M = _check_common(theta0, n_steps, precond)
    drift, noise = step * M, np.sqrt(2.0 * step * M)
    lp, g, obs = target(theta)
    obs_trace, lp_trace = [], np.empty(n_steps)
    for i in range(n_steps):
        theta = theta + drift * g + noise * rng.standard_normal(theta.size)
        lp, g, obs = target(theta)
        if not np.isfinite(lp):
            raise FloatingPointError(f"ULA diverged at step {i} (h = {step}); use a smaller step")
        obs_trace.append(obs)
        lp_trace[i] = lp
    return ChainRun(np.asarray(obs_trace), lp_trace, theta, 1.0, float(step))


def mala(target: Target, theta0, *, step: float, n_steps: int, rng: np.random.Generator,
         precond=None, adapt: bool = True, target_accept: float = TARGET_ACCEPT) -> ChainRun:
    """Metropolis-adjusted Langevin.  With ``adapt`` the step is tuned during the
    first half (burn-in) only and then frozen."""
    theta, M = _check_common(theta0, n_steps, precond)
    burn = n_steps // 2
    log_h = math.log(step)
    lp, g, obs = target(theta)
    obs_trace, lp_trace = [], np.empty(n_steps)
    accepted_kept = 0
    for i in range(n_steps):
        h = math.exp(log_h)
        mean_fwd = theta + h * M * g
        prop = mean_fwd + np.sqrt(2.0 * h * M) * rng.standard_normal(theta.size)
        lp_p, g_p, obs_p = target(prop)
        if np.isfinite(lp_p):
            mean_bwd = prop + h * M * g_p
            # log q(theta | prop) - log q(prop | theta), Gaussian with covariance 2 h M.
            log_q = (np.sum((prop - mean_fwd) ** 2 / M) - np.sum((theta - mean_bwd) ** 2 / M)) / (4.0 * h)
            log_a = min(0.0, lp_p - lp + log_q)
        else:
            log_a = -math.inf
        accept = math.log(rng.uniform()) < log_a
        if accept:
            theta, lp, g, obs = prop, lp_p, g_p, obs_p
        if i < burn:
            if adapt:
                # Decaying Robbins-Monro gain; frozen after burn-in so the kernel is fixed.
                log_h += (math.exp(log_a) - target_accept) / (i + 10) ** 0.6
        elif accept:
            accepted_kept += 1
        obs_trace.append(obs)
        lp_trace[i] = lp
    kept = n_steps - burn
    return ChainRun(np.asarray(obs_trace), lp_trace, theta, accepted_kept / kept, math.exp(log_h))


def mala_chains(target: Callable[[np.ndarray], tuple], thetas0, *, step: float, n_steps: int,
                rngs: Sequence[np.random.Generator], precond=None, adapt: bool = True,
                target_accept: float = TARGET_ACCEPT) -> list[ChainRun]:
    """:func:`mala` for C chains at once: ``target(thetas (C, d)) -> (logp (C,), grad (C, d), obs (C,))``.

    Chain c draws from ``rngs[c]`` in the same order as :func:`mala` (normal proposal, then the
    acceptance uniform) and adapts its own step, so it is the same Markov chain as ``mala`` with that
    generator (equal up to rounding: the proposal term of log q is summed from the noise directly);
    only the numpy calls are shared.
    """
    thetas = np.array(thetas0, dtype=float, copy=True)
    if thetas.ndim != 2 or thetas.shape[0] != len(rngs):
        raise InvalidParameterError("thetas0", "must be (chains, d) with one generator per chain")
    _, M = _check_common(thetas[0], n_steps, precond)
    C, d = thetas.shape
    burn = n_steps // 2
    log_h = np.log(np.broadcast_to(np.asarray(step, dtype=float), (C,)))  # one step, or one per chain
    lp, g, obs = target(thetas)
    g = np.array(g, dtype=float)      # updated in place row by row
    obs = np.array(obs, dtype=float)  # (C,) or (C, ...) for vector observables
    obs_trace, lp_trace = np.empty((n_steps,) + obs.shape), np.empty((n_steps, C))
    accepted_kept = np.zeros(C)
    xi, scratch, back = np.empty((C, d)), np.empty((C, d)), np.empty((C, d))
    inv_M = 1.0 / M
    hM = None
    for i in range(n_steps):
        if hM is None or (adapt and i <= burn):     # the step changes only while adapting
            h = np.exp(log_h)[:, None]
            hM, noise = h * M, np.sqrt(2.0 * h * M)
        for c, r in enumerate(rngs):
            r.standard_normal(out=xi[c])
        # in place: these (C, d) passes are a third of a step at N = 256
        prop = np.multiply(hM, g)
        prop += thetas
        prop += np.multiply(noise, xi, out=scratch)
        lp_p, g_p, obs_p = target(prop)
        finite = np.isfinite(lp_p)
        with np.errstate(invalid="ignore", over="ignore"):
            # log q(theta | prop) - log q(prop | theta); prop - mean_fwd = sqrt(2 h M) xi exactly
            np.subtract(thetas, prop, out=back)
            back -= np.multiply(hM, g_p, out=scratch)
            log_q = (2.0 * h[:, 0] * np.einsum("cd,cd->c", xi, xi)
                     - np.einsum("cd,cd->c", np.multiply(back, inv_M, out=scratch), back)) / (4.0 * h[:, 0])
            log_a = np.where(finite, np.minimum(0.0, lp_p - lp + log_q), -np.inf)
        accept = np.log([r.uniform() for r in rngs]) < log_a
        thetas[accept] = prop[accept]
        g[accept] = g_p[accept]
        lp = np.where(accept, lp_p, lp)
        obs[accept] = np.asarray(obs_p)[accept]
        if i < burn:
            if adapt:
                log_h = log_h + (np.exp(log_a) - target_accept) / (i + 10) ** 0.6
        else:
            accepted_kept += accept
        obs_trace[i], lp_trace[i] = obs, lp
    kept = n_steps - burn
    return [ChainRun(obs_trace[:, c].copy(), lp_trace[:, c].copy(), thetas[c].copy(), float(accepted_kept[c] / kept),
                     float(math.exp(log_h[c]))) for c in range(C)]


def adam(target: Target, theta0, *, lr: float, n_steps: int, beta1: float = 0.9,
         beta2: float = 0.999, eps: float = 1e-8) -> ChainRun:
    """Adam ascent of ``target`` (the log posterior: likelihood plus the prior's
    weight decay), i.e. MAP training."""
    theta, _ = _check_common(theta0, n_steps, None)
    m1 = np.zeros_like(theta)
    m2 = np.zeros_like(theta)
    obs_trace, lp_trace = [], np.empty(n_steps)
    lp, g, obs = target(theta)
    for i in range(1, n_steps + 1):
        m1 = beta1 * m1 + (1 - beta1) * g
        m2 = beta2 * m2 + (1 - beta2) * g * g
        theta = theta + lr * (m1 / (1 - beta1 ** i)) / (np.sqrt(m2 / (1 - beta2 ** i)) + eps)
        lp, g, obs = target(theta)
        obs_trace.append(obs)
        lp_trace[i - 1] = lp
    return ChainRun(np.asarray(obs_trace), lp_trace, theta, 1.0, float(lr))


# ----------------------------------------------------------------------------- diagnostics
def _as_chains(x) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] < 4:
        raise InvalidParameterError("samples", "expected a (chains, samples) array with at least 4 samples per chain")
    return x


def _autocorr(x: np.ndarray) -> np.ndarray:
    """Normalised autocorrelation function of one series, via FFT."""
    n = x.size
    x = x - x.mean()
    size = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(x, size)
    acf = np.fft.irfft(f * np.conj(f), size)[:n]
    return acf / acf[0] if acf[0] > 0 else np.zeros(n)


def integrated_autocorr_time(x, c: float = 5.0) -> float:
    """Integrated autocorrelation time tau = 1 + 2 sum_k rho_k of a (chains, n)
    trace.  Sokal's automatic window: the smallest W with W >= c tau(W); the ACF is
    averaged over chains.  A constant trace has tau = 1 by convention.  An
    anticorrelated trace (e.g. ULA near its stability limit) can give tau < 1; tau
    is floored at 1/log10(total samples), i.e. the ESS is capped at
    n log10 n as in Stan, because smaller estimates are pure noise."""
    x = _as_chains(x)
    rho = np.mean([_autocorr(row) for row in x], axis=0)
    if not np.any(rho):
        return 1.0
    taus = 2.0 * np.cumsum(rho) - 1.0
    window = np.arange(taus.size) < c * taus
    W = int(np.argmin(window)) if not np.all(window) else taus.size - 1
    return float(max(taus[W], 1.0 / math.log10(max(x.size, 10))))


def split_rhat(x) -> float:
    """Split R-hat (Gelman et al., BDA3 sec. 11.4): each chain cut in two halves.
    Values near 1 mean the halves agree; > 1.01-1.1 flags poor mixing."""
    x = _as_chains(x)
    half = x.shape[1] // 2
    parts = np.concatenate([x[:, :half], x[:, half: 2 * half]], axis=0)
    n = parts.shape[1]
    W = parts.var(axis=1, ddof=1).mean()
    B = n * parts.mean(axis=1).var(ddof=1)
    if W == 0:
        return 1.0 if B == 0 else math.inf
    var_plus = (n - 1) / n * W + B / n
    return float(math.sqrt(var_plus / W))


def effective_sample_size(x) -> float:
    """Total kept samples divided by the integrated autocorrelation time."""
    x = _as_chains(x)
    return float(x.size / integrated_autocorr_time(x))


# ----------------------------------------------------------------------------- experiment
def default_steps(sampler: str) -> int:
    """Default chain length (steps) of each method for the CLI's one-minute default run."""
    return {"langevin": 30000, "mala": 30000, "adam": 3000}[sampler]


#: Default dimensionless step: ULA h (bias O(h)), MALA initial h (then adapted), Adam lr.
DEFAULT_STEP = {"langevin": 0.02, "mala": 0.1, "adam": 0.01}


def sample_size(N: int, alpha: float) -> int:
    """n = alpha N sequences, rounded, at least one."""
    return max(1, int(round(alpha * N)))


@dataclass(frozen=True)
class ChainTask:
    """One chain (or one Adam run): everything needed to run it in another process.

    Fields: spec, N, alpha, init ('uniform'|'copy'), sampler ('langevin'|'mala'|'adam'),
    posterior ('marginal' = W integrated out, 'full' = (Q, K, W)), steps, step
    (dimensionless step; None = DEFAULT_STEP), data_seed and chain_seed
    (numpy SeedSequence), chain (index within the point).
    """

    spec: ModelSpec
    N: int
    alpha: float
    init: str
    sampler: str
    posterior: str
    steps: int
    step: float | None
    data_seed: np.random.SeedSequence
    chain_seed: np.random.SeedSequence
    chain: int = 0


@dataclass(frozen=True)
class ChainOutcome:
    """Result of :func:`run_chain`.

    Fields: task; m_trace (steps,) order parameter after every step;
    acceptance (kept half); step (final step size); final_m; final_logp.
    """

    task: ChainTask
    m_trace: np.ndarray
    acceptance: float
    step: float
    final_m: float
    final_logp: float


def build_network(spec: ModelSpec, N: int, alpha: float, data_seed) -> Network:
    data = make_data(spec, sample_size(N, alpha), np.random.default_rng(data_seed))
    return Network(spec, N, data)


def run_chain(task: ChainTask) -> ChainOutcome:
    """Run one chain of ``task``; top-level so that it pickles to worker processes."""
    require_bilinear(task.spec)
    net = build_network(task.spec, task.N, task.alpha, task.data_seed)
    rng = np.random.default_rng(task.chain_seed)
    Q, K = initial_state(task.spec, task.N, task.init, rng)
    theta = net.pack(Q, K)
    full = task.posterior == "full"
    if full:
        # Start W at its conditional posterior mean so both posteriors start from the same state.
        theta = np.concatenate([theta, net.ridge_readout(theta).ravel()])
    fun = net.full if full else net.marginal

    def target(th):
        e = fun(th)
        return e.logp, e.grad, e.m

    step = DEFAULT_STEP[task.sampler] if task.step is None else task.step
    if task.sampler == "adam":
        run = adam(target, theta, lr=step, n_steps=task.steps)
    elif task.sampler == "langevin":
        run = ula(target, theta, step=step, n_steps=task.steps, rng=rng, precond=net.preconditioner(full))
    elif task.sampler == "mala":
        run = mala(target, theta, step=step, n_steps=task.steps, rng=rng, precond=net.preconditioner(full))
    else:
        raise InvalidParameterError("sampler", f"must be one of {SAMPLERS}, got {task.sampler!r}")
    return ChainOutcome(task, np.asarray(run.observable, dtype=float), run.acceptance, run.step,
                        float(run.observable[-1]), float(run.logp[-1]))


def run_chains(tasks: Sequence[ChainTask]) -> list[ChainOutcome]:
    """Run tasks of one point (same model, N, alpha and data seed), sharing the data set.

    MALA on the marginal posterior runs all chains together (:func:`mala_chains`, one batched
    evaluation per step); other samplers run the chains one after the other. Top-level, so it pickles.
    """
    first = tasks[0]
    if any((t.spec, t.N, t.alpha, t.data_seed.entropy, t.data_seed.spawn_key) !=
           (first.spec, first.N, first.alpha, first.data_seed.entropy, first.data_seed.spawn_key) for t in tasks):
        raise InvalidParameterError("tasks", "must all be one point (same spec, N, alpha and data seed)")
    batchable = [t for t in tasks if t.sampler == "mala" and t.posterior == "marginal"]
    if len(batchable) < 2 or len({(t.steps, t.step) for t in batchable}) != 1:
        return [run_chain(t) for t in tasks]
    require_bilinear(first.spec)
    net = build_network(first.spec, first.N, first.alpha, first.data_seed)
    rngs = [np.random.default_rng(t.chain_seed) for t in batchable]
    thetas = np.stack([net.pack(*initial_state(t.spec, t.N, t.init, rng)) for t, rng in zip(batchable, rngs)])
    step = DEFAULT_STEP["mala"] if first.step is None else first.step
    runs = mala_chains(net.marginal_batch, thetas, step=step, n_steps=batchable[0].steps, rngs=rngs,
                       precond=net.preconditioner())
    outcomes = {id(t): ChainOutcome(t, np.asarray(r.observable, dtype=float), r.acceptance, r.step,
                                    float(r.observable[-1]), float(r.logp[-1])) for t, r in zip(batchable, runs)}
    return [outcomes[id(t)] if id(t) in outcomes else run_chain(t) for t in tasks]


@dataclass(frozen=True)
class Point:
    """m measured at one (alpha, N, init) with one method.

    Fields:
      alpha, N, init, sampler, posterior
      m_mean     samplers: mean of m over the kept halves of all chains;
                 adam: mean over runs of the final m
      m_err      samplers: sqrt(pooled variance / ESS); adam: std over runs / sqrt(runs)
                 (0 with one run)
      diagnostics  dict (JSON-ready): chains, steps, burn_in, acceptance, step, tau,
                 ess, rhat, per-chain means (samplers); final m per run (adam)
      kept       (chains, kept) kept m samples (samplers) or (runs, 1) final m (adam)
    """

    alpha: float
    N: int
    init: str
    sampler: str
    posterior: str
    m_mean: float
    m_err: float
    diagnostics: dict = field(default_factory=dict)
    kept: np.ndarray = field(default=None, repr=False)

    def to_json(self) -> dict:
        return {"alpha": self.alpha, "N": self.N, "init": self.init, "sampler": self.sampler,
                "m_mean": self.m_mean, "m_err": self.m_err, "diagnostics": self.diagnostics}


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def _rank_diagnostics(kept):
    from .diagnostics import diagnose

    return diagnose(kept) if kept.shape[1] >= 4 else None


def summarise(outcomes: Sequence[ChainOutcome]) -> Point:
    """Pool the chains of one (alpha, N, init) into a :class:`Point`."""
    task = outcomes[0].task
    outcomes = sorted(outcomes, key=lambda o: o.task.chain)
    diag = {"chains": len(outcomes), "steps": task.steps, "posterior": task.posterior,
            "step": [o.step for o in outcomes]}
    if task.sampler == "adam":
        finals = np.array([o.final_m for o in outcomes])
        err = float(finals.std(ddof=1) / math.sqrt(finals.size)) if finals.size > 1 else 0.0
        diag.update({"final_m": finals.tolist(), "final_logp": [o.final_logp for o in outcomes],
                     "m_err": "spread of final m over runs / sqrt(runs); 0 with one run"})
        return Point(task.alpha, task.N, task.init, task.sampler, task.posterior,
                     float(finals.mean()), err, diag, finals[:, None])
    burn = task.steps // 2
    kept = np.stack([o.m_trace[burn:] for o in outcomes])
    mean = float(kept.mean())
    if kept.shape[1] >= 4:
        tau = integrated_autocorr_time(kept)
        ess = kept.size / tau
        rhat = split_rhat(kept)
        err = float(math.sqrt(kept.var(ddof=1) / ess)) if kept.size > 1 else 0.0
    else:  # too short for diagnostics
        tau, ess, rhat, err = math.nan, math.nan, math.nan, 0.0
    diag.update({"burn_in": BURN_IN_POLICY, "kept_per_chain": int(kept.shape[1]),
                 "acceptance": [o.acceptance for o in outcomes],
                 "tau": _finite(tau), "ess": _finite(ess), "rhat": _finite(rhat),
                 "chain_means": kept.mean(axis=1).tolist(),
                 "rank_normalised": _rank_diagnostics(kept),
                 "m_err": "sqrt(pooled variance of kept m / ESS)"})
    return Point(task.alpha, task.N, task.init, task.sampler, task.posterior, mean, err, diag, kept)


def make_tasks(spec: ModelSpec, Ns: Sequence[int], alphas: Sequence[float], *, sampler: str,
               chains: int, steps: int, seed: int, inits: Sequence[str] = INITS,
               posterior: str = "marginal", step: float | None = None) -> list[ChainTask]:
    """All chain tasks of a sweep, with seeds spawned deterministically from ``seed``."""
    if sampler not in SAMPLERS:
        raise InvalidParameterError("sampler", f"must be one of {SAMPLERS}, got {sampler!r}")
    if posterior not in POSTERIORS:
        raise InvalidParameterError("posterior", f"must be one of {POSTERIORS}, got {posterior!r}")
    points = [(int(N), float(a)) for N in Ns for a in alphas]
    root = np.random.SeedSequence(seed)
    tasks = []
    for (N, a), ss in zip(points, root.spawn(len(points))):
        data_ss, *chain_ss = ss.spawn(1 + len(INITS) * chains)
        for init in inits:
            k = INITS.index(init)  # seeds fixed by init name, not by which inits were asked for
            for c in range(chains):
                tasks.append(ChainTask(spec, N, a, init, sampler, posterior, int(steps), step,
                                       data_ss, chain_ss[k * chains + c], c))
    return tasks


def m_of_alpha(spec: ModelSpec, Ns: Sequence[int], alphas: Sequence[float], *, sampler: str = "mala",
               chains: int = 2, steps: int | None = None, seed: int = 0, inits: Sequence[str] = INITS,
               posterior: str = "marginal", step: float | None = None, executor: Executor | None = None,
               on_progress: Callable[[int, int, ChainOutcome], None] | None = None,
               progress: bool = False) -> tuple[Point, ...]:
    """Measure m(alpha) at every N, alpha and initial state.

    Tasks run through ``executor`` (any concurrent.futures.Executor; serial in
    this process if None).  ``on_progress(done, total, outcome)`` is called as
    chains finish; ``progress=True`` shows a tqdm bar (a widget in a notebook)
    when tqdm is installed.  Points come back ordered by (N, alpha, init).
    """
    require_bilinear(spec)
    steps = default_steps(sampler) if steps is None else int(steps)
    tasks = make_tasks(spec, Ns, alphas, sampler=sampler, chains=chains, steps=steps, seed=seed,
                       inits=inits, posterior=posterior, step=step)
    if progress:
        from copyhead._progress import progress_bar

        bar, user_callback = progress_bar(len(tasks), "chains"), on_progress

        def on_progress(done, total, outcome):
            bar.update()
            if user_callback is not None:
                user_callback(done, total, outcome)
    # one job per (N, alpha): its chains (both starts) share the data set and run as one batch (run_chains)
    jobs: dict = {}
    for t in tasks:
        jobs.setdefault((t.N, t.alpha), []).append(t)
    outcomes: list[ChainOutcome] = []

    def record(batch):
        for outcome in batch:
            outcomes.append(outcome)
            if on_progress:
                on_progress(len(outcomes), len(tasks), outcome)

    if executor is None:
        for job in jobs.values():
            record(run_chains(job))
    else:
        futures = [executor.submit(run_chains, job) for job in jobs.values()]
        for fut in as_completed(futures):
            record(fut.result())
    if progress:
        bar.close()
    groups: dict = {}
    for o in outcomes:
        groups.setdefault((o.task.N, o.task.alpha, INITS.index(o.task.init)), []).append(o)
    return tuple(summarise(groups[k]) for k in sorted(groups))
