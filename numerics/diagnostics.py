"""Convergence diagnostics as current practice has them (Vehtari, Gelman, Simpson, Carpenter, Buerkner 2021).

* :func:`rhat` -- rank-normalised split R-hat: max of the bulk R-hat (split chains, pooled ranks mapped to
  normal scores) and the tail R-hat (the same on |x - median|). A chain stuck in another mode gives a
  large value where the classic R-hat (numerics/sampling.split_rhat) can stay near 1.
* :func:`ess_bulk`, :func:`ess_tail` -- effective sample sizes of the rank-normalised split chains and of
  the 5% / 95% quantile indicators, with Geyer's initial monotone sequence.
* :func:`diagnose` -- all of them, and flags for chains in different modes or shorter than 50
  autocorrelation times.

Constant chains (no variance) give NaN, never 1.0: nothing was learned about mixing.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import special, stats

from ..errors import InvalidParameterError

RHAT_LIMIT = 1.01
MIN_AUTOCORR_TIMES = 50


def _chains(x) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] < 4:
        raise InvalidParameterError("draws", "must be a (chains, draws) array with at least 4 draws per chain, "
                                             f"got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise InvalidParameterError("draws", "must be finite (a chain produced NaN or inf)")
    return x


def _split(x):
    half = x.shape[1] // 2
    return np.concatenate([x[:, :half], x[:, x.shape[1] - half:]], axis=0)


def _z_scale(x):
    ranks = stats.rankdata(x, method="average").reshape(x.shape)
    return special.ndtri((ranks - 3 / 8) / (x.size + 1 / 4))


def _rhat_raw(x) -> float:
    n = x.shape[1]
    W = x.var(axis=1, ddof=1).mean()
    B = n * x.mean(axis=1).var(ddof=1)
    if W == 0:
        return math.nan
    return float(math.sqrt(((n - 1) / n * W + B / n) / W))


def _constant(x) -> bool:
    return bool(np.ptp(x) == 0)


def rhat(x) -> float:
    """Rank-normalised split R-hat (max of bulk and tail); NaN for constant draws."""
    x = _chains(x)
    if _constant(x):
        return math.nan
    s = _split(x)
    bulk = _rhat_raw(_z_scale(s))
    tail = _rhat_raw(_z_scale(np.abs(s - np.median(s))))
    return float(max(bulk, tail))


def _ess_raw(x) -> float:
    """ESS of (chains, n) draws: multi-chain autocorrelation, Geyer's initial monotone sequence."""
    m, n = x.shape
    if np.all(x.var(axis=1) == 0):
        return math.nan
    size = 1 << (2 * n - 1).bit_length()
    centred = x - x.mean(axis=1, keepdims=True)
    f = np.fft.rfft(centred, size, axis=1)
    acov = np.fft.irfft(f * np.conj(f), size, axis=1)[:, :n] / n
    chain_var = acov[:, 0] * n / (n - 1)
    W = chain_var.mean()
    var_plus = W * (n - 1) / n + (x.mean(axis=1).var(ddof=1) if m > 1 else 0.0)
    rho = 1 - (W - acov.mean(axis=0)) / var_plus
    rho[0] = 1.0
    # Geyer: sums of pairs while positive, made monotone
    pairs = rho[:-1:2] + rho[1::2]
    k = np.argmax(pairs <= 0) if np.any(pairs <= 0) else len(pairs)
    pairs = np.minimum.accumulate(pairs[:k]) if k else pairs[:0]
    tau = -1 + 2 * float(np.sum(pairs))
    tau = max(tau, 1 / math.log10(m * n))
    return float(m * n / tau)


def ess_bulk(x) -> float:
    x = _chains(x)
    return math.nan if _constant(x) else _ess_raw(_z_scale(_split(x)))


def ess_tail(x) -> float:
    """min of the ESS of I(x <= q05) and I(x <= q95)."""
    x = _chains(x)
    if _constant(x):
        return math.nan
    s = _split(x)
    out = []
    for prob in (0.05, 0.95):
        ind = (s <= np.quantile(s, prob)).astype(float)
        out.append(_ess_raw(ind))
    return float(np.nanmin(out)) if not all(math.isnan(v) for v in out) else math.nan


def diagnose(x) -> dict:
    """rhat, ess_bulk, ess_tail, autocorrelation time per chain, and flags (JSON-ready; NaN as None)."""
    x = _chains(x)
    r, eb, et = rhat(x), ess_bulk(x), ess_tail(x)
    flags = []
    if math.isnan(r):
        flags.append("constant draws: no information on mixing")
    elif r > RHAT_LIMIT:
        means, sds = x.mean(axis=1), x.std(axis=1)
        flags.append(f"chains disagree (rank-normalised R-hat {r:.3g} > {RHAT_LIMIT}): chain means "
                     f"{np.round(means, 4).tolist()} against within-chain spread {float(np.mean(sds)):.3g}; "
                     "likely in different modes")
    tau = x.size / eb if eb and not math.isnan(eb) else math.nan
    if not math.isnan(tau) and x.shape[1] < MIN_AUTOCORR_TIMES * tau:
        flags.append(f"chains shorter than {MIN_AUTOCORR_TIMES} autocorrelation times "
                     f"({x.shape[1]} draws, tau = {tau:.3g})")
    clean = lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else v  # noqa: E731
    return {"rhat": clean(r), "ess_bulk": clean(eb), "ess_tail": clean(et), "tau": clean(tau),
            "flags": flags, "flag": "ok" if not flags else "; ".join(flags),
            "method": "rank-normalised split R-hat, bulk/tail ESS (Vehtari et al. 2021)"}
