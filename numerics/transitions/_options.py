"""One place for the engine's tolerances and step sizes (no numbers written inline in the solvers)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Options:
    """Tolerances of the transition engine.

    Newton steps are measured per component against a typical size (the
    component's magnitude or the scale of its variable), so a control of size
    1e-4 converges to the same relative precision as one of size 1.
    """

    newton_tol: float = 1e-12            # relative step that counts as converged
    newton_loose_tol: float = 1e-9       # accepted after newton_loose_after iterations (slow final digits)
    newton_loose_after: int = 8
    newton_max_iter: int = 60
    residual_rel: float = 1e-7           # converged also needs |residual| below this times (1 + initial residual)
    mp_guard_digits: int = 20            # extra mpmath digits carried beyond --digits
    mp_tol_digits: int = 8               # converged when the step is 10^-(digits + this)
    xmax: float = 1.0e4                  # order parameters beyond this are "at infinity"
    zero_mode_rel: float = 1e-7          # |Hessian eigenvalue| below this times the largest: a zero mode
    tie_rel: float = 1e-11               # equal free energies (relative) are a tie
    a3_rel: float = 1e-6                 # a cubic Landau term below this (relative) vanishes
    stationary_grad_rel: float = 1e-6    # |grad f| accepted for a minimum (relative to 1 + |f|)
    edge_distance: float = 1e-15         # closest sampling point to a domain edge (relative to its width)


DEFAULT = Options()
