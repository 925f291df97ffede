"""The finite network of THEORY.md and its data, in plain numpy.

Model (same notation as THEORY.md): ``n`` cyclic sequences of length ``T`` with
i.i.d. uniform tokens over ``V`` symbols; token vectors ``x = e_v - 1/V``
(centred) or ``e_v`` (onehot); the target at position ``t`` is the token vector
at ``t-1``.  Logits ``S = Q K^T / N``; ``A = softmax_rows(gamma S)`` or
``A = gamma S``; ``h_t = sum_s A_ts x_s``; ``f_t = W h_t``.  Prior
``Q_ij ~ N(0, sigma_q^2)``, ``K_ij ~ N(0, sigma_k^2)``,
``W_ij ~ N(0, sigma_w^2/N)``; Gaussian likelihood with variance ``sigma2``.

Two log posteriors, each with its analytic gradient:

* :meth:`Network.marginal` -- W integrated out exactly.  With ``H`` the
  ``(nT x V)`` matrix of all ``h``'s, ``Y`` the targets,
  ``lambda = sigma2 N / sigma_w^2``, ``Sigma_h = H^T H``, ``C = H^T Y`` and
  ``R = lambda I + Sigma_h``::

      log p(Y|Q,K) = -(1/(2 sigma2)) [tr Y^T Y - tr C^T R^{-1} C]
                     - (V/2) log det(I + Sigma_h/lambda) - (nTV/2) log(2 pi sigma2)

  ``Sigma_h`` and ``C`` are contracted from the sufficient statistics
  ``G_{s s'} = sum_mu x^mu_s x^mu_s'^T`` (computed once), so a step costs
  ``O(T^2 V^2 + T^2 N)`` whatever ``n`` is.
* :meth:`Network.full` -- the joint posterior over (Q, K, W), also through the
  sufficient statistics: ``sum ||y - W h||^2 = tr Y^TY - 2 tr(W C) + tr(W Sigma_h W^T)``.

:class:`DirectNetwork` computes the same quantities the straightforward way
(rebuilding every ``h`` from the raw data at each call); it is the reference in
the tests and the baseline in the benchmark.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from copyhead.errors import InvalidParameterError
from copyhead.spec import ModelSpec

__all__ = [
    "CopyData", "make_data", "Network", "DirectNetwork", "attention", "attention_backward",
    "copy_order_parameter", "initial_state", "INITS", "require_bilinear",
]

INITS = ("uniform", "copy")


def require_bilinear(spec: ModelSpec) -> None:
    """The finite network samples Q and K, so only the bilinear prior exists here."""
    if spec.prior != "bilinear":
        raise InvalidParameterError("prior", "the finite network samples Q and K; only 'bilinear' is supported")


@dataclass(frozen=True)
class CopyData:
    """A seeded data set of the cyclic copy task.

    Fields:
      tokens  (n, T) integer token ids, i.i.d. uniform over range(V)
      X       (n, T, V) token vectors (centred ``e_v - 1/V`` or onehot ``e_v``)
      Y       (n, T, V) targets, ``Y[:, t] = X[:, t-1]`` (cyclic)
    """

    tokens: np.ndarray
    X: np.ndarray
    Y: np.ndarray

    @property
    def n(self) -> int:
        return self.tokens.shape[0]


def make_data(spec: ModelSpec, n: int, rng: np.random.Generator) -> CopyData:
    """Draw ``n`` sequences of the copy task with the generator ``rng``."""
    if n < 1:
        raise InvalidParameterError("n", f"must be >= 1, got {n}")
    tokens = rng.integers(0, spec.V, size=(n, spec.T))
    X = np.eye(spec.V)[tokens]
    if spec.tokens == "centred":
        X = X - 1.0 / spec.V
    Y = np.roll(X, 1, axis=1)  # out[:, t] = in[:, t-1]
    return CopyData(tokens=tokens, X=X, Y=Y)


# ----------------------------------------------------------------------------- attention
def attention(spec: ModelSpec, S: np.ndarray) -> np.ndarray:
    """Attention matrix from logits ``S`` (T x T, or a stack (..., T, T) of them)."""
    if spec.attention == "linear":
        return spec.gamma * S
    Z = spec.gamma * S
    Z = Z - Z.max(axis=-1, keepdims=True)  # stable softmax
    E = np.exp(Z)
    return E / E.sum(axis=-1, keepdims=True)


def attention_backward(spec: ModelSpec, A: np.ndarray, dA: np.ndarray) -> np.ndarray:
    """Given ``dL/dA``, return ``dL/dS``."""
    if spec.attention == "linear":
        return spec.gamma * dA
    # Softmax Jacobian applied row-wise: dZ = A * (dA - <dA, A>_row).
    return spec.gamma * A * (dA - (dA * A).sum(axis=-1, keepdims=True))


def copy_order_parameter(A: np.ndarray) -> float:
    """m = (1/T) sum_t A_{t,t-1}: mean attention on the previous token."""
    T = A.shape[0]
    return float(np.mean(A[np.arange(T), np.arange(T) - 1]))


def _shift_matrix(T: int) -> np.ndarray:
    """Cyclic shift Pi with Pi_{t,t-1} = 1."""
    return np.roll(np.eye(T), -1, axis=1)


def initial_state(spec: ModelSpec, N: int, init: str, rng: np.random.Generator,
                  *, small: float = 0.05, m_target: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Initial (Q, K) for the two branches.

    * ``uniform``: a prior draw scaled by ``small`` so that ``S`` is ~0 (uniform
      attention for softmax, ``A`` ~ 0 for linear).
    * ``copy``: ``S = delta0 (Pi - J/T)`` with ``delta0`` chosen so that the
      softmax puts ``m_target`` on the previous token; for linear attention
      ``S = (m_target/gamma) Pi`` so that ``m = m_target``.  Built exactly as
      ``Q = sqrt(N) U sqrt(Sigma) R``, ``K = sqrt(N) V sqrt(Sigma) R`` from the SVD
      of the target and a random ``R`` with orthonormal rows (rank truncated to
      N when N < T), so that the weight is spread over all N coordinates.
    """
    T = spec.T
    if init == "uniform":
        Q = small * spec.sigma_q * rng.standard_normal((T, N))
        K = small * spec.sigma_k * rng.standard_normal((T, N))
        return Q, K
    if init != "copy":
        raise InvalidParameterError("init", f"must be one of {INITS}, got {init!r}")
    Pi = _shift_matrix(T)
    if spec.attention == "softmax":
        delta0 = math.log(m_target * (T - 1) / (1.0 - m_target)) / spec.gamma
        S0 = delta0 * (Pi - np.ones((T, T)) / T)
    else:
        S0 = (m_target / spec.gamma) * Pi
    U, sv, Vt = np.linalg.svd(S0)
    r = min(T, N)
    U, sv, Vt = U[:, :r], sv[:r], Vt[:r]
    R = np.linalg.qr(rng.standard_normal((N, r)))[0].T  # r x N, orthonormal rows
    root = np.sqrt(sv)[:, None]
    Q = math.sqrt(N) * U @ (root * R)
    K = math.sqrt(N) * Vt.T @ (root * R)
    return Q, K


# ----------------------------------------------------------------------------- the network
@dataclass(frozen=True)
class Evaluation:
    """One evaluation of a log posterior.

    Fields:
      logp  log posterior density (including all normalising constants of the
            likelihood and of the Gaussian priors)
      grad  gradient with respect to the flat parameter vector
      m     copy order parameter of the current attention matrix
    """

    logp: float
    grad: np.ndarray
    m: float


class Network:
    """Finite network with the data reduced to sufficient statistics.

    Parameters are flat vectors: ``theta = [Q.ravel(), K.ravel()]`` for the
    marginal posterior and ``[Q.ravel(), K.ravel(), W.ravel()]`` for the full one.
    """

    def __init__(self, spec: ModelSpec, N: int, data: CopyData):
        require_bilinear(spec)
        self.spec, self.N, self.data = spec, int(N), data
        T, V = spec.T, spec.V
        self.T, self.V, self.n = T, V, data.n
        X = data.X
        # G4[s, i, u, j] = sum_mu X[mu, s, i] X[mu, u, j]; stored as (s u) x (i j) so that
        # both contractions with a T x T weight become one matrix-vector product.
        G4 = np.einsum("nsi,nuj->siuj", X, X, optimize=True)
        self.Gsu = np.ascontiguousarray(G4.transpose(0, 2, 1, 3).reshape(T * T, V * V))
        self.yy = float(np.sum(data.Y ** 2))
        self.lam = spec.sigma2 * N / spec.sigma_w ** 2
        self._eye = np.eye(V)
        self._next = (np.arange(T) + 1) % T
        self._prev = (np.arange(T) - 1) % T
        self._rows = np.arange(T)
        self.n_qk = 2 * T * N
        self.dim_marginal = self.n_qk
        self.dim_full = self.n_qk + V * V
        self._const = -0.5 * self.n * T * V * math.log(2 * math.pi * spec.sigma2)
        # Normalising constants of the Gaussian priors.
        self._prior_qk_const = -0.5 * T * N * (math.log(2 * math.pi * spec.sigma_q ** 2)
                                               + math.log(2 * math.pi * spec.sigma_k ** 2))
        self._w_var = spec.sigma_w ** 2 / N
        self._prior_w_const = -0.5 * V * V * math.log(2 * math.pi * self._w_var)
        self._prior_blocks = np.zeros((2 * T, 2 * T))   # marginal_batch's gradient matrix, prior part
        self._prior_blocks[:T, :T] = -np.eye(T) / spec.sigma_q ** 2
        self._prior_blocks[T:, T:] = -np.eye(T) / spec.sigma_k ** 2

    # -- parameter packing -----------------------------------------------------
    def split(self, theta: np.ndarray):
        T, N, V = self.T, self.N, self.V
        Q = theta[: T * N].reshape(T, N)
        K = theta[T * N: 2 * T * N].reshape(T, N)
        W = theta[2 * T * N:].reshape(V, V) if theta.size > self.n_qk else None
        return Q, K, W

    @staticmethod
    def pack(Q, K, W=None) -> np.ndarray:
        parts = [Q.ravel(), K.ravel()] + ([W.ravel()] if W is not None else [])
        return np.concatenate(parts)

    def preconditioner(self, full: bool = False) -> np.ndarray:
        """Constant diagonal preconditioner (a mass matrix inverse) for the samplers.

        Q and K coordinates get their prior variance, so a dimensionless step
        size is O(1) whatever N is (the data term's curvature per coordinate is
        O(1) in N).  The readout's likelihood precision grows like ``n T / V``
        against a prior precision ``N / sigma_w^2``; W gets the inverse of their
        sum so its modes are not stiffer than the others.
        """
        spec = self.spec
        T, N = self.T, self.N
        parts = [np.full(T * N, spec.sigma_q ** 2), np.full(T * N, spec.sigma_k ** 2)]
        if full:
            w = 1.0 / (1.0 / self._w_var + self.n * T / (self.V * spec.sigma2))
            parts.append(np.full(self.V * self.V, w))
        return np.concatenate(parts)

    # -- shared pieces ---------------------------------------------------------
    def _forward(self, Q, K):
        S = Q @ K.T / self.N
        A = attention(self.spec, S)
        T, V = self.T, self.V
        MB = np.empty((2, T, T))
        np.matmul(A.T, A, out=MB[0])       # M[s,u] = sum_t A_ts A_tu
        MB[1] = A[self._next].T            # B[s,u] = A[u+1, s]: pairs A_ts with target t-1
        SC = (MB.reshape(2, T * T) @ self.Gsu).reshape(2, V, V)
        return S, A, SC[0], SC[1]

    def _backward(self, Q, K, A, dSigma, dC):
        """Chain rule from (dL/dSigma_h, dL/dC) back to (dL/dQ, dL/dK)."""
        T, V = self.T, self.V
        both = np.empty((2, V, V))
        both[0] = 0.5 * (dSigma + dSigma.T)
        both[1] = dC
        dMB = (self.Gsu @ both.reshape(2, V * V).T).T.reshape(2, T, T)
        # M = A^T A and dM is symmetric (G4[s,i,u,j] = G4[u,j,s,i]) -> dA = 2 A dM;
        # B[s,u] = A[u+1,s] -> dA[t,s] += dB[s,t-1].
        dA = 2.0 * A @ dMB[0] + dMB[1].T[self._prev]
        dS = attention_backward(self.spec, A, dA)
        dQ = dS @ K / self.N
        dK = dS.T @ Q / self.N
        return dQ, dK

    def _log_prior_qk(self, Q, K):
        s = self.spec
        lp = self._prior_qk_const - 0.5 * np.sum(Q * Q) / s.sigma_q ** 2 - 0.5 * np.sum(K * K) / s.sigma_k ** 2
        return lp, -Q / s.sigma_q ** 2, -K / s.sigma_k ** 2

    # -- log posteriors --------------------------------------------------------
    def marginal(self, theta: np.ndarray) -> Evaluation:
        """Log posterior over (Q, K) with W integrated out, and its gradient."""
        Q, K, _ = self.split(theta)
        S, A, Sigma, C = self._forward(Q, K)
        s2, lam, V = self.spec.sigma2, self.lam, self.V
        R = Sigma + lam * self._eye
        L = np.linalg.cholesky(R)          # R is SPD: lam > 0
        Linv = np.linalg.inv(L)
        Rinv = Linv.T @ Linv
        RinvC = Rinv @ C
        quad = float(np.sum(C * RinvC))
        logdet = 2.0 * float(np.sum(np.log(np.diag(L)))) - V * math.log(lam)  # log det(I + Sigma/lam)
        loglik = -0.5 / s2 * (self.yy - quad) - 0.5 * V * logdet + self._const
        dC = RinvC / s2
        dSigma = -0.5 / s2 * (RinvC @ RinvC.T) - 0.5 * V * Rinv
        dQ, dK = self._backward(Q, K, A, dSigma, dC)
        lp0, gQ0, gK0 = self._log_prior_qk(Q, K)
        grad = self.pack(dQ + gQ0, dK + gK0)
        return Evaluation(loglik + lp0, grad, float(A[self._rows, self._prev].mean()))

    def marginal_batch(self, thetas: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """:meth:`marginal` for a stack of C parameter vectors (C, dim) in one pass of batched numpy calls.

        Returns (logp (C,), grad (C, dim), m (C,)): several chains per call amortise the per-call
        overhead that dominates a single chain at these sizes (benchmarks/bench_sampler.py).
        """
        thetas = np.asarray(thetas, dtype=float)
        C, T, N, V = thetas.shape[0], self.T, self.N, self.V
        Q = thetas[:, : T * N].reshape(C, T, N)
        K = thetas[:, T * N: 2 * T * N].reshape(C, T, N)
        A = attention(self.spec, Q @ K.transpose(0, 2, 1) / N)
        MB = np.empty((C, 2, T, T))
        np.matmul(A.transpose(0, 2, 1), A, out=MB[:, 0])
        MB[:, 1] = A[:, self._next].transpose(0, 2, 1)
        SC = (MB.reshape(2 * C, T * T) @ self.Gsu).reshape(C, 2, V, V)
        Sigma, Cm = SC[:, 0], SC[:, 1]
        s2, lam = self.spec.sigma2, self.lam
        L = np.linalg.cholesky(Sigma + lam * self._eye)
        Linv = np.linalg.inv(L)
        Rinv = Linv.transpose(0, 2, 1) @ Linv
        RinvC = Rinv @ Cm
        quad = np.sum(Cm * RinvC, axis=(1, 2))
        logdet = 2.0 * np.sum(np.log(np.diagonal(L, axis1=1, axis2=2)), axis=1) - V * math.log(lam)
        loglik = -0.5 / s2 * (self.yy - quad) - 0.5 * V * logdet + self._const
        dSigma = -0.5 / s2 * (RinvC @ RinvC.transpose(0, 2, 1)) - 0.5 * V * Rinv
        both = np.empty((C, 2, V, V))
        both[:, 0] = 0.5 * (dSigma + dSigma.transpose(0, 2, 1))
        both[:, 1] = RinvC / s2
        dMB = (both.reshape(2 * C, V * V) @ self.Gsu.T).reshape(C, 2, T, T)
        dA = 2.0 * A @ dMB[:, 0] + dMB[:, 1].transpose(0, 2, 1)[:, self._prev]
        dS = attention_backward(self.spec, A, dA)
        # one (2T x 2T) @ (2T x N) product per chain gives both gradients with the prior's:
        # [dQ; dK] = [[-I/sq2, dS/N], [dS^T/N, -I/sk2]] @ [Q; K]  (no (C, d) temporaries)
        blocks = np.empty((C, 2 * T, 2 * T))
        blocks[:] = self._prior_blocks
        blocks[:, :T, T:] = dS / N
        blocks[:, T:, :T] = dS.transpose(0, 2, 1) / N
        grad = np.matmul(blocks, thetas[:, : 2 * T * N].reshape(C, 2 * T, N)).reshape(C, 2 * T * N)
        sq2, sk2 = self.spec.sigma_q ** 2, self.spec.sigma_k ** 2
        flatQ, flatK = thetas[:, None, : T * N], thetas[:, None, T * N: 2 * T * N]
        lp0 = (self._prior_qk_const - 0.5 * (flatQ @ flatQ.transpose(0, 2, 1))[:, 0, 0] / sq2
               - 0.5 * (flatK @ flatK.transpose(0, 2, 1))[:, 0, 0] / sk2)
        return loglik + lp0, grad, A[:, self._rows, self._prev].mean(axis=1)

    def full(self, theta: np.ndarray) -> Evaluation:
        """Log posterior over (Q, K, W) and its gradient."""
        Q, K, W = self.split(theta)
        if W is None:
            raise InvalidParameterError("theta", "the full posterior needs theta = [Q, K, W]")
        S, A, Sigma, C = self._forward(Q, K)
        s2 = self.spec.sigma2
        WS = W @ Sigma
        sse = self.yy - 2.0 * float(np.sum(W * C.T)) + float(np.sum(WS * W))
        loglik = -0.5 / s2 * sse + self._const
        dW = (C.T - WS) / s2
        dC = W.T / s2
        dSigma = -0.5 / s2 * (W.T @ W)
        dQ, dK = self._backward(Q, K, A, dSigma, dC)
        lp0, gQ0, gK0 = self._log_prior_qk(Q, K)
        lpw = self._prior_w_const - 0.5 * np.sum(W * W) / self._w_var
        grad = self.pack(dQ + gQ0, dK + gK0, dW - W / self._w_var)
        return Evaluation(loglik + lp0 + lpw, grad, float(A[self._rows, self._prev].mean()))

    def ridge_readout(self, theta_qk: np.ndarray) -> np.ndarray:
        """Posterior mean of W given (Q, K): ``W^T = R^{-1} C`` (a start for the full chain)."""
        Q, K, _ = self.split(theta_qk)
        _, _, Sigma, C = self._forward(Q, K)
        return np.linalg.solve(self.lam * np.eye(self.V) + Sigma, C).T

    def order_parameter(self, theta: np.ndarray) -> float:
        Q, K, _ = self.split(theta)
        return copy_order_parameter(attention(self.spec, Q @ K.T / self.N))


class DirectNetwork(Network):
    """Same posteriors computed the straightforward way: every ``h^mu_t`` is rebuilt
    from the raw data at each call (cost grows with n).  Reference and benchmark
    baseline; not meant for production runs."""

    def _forward(self, Q, K):
        S = Q @ K.T / self.N
        A = attention(self.spec, S)
        H = np.einsum("ts,nsv->ntv", A, self.data.X).reshape(-1, self.V)
        Yf = self.data.Y.reshape(-1, self.V)
        self._H = H
        return S, A, H.T @ H, H.T @ Yf

    def _backward(self, Q, K, A, dSigma, dC):
        # Back through H directly: Sigma = H^T H, C = H^T Y.
        dSigma = 0.5 * (dSigma + dSigma.T)
        Yf = self.data.Y.reshape(-1, self.V)
        dH = 2.0 * self._H @ dSigma + Yf @ dC.T
        dH = dH.reshape(self.n, self.T, self.V)
        dA = np.einsum("ntv,nsv->ts", dH, self.data.X)
        dS = attention_backward(self.spec, A, dA)
        return dS @ K / self.N, dS.T @ Q / self.N

    def gp_log_evidence(self, theta_qk: np.ndarray) -> float:
        """log p(Y|Q,K) in sample space: each output column is an independent GP
        with kernel ``(sigma_w^2/N) H H^T + sigma2 I`` (an independent check of
        the closed form)."""
        Q, K, _ = self.split(theta_qk)
        self._forward(Q, K)
        H = self._H
        Kmat = (self.spec.sigma_w ** 2 / self.N) * H @ H.T + self.spec.sigma2 * np.eye(H.shape[0])
        L = np.linalg.cholesky(Kmat)
        Yf = self.data.Y.reshape(-1, self.V)
        Z = np.linalg.solve(L, Yf)
        nT = H.shape[0]
        return float(-0.5 * np.sum(Z * Z) - self.V * np.sum(np.log(np.diag(L)))
                     - 0.5 * nT * self.V * math.log(2 * math.pi))
