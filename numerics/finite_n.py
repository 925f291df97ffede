"""One-loop finite-N corrections about the minima of the free energy, on the full T x T logit space.

Every scalar function (rate derivative, energy and its derivatives in (m, q, r, R), the Occam
factor h_W) is generated from theory/ by lambdify; only the matrix chain rule lives here, as in
numerics/full.py. At a circulant S* the Hessians commute with the cyclic shift S -> Pi S Pi^T, so
in the Fourier basis X^(p,k) = f_k f_{k-p}^* (f_k the Fourier vectors) they split into T blocks
p = 0..T-1 of size T. The prior's Hessian is the inverse of the Hessian of its cumulant generating
function Lambda(Theta) = -(1/2) log det(I - Theta Theta^T) at Theta = grad I(S) (Legendre duality),
so no derivative of singular values (degenerate at S*) is ever taken.

Public: :func:`one_loop` (one minimum), :func:`points` (every minimum at each alpha),
:func:`jump` (the Borgs-Kotecky shift of the first-order jump), :func:`onset` (linear attention:
soft mode integrated exactly).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from copyhead.errors import ConvergenceError, InvalidParameterError
from copyhead.spec import ModelSpec

from .compiled import compiled_function

OVERLAPS = ("m", "q", "r", "R")


# ----------------------------------------------------------------------------- generated pieces
@lru_cache(maxsize=None)
def _pieces(tokens: str, prior: str) -> dict:
    """numpy functions generated from theory/: rate', energy gradient/Hessian in (m,q,r,R), h_W and its gradient."""
    def build(name):
        def thunk():
            import sympy as sp

            from ..theory import finite_n as fn
            from ..theory import population as pop
            from ..theory.functions import RATE_FUNCTIONS
            from ..theory.symbols import R, T, V, alpha, m, q, r, sigma2, sigma_w, x

            ov = (m, q, r, R)
            args = list(ov) + [T, V, alpha, sigma2, sigma_w]
            energy, occam = pop.energy(tokens), fn.occam_factor(tokens)
            if name == "rate_d":
                return [x], sp.diff(RATE_FUNCTIONS[prior](x), x)
            return args, {"energy_grad": [sp.diff(energy, v) for v in ov],
                          "energy_hess": [[sp.diff(energy, v, w) for w in ov] for v in ov],
                          "occam": occam, "occam_grad": [sp.diff(occam, v) for v in ov]}[name]
        return thunk

    names = ("rate_d", "energy_grad", "energy_hess", "occam", "occam_grad")
    return {name: compiled_function(f"finite-n:{name}:{tokens}:{prior}", build(name)) for name in names}


@lru_cache(maxsize=None)
def _logits(attention: str, tokens: str):
    """(target logit, other logit) as numpy functions of the order parameters and model parameters."""
    def build(name):
        def thunk():
            from ..theory import symbols
            from ..theory.reduced import kinematics

            kin = kinematics(attention, tokens)
            expr = kin.target_logit if name == "target" else kin.other_logit
            return list(kin.order_params) + list(symbols.MODEL_PARAMS), expr
        return thunk

    return {name: compiled_function(f"finite-n:logit-{name}:{attention}:{tokens}", build(name))
            for name in ("target", "other")}


def _mm(a, b):
    """a @ b for complex operands as real products (multithreaded zgemm is ~50x slower than dgemm on
    small shared machines)."""
    a, b = np.asarray(a), np.asarray(b)
    if not (np.iscomplexobj(a) or np.iscomplexobj(b)):
        return a @ b
    ar, ai, br, bi = a.real, a.imag, b.real, b.imag
    out = (ar @ br - ai @ bi) + 1j * (ar @ bi + ai @ br)
    return out


def shift_matrix(T: int) -> np.ndarray:
    """Pi with Pi[t, t-1] = 1 (cyclic): the copy pattern."""
    return np.roll(np.eye(T), -1, axis=1)


def logit_matrix(spec: ModelSpec, order_parameters) -> np.ndarray:
    """The circulant S of the reduced model: target logit on the shift, the other logit elsewhere."""
    fns = _logits(spec.attention, spec.tokens)
    params = list(spec.numeric_params.values())
    target = float(fns["target"](*order_parameters, *params))
    other = float(fns["other"](*order_parameters, *params))
    T = spec.T
    return other * np.ones((T, T)) + (target - other) * shift_matrix(T)


def sector_basis(T: int, p: int) -> np.ndarray:
    """The T orthonormal matrices X^(p,k)[i, j] = w^(ik) w^(-j(k-p)) / T of Fourier sector p."""
    w = np.exp(2j * np.pi / T)
    i = np.arange(T)
    k = np.arange(T)[:, None, None]
    return w ** (i[None, :, None] * k) * w ** (-i[None, None, :] * (k - p)) / T


# ----------------------------------------------------------------------------- local quadratic model
@dataclass
class _Point:
    """Everything the second-order expansion at one S needs (S may be any real T x T matrix)."""

    spec: ModelSpec
    alpha: float
    S: np.ndarray

    def __post_init__(self):
        spec, S = self.spec, self.S
        self.T = S.shape[0]
        self.scale = spec.sigma_q * spec.sigma_k
        pieces = _pieces(spec.tokens, spec.prior)
        if spec.prior == "bilinear":
            U, sv, Vt = np.linalg.svd(S / self.scale)
            self.theta = (U * pieces["rate_d"](sv)) @ Vt          # grad of I1 at S/scale
            self.Mlam = np.linalg.inv(np.eye(self.T) - self.theta @ self.theta.T)
        if spec.attention == "softmax":
            z = spec.gamma * S
            z = z - z.max(axis=1, keepdims=True)
            e = np.exp(z)
            self.A = e / e.sum(axis=1, keepdims=True)
        else:
            self.A = spec.gamma * S
        A, T = self.A, self.T
        rows = A.sum(axis=1)
        self.ov = (float(np.mean(A[np.arange(T), np.arange(T) - 1])), float(np.sum(A * A) / T),
                   float(rows.mean()), float(np.mean(rows**2)))
        args = (*self.ov, T, spec.V, self.alpha, spec.sigma2, spec.sigma_w)
        self.e_grad = np.array([float(np.broadcast_to(v, ())) for v in pieces["energy_grad"](*args)])
        self.e_hess = np.array([[float(np.broadcast_to(v, ())) for v in row] for row in pieces["energy_hess"](*args)])
        self.occam = float(pieces["occam"](*args))
        self.occam_grad = np.array([float(np.broadcast_to(v, ())) for v in pieces["occam_grad"](*args)])
        self.Gm = shift_matrix(T) / T          # dm/dA

    # -- attention derivatives (batched over a leading axis of perturbations) --
    def dA(self, X):
        if self.spec.attention == "linear":
            return self.spec.gamma * X
        A = self.A
        return self.spec.gamma * A * (X - np.sum(A * X, axis=-1, keepdims=True))

    def _row_forms(self, C):
        """M_t(C) with <C, d2A[X, Y]> = sum_t x_t^T M_t y_t (softmax; zero for linear)."""
        A, g2 = self.A, self.spec.gamma ** 2
        ac = A * C
        cbar = ac.sum(axis=1)
        eye = np.eye(self.T)
        return g2 * (ac[:, :, None] * eye - cbar[:, None, None] * A[:, :, None] * eye
                     - A[:, :, None] * ac[:, None, :] - ac[:, :, None] * A[:, None, :]
                     + 2 * cbar[:, None, None] * A[:, :, None] * A[:, None, :])

    def d_overlaps(self, X):
        """(dm, dq, dr, dR) along each perturbation: shape (4, batch)."""
        T = self.T
        dA = self.dA(X)
        rows = self.A.sum(axis=1)
        return np.stack([np.sum(self.Gm * dA, axis=(-2, -1)), 2 / T * np.sum(self.A * dA, axis=(-2, -1)),
                         np.sum(dA, axis=(-2, -1)) / T, 2 / T * np.sum(rows * dA.sum(axis=-1), axis=-1)])

    def second_overlaps(self, Xa, Xb, weights=None):
        """Gram matrices d2a[conj Xa_i, Xb_j] for a in (m, q, r, R): shape (4, na, nb); with
        ``weights`` (4,), their weighted sum (one pass)."""
        T = self.T
        dAa, dAb = self.dA(np.conj(Xa)), self.dA(Xb)
        na, nb = len(Xa), len(Xb)
        gram = lambda P, Q: _mm(P.reshape(len(P), -1), Q.reshape(len(Q), -1).T)  # noqa: E731
        q_gram = 2 / T * gram(dAa, dAb)
        R_gram = 2 / T * _mm(dAa.sum(axis=-1), dAb.sum(axis=-1).T)
        if self.spec.attention == "softmax":
            # row sums are 1: r and R are constant, their second variations vanish
            Cs = {0: self.Gm, 1: 2 / T * self.A}
        else:
            Cs = {}

        def row_term(C):
            MX = _mm(self._row_forms(C), np.transpose(Xb, (1, 2, 0)))   # (t, i, b)
            return _mm(np.conj(Xa).reshape(na, -1), MX.reshape(T * T, nb))

        if weights is not None:
            out = weights[1] * q_gram + weights[3] * R_gram
            if Cs:
                out = out + row_term(weights[0] * Cs[0] + weights[1] * Cs[1])
            return out
        out = np.zeros((4, na, nb), dtype=complex)
        out[1], out[3] = q_gram, R_gram
        for index, C in Cs.items():
            out[index] += row_term(C)
        return out

    def energy_block(self, X):
        d1a, d1b = self.d_overlaps(np.conj(X)), self.d_overlaps(X)
        return self.second_overlaps(X, X, self.e_grad) + _mm(_mm(d1a.T, self.e_hess), d1b)

    def prior_block(self, X):
        """Block of grad^2 I in the basis X (which must span an invariant subspace)."""
        if self.spec.prior == "gaussian-logit":
            return np.eye(len(X)) / self.scale**2
        M, th = self.Mlam, self.theta
        HX = _mm(M, X) + _mm(_mm(M, _mm(X, th.T) + _mm(th, np.swapaxes(X, -1, -2))), M @ th)
        lam_block = _mm(np.conj(X).reshape(len(X), -1), HX.reshape(len(X), -1).T)
        return np.linalg.inv(lam_block) / self.scale**2

    def backprop(self, weights) -> np.ndarray:
        """d/dS of sum_a weights[a] * overlap_a(A(S)), a in (m, q, r, R), as a T x T matrix."""
        T = self.T
        rows = self.A.sum(axis=1, keepdims=True)
        dA = weights[0] * self.Gm + weights[1] * 2 * self.A / T + weights[2] / T + weights[3] * 2 * rows / T
        if self.spec.attention == "linear":
            return self.spec.gamma * dA
        return self.spec.gamma * self.A * (dA - np.sum(dA * self.A, axis=1, keepdims=True))

    def gradient_f(self):
        """grad f as a T x T matrix (stationarity check)."""
        prior = self.theta / self.scale if self.spec.prior == "bilinear" else self.S / self.scale**2
        return prior + self.backprop(self.e_grad)


def _logdet(B) -> float:
    sign, value = np.linalg.slogdet(B)
    if not (abs(sign.real - 1) < 1e-8 and abs(sign.imag) < 1e-8):
        raise ConvergenceError(f"a Hessian block is not positive definite (det sign {sign:.3g})")
    return float(value)


def sector_weights(T: int):
    """(p, multiplicity): sector T-p is the complex conjugate of sector p (the operators are real),
    so it has the same determinant and traces."""
    return [(p, 1 if (p == 0 or 2 * p == T) else 2) for p in range(T // 2 + 1)]


def _sectors(T: int, circulant: bool):
    if circulant:
        return [(sector_basis(T, p), w) for p, w in sector_weights(T)]
    basis = np.zeros((T * T, T, T))
    basis[np.arange(T * T), np.arange(T * T) // T, np.arange(T * T) % T] = 1.0
    return [(basis, 1)]


def log_det_parts(point: _Point, circulant: bool = True) -> dict:
    """(1/2) log det grad^2 f ('fluctuations') and -(1/2) log det grad^2 I ('prefactor'), all T^2 directions."""
    fluct = pref = 0.0
    for X, weight in _sectors(point.T, circulant):
        BI = point.prior_block(X)
        BE = point.energy_block(X)
        fluct += 0.5 * weight * _logdet(BI + BE)
        pref -= 0.5 * weight * _logdet(BI)
    return {"fluctuations": fluct, "prefactor": pref}


def dense_hessian(spec: ModelSpec, alpha: float, S: np.ndarray) -> np.ndarray:
    """grad^2 f on all T^2 entries of S (row-major), for checks at any S."""
    point = _Point(spec, float(alpha), np.asarray(S, float))
    ((X, _),) = _sectors(point.T, False)
    return np.real(point.prior_block(X) + point.energy_block(X))


# ----------------------------------------------------------------------------- one loop at a minimum
@dataclass(frozen=True)
class OneLoop:
    """The O(1/N) corrections at one minimum (JSON via to_dict).

    m: the N -> oo value; m_correction: c = lim N (<m>_N - m); m_std_sqrtN: sqrt(N Var m) =
    sqrt(grad m . H^-1 grad m); phi: Phi = (1/2) log det(grad^2 f / grad^2 I) + h_W;
    parts: phi split into fluctuations (1/2 log det grad^2 f), prefactor (-1/2 log det grad^2 I)
    and occam (h_W), and c split into curvature ((1/2) tr grad^2 m H^-1) and the three gradient
    terms (-grad m . H^-1 grad of each part); gradient_norm: |grad f| at S* (stationarity).
    """

    alpha: float
    branch: str
    order_parameters: dict
    m: float
    f: float
    df_dalpha: float
    m_correction: float
    m_std_sqrtN: float
    phi: float
    parts: dict
    gradient_norm: float

    def m_N(self, N: int) -> float:
        return self.m + self.m_correction / N

    def to_dict(self, Ns=()) -> dict:
        return {"alpha": self.alpha, "branch": self.branch, "order_parameters": dict(self.order_parameters),
                "m": self.m, "f": self.f, "df_dalpha": self.df_dalpha, "m_correction": self.m_correction,
                "m_std_sqrtN": self.m_std_sqrtN, "m_N": {str(N): self.m_N(N) for N in Ns}, "phi": self.phi,
                "parts": dict(self.parts), "gradient_norm": self.gradient_norm}


def phi_parts(spec: ModelSpec, alpha: float, S: np.ndarray) -> dict:
    point = _Point(spec, float(alpha), S)
    parts = log_det_parts(point)
    parts["occam"] = point.occam
    return parts


def mean_correction(spec, alpha: float, S: np.ndarray) -> tuple[dict, float, dict, float]:
    """(parts of c, N Var m, parts of Phi, |grad f|) at a circulant stationary point S of any T >= 1.

    spec needs the ModelSpec fields only (T is read from S), so T = 1 works for checks.
    """
    point = _Point(spec, float(alpha), S)
    T = point.T
    grad_norm = float(np.linalg.norm(point.gradient_f()))
    parts = log_det_parts(point)
    parts["occam"] = point.occam
    curvature = 0.0
    v = var = None
    for p, weight in sector_weights(T):
        X = sector_basis(T, p)
        B = point.prior_block(X) + point.energy_block(X)
        d2m = point.second_overlaps(X, X, np.array([1.0, 0.0, 0.0, 0.0]))
        curvature += 0.5 * weight * float(np.real(np.trace(np.linalg.solve(B, d2m))))
        if p == 0:   # grad m is circulant: it lives in sector 0 only
            gm = point.d_overlaps(np.conj(X))[0]
            vhat = np.linalg.solve(B, gm)
            var = float(np.real(np.conj(gm) @ vhat))
            v = np.real(np.einsum("k,kij->ij", vhat, X))    # H^-1 grad m as a real circulant matrix
    # -grad m . H^-1 grad Phi = -d/dt Phi(S* + t v): the log-determinants by central differences of
    # their exact values (error O(t^2) ~ 1e-6 relative), h_W from its generated gradient.
    t = 1e-3 * max(1.0, float(np.max(np.abs(S)))) / max(1e-12, float(np.max(np.abs(v))))
    lo, hi = (log_det_parts(_Point(spec, float(alpha), S + tt * v)) for tt in (-t, t))
    c_parts = {"curvature": curvature}
    for name in ("fluctuations", "prefactor"):
        c_parts[name] = -(hi[name] - lo[name]) / (2 * t)
    c_parts["occam"] = -float(point.occam_grad @ point.d_overlaps(v[None])[:, 0].real)
    return c_parts, var, parts, grad_norm


def one_loop(spec: ModelSpec, alpha: float, minimum, branch: str) -> OneLoop:
    """One-loop corrections at ``minimum`` (a numerics.free_energy.Minimum) of ``spec`` at ``alpha``."""
    from .compiled import compiled_model

    x = list(minimum.order_parameters.values())
    S = logit_matrix(spec, x)
    c_parts, var, parts, grad_norm = mean_correction(spec, alpha, S)
    fe = compiled_model(spec.attention, spec.tokens, spec.prior)
    df_da = float(fe.d_control(x, float(alpha), list(spec.numeric_params.values())))
    phi = parts["fluctuations"] + parts["prefactor"] + parts["occam"]
    return OneLoop(float(alpha), branch, dict(minimum.order_parameters), float(minimum.m), float(minimum.f), df_da,
                   float(sum(c_parts.values())), math.sqrt(max(var, 0.0)), phi,
                   {"phi": parts, "m_correction": c_parts}, grad_norm)


def branch_name(spec: ModelSpec, minimum, minima) -> str:
    """uniform / copy for softmax (lowest and highest m of two minima), symmetric / broken for linear."""
    if spec.attention == "linear":
        return "symmetric" if abs(minimum.m) < 1e-9 else "broken"
    if len(minima) == 1:
        return "uniform" if minimum.m < 0.5 * (1 + 1 / spec.T) * 0.5 else "copy"
    ms = sorted(mn.m for mn in minima)
    return "uniform" if minimum.m == ms[0] else "copy"


def points(spec: ModelSpec, alphas) -> list[OneLoop]:
    """One-loop results at every local minimum (for linear attention, m >= 0 only) of each alpha."""
    from .free_energy import local_minima

    out = []
    for a in alphas:
        mins = [mn for mn in local_minima(spec, float(a)) if spec.attention == "softmax" or mn.m >= -1e-12]
        for mn in mins:
            out.append(one_loop(spec, float(a), mn, branch_name(spec, mn, mins)))
    return out


# ----------------------------------------------------------------------------- the first-order jump
def _coexisting(spec: ModelSpec, alpha: float):
    from .free_energy import local_minima

    mins = sorted(local_minima(spec, float(alpha)), key=lambda mn: mn.m)
    if len(mins) < 2:
        return None
    return mins[0], mins[-1]


def jump(spec: ModelSpec, Ns=(), *, lo: float = 0.05, hi: float = 200.0) -> dict | None:
    """Borgs-Kotecky shift of the softmax jump: alpha_eq(N) = alpha* + C/N + O(1/N^2).

    C = -Delta Phi / Delta(df/dalpha) (copy minus uniform at alpha*). alpha_eq(N) is also solved
    without expanding: N Delta f(alpha) + Delta Phi(alpha) = 0 (Brent, between the spinodals);
    None with a reason when the root leaves the metastable window (the one-loop picture ends).
    None if the model has no first-order transition in [lo, hi].
    """
    from scipy.optimize import brentq

    from .transitions import find_transitions

    from ..model import CopyHeadModel

    report = find_transitions(CopyHeadModel(spec).problem(), lo, hi)
    first = [tr for tr in report.transitions if tr.kind == "first-order"]
    if not first:
        return None
    tr = first[0]
    a_star = float(tr.critical_value)
    spin = tuple(float(v) for v in tr.spinodals) if tr.spinodals else None

    def weights(a):
        pair = _coexisting(spec, a)
        if pair is None:
            return None
        u, c = pair
        pu, pc = phi_parts(spec, a, logit_matrix(spec, list(u.order_parameters.values()))), \
            phi_parts(spec, a, logit_matrix(spec, list(c.order_parameters.values())))
        return u, c, pu, pc

    u, c, pu, pc = weights(a_star)
    lu, lc = one_loop(spec, a_star, u, "uniform"), one_loop(spec, a_star, c, "copy")
    d_phi = {k: pc[k] - pu[k] for k in pu}
    d_phi_total = sum(d_phi.values())
    d_fa = lc.df_dalpha - lu.df_dalpha
    shift = -d_phi_total / d_fa
    parts = {k: -v / d_fa for k, v in d_phi.items()}
    alpha_eq, notes = {}, {}
    for N in Ns:
        def balance(a, N=N):
            w = weights(a)
            if w is None:
                raise ValueError
            uu, cc, ppu, ppc = w
            return N * (cc.f - uu.f) + sum(ppc.values()) - sum(ppu.values())

        guess = a_star + shift / N
        try:
            if spin is None:
                raise ValueError
            a_lo, a_hi = spin[0] + 1e-6 * a_star, spin[1] - 1e-6 * a_star
            alpha_eq[str(N)] = float(brentq(balance, a_lo, a_hi, xtol=1e-10))
        except ValueError:
            alpha_eq[str(N)] = None
            notes[str(N)] = (f"N Delta f + Delta Phi has no root between the spinodals {spin}: the one-loop "
                             f"weights do not apply at this N (first-order estimate alpha* + C/N = {guess:.6g})")
    return {"alpha_star": a_star, "spinodals": list(spin) if spin else None, "shift": shift,
            "alpha_eq": alpha_eq, "alpha_eq_first_order": {str(N): a_star + shift / N for N in Ns},
            "parts": parts, "delta_phi": d_phi, "delta_df_dalpha": d_fa,
            "m": {"uniform": lu.m, "copy": lc.m}, "notes": notes,
            "method": "C = -Delta Phi / Delta(df/dalpha) at alpha* (engine); alpha_eq: Brent on N Delta f + Delta Phi"}


# ----------------------------------------------------------------------------- linear onset
def _soft_mode_potential(spec: ModelSpec, alpha: float, s_values) -> np.ndarray:
    """O(1) part of the effective potential along S = s Pi: transverse fluctuations, full prefactor, h_W."""
    T = spec.T
    Pi = shift_matrix(T)
    out = []
    for s_ in s_values:
        point = _Point(spec, float(alpha), s_ * Pi)
        total = 0.0
        for p, weight in sector_weights(T):
            X = sector_basis(T, p)
            BI = point.prior_block(X)
            BE = point.energy_block(X)
            B = BI + BE
            if p == 0:   # the soft mode Pi lives in sector 0: keep its orthogonal complement
                e = np.einsum("kij,ij->k", np.conj(X), Pi)
                e = e / np.linalg.norm(e)
                Q = np.linalg.qr(np.column_stack([e, np.eye(T, dtype=complex)]))[0][:, 1:T]
                total += 0.5 * _logdet(np.conj(Q.T) @ B @ Q)
            else:
                total += 0.5 * weight * _logdet(B)
            total -= 0.5 * weight * _logdet(BI)
        out.append(total + point.occam)
    return np.array(out)


def onset(spec: ModelSpec, Ns=(), *, points_per_side: int = 400) -> dict | None:
    """Linear attention, centred tokens: alpha_c, its one-loop shift, and m_rms at alpha_c per N.

    The soft mode s (S = s Pi, m = gamma s) is integrated exactly (quadrature of
    exp(-N f(s) - Phi_perp(s))); the T^2 - 1 transverse modes are Gaussian. shift:
    alpha_c(N) - alpha_c = shift / N from N f''(0) + Phi_perp''(0) = 0. None for softmax or
    one-hot tokens (two soft modes).
    """
    if spec.attention != "linear" or spec.tokens != "centred":
        return None
    import sympy as sp

    from ..theory.landau import landau_expansion
    from ..theory.symbols import MODEL_PARAMS
    from .compiled import compiled_model

    subs = dict(zip(MODEL_PARAMS, spec.numeric_params.values()))
    alpha_c = float(sp.N(landau_expansion(spec.prior).alpha_c.subs(subs), 30))
    fe = compiled_model("linear", "centred", spec.prior)
    params = list(spec.numeric_params.values())
    scale = spec.sigma_q * spec.sigma_k
    h = 0.02 * scale
    s3 = np.array([-h, 0.0, h])
    phi3 = _soft_mode_potential(spec, alpha_c, s3)
    phi_dd = (phi3[0] - 2 * phi3[1] + phi3[2]) / h**2
    f_dd_alpha = float(fe.block("hessian_d_control", [0.0], alpha_c, params)[0, 0])
    shift = -phi_dd / f_dd_alpha
    m_rms = {}
    for N in Ns:
        # quadrature window: where N f grows by ~60 above its minimum
        s_max = scale
        f0 = float(fe.value([0.0], alpha_c, params))
        while float(fe.value([s_max], alpha_c, params)) - f0 < 60.0 / N:
            s_max *= 1.5
        grid = np.linspace(0.0, s_max, points_per_side + 1)
        f = np.array([float(fe.value([v], alpha_c, params)) for v in grid]) - f0
        phi = _soft_mode_potential(spec, alpha_c, grid[:: max(1, points_per_side // 40)])
        phi = np.interp(grid, grid[:: max(1, points_per_side // 40)], phi)
        for label, extra in (("with_phi", phi - phi[0]), ("leading", 0.0 * phi)):
            w = np.exp(-N * f - extra)
            m2 = np.trapezoid((spec.gamma * grid) ** 2 * w, grid) / np.trapezoid(w, grid)
            m_rms.setdefault(label, {})[str(N)] = float(math.sqrt(m2))
    return {"alpha_c": alpha_c, "shift": shift, "m_rms": m_rms.get("with_phi", {}),
            "m_rms_leading": m_rms.get("leading", {}), "phi_second_derivative": phi_dd,
            "f_second_derivative_dalpha": f_dd_alpha,
            "method": "soft mode s exact (trapezoid on [0, s_max], symmetric); transverse modes Gaussian; "
                      "shift from N f''(0) + Phi''(0) = 0 (central differences of Phi)"}


def check_Ns(Ns) -> tuple:
    out = []
    for N in Ns:
        if isinstance(N, bool) or not isinstance(N, (int, np.integer)) or N < 2:
            raise InvalidParameterError("N", f"must be integers >= 2, got {N!r}")
        out.append(int(N))
    return tuple(out)


# ----------------------------------------------------------------------------- barriers
def barriers(spec: ModelSpec, alphas, Ns=()) -> list[dict]:
    """Barrier heights between coexisting minima (1-D reduced models) and the Arrhenius factors exp(N dF).

    dF_from_*: f(saddle) - f(minimum) per N; escape times scale as tau_0 exp(N dF) (Kramers/Langer);
    the prefactor tau_0 is not computed here, so only ratios between N or alpha are predicted.
    """
    from scipy.optimize import brentq

    from .compiled import compiled_model
    from .free_energy import local_minima

    fe = compiled_model(spec.attention, spec.tokens, spec.prior)
    params = list(spec.numeric_params.values())
    out = []
    if len(fe.order_params) != 1:
        return out
    for a in alphas:
        mins = sorted(local_minima(spec, float(a)), key=lambda mn: mn.order_parameter)
        for left, right in zip(mins[:-1], mins[1:]):
            g = lambda v: float(fe.gradient([v], float(a), params)[0])  # noqa: E731
            x_s = brentq(g, left.order_parameter + 1e-12, right.order_parameter - 1e-12, xtol=1e-14)
            f_s = float(fe.value([x_s], float(a), params))
            row = {"alpha": float(a), "saddle_order_parameter": x_s,
                   "dF_from": {"low_m": f_s - left.f, "high_m": f_s - right.f},
                   "log_escape_ratio": {str(N): {"low_m": N * (f_s - left.f), "high_m": N * (f_s - right.f)}
                                        for N in Ns},
                   "method": "Brent on f' between the minima; log(tau/tau_0) = N dF"}
            out.append(row)
    return out
