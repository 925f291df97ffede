"""One-loop finite-N corrections about the minima of the free energy, on the full T x T logit space.

Every scalar function (rate derivative, energy and its derivatives in (m, q, r, R), the Occam
factor h_W) is generated from theory/ by lambdify; only the matrix chain rule lives here, as in
numerics/full.py. At a circulant S* the Hessians commute with the cyclic shift S -> Pi S Pi^T, so
in the Fourier basis X^(p,k) = f_k f_{k-p}^* (f_k the Fourier vectors) they split into T blocks
p = 0..T-1 of size T. :func:`sector_blocks` writes every block in closed form (circulant products are
diagonal there, the transpose maps k to p - k, Hadamard products with circulant A are convolutions),
batched over the sectors in numpy: O(T^4) time, never a T^2 x T^2 matrix. The explicit sector basis and
the dense matrices stay available (METHODS) for checks and the benchmark. The prior's Hessian is the
inverse of the Hessian of its cumulant generating function Lambda(Theta) = -(1/2) log det(I - Theta Theta^T)
at Theta = grad I(S) (Legendre duality), so no derivative of singular values (degenerate at S*) is ever
taken.

Public: :func:`one_loop` (one minimum), :func:`points` (every minimum at each alpha),
:func:`jump` (the Borgs-Kotecky shift of the first-order jump), :func:`onset` and
:func:`soft_mode_m_rms` (linear attention: soft mode integrated exactly), :func:`barriers` (barrier
heights and Kramers/Langer escape times), :func:`predictions_for_measurements` (beside sampled m).
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
#: Largest context length: the sector arrays hold (T/2 + 1) T^2 complex numbers each (T = 128: 34 MB,
#: about 4 s per alpha; T = 256: 1 GB and a minute).
MAX_T = 128


def check_inputs(spec: ModelSpec, alphas=()) -> list[float]:
    """The alphas as floats; InvalidParameterError naming T or alpha when out of range."""
    if spec.T > MAX_T:
        raise InvalidParameterError("T", f"finite-n needs T <= {MAX_T} (memory grows like T^3/2 complex "
                                         f"numbers per array), got {spec.T}")
    out = []
    for a in alphas:
        if isinstance(a, bool) or not isinstance(a, (int, float, np.floating, np.integer)) \
                or not math.isfinite(float(a)) or float(a) <= 0:
            raise InvalidParameterError("alpha", f"must be finite and > 0, got {a!r}")
        out.append(float(a))
    return out


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

    def _row_forms(self, C, rows=slice(None)):
        """M_t(C) with <C, d2A[X, Y]> = sum_t x_t^T M_t y_t (softmax; zero for linear), for t in ``rows``."""
        A, g2 = self.A[rows], self.spec.gamma ** 2
        ac = A * C[rows]
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


# ----------------------------------------------------------------------------- closed-form Fourier sectors
def _circulant_eigenvalues(B: np.ndarray) -> np.ndarray:
    """lambda(k) with B f_k = lambda(k) f_k, f_k[i] = w^(ik)/sqrt(T), for circulant B (B[i, j] = b[j - i])."""
    return B.shape[0] * np.fft.ifft(B[0])


@dataclass
class SectorBlocks:
    """Every Fourier-sector block at a circulant S, as arrays over the sectors p = 0..T//2.

    prior, energy: blocks of grad^2 I and of grad^2 E (shape (P, T, T)); d2m: blocks of grad^2 m;
    grad_m: the coordinates of grad m in sector 0 (the only sector it has); weights: multiplicities.
    Entry [p, k', k] is <X^(p,k'), L X^(p,k)> in the basis of :func:`sector_basis`.
    """

    prior: np.ndarray
    energy: np.ndarray
    d2m: np.ndarray
    grad_m: np.ndarray
    weights: np.ndarray
    prior_logdet: np.ndarray

    @property
    def hessian(self) -> np.ndarray:
        return self.prior + self.energy


def sector_blocks(point: "_Point") -> SectorBlocks:
    """The sector blocks of a circulant point in closed form: O(T^3) memory and O(T^4) time for all sectors.

    In the basis X^(p,k) = f_k f_(k-p)^H: left and right products with circulant matrices are diagonal,
    the transpose maps k to p - k, a Hadamard product with circulant A is the convolution
    a_hat(k - k')/T, and the row sums pick k = p. The attention derivative (softmax) is
    D_p[k', k] = (gamma/T) (a_hat(k - k') - a_hat(p - k') a_hat(k - p)), a_hat = fft of A's first row;
    the second derivatives of A enter through one T x T row form M_0, whose 2-D Fourier transform
    gives every sector's block by a cyclic re-indexing.
    """
    spec, T = point.spec, point.T
    P = T // 2 + 1
    ps = np.arange(P)[:, None, None]
    k_row = np.arange(T)[None, :, None]          # k' (output coefficient)
    k_col = np.arange(T)[None, None, :]          # k (input basis matrix)
    weights = np.array([w for _, w in sector_weights(T)], dtype=float)
    gamma = spec.gamma
    if spec.attention == "softmax":
        a_hat = np.fft.fft(point.A[0])
        D = gamma / T * (a_hat[(k_col - k_row) % T] - a_hat[(ps - k_row) % T] * a_hat[(k_col - ps) % T])
    else:
        D = np.broadcast_to(gamma * np.eye(T, dtype=complex), (P, T, T))
    DH = np.conj(np.swapaxes(D, -1, -2))
    q_gram = 2 / T * (DH @ D)
    rows_p = D[np.arange(P), np.arange(P), :]                     # D_p[p, :]: the row sums of dA X^(p,k)
    R_gram = 2 * np.conj(rows_p)[:, :, None] * rows_p[:, None, :]

    def row_blocks(C):
        """<C, d2A[conj X^(p,k'), X^(p,k)]> (softmax): (1/T) M_hat[k' - p, k - p]."""
        M0 = point._row_forms(C, slice(0, 1))[0]
        M_hat = np.fft.fft(np.fft.ifft(M0, axis=0), axis=1)       # = (1/T) sum_jl w^(j mu) M0[j, l] w^(-l nu)
        return M_hat[(k_row - ps) % T, (k_col - ps) % T]

    e = point.e_grad
    energy = e[1] * q_gram + e[3] * R_gram
    if spec.attention == "softmax":
        energy = energy + row_blocks(e[0] * point.Gm + e[1] * 2 / T * point.A)
        d2m = row_blocks(point.Gm)
    else:
        d2m = np.zeros((P, T, T), dtype=complex)
    # first derivatives of the overlaps live in sector 0: dov_a(X^(0,k)) = sum_k' conj(g_a(k')) D_0[k', k]
    rows = point.A.sum(axis=1, keepdims=True)
    G = (point.Gm, 2 / T * point.A, np.ones((T, T)) / T, 2 / T * rows * np.ones((1, T)))
    g = np.array([_circulant_eigenvalues(Ga) for Ga in G])          # (4, T): <X^(0,k), G_a>
    dov = np.conj(g) @ D[0]                                         # (4, T)
    energy[0] += np.conj(dov).T @ point.e_hess @ dov
    grad_m = np.conj(dov[0])
    scale2 = point.scale ** 2
    if spec.prior == "gaussian-logit":
        prior = np.broadcast_to(np.eye(T, dtype=complex) / scale2, (P, T, T)).copy()
        prior_logdet = np.full(P, -T * math.log(scale2))
    else:
        th, M = point.theta, point.Mlam
        lam_M = _circulant_eigenvalues(M)
        lam_B = _circulant_eigenvalues(th.T @ M @ th)
        lam_th = _circulant_eigenvalues(th)
        lam_Mth = _circulant_eigenvalues(M @ th)
        k = np.arange(T)[None, :]
        p = np.arange(P)[:, None]
        # H_Lambda X^(p,k) = lam_M(k)(1 + lam_B(k-p)) X^(p,k) + lam_M(p-k) lam_th(p-k) lam_Mth(-k) X^(p,p-k):
        # 2 x 2 blocks on the pairs {k, p - k} (1 x 1 where k = p - k), inverted in closed form
        kbar = (p - k) % T
        diag = lam_M[k] * (1 + lam_B[(k - p) % T])                 # (P, T)
        off = lam_M[kbar] * lam_th[kbar] * lam_Mth[(-k) % T]       # L[p-k, k]
        fixed = kbar == k
        pair_det = diag * np.take_along_axis(diag, kbar, axis=1) - off * np.take_along_axis(off, kbar, axis=1)
        det = np.where(fixed, diag + off, pair_det)
        inv_diag = np.where(fixed, 1 / det, np.take_along_axis(diag, kbar, axis=1) / det)
        inv_off = np.where(fixed, 0.0, -off / det)
        prior = np.zeros((P, T, T), dtype=complex)
        pi, ki = np.broadcast_arrays(p, k)
        prior[pi, ki, ki] = inv_diag / scale2
        prior[pi, kbar, ki] += inv_off / scale2
        # log det L: each pair's determinant once, each fixed point's entry once
        logabs = np.log(np.abs(det))
        prior_logdet = -(np.sum(np.where(fixed, logabs, 0.5 * logabs), axis=1)) - T * math.log(scale2)
        # a Hermitian 2 x 2 block is positive definite iff a diagonal entry and the determinant are positive
        if np.any(np.real(det) <= 0) or np.any(np.real(diag) <= 0):
            raise ConvergenceError("the prior's Hessian is not positive definite in some Fourier sector")
    return SectorBlocks(prior, energy, d2m, grad_m, weights, prior_logdet)


def _batched_logdet(B) -> np.ndarray:
    sign, value = np.linalg.slogdet(B)
    if not (np.all(np.abs(sign.real - 1) < 1e-8) and np.all(np.abs(sign.imag) < 1e-8)):
        bad = int(np.argmax(np.abs(sign - 1)))
        raise ConvergenceError(f"a Hessian block is not positive definite (sector {bad}, det sign {sign[bad]:.3g})")
    return value


#: The ways of computing the sector log-determinants: closed-form Fourier blocks (the default), the
#: explicit sector basis (T matrices per sector, the earlier path), and the dense T^2 x T^2 matrices.
METHODS = ("fourier", "sector-basis", "dense")


def log_det_parts(point: _Point, method: str = "fourier") -> dict:
    """(1/2) log det grad^2 f ('fluctuations') and -(1/2) log det grad^2 I ('prefactor'), all T^2 directions.

    method: see METHODS; 'fourier' and 'sector-basis' need a circulant S, 'dense' works at any S.
    """
    if method == "fourier":
        blocks = sector_blocks(point)
        fluct = 0.5 * float(blocks.weights @ _batched_logdet(blocks.hessian))
        pref = -0.5 * float(blocks.weights @ blocks.prior_logdet)
        return {"fluctuations": fluct, "prefactor": pref}
    if method not in METHODS:
        raise InvalidParameterError("method", f"must be one of {', '.join(METHODS)}, got {method!r}")
    fluct = pref = 0.0
    for X, weight in _sectors(point.T, method == "sector-basis"):
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


def phi_parts(spec: ModelSpec, alpha: float, S: np.ndarray, method: str = "fourier") -> dict:
    point = _Point(spec, float(alpha), S)
    parts = log_det_parts(point, method)
    parts["occam"] = point.occam
    return parts


def _curvature_and_response(point: _Point, method: str):
    """(1/2) tr(grad^2 m H^-1), grad m . H^-1 grad m, and v = H^-1 grad m as a real T x T matrix."""
    T = point.T
    if method == "fourier":
        blocks = sector_blocks(point)
        H = blocks.hessian
        traces = np.real(np.trace(np.linalg.solve(H, blocks.d2m), axis1=-2, axis2=-1))
        curvature = 0.5 * float(blocks.weights @ traces)
        vhat = np.linalg.solve(H[0], blocks.grad_m)    # grad m is circulant: it lives in sector 0 only
        var = float(np.real(np.conj(blocks.grad_m) @ vhat))
        return curvature, var, np.real(np.einsum("k,kij->ij", vhat, sector_basis(T, 0)))
    curvature, var, v = 0.0, None, None
    for index, (X, weight) in enumerate(_sectors(T, method == "sector-basis")):
        B = point.prior_block(X) + point.energy_block(X)
        d2m = point.second_overlaps(X, X, np.array([1.0, 0.0, 0.0, 0.0]))
        curvature += 0.5 * weight * float(np.real(np.trace(np.linalg.solve(B, d2m))))
        if index == 0:   # sector 0 (or the one dense block) holds grad m
            gm = point.d_overlaps(np.conj(X))[0]
            vhat = np.linalg.solve(B, gm)
            var = float(np.real(np.conj(gm) @ vhat))
            v = np.real(np.einsum("k,kij->ij", vhat, X))
    return curvature, var, v


def mean_correction(spec, alpha: float, S: np.ndarray, method: str = "fourier") -> tuple[dict, float, dict, float]:
    """(parts of c, N Var m, parts of Phi, |grad f|) at a circulant stationary point S of any T >= 1.

    spec needs the ModelSpec fields only (T is read from S), so T = 1 works for checks. method: see
    METHODS (all three give the same numbers; 'fourier' is the fast one).
    """
    point = _Point(spec, float(alpha), S)
    grad_norm = float(np.linalg.norm(point.gradient_f()))
    parts = log_det_parts(point, method)
    parts["occam"] = point.occam
    curvature, var, v = _curvature_and_response(point, method)
    # -grad m . H^-1 grad Phi = -d/dt Phi(S* + t v): the log-determinants by central differences of
    # their exact values (error O(t^2) ~ 1e-6 relative), h_W from its generated gradient.
    t = 1e-3 * max(1.0, float(np.max(np.abs(S)))) / max(1e-12, float(np.max(np.abs(v))))
    lo, hi = (log_det_parts(_Point(spec, float(alpha), S + tt * v), method) for tt in (-t, t))
    c_parts = {"curvature": curvature}
    for name in ("fluctuations", "prefactor"):
        c_parts[name] = -(hi[name] - lo[name]) / (2 * t)
    c_parts["occam"] = -float(point.occam_grad @ point.d_overlaps(v[None])[:, 0].real)
    return c_parts, var, parts, grad_norm


def one_loop(spec: ModelSpec, alpha: float, minimum, branch: str, method: str = "fourier") -> OneLoop:
    """One-loop corrections at ``minimum`` (a numerics.free_energy.Minimum) of ``spec`` at ``alpha``.

    method: see METHODS (the same numbers; 'sector-basis' and 'dense' are kept for checks and benchmarks)."""
    from .compiled import compiled_model

    x = list(minimum.order_parameters.values())
    S = logit_matrix(spec, x)
    c_parts, var, parts, grad_norm = mean_correction(spec, alpha, S, method)
    fe = compiled_model(spec.attention, spec.tokens, spec.prior)
    df_da = float(fe.d_control(x, float(alpha), list(spec.numeric_params.values())))
    phi = parts["fluctuations"] + parts["prefactor"] + parts["occam"]
    return OneLoop(float(alpha), branch, dict(minimum.order_parameters), float(minimum.m), float(minimum.f), df_da,
                   float(sum(c_parts.values())), math.sqrt(max(var, 0.0)), phi,
                   {"phi": parts, "m_correction": c_parts}, grad_norm)


def reliability_flag(point: OneLoop, Ns) -> str:
    """'ok', or why one loop is unreliable: |c|/N must be small against m (and against the distance to a
    spinodal, where c diverges)."""
    scale = max(abs(point.m), 1e-3)
    bad = [int(N) for N in Ns if abs(point.m_correction) / N > 0.2 * scale]
    return "ok" if not bad else f"correction |c|/N exceeds 20% of m at N = {bad}: one loop unreliable there"


def predictions_for_measurements(spec: ModelSpec, measured) -> dict:
    """The one-loop <m>_N beside each measured (N, alpha, m): the branch whose m* + c/N is nearest the
    measured m. measured: iterable of (N, alpha, m). Returns {"rows": [...], "error": None} or, when the
    one-loop calculation cannot run here (T too large, no positive-definite Hessian), rows of None and the reason."""
    measured = [(int(N), float(a), float(m)) for N, a, m in measured]
    try:
        by_alpha = {}
        for p in points(spec, sorted({a for _, a, _ in measured})):
            by_alpha.setdefault(p.alpha, []).append(p)
    except (InvalidParameterError, ConvergenceError) as exc:
        return {"rows": [None] * len(measured), "error": f"{type(exc).__name__}: {exc}"}
    rows = []
    for N, a, m in measured:
        candidates = by_alpha.get(a, [])
        if not candidates:
            rows.append(None)
            continue
        # linear attention: S -> -S is a symmetry and only m >= 0 minima are listed; a chain on the mirror
        # branch is compared with the mirrored prediction
        sign = -1.0 if spec.attention == "linear" and m < 0 else 1.0
        best = min(candidates, key=lambda p: abs(sign * p.m_N(N) - m))
        rows.append({"N": N, "alpha": a, "branch": best.branch, "m_infinite_N": sign * best.m,
                     "m_correction": sign * best.m_correction, "m_N": sign * best.m_N(N),
                     "m_std": best.m_std_sqrtN / math.sqrt(N), "flag": reliability_flag(best, [N])})
    return {"rows": rows, "error": None}


def branch_name(spec: ModelSpec, minimum, minima) -> str:
    """uniform / copy for softmax (lowest and highest m of two minima), symmetric / broken for linear."""
    if spec.attention == "linear":
        return "symmetric" if abs(minimum.m) < 1e-9 else "broken"
    if len(minima) == 1:   # nearer uniform attention (m = 1/T) or the copy pattern (m = 1)
        return "uniform" if minimum.m < 0.5 * (1 + 1 / spec.T) else "copy"
    ms = sorted(mn.m for mn in minima)
    return "uniform" if minimum.m == ms[0] else "copy"


def points(spec: ModelSpec, alphas, method: str = "fourier") -> list[OneLoop]:
    """One-loop results at every local minimum (for linear attention, m >= 0 only) of each alpha."""
    from .free_energy import local_minima

    out = []
    for a in check_inputs(spec, alphas):
        mins = [mn for mn in local_minima(spec, float(a)) if spec.attention == "softmax" or mn.m >= -1e-12]
        for mn in mins:
            out.append(one_loop(spec, float(a), mn, branch_name(spec, mn, mins), method))
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

    Ns = check_Ns(Ns)
    check_inputs(spec)
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
    e = _circulant_eigenvalues(Pi)          # Pi's coordinates in sector 0
    e = e / np.linalg.norm(e)
    Q = np.linalg.qr(np.column_stack([e, np.eye(T, dtype=complex)]))[0][:, 1:T]
    out = []
    for s_ in s_values:
        point = _Point(spec, float(alpha), s_ * Pi)
        blocks = sector_blocks(point)
        H = blocks.hessian
        # the soft mode Pi lives in sector 0: keep its orthogonal complement there
        fluct = _logdet(np.conj(Q.T) @ H[0] @ Q) + float(blocks.weights[1:] @ _batched_logdet(H[1:])) \
            if len(H) > 1 else _logdet(np.conj(Q.T) @ H[0] @ Q)
        out.append(0.5 * fluct - 0.5 * float(blocks.weights @ blocks.prior_logdet) + point.occam)
    return np.array(out)


def soft_mode_m_rms(spec: ModelSpec, alpha: float, Ns, *, points_per_side: int = 400) -> dict:
    """Linear attention, centred tokens: predicted m_rms = sqrt(<m^2>)_N at ``alpha`` (any side of alpha_c).

    The soft mode s (S = s Pi, m = gamma s; the gradient of f orthogonal to Pi vanishes on this line) is
    integrated exactly, exp(-N f(s) - Phi_perp(s)) by the trapezoid rule on [0, s_max] (m^2 is even in s);
    the T^2 - 1 transverse modes are Gaussian (Phi_perp: their fluctuations, the full density prefactor
    and h_W, tabulated at 41 points and interpolated). Returns {"with_phi": {N: m_rms}, "leading": {N: ...}}
    ("leading": exp(-N f) alone), the quantity measured as sqrt(mean m^2) over the kept draws.
    """
    from .compiled import compiled_model

    fe = compiled_model("linear", "centred", spec.prior)
    params = list(spec.numeric_params.values())
    scale = spec.sigma_q * spec.sigma_k
    f_of = lambda v: np.broadcast_to(fe.value([v], float(alpha), params), np.shape(v)).astype(float)  # noqa: E731
    out = {"with_phi": {}, "leading": {}}
    for N in Ns:
        # quadrature window: the smallest [0, s_max] (growing from far inside the Gaussian width) at whose
        # end f rises and N (f - min f) reaches 60, so the grid resolves the peak at every N
        s_max = 1e-4 * scale
        for _ in range(200):
            fc = f_of(np.linspace(0.0, s_max, 81))
            if N * (fc[-1] - fc.min()) >= 60.0 and fc[-1] > fc[-2]:
                break
            s_max *= 1.25
        else:
            raise ConvergenceError(f"no quadrature window for the soft mode at alpha = {alpha}, N = {N}")
        grid = np.linspace(0.0, s_max, points_per_side + 1)
        f = f_of(grid)
        f = f - f.min()
        step = max(1, points_per_side // 40)
        phi = np.interp(grid, grid[::step], _soft_mode_potential(spec, alpha, grid[::step]))
        for label, extra in (("with_phi", phi - phi.min()), ("leading", 0.0 * phi)):
            w = np.exp(-N * f - extra)
            m2 = np.trapezoid((spec.gamma * grid) ** 2 * w, grid) / np.trapezoid(w, grid)
            out[label][str(N)] = float(math.sqrt(m2))
    return out


def onset(spec: ModelSpec, Ns=(), alphas=(), *, points_per_side: int = 400) -> dict | None:
    """Linear attention, centred tokens: alpha_c, its one-loop shift, m_rms at alpha_c per N, and the
    predicted m_rms(alpha) curve at ``alphas`` (what the sampler measures; see :func:`soft_mode_m_rms`).

    shift: alpha_c(N) - alpha_c = shift / N from N f''(0) + Phi_perp''(0) = 0, the point where the
    curvature of the effective potential at s = 0 vanishes (not a fit intercept). None for softmax or
    one-hot tokens (two soft modes).
    """
    if spec.attention != "linear" or spec.tokens != "centred":
        return None
    import sympy as sp

    from ..theory.landau import landau_expansion
    from ..theory.symbols import MODEL_PARAMS
    from .compiled import compiled_model

    check_inputs(spec, alphas)
    Ns = check_Ns(Ns)
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
    at_c = soft_mode_m_rms(spec, alpha_c, Ns, points_per_side=points_per_side)
    curve = []
    for a in alphas:
        try:
            values = soft_mode_m_rms(spec, float(a), Ns, points_per_side=points_per_side)
            curve.append({"alpha": float(a), "m_rms": values["with_phi"], "m_rms_leading": values["leading"]})
        except ConvergenceError as exc:   # e.g. a transverse mode unstable far above alpha_c
            curve.append({"alpha": float(a), "m_rms": None, "m_rms_leading": None, "error": str(exc)})
    return {"alpha_c": alpha_c, "shift": shift, "m_rms": at_c["with_phi"], "m_rms_leading": at_c["leading"],
            "m_rms_curve": curve, "phi_second_derivative": phi_dd, "f_second_derivative_dalpha": f_dd_alpha,
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
def saddle_phi(spec: ModelSpec, alpha: float, S: np.ndarray) -> dict:
    """At a circulant stationary point of index 1: Phi = (1/2) log |det grad^2 f| - (1/2) log det grad^2 I + h_W,
    the negative eigenvalue of grad^2 f (Frobenius metric on S), and the count of negative eigenvalues
    over all T^2 directions (1 for a saddle that Kramers/Langer applies to)."""
    point = _Point(spec, float(alpha), S)
    blocks = sector_blocks(point)
    H = blocks.hessian
    H = 0.5 * (H + np.conj(np.swapaxes(H, -1, -2)))
    eig = np.linalg.eigvalsh(H)                                   # (P, T)
    negative = int(round(float(blocks.weights @ np.sum(eig < 0, axis=1))))
    logabs = np.sum(np.log(np.abs(eig)), axis=1)
    return {"fluctuations": 0.5 * float(blocks.weights @ logabs),
            "prefactor": -0.5 * float(blocks.weights @ blocks.prior_logdet), "occam": point.occam,
            "negative_eigenvalue": float(eig.min()), "negative_count": negative,
            "gradient_norm": float(np.linalg.norm(point.gradient_f()))}


@lru_cache(maxsize=None)
def _overlap_ode(attention: str, tokens: str, prior: str) -> dict:
    """The Langevin overlap ODE's rhs and Jacobian (numerics/dynamics.py's generated blocks, same cache entries) and
    its state at a stationary point of a 1-D family as a function of the order parameter (as dynamics'
    _state_at_minimum: the block (a, b) at the minimiser of the Wishart block rate). All disk-cached, so a warm
    process needs no SymPy (building the reduced ODE costs about 1 s of SymPy)."""
    family = (attention, tokens, prior, "langevin")

    def block(name):
        def thunk():
            from .dynamics import _block_expression

            return _block_expression(family, name)
        return compiled_function("dynamics:" + ":".join(family) + ":" + name, thunk)

    def state_thunk():
        import sympy as sp

        from ..theory.dynamics import reduced_dynamics
        from ..theory.ldp import block_minimiser
        from ..theory.symbols import sigma_k, sigma_q, x

        rd = reduced_dynamics(*family)
        y = list(rd.state)
        (p,) = rd.order_params
        i = y.index(p)
        values = [sp.Integer(0)] * len(y)
        values[i] = x
        if prior == "bilinear":
            a0 = block_minimiser().subs(x, x / (sigma_q * sigma_k))
            values[i - 2], values[i - 1] = a0 * sigma_q**2, a0 * sigma_k**2
        return [x, sigma_q, sigma_k], values

    return {"rhs": block("rhs"), "jac": block("jac"),
            "state": compiled_function(f"finite-n:ode-state:{attention}:{tokens}:{prior}", state_thunk)}


def _saddle_state(spec: ModelSpec, x_saddle: float) -> np.ndarray:
    ode = _overlap_ode(spec.attention, spec.tokens, spec.prior)
    values = ode["state"](float(x_saddle), spec.sigma_q, spec.sigma_k)
    return np.array([float(np.broadcast_to(v, ())) for v in values])


def _unstable_rate(spec: ModelSpec, alpha: float, x_saddle: float) -> tuple[float, float]:
    """kappa: the positive eigenvalue of the Jacobian of the Langevin overlap ODE (numerics/dynamics.py, theory/
    dynamics.py) at the saddle, in its time unit; and |rhs| there (the saddle is a fixed point)."""
    ode = _overlap_ode(spec.attention, spec.tokens, spec.prior)
    y = _saddle_state(spec, x_saddle)
    params = [float(v) for v in spec.numeric_params.values()] + [float(alpha)]
    k = len(y)
    jac = np.asarray(ode["jac"](*y, *params), dtype=float).reshape(k, k)
    rhs = np.asarray(ode["rhs"](*y, *params), dtype=float).reshape(-1)
    return float(np.max(np.linalg.eigvals(jac).real)), float(np.linalg.norm(rhs))


def barriers(spec: ModelSpec, alphas, Ns=()) -> list[dict]:
    """Barriers between coexisting minima (1-D reduced models) and the Kramers/Langer escape times.

    dF_from: f(saddle) - f(minimum); log_escape_ratio: N dF. Escape time from a minimum over the saddle
    (Langer, overdamped Langevin with stationary density exp(-U), U = N f + Phi0 on the T^2 logits):

        tau = (2 pi / kappa) sqrt(|det grad^2 U_saddle| / det grad^2 U_min) exp(U_saddle - U_min)
            = tau0 exp(N dF),   log tau0 = log(2 pi / kappa) + Phi_saddle - Phi_min  (N cancels),

    Phi = (1/2) log |det grad^2 f / det grad^2 I| + h_W as in the one-loop weights, kappa the unstable
    rate of the deterministic dynamics at the saddle. Time unit: the Langevin time of numerics/dynamics.py
    (ULA steps x step size on (Q, K), no preconditioner); kappa is the positive eigenvalue of that
    overlap ODE's Jacobian. Accurate when N dF >> 1 (flagged below 5) and when the saddle has one
    unstable direction among all T^2 (negative_count, flagged otherwise).
    """
    from scipy.optimize import brentq

    from .compiled import compiled_model
    from .free_energy import local_minima

    alphas = check_inputs(spec, alphas)
    Ns = check_Ns(Ns)
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
            dF = {"low_m": f_s - left.f, "high_m": f_s - right.f}
            saddle = saddle_phi(spec, a, logit_matrix(spec, [x_s]))
            phi_s = saddle["fluctuations"] + saddle["prefactor"] + saddle["occam"]
            phi_min = {name: sum(phi_parts(spec, a, logit_matrix(spec, list(mn.order_parameters.values()))).values())
                       for name, mn in (("low_m", left), ("high_m", right))}
            kappa, rhs_norm = _unstable_rate(spec, a, x_s)
            log_tau0 = {k: math.log(2 * math.pi / kappa) + phi_s - phi_min[k] for k in dF}
            flags = []
            if saddle["negative_count"] != 1:
                flags.append(f"the saddle has {saddle['negative_count']} unstable directions among the T^2 logits")
            # U_saddle - U_min = N dF + Phi_saddle - Phi_min: Kramers/Langer needs it >> 1
            effective = {str(N): {k: N * dF[k] + phi_s - phi_min[k] for k in dF} for N in Ns}
            low = [f"N = {N} from {k}" for N in Ns for k in dF if effective[str(N)][k] < 5]
            if low:
                flags.append("the one-loop barrier N dF + Phi_saddle - Phi_min is below 5 at "
                             + ", ".join(low) + ": escape is not activated there, Kramers/Langer does not apply")
            row = {"alpha": float(a), "saddle_order_parameter": x_s, "dF_from": dF,
                   "log_escape_ratio": {str(N): {k: N * v for k, v in dF.items()} for N in Ns},
                   # tau0 beyond double precision (log tau0 > 700) is None in JSON; log_tau0 carries it
                   "tau0": {k: math.exp(v) if v < 700 else math.inf for k, v in log_tau0.items()},
                   "log_tau0": log_tau0,
                   "log_tau": {str(N): {k: log_tau0[k] + N * dF[k] for k in dF} for N in Ns},
                   "effective_barrier": effective, "kappa": kappa, "phi_saddle": phi_s, "phi_min": phi_min,
                   "saddle_negative_eigenvalue": saddle["negative_eigenvalue"],
                   "saddle_negative_count": saddle["negative_count"],
                   "evidence": {"saddle_gradient_norm": saddle["gradient_norm"], "ode_rhs_norm_at_saddle": rhs_norm},
                   "time_unit": "Langevin time of numerics/dynamics.py (ULA steps x step on (Q, K), no preconditioner)",
                   "flag": "ok" if not flags else "; ".join(flags),
                   "method": "Brent on f' between the minima; Langer: log tau = log(2 pi/kappa) + Phi_saddle - Phi_min "
                             "+ N dF, Phi from the Fourier-sector Hessians, kappa from the overlap ODE's Jacobian"}
            out.append(row)
    return out


def hysteresis_edges(spec: ModelSpec, Ns, run_time: float, *, lo: float = 0.05, hi: float = 200.0) -> dict | None:
    """Predicted edges of the hysteresis loop of runs of Langevin time ``run_time`` (numerics/dynamics.py's clock)
    from the uniform and from the copy start, per N: where the Kramers/Langer escape time equals the run time.

    up: the alpha between the spinodals where log tau from the uniform minimum = log run_time (a run from the
    uniform start leaves it above this alpha); down: where log tau from the copy minimum = log run_time (a run
    from the copy start leaves it below). Both are searched over the whole metastable window: the O(1) terms
    can put the down edge above alpha*. Each edge carries the flag of the barrier row at the root (saddle with more
    than one unstable direction, or barrier too low); None with a note where log tau - log run_time does not
    change sign in the window. None if the model has no first-order transition in [lo, hi].
    """
    from scipy.optimize import brentq

    from ..model import CopyHeadModel
    from .transitions import find_transitions

    if not (isinstance(run_time, (int, float)) and math.isfinite(run_time) and run_time > 0):
        raise InvalidParameterError("run_time", f"must be finite and > 0, got {run_time!r}")
    Ns = check_Ns(Ns)
    check_inputs(spec)
    first = [tr for tr in find_transitions(CopyHeadModel(spec).problem(), lo, hi).transitions
             if tr.kind == "first-order" and tr.spinodals]
    if not first:
        return None
    a_star = float(first[0].critical_value)
    spin_lo, spin_hi = (float(v) for v in first[0].spinodals)
    margin = 1e-4 * a_star
    log_run = math.log(run_time)

    def row(a, N):
        (r,) = barriers(spec, [a], [N])
        return r

    edges = {}
    for N in Ns:
        entry = {}
        window = (spin_lo + margin, spin_hi - margin)     # the O(1) terms can put either edge on either side of alpha*
        for name, side in (("up", "low_m"), ("down", "high_m")):
            gap = lambda a, N=N, side=side: row(a, N)["log_tau"][str(N)][side] - log_run  # noqa: E731
            # log tau from uniform falls with alpha, from copy rises: one sign change at most
            g_lo, g_hi = gap(window[0]), gap(window[1])
            if g_lo * g_hi > 0:
                entry[name] = {"alpha": None, "note": f"log tau - log run_time keeps its sign on {list(window)} "
                                                      f"({g_lo:.3g}, {g_hi:.3g})"}
                continue
            root = float(brentq(gap, *window, xtol=1e-8 * a_star))
            r = row(root, N)
            entry[name] = {"alpha": root, "flag": r["flag"], "saddle_negative_count": r["saddle_negative_count"]}
        edges[str(N)] = entry
    return {"run_time": float(run_time), "alpha_star": a_star, "spinodals": [spin_lo, spin_hi], "edges": edges,
            "time_unit": "Langevin time of numerics/dynamics.py (ULA steps x step on (Q, K), no preconditioner)",
            "method": "Brent on log tau(alpha) = log run_time, tau from barriers() (Kramers/Langer)"}
