"""Integrate the reduced overlap ODEs (theory/dynamics.py): trajectories, emergence times, plateau law.

Every right-hand side, Jacobian and observable is generated from the SymPy expressions by
lambdify (with cse) and cached on disk like the free energies (numerics/compiled.py).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from copyhead.errors import ConvergenceError, InvalidParameterError
from copyhead.spec import ModelSpec, check_choice

from .compiled import compiled_function


class _LazyModule:
    """scipy.integrate / scipy.optimize imported on first use: `copyhead transition` needs only test_error_at."""

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attribute):
        import importlib

        return getattr(importlib.import_module(self._name), attribute)


integrate, optimize = _LazyModule("scipy.integrate"), _LazyModule("scipy.optimize")

__all__ = ["INITS", "CompiledDynamics", "compiled_dynamics", "compiled_test_error", "initial_state", "Branches",
           "branches", "Trajectory", "trajectory", "SaddleNode", "saddle_node", "fold", "plateau_law", "PlateauLaw",
           "linear_delay", "LinearDelay", "map_uniform_threshold", "spinodal_info", "test_error_at", "LearningCurves", "learning_curves", "map_coexistence", "ContextScan", "context_scan", "NetworkOverlaps", "ula_overlaps", "SOLVER"]

INITS = ("prior", "uniform", "copy")
SOLVER = "LSODA"
#: Q and K of the finite network's "uniform" start are prior draws scaled by this (numerics/network.initial_state).
UNIFORM_SCALE = 0.05
COPY_M = 0.95


@dataclass(frozen=True)
class CompiledDynamics:
    """Generated numpy functions of one (attention, tokens, prior, dynamics) family.

    Each takes (state vector, params) with params = MODEL_PARAMS values then alpha.
    rhs -> (k,); jac -> (k, k); d_alpha -> (k,) (dF/dalpha); second -> (k, k, k) (d2 F_i/dy_j dy_l);
    observables(order params, params) -> (m, q); lyapunov(state, params).
    """

    attention: str
    tokens: str
    prior: str
    dynamics: str
    state_names: tuple
    order_indices: tuple
    multiplicities: tuple
    fns: object = field(repr=False)

    def _call(self, name, y, params):
        return np.asarray(self.fns[name](*y, *params), dtype=float)

    def rhs(self, y, params):
        return self._call("rhs", y, params).reshape(-1)

    def jac(self, y, params):
        return self._call("jac", y, params).reshape(len(y), len(y))

    def d_alpha(self, y, params):
        return self._call("d_alpha", y, params).reshape(-1)

    def second(self, y, params):
        k = len(y)
        return self._call("second", y, params).reshape(k, k, k)

    def lyapunov(self, y, params):
        return float(self.fns["lyapunov"](*y, *params))

    def order_parameters(self, y):
        return [y[i] for i in self.order_indices]

    def m(self, y, params):
        return np.asarray(self.fns["m"](*self.order_parameters(y), *params[:-1]), dtype=float)

    def q(self, y, params):
        return np.asarray(self.fns["q"](*self.order_parameters(y), *params[:-1]), dtype=float)

    def dm_dt(self, y, params):
        """dm/dt = grad m . rhs (m depends on the order parameters only)."""
        grad = self._call("m_grad", self.order_parameters(y), params[:-1]).reshape(-1)
        rhs = self.rhs(y, params)
        return float(sum(g * rhs[i] for g, i in zip(grad, self.order_indices)))


class _LazyBlocks:
    """Generated functions of one family, each compiled (and disk-cached) on first use."""

    def __init__(self, family: tuple):
        self.family, self._fns = family, {}

    def __getitem__(self, name):
        if name not in self._fns:
            self._fns[name] = compiled_function("dynamics:" + ":".join(self.family) + ":" + name,
                                                lambda: _block_expression(self.family, name))
        return self._fns[name]


def _block_expression(family: tuple, name: str) -> tuple:
    """(args, expression) of one generated block."""
    import sympy as sp

    from ..theory.dynamics import reduced_dynamics
    from ..theory.symbols import MODEL_PARAMS, alpha

    rd = reduced_dynamics(*family)
    y = list(rd.state)
    args, obs_args = y + list(rd.params), list(rd.order_params) + list(MODEL_PARAMS)
    rhs = [sp.sympify(e) for e in rd.rhs]
    if name in ("m", "q"):
        return obs_args, getattr(rd, name)
    if name == "m_grad":
        return obs_args, [sp.diff(rd.m, p) for p in rd.order_params]
    if name == "rhs":
        expr = rhs
    elif name == "jac":
        expr = [[sp.diff(e, v) for v in y] for e in rhs]
    elif name == "d_alpha":
        expr = [sp.diff(e, alpha) for e in rhs]
    elif name == "second":
        expr = [[[sp.diff(e, v, w) for w in y] for v in y] for e in rhs]
    elif name == "lyapunov":
        expr = rd.lyapunov.rewrite("stable").doit()
    else:
        raise KeyError(name)
    return args, expr


@lru_cache(maxsize=None)
def compiled_dynamics(attention: str, tokens: str, prior: str, dynamics: str) -> CompiledDynamics:
    from ..theory.dynamics import DYNAMICS

    check_choice("dynamics", dynamics, DYNAMICS)
    from ..theory.dynamics import reduced_dynamics

    rd = reduced_dynamics(attention, tokens, prior, dynamics)   # ~1 s of SymPy, once per process and family
    y = list(rd.state)
    cached = {"state": [str(v) for v in y], "order_indices": [y.index(p) for p in rd.order_params],
              "multiplicities": [str(mu) for mu in rd.multiplicities]}
    return CompiledDynamics(attention, tokens, prior, dynamics, tuple(cached["state"]),
                            tuple(cached["order_indices"]), tuple(cached["multiplicities"]),
                            _LazyBlocks((attention, tokens, prior, dynamics)))


@lru_cache(maxsize=None)
def compiled_test_error(attention: str, tokens: str):
    """numpy function err(order params..., MODEL_PARAMS..., alpha, tau2), generated from theory/test_error.py."""
    return compiled_function(f"test-error:{attention}:{tokens}", lambda: test_error_expression(attention, tokens))


def test_error_expression(attention: str, tokens: str) -> tuple:
    """(arguments, SymPy test error) of theory/test_error.py (SymPy only when neither the shipped sources nor
    the compile cache hold it)."""
    from ..theory import test_error as te

    return te.arguments(attention, tokens), te.test_error_of_order_params(attention, tokens)


def _params(spec: ModelSpec, alpha: float) -> list:
    return [float(v) for v in spec.numeric_params.values()] + [float(alpha)]


def _multiplicity(cd: CompiledDynamics, spec: ModelSpec, j: int) -> float:
    import sympy as sp

    from ..theory.symbols import T

    return float(sp.sympify(cd.multiplicities[j], locals={"T": T}).subs(T, spec.T))


def initial_state(spec: ModelSpec, cd: CompiledDynamics, init: str, N: int | None = None) -> np.ndarray:
    """State at t = 0.

    prior: A = sigma_q^2 I, B = sigma_k^2 I, S = 0 (the N -> oo prior); with N, the order
      parameters start at their typical finite-N size sigma_q sigma_k / sqrt(N mu) (a projection of
      S = QK^T/N, entries of variance sigma_q^2 sigma_k^2 / N, on a mode of multiplicity mu), positive.
    uniform: the finite network's uniform start: Q, K prior draws scaled by 0.05 (A, B shrink by 0.0025), S = 0.
    copy: the network's copy start (numerics/network.initial_state): S = delta0 (Pi - J/T) (linear: s0 Pi) with
      m = 0.95, Q and K built from the SVD of S, so A = B = |S| mode by mode.
    """
    check_choice("init", init, INITS)
    if N is not None and (isinstance(N, bool) or int(N) != N or N < 1):
        raise InvalidParameterError("N", f"must be an integer >= 1, got {N!r}")
    bilinear = spec.prior == "bilinear"
    y = np.zeros(len(cd.state_names))
    p_copy = _copy_order_parameter(spec, cd) if init == "copy" else None
    for j, i in enumerate(cd.order_indices):
        if init == "copy":
            p = p_copy
        elif N is not None:
            p = spec.sigma_q * spec.sigma_k / math.sqrt(N * _multiplicity(cd, spec, j))
        else:
            p = 0.0
        y[i] = p
        if bilinear:
            if init == "copy":
                a, b = abs(p), abs(p)   # Q = sqrt(N) U sqrt(Sigma) R, K = sqrt(N) V sqrt(Sigma) R: A = B = |S| per mode
            else:
                scale = UNIFORM_SCALE**2 if init == "uniform" else 1.0
                a, b = scale * spec.sigma_q**2, scale * spec.sigma_k**2
            y[i - 2], y[i - 1] = a, b
    return y


def _copy_order_parameter(spec: ModelSpec, cd: CompiledDynamics) -> float:
    """The network's copy start S0 (softmax: delta0 (Pi - J/T); linear: s0 Pi, so every order parameter equals s0)
    with m(S0) = 0.95: solved on the generated observable m, all order parameters equal."""
    m_of = lambda c: float(cd.m(_with_order(cd, c), [*spec.numeric_params.values(), 1.0])) - COPY_M  # noqa: E731
    hi = 1.0
    while m_of(hi) < 0:
        hi *= 2
        if hi > 1e12:
            raise ConvergenceError("no copy start with m = 0.95 found")
    return float(optimize.brentq(m_of, 0.0, hi, xtol=1e-14, rtol=1e-14))


def _with_order(cd, c):
    y = np.zeros(len(cd.state_names))
    y[list(cd.order_indices)] = c
    return y


# ----------------------------------------------------------------------------- branches of fixed points
@dataclass(frozen=True)
class Branches:
    """Reference states at one alpha: the fixed points the trajectory can end in, with evidence.

    uniform_m: m of the uniform-branch minimum (None if that branch does not exist here);
    copy_m: m of the copy-branch minimum (None if it does not exist); reference_m: the lower
    reference of the emergence criterion (uniform_m, else the m at the fold where the uniform
    branch ended, else m at S = 0); midpoint: (reference_m + copy_m)/2 or None; source: what
    produced the minima; minima: all minima (m, f) found.
    """

    alpha: float
    uniform_m: float | None
    copy_m: float | None
    reference_m: float
    midpoint: float | None
    source: str
    minima: tuple
    fold_m: float | None = None
    kind: str = "branches"   # 'crossover': softmax with one minimum and no first-order transition (no branches)

    def to_dict(self):
        return dict(self.__dict__)


def _m_at_zero(spec):
    from .compiled import compiled_observables

    obs = compiled_observables(spec.attention, spec.tokens)
    k = 2 if (spec.attention, spec.tokens) == ("linear", "onehot") else 1
    return float(obs["m"](*([0.0] * k), *spec.numeric_params.values()))


def branches(spec: ModelSpec, alpha: float, dynamics: str, spinodal_info=None) -> Branches:
    """The branches whose midpoint defines the emergence time.

    Langevin (and the gaussian-logit prior, where both dynamics coincide): local minima of the
    free energy f; gradient flow: minima of the MAP objective (the kink S = 0 is the uniform state).
    Two minima: the lower-m one is the uniform branch. One minimum: it is the uniform branch below
    the lower spinodal (first-order families) or if it sits at S = 0's m; otherwise the copy branch.
    spinodal_info: from :func:`spinodal_info` (computed when None).
    """
    from .free_energy import local_minima

    if spinodal_info is None:
        spinodal_info = _spinodal_info(spec, dynamics)
    m0 = _m_at_zero(spec)
    kind = "branches"
    if dynamics == "gradient-flow" and spec.prior == "bilinear":
        from ..theory.map_estimate import map_minima

        found = map_minima(spec, alpha)
        minima = tuple((mn.m, mn.f) for mn in found)
        source = "theory.map_estimate.map_minima"
        has_kink = any(mn.kind == "kink" for mn in found)
        smooth = [mn.m for mn in found if mn.kind == "smooth" and mn.m > m0]
        uniform = m0 if has_kink else None
        copy = max(smooth) if smooth else None
        fold_m = None
        reference = m0
    else:
        found = local_minima(spec, alpha)
        minima = tuple((mn.m, mn.f) for mn in found)
        source = "numerics.free_energy.local_minima"
        # linear attention: the S -> -S partners (m < 0) are not reached from a start with S >= 0
        ms = sorted(mn.m for mn in found if mn.m >= m0 - 1e-12)
        fold_m = spinodal_info.get("upper_fold_m") if spinodal_info else None
        lower = spinodal_info.get("lower") if spinodal_info else None
        if len(ms) >= 2:
            uniform, copy = ms[0], ms[-1]
        elif abs(ms[0] - m0) <= 1e-9 or (lower is not None and alpha < lower):
            uniform, copy = ms[0], None
        else:
            uniform, copy = None, ms[0]
            if spec.attention == "softmax" and (spinodal_info is None or spinodal_info.get("upper") is None):
                kind = "crossover"
        reference = uniform if uniform is not None else (fold_m if fold_m is not None else m0)
    midpoint = None if copy is None or copy - reference < 1e-6 else 0.5 * (reference + copy)
    return Branches(float(alpha), uniform, copy, float(reference), midpoint, source, minima, fold_m, kind)


# ----------------------------------------------------------------------------- trajectories
@dataclass(frozen=True)
class Trajectory:
    """One solution of the overlap ODE.

    t, m, q, test_error: sampled on the output grid (test_error: Bayes readout, noise-free labels);
    t_emerge: interpolated first upward crossing of branches.midpoint (None if it never crosses);
    t_peak_rate: time of the largest dm/dt (None if m never rises); peak_rate: that dm/dt;
    final_state: the state at t_max; final_branch: 'copy', 'uniform', 'crossover' (softmax without a first-order
    transition: one minimum, so no branches; t_emerge is then the half-rise time from m(S = 0)) or 'unconverged'
    (final m within 1e-3 of the branch and |rhs| < 1e-6), with final_rhs_norm as evidence; solver: method,
    rtol, atol, nfev, success, message.
    """

    alpha: float
    dynamics: str
    init: str
    N: int | None
    t: tuple
    m: tuple
    q: tuple
    test_error: tuple
    t_emerge: float | None
    t_peak_rate: float | None
    peak_rate: float | None
    final_state: dict
    final_branch: str
    final_rhs_norm: float
    branches: Branches
    solver: dict
    states: dict = field(default=None, repr=False)   # {state name: values on the output grid} (not in to_dict)

    def to_dict(self) -> dict:
        return {"alpha": self.alpha, "dynamics": self.dynamics, "init": self.init, "N": self.N, "t": list(self.t),
                "m": list(self.m), "q": list(self.q), "test_error": list(self.test_error),
                "t_emerge": self.t_emerge, "t_peak_rate": self.t_peak_rate, "peak_rate": self.peak_rate,
                "final_branch": self.final_branch, "final_state": self.final_state,
                "final_rhs_norm": self.final_rhs_norm, "branches": self.branches.to_dict(), "solver": self.solver}


def _check_positive(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not math.isfinite(value) or value <= 0:
        raise InvalidParameterError(name, f"must be a positive finite number, got {value!r}")
    return float(value)


def trajectory(spec: ModelSpec, alpha: float, *, dynamics: str = "langevin", init: str = "prior",
               t_max: float = 400.0, N: int | None = None, n_points: int = 401, rtol: float = 1e-9,
               atol: float = 1e-12, spinodal_info=None, reference: Branches | None = None) -> Trajectory:
    """Solve the reduced ODE from ``init`` up to ``t_max`` with a stiff-capable solver (LSODA, analytic Jacobian)."""
    alpha = _check_positive("alpha", alpha)
    t_max = _check_positive("t_max", t_max)
    if n_points < 2:
        raise InvalidParameterError("n_points", f"must be >= 2, got {n_points}")
    cd = compiled_dynamics(spec.attention, spec.tokens, spec.prior, dynamics)
    params = _params(spec, alpha)
    y0 = initial_state(spec, cd, init, N)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        sol = integrate.solve_ivp(lambda t, y: cd.rhs(y, params), (0.0, t_max), y0, method=SOLVER,
                                  jac=lambda t, y: cd.jac(y, params), rtol=rtol, atol=atol, dense_output=True)
    if not sol.success:
        raise ConvergenceError(f"alpha={alpha}: {SOLVER} failed: {sol.message}")
    br = reference if reference is not None else branches(spec, alpha, dynamics, spinodal_info)
    ts = np.linspace(0.0, t_max, n_points)
    ys = sol.sol(ts)
    ms = np.array([float(cd.m(ys[:, j], params)) for j in range(n_points)])
    qs = np.array([float(cd.q(ys[:, j], params)) for j in range(n_points)])
    err_fn = compiled_test_error(spec.attention, spec.tokens)
    errs = np.array([float(err_fn(*cd.order_parameters(ys[:, j]), *params, 0.0)) for j in range(n_points)])
    if not (np.all(np.isfinite(ms)) and np.all(np.isfinite(errs))):
        raise ConvergenceError(f"alpha={alpha}: the trajectory left double precision")
    t_emerge = _crossing(sol, cd, params, ts, ms, br.midpoint)
    t_peak, peak = (None, None) if t_emerge is None else _peak_rate(sol, cd, params, ts, ms, br, t_emerge)
    y_end = ys[:, -1]
    rhs_norm = float(np.max(np.abs(cd.rhs(y_end, params))))
    final_branch = "unconverged"
    if rhs_norm < 1e-6:
        for name, ref in (("crossover" if br.kind == "crossover" else "copy", br.copy_m), ("uniform", br.uniform_m)):
            if ref is not None and abs(ms[-1] - ref) < 1e-3:
                final_branch = name
                break
    solver = {"method": SOLVER, "rtol": rtol, "atol": atol, "nfev": int(sol.nfev), "njev": int(sol.njev),
              "success": bool(sol.success), "message": str(sol.message)}
    return Trajectory(alpha, dynamics, init, N, tuple(ts.tolist()), tuple(ms.tolist()), tuple(qs.tolist()),
                      tuple(errs.tolist()), t_emerge, t_peak, peak,
                      dict(zip(cd.state_names, map(float, y_end))), final_branch, rhs_norm, br, solver,
                      {name: tuple(ys[i].tolist()) for i, name in enumerate(cd.state_names)})


def _crossing(sol, cd, params, ts, ms, level):
    if level is None:
        return None
    above = np.nonzero(ms >= level)[0]
    if len(above) == 0:
        return None
    j = int(above[0])
    if j == 0:
        return 0.0
    fn = lambda t: float(cd.m(sol.sol(t), params)) - level  # noqa: E731
    return float(optimize.brentq(fn, ts[j - 1], ts[j], xtol=1e-12 * max(1.0, ts[j]), rtol=1e-13))


def _peak_rate(sol, cd, params, ts, ms, br, t_emerge):
    """Largest dm/dt during the jump: on the output grid where m is 10-90% of the way from the reference to the
    copy branch, and on a fine grid around t_emerge (a fast jump may fall between output times)."""
    span = br.copy_m - br.reference_m
    inside = (ms >= br.reference_m + 0.1 * span) & (ms <= br.reference_m + 0.9 * span)
    step = ts[1] - ts[0]
    fine = np.linspace(max(0.0, t_emerge - 3 * step), min(ts[-1], t_emerge + 3 * step), 241)
    cand = np.concatenate([ts[inside], fine])
    rates = np.array([cd.dm_dt(sol.sol(t), params) for t in cand])
    j = int(np.argmax(rates))
    if not rates[j] > 0:
        return None, None
    width = step if j < int(np.sum(inside)) else fine[1] - fine[0]
    lo, hi = max(0.0, cand[j] - width), min(ts[-1], cand[j] + width)
    res = optimize.minimize_scalar(lambda t: -cd.dm_dt(sol.sol(t), params), bounds=(lo, hi), method="bounded",
                                   options={"xatol": 1e-10 * max(1.0, hi)})
    if -res.fun < rates[j]:
        return float(cand[j]), float(rates[j])
    return float(res.x), float(-res.fun)


# ----------------------------------------------------------------------------- saddle-node bottleneck
@dataclass(frozen=True)
class SaddleNode:
    """Normal form dx/dt = c1 (alpha - alpha_sp) + c2 x^2 of the ODE at its fold (upper spinodal).

    alpha_sp, state: the fold (rhs = 0, Jacobian singular), found by Newton on (rhs, det J);
    c1 = w . dF/dalpha, c2 = w . D2F[v, v] / 2 (v, w right/left null vectors, w . v = 1);
    prefactor = pi / sqrt(c1 c2): the bottleneck time is prefactor (alpha - alpha_sp)^(-1/2);
    eigenvalues: of the Jacobian at the fold (one ~ 0, the others negative) as evidence.
    """

    alpha_sp: float
    state: tuple
    m: float
    c1: float
    c2: float
    prefactor: float
    eigenvalues: tuple
    residual: float


def saddle_node(spec: ModelSpec, dynamics: str, alpha_guess: float, state_guess) -> SaddleNode:
    cd = compiled_dynamics(spec.attention, spec.tokens, spec.prior, dynamics)
    k = len(cd.state_names)

    def eqs(z):
        y, a = z[:k], z[k]
        p = _params(spec, a)
        return np.concatenate([cd.rhs(y, p), [np.linalg.det(cd.jac(y, p))]])

    sol = optimize.root(eqs, np.concatenate([state_guess, [alpha_guess]]), method="hybr", options={"xtol": 1e-14})
    y, a = sol.x[:k], float(sol.x[k])
    p = _params(spec, a)
    J = cd.jac(y, p)
    residual = float(np.max(np.abs(eqs(sol.x))))
    if residual > 1e-8:
        raise ConvergenceError(f"fold of the overlap ODE not found near alpha = {alpha_guess}: residual {residual:.3g}")
    eigval, right = np.linalg.eig(J)
    i = int(np.argmin(np.abs(eigval)))
    v = np.real(right[:, i])
    eigl, left = np.linalg.eig(J.T)
    w = np.real(left[:, int(np.argmin(np.abs(eigl)))])
    w = w / float(w @ v)
    c1 = float(w @ cd.d_alpha(y, p))
    c2 = float(0.5 * w @ np.einsum("ijl,j,l->i", cd.second(y, p), v, v))
    pref = math.pi / math.sqrt(c1 * c2) if c1 * c2 > 0 else math.nan
    return SaddleNode(a, tuple(map(float, y)), float(cd.m(y, p)), c1, c2, pref, tuple(sorted(np.real(eigval))),
                      residual)


def fold(spec: ModelSpec, dynamics: str, alpha_sp_guess: float) -> SaddleNode:
    """The upper fold of the uniform branch, started from the free-energy minimum just below the guess."""
    from .free_energy import local_minima

    below = sorted(local_minima(spec, alpha_sp_guess * (1 - 1e-4)), key=lambda mn: mn.m)[0]
    cd = compiled_dynamics(spec.attention, spec.tokens, spec.prior, dynamics)
    return saddle_node(spec, dynamics, alpha_sp_guess, _state_at_minimum(spec, cd, [below.order_parameter]))


@dataclass(frozen=True)
class PlateauLaw:
    """Fit t_emerge = C (alpha - alpha_sp)^(-nu) over distances; prediction nu = 1/2, C -> pi/sqrt(c1 c2).

    distances, times: the data; exponent, log_prefactor: least squares on log-log; local_exponents:
    slopes between neighbours; scaled: t * sqrt(distance) per point (should approach the prefactor as
    distance -> 0, up to the O(1) time spent outside the bottleneck).
    """

    alpha_sp: float
    distances: tuple
    times: tuple
    exponent: float
    prefactor_fit: float
    local_exponents: tuple
    scaled: tuple
    saddle_node: SaddleNode


def plateau_law(spec: ModelSpec, dynamics: str, alpha_sp_guess: float, distances, *, init: str = "prior",
                t_max: float | None = None) -> PlateauLaw:
    """Emergence times just above the upper spinodal, on a log grid of distances."""
    sn = fold(spec, dynamics, alpha_sp_guess)
    times = []
    for d in distances:
        a = sn.alpha_sp + d
        horizon = t_max if t_max is not None else 20 * sn.prefactor / math.sqrt(d) + 200
        tr = trajectory(spec, a, dynamics=dynamics, init=init, t_max=horizon, n_points=4001,
                        spinodal_info={"upper_fold_m": sn.m, "lower": None, "upper": sn.alpha_sp})
        if tr.t_emerge is None:
            raise ConvergenceError(f"no emergence at alpha_sp + {d:g} within t = {horizon:.3g}")
        times.append(tr.t_emerge)
    ld, lt = np.log(distances), np.log(times)
    slope, icpt = np.polyfit(ld, lt, 1)
    local = np.diff(lt) / np.diff(ld)
    return PlateauLaw(sn.alpha_sp, tuple(map(float, distances)), tuple(times), float(-slope), float(math.exp(icpt)),
                      tuple(map(float, -local)), tuple(float(t * math.sqrt(d)) for t, d in zip(times, distances)), sn)


@lru_cache(maxsize=None)
def _block_minimiser():
    """numpy a*(x) of theory.ldp.block_minimiser: the unit-variance block [[a, x], [x, a]] minimising the rate."""
    import sympy as sp

    from ..theory.ldp import block_minimiser
    from ..theory.symbols import x

    return sp.lambdify(x, block_minimiser(), "numpy")


def _state_at_minimum(spec, cd, order_values):
    """Bilinear: (a, b) of each block at the minimiser of the Wishart block rate; gaussian-logit: p only."""
    y = np.zeros(len(cd.state_names))
    for i, p in zip(cd.order_indices, order_values):
        y[i] = p
        if spec.prior == "bilinear":
            a0 = float(_block_minimiser()(p / (spec.sigma_q * spec.sigma_k)))
            y[i - 2], y[i - 1] = a0 * spec.sigma_q**2, a0 * spec.sigma_k**2
    return y


# ----------------------------------------------------------------------------- linear: ln N delay
@dataclass(frozen=True)
class LinearDelay:
    """Linear attention above alpha_c from the finite-N prior: t_emerge = ln N / (2 lambda) + const.

    Ns, times: data; slope: fitted d t_emerge / d ln N; predicted_slope: 1/(2 lambda) with lambda the
    unstable eigenvalue of the Jacobian at the symmetric fixed point S = 0, A = sigma_q^2, B = sigma_k^2.
    """

    alpha: float
    Ns: tuple
    times: tuple
    slope: float
    predicted_slope: float
    growth_rate: float


def linear_delay(spec: ModelSpec, alpha: float, Ns, dynamics: str = "langevin") -> LinearDelay:
    if spec.attention != "linear":
        raise InvalidParameterError("attention", "the ln N delay is for linear attention (S = 0 is symmetric)")
    cd = compiled_dynamics(spec.attention, spec.tokens, spec.prior, dynamics)
    p = _params(spec, alpha)
    y0 = initial_state(spec, cd, "prior")
    eig = np.linalg.eigvals(cd.jac(y0, p))
    lam = float(np.max(np.real(eig)))
    if lam <= 0:
        raise InvalidParameterError("alpha", f"S = 0 is stable at alpha = {alpha} (largest eigenvalue {lam:.3g})")
    br = branches(spec, alpha, dynamics)
    times = []
    for N in Ns:
        horizon = 10 * math.log(N) / lam + 100
        times.append(trajectory(spec, alpha, dynamics=dynamics, init="prior", N=N, t_max=horizon, n_points=2001,
                                reference=br).t_emerge)
    if any(t is None for t in times):
        raise ConvergenceError(f"alpha={alpha}: no emergence for some N")
    slope = float(np.polyfit(np.log(Ns), times, 1)[0])
    return LinearDelay(float(alpha), tuple(Ns), tuple(times), slope, 1 / (2 * lam), lam)


def map_uniform_threshold(spec: ModelSpec, lo: float = 1e-3, hi: float = 1e7) -> float:
    """alpha above which S = 0 stops being a MAP minimum (softmax): |E'(0)|/c = 1, by Brent on the closed form."""
    import sympy as sp

    from ..theory.map_estimate import softmax_kink_threshold
    from ..theory.symbols import MODEL_PARAMS, alpha as alpha_sym

    if spec.attention != "softmax" or spec.tokens != "centred":
        raise InvalidParameterError("attention", "the MAP threshold closed form is for softmax with centred tokens")
    ratio = sp.lambdify((*MODEL_PARAMS, alpha_sym), softmax_kink_threshold(), "numpy")
    pv = [float(v) for v in spec.numeric_params.values()]
    g = lambda a: float(ratio(*pv, a)) - 1.0  # noqa: E731
    if g(hi) < 0:
        raise ConvergenceError(f"the MAP threshold exceeds alpha = {hi:g}")
    return float(optimize.brentq(g, lo, hi, xtol=1e-12, rtol=1e-14))


def spinodal_info(spec: ModelSpec, dynamics: str = "langevin") -> dict:
    """A copy of :func:`_spinodal_info` (cached per model and dynamics)."""
    return dict(_spinodal_info(spec, dynamics))


@lru_cache(maxsize=64)
def _spinodal_info(spec: ModelSpec, dynamics: str) -> dict:
    """Spinodals of the fixed points the dynamics can end in, with the m at the upper fold.

    Langevin (or gaussian-logit): the first-order transitions of f found by the transition engine over
    its automatic range; gradient flow (bilinear): the MAP threshold where S = 0 stops being a minimum
    (softmax, centred). Returns {'spinodals': [...], 'lower', 'upper', 'upper_fold_m', 'source'}.
    """
    if dynamics == "gradient-flow" and spec.prior == "bilinear":
        if spec.attention == "softmax" and spec.tokens == "centred":
            a = map_uniform_threshold(spec)
            return {"spinodals": [a], "lower": None, "upper": a, "upper_fold_m": _m_at_zero(spec),
                    "source": "MAP kink threshold |E'(0)|/c = 1 (theory.map_estimate)"}
        return {"spinodals": [], "lower": None, "upper": None, "upper_fold_m": None, "source": "none"}
    from .transitions import auto_range, find_transitions
    from ..model import CopyHeadModel

    problem = CopyHeadModel(spec).problem()
    found = auto_range(problem)
    if found is None:
        return {"spinodals": [], "lower": None, "upper": None, "upper_fold_m": None, "source": "auto_range: none"}
    report = find_transitions(problem, *found)
    # only converged jumps count: an unconverged "first-order" flag (e.g. between the S -> -S copies of linear
    # attention at huge alpha) has no spinodals to trust
    first = [t for t in report.transitions if t.kind == "first-order" and t.spinodals and t.converged
             and t.flag == "ok"]
    if not first:
        return {"spinodals": [], "lower": None, "upper": None, "upper_fold_m": None,
                "source": "transition engine: no first-order transition"}
    lo, hi = (float(v) for v in first[0].spinodals)
    from .free_energy import local_minima

    below = sorted(local_minima(spec, hi * (1 - 1e-6)), key=lambda mn: mn.m)[0]
    return {"spinodals": [lo, hi], "lower": lo, "upper": hi, "upper_fold_m": float(below.m),
            "source": "transition engine (find_transitions), fold m from local_minima just below"}


def test_error_at(spec: ModelSpec, alpha: float, order_parameters, label_noise: float = 0.0) -> float:
    """Closed-form test error (theory/test_error.py) of the state with these order parameters (a sequence or
    the dict of a Minimum): posterior-mean readout, labels with noise variance label_noise per component."""
    values = list(order_parameters.values()) if isinstance(order_parameters, dict) else list(order_parameters)
    fn = compiled_test_error(spec.attention, spec.tokens)
    value = float(fn(*values, *spec.numeric_params.values(), float(alpha), float(label_noise)))
    if not math.isfinite(value):
        raise ConvergenceError(f"alpha={alpha}: test error not finite at {values}")
    return value


# ----------------------------------------------------------------------------- learning curves, context length
@dataclass(frozen=True)
class LearningCurves:
    """Test error (noise-free labels) of every minimum against alpha.

    bayes / map: tuples (alpha, branch, test_error, is_global), branch 'uniform' (the lower-m minimum when two
    coexist, or the only one below alpha*) or 'copy'; alpha_star: the Bayes coexistence point (None without a
    first-order transition); map_threshold: where S = 0 stops being a MAP minimum (softmax centred only).
    """

    spec: ModelSpec
    bayes: tuple
    map: tuple
    alpha_star: float | None
    map_threshold: float | None
    map_alpha_star: float | None = None


def map_coexistence(spec: ModelSpec) -> float | None:
    """alpha where the MAP's copy minimum becomes as deep as the kink S = 0 (the MAP's jump), by Brent on the
    difference of the two objectives between the first alpha with a smooth copy minimum and the kink threshold."""
    from ..theory.map_estimate import map_minima

    def gap(a):
        mins = map_minima(spec, a)
        kink = [mn for mn in mins if mn.kind == "kink"]
        smooth = [mn for mn in mins if mn.kind == "smooth" and mn.order_parameter > 0]
        if not kink:
            return -1.0
        if not smooth:
            return 1.0
        return max(smooth, key=lambda mn: mn.m).f - kink[0].f

    hi = map_uniform_threshold(spec) * (1 - 1e-9)
    grid = np.geomspace(1e-2, hi, 60)
    values = [gap(a) for a in grid]
    for a0, a1, g0, g1 in zip(grid, grid[1:], values, values[1:]):
        if g0 > 0 >= g1:
            return float(optimize.brentq(gap, a0, a1, xtol=1e-12, rtol=1e-14))
    return None


def learning_curves(spec: ModelSpec, alphas) -> LearningCurves:
    from ..theory.map_estimate import SUPPORTED, map_minima
    from .free_energy import local_minima
    from .transitions import auto_range, find_transitions
    from ..model import CopyHeadModel

    problem = CopyHeadModel(spec).problem()
    found = auto_range(problem)
    a_star = None
    if found is not None:
        first = [t for t in find_transitions(problem, *found).transitions
                 if t.kind == "first-order" and t.converged and t.flag == "ok"]
        a_star = float(first[0].critical_value) if first else None
    m0 = _m_at_zero(spec)
    bayes, mp_ = [], []
    do_map = spec.prior == "bilinear" and (spec.attention, spec.tokens) in SUPPORTED
    for a in alphas:
        mins = [mn for mn in local_minima(spec, a) if mn.m >= m0 - 1e-12]
        ms = sorted(mn.m for mn in mins)
        for mn in mins:
            if len(ms) > 1:
                branch = "uniform" if mn.m == ms[0] else "copy"
            else:
                branch = "uniform" if (a_star is not None and a < a_star) or abs(mn.m - m0) < 1e-9 else "copy"
            bayes.append((float(a), branch, test_error_at(spec, a, mn.order_parameters), bool(mn.is_global)))
        if do_map:
            for mn in map_minima(spec, a):
                if mn.m < m0 - 1e-12:
                    continue
                branch = "uniform" if mn.kind == "kink" else "copy"
                mp_.append((float(a), branch, test_error_at(spec, a, [mn.order_parameter]), bool(mn.is_global)))
    threshold = map_star = None
    if spec.attention == "softmax" and spec.tokens == "centred" and spec.prior == "bilinear":
        threshold = map_uniform_threshold(spec)
        map_star = map_coexistence(spec)
    return LearningCurves(spec, tuple(bayes), tuple(mp_), a_star, threshold, map_star)


@dataclass(frozen=True)
class ContextScan:
    """alpha*, the upper spinodal, the MAP threshold and the emergence time at alpha = (1 + d) alpha_sp
    (Langevin ODE from the prior) for each T, per prior. rows: {prior: [dict(T, alpha_star, alpha_sp,
    map_threshold, t_emerge)]}."""

    relative_distance: float
    rows: dict


def context_scan(Ts, priors=("bilinear", "gaussian-logit"), relative_distance: float = 0.1,
                 base: ModelSpec | None = None) -> ContextScan:
    from .transitions import auto_range, find_transitions
    from ..model import CopyHeadModel

    base = base or ModelSpec()
    rows = {}
    for prior in priors:
        out = []
        for T_ in Ts:
            spec = base.replace(T=int(T_), prior=prior)
            problem = CopyHeadModel(spec).problem()
            found = auto_range(problem)
            first = [t for t in find_transitions(problem, *found).transitions
                     if t.kind == "first-order" and t.converged and t.flag == "ok"] if found else []
            if not first:
                continue
            a_star, a_sp = float(first[0].critical_value), float(first[0].spinodals[1])
            info = {"upper_fold_m": None, "lower": float(first[0].spinodals[0]), "upper": a_sp}
            tr = trajectory(spec, a_sp * (1 + relative_distance), t_max=2000.0, n_points=2001, spinodal_info=info)
            thr = map_uniform_threshold(spec) if prior == "bilinear" and spec.tokens == "centred" else None
            out.append({"T": int(T_), "alpha_star": a_star, "alpha_sp": a_sp, "map_threshold": thr,
                        "t_emerge": tr.t_emerge})
        rows[prior] = out
    return ContextScan(float(relative_distance), rows)


# ----------------------------------------------------------------------------- the finite network, sampled with ULA
@dataclass(frozen=True)
class NetworkOverlaps:
    """Ensemble averages over chains of the finite network's overlaps along ULA time t = steps * h.

    t: times; m: mean attention on the previous token; p: projection of S = QK^T/N on the order parameter's
    matrix (softmax: Pi - J/T; linear: Pi); a: projection of A = QQ^T/N on the same modes (per mode);
    m_sem: standard error of m over chains; seeds: the root seed.
    """

    N: int
    alpha: float
    step: float
    chains: int
    t: tuple
    m: tuple
    p: tuple
    a: tuple
    m_sem: tuple
    seed: int


def ula_overlaps(spec: ModelSpec, alpha: float, N: int, *, t_max: float, step: float = 0.005, chains: int = 4,
                 seed: int = 0, record_every: int = 10) -> NetworkOverlaps:
    """ULA (no preconditioner, so the clock is the ODE's) on the W-marginal posterior from a prior draw of (Q, K)."""
    from .network import Network, make_data
    from .sampling import sample_size, ula

    T_ = spec.T
    Pi = np.roll(np.eye(T_), -1, axis=1)
    basis = Pi - np.ones((T_, T_)) / T_ if spec.attention == "softmax" else Pi
    modes = np.eye(T_) - np.ones((T_, T_)) / T_ if spec.attention == "softmax" else np.eye(T_)
    norm_b, norm_m = float(np.sum(basis * basis)), float(np.sum(modes * modes))
    n_steps = int(round(t_max / step))
    root = np.random.SeedSequence(seed)
    traces = []
    for chain_seed in root.spawn(chains):
        data_seed, run_seed = chain_seed.spawn(2)
        net = Network(spec, N, make_data(spec, sample_size(N, alpha), np.random.default_rng(data_seed)))
        rng = np.random.default_rng(run_seed)
        Q = spec.sigma_q * rng.standard_normal((T_, N))
        K = spec.sigma_k * rng.standard_normal((T_, N))

        def target(theta):
            ev = net.marginal(theta)
            Qc, Kc, _ = net.split(theta)
            S = Qc @ Kc.T / N
            A = Qc @ Qc.T / N
            return ev.logp, ev.grad, (ev.m, float(np.sum(S * basis)) / norm_b, float(np.sum(A * modes)) / norm_m)

        run = ula(target, net.pack(Q, K), step=step, n_steps=n_steps, rng=rng)
        traces.append(np.asarray(run.observable)[record_every - 1::record_every])
    arr = np.stack(traces)                       # chains x times x 3
    t = step * record_every * np.arange(1, arr.shape[1] + 1)
    mean = arr.mean(axis=0)
    sem = arr[:, :, 0].std(axis=0, ddof=1) / math.sqrt(chains) if chains > 1 else np.zeros(arr.shape[1])
    return NetworkOverlaps(int(N), float(alpha), float(step), int(chains), tuple(t.tolist()),
                           tuple(mean[:, 0].tolist()), tuple(mean[:, 1].tolist()), tuple(mean[:, 2].tolist()),
                           tuple(sem.tolist()), int(seed))
