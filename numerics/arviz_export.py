"""Kept draws as ArviZ InferenceData, written as netCDF (the optional ``arviz`` extra).

* :func:`from_points` -- the points of :func:`copyhead.numerics.sampling.m_of_alpha` (``Point.kept``, chains x
  kept draws of m): one variable ``m`` with dims (chain, draw, point), coordinates alpha, N and init.
* :func:`from_replica_run` -- a :class:`copyhead.numerics.replica.ReplicaRun`: ``m`` with dims
  (chain = ladder, draw, rung), rung weights as coordinates; swap rates, round trips and MALA acceptance in the posterior's attributes.
* :func:`write_netcdf` -- writes one file, refusing to overwrite it unless asked.

ArviZ is imported only inside these functions, so the rest of copyhead never needs it.
"""
from __future__ import annotations

import os

import numpy as np

from copyhead.errors import InvalidParameterError

__all__ = ["from_points", "from_replica_run", "write_netcdf"]


def _arviz():
    try:
        import arviz
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise InvalidParameterError("arviz", "not installed; pip install 'copyhead[arviz]'") from exc
    return arviz


def _attrs(extra):
    from copyhead import __version__

    out = {"copyhead_version": __version__, "burn_in": "first half discarded (kept draws only)"}
    out.update({k: str(v) for k, v in (extra or {}).items()})
    return out


def from_points(points, attrs=None):
    """InferenceData of the kept m of sampled points (all must have the same chains x draws)."""
    az = _arviz()
    pts = [p for p in points if p.kept is not None and p.sampler != "adam"]
    if not pts:
        raise InvalidParameterError("points", "no sampled points with kept draws (Adam runs have none)")
    shapes = {p.kept.shape for p in pts}
    if len(shapes) != 1:
        raise InvalidParameterError("points", f"kept draws differ in shape {sorted(shapes)}; export them separately")
    m = np.stack([p.kept for p in pts], axis=-1)                         # (chain, draw, point)
    coords = {"point": np.arange(len(pts))}
    idata = az.from_dict(posterior={"m": m}, coords=coords, dims={"m": ["point"]}, attrs=_attrs(attrs))
    post = idata.posterior.assign_coords(alpha=("point", [p.alpha for p in pts]), N=("point", [p.N for p in pts]),
                                         init=("point", [p.init for p in pts]))
    idata.posterior = post
    return idata


def from_replica_run(run, attrs=None):
    """InferenceData of a replica-exchange run: m at every rung, one chain per ladder."""
    az = _arviz()
    m = np.transpose(run.m, (0, 2, 1))                                  # (ladder, draw, rung)
    K = m.shape[2]
    extra = {"steps": run.steps, "swap_every": run.swap_every, "seed": run.seed}
    extra.update(attrs or {})
    idata = az.from_dict(posterior={"m": m}, coords={"rung": np.arange(K)}, dims={"m": ["rung"]},
                         attrs=_attrs(extra))
    weights = np.asarray(run.weights)
    idata.posterior = idata.posterior.assign_coords(
        {f"weight_{i}": ("rung", weights[:, i]) for i in range(weights.shape[1])})
    idata.posterior.attrs.update({"swap_rate": str(np.round(run.swap_rate, 4).tolist()),
                                  "round_trips_per_ladder": str(run.round_trips.sum(axis=1).tolist()),
                                  "mala_acceptance": str(np.round(run.acceptance, 4).tolist())})
    return idata


def write_netcdf(idata, path, *, force: bool = False) -> str:
    """Write ``idata`` to ``path`` (netCDF); an existing file is kept unless ``force``."""
    if os.path.exists(path) and not force:
        raise InvalidParameterError("path", f"{path!r} already exists; pass force=True to overwrite")
    idata.to_netcdf(str(path))
    return str(path)
