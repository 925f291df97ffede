"""Defining systems of transitions and special points, each a residual with its Jacobian.

Every class takes a Problem, names its unknown vector z, and provides
``residual(z, mp=False)`` and ``jacobian(z, mp=False)`` for _newton.newton
(numpy floats, or mpmath numbers in object arrays with mp=True). The exact
derivative blocks of the compiled free energy give exact Jacobians; the one
entry they do not provide (d^2 grad / d control^2, used by the branch-point
system) is a central difference of an exact block, which leaves the root exact.

  Stationary       z = x                  grad f = 0
  Coexistence      z = (xa, xb, c)        grad f(xa) = 0, grad f(xb) = 0, f(xa) - f(xb) = 0
  Fold             z = (x, c, phi)        grad f = 0, H phi = 0, l . phi = 1      (spinodal)
  SymmetricCrit.   z = (c, phi)           H(x0; c) phi = 0, l . phi = 1           (instability of a fixed point x0)
  BranchPoint      z = (x, c, phi, beta)  grad f + beta phi = 0, H phi = 0, l . phi = 1, phi . d grad/dc = 0
                                          (a second stationary branch crosses: a second-order point anywhere)
Two-parameter systems vary a second parameter d, for which no derivative block is compiled, so their
Jacobians are central differences of the exact residual:
  CriticalPoint    z = (x, c, d, phi)     grad f = 0, H phi = 0, l . phi = 1, D3[phi, phi, phi] = 0
  Tricritical      z = (c, d, phi)        H(x0) phi = 0, l . phi = 1, a4_eff = 0
  DoubleZero       z = (c, d)             S(c, d) = 0: the 2x2 Schur block of H(x0) bordered by (l1, l2)
                                          (two soft modes at once: a bicritical or tetracritical point)
  CriticalEndPoint z = (xa, c, d, phi, beta, xb)   BranchPoint at xa, grad f(xb) = 0, f(xa) = f(xb)
                                          (a second-order line ends on a first-order line)
"""
from __future__ import annotations

import numpy as np

from ._engine import Problem


def _split(z, sizes):
    out, i = [], 0
    for n in sizes:
        out.append(z[i:i + n])
        i += n
    return out


def _zeros(shape, mp):
    if mp:
        import mpmath

        return np.full(shape, mpmath.mpf(0), dtype=object)
    return np.zeros(shape)


def _cval(v, mp):
    return v if mp else float(v)


class Stationary:
    """grad f(x; c) = 0 at fixed c. Zero modes (a continuous symmetry) are allowed: minimum-norm steps."""

    method = "newton(grad=0)"
    singular_ok = True

    def __init__(self, problem: Problem, c):
        self.problem, self.c = problem, c

    def residual(self, z, mp=False):
        return self.problem.at(z, self.c, mp).gradient

    def jacobian(self, z, mp=False):
        return self.problem.at(z, self.c, mp).hessian


class Coexistence:
    """Two distinct minima with equal free energy: z = (xa, xb, c)."""

    method = "newton(grad_a=0, grad_b=0, f_a=f_b)"
    singular_ok = False

    def __init__(self, problem: Problem):
        self.problem = problem
        self.sizes = (problem.k, problem.k, 1)

    def _points(self, z, mp):
        xa, xb, c = _split(z, self.sizes)
        return self.problem.at(xa, c[0], mp), self.problem.at(xb, c[0], mp)

    def residual(self, z, mp=False):
        a, b = self._points(z, mp)
        if mp:      # mpmath, with as many extra digits as a large offset of f takes away from the difference
            return np.hstack([a.gradient, b.gradient, [_mp_difference(self.problem, a, b, "value")]])
        from ._engine import f_difference

        return np.hstack([a.gradient, b.gradient, [f_difference(self.problem, a.x, b.x, a.c)]])

    def jacobian(self, z, mp=False):
        k = self.problem.k
        a, b = self._points(z, mp)
        A = _zeros((2 * k + 1, 2 * k + 1), mp)
        A[:k, :k] = a.hessian
        A[:k, -1] = a.gradient_d_control
        A[k:2 * k, k:2 * k] = b.hessian
        A[k:2 * k, -1] = b.gradient_d_control
        A[-1, :k] = a.gradient
        A[-1, k:2 * k] = -b.gradient
        if mp:
            A[-1, -1] = _mp_difference(self.problem, a, b, "d_control")
        else:       # a large x-independent offset of df/dc cancels: integrate the exact gradient instead
            from ._engine import f_difference

            A[-1, -1] = f_difference(self.problem, a.x, b.x, a.c, "d_control")
        return A


def _mp_difference(problem, a, b, block):
    """block(a) - block(b) in mpmath (a, b mp Points) at the working precision plus the digits that the size
    of the values (an x-independent offset) cancels."""
    import mpmath

    big = max(abs(getattr(a, block)), abs(getattr(b, block)), mpmath.mpf(1))
    extra = int(mpmath.ceil(mpmath.log10(big))) + 2
    with mpmath.workdps(mpmath.mp.dps + extra):
        va = getattr(problem.at(a.x, a.c, True), block)
        vb = getattr(problem.at(b.x, b.c, True), block)
        d = va - vb
    return +d


class Fold:
    """A fold of a stationary branch (spinodal): z = (x, c, phi); l is the null vector guess, fixed.

    With a continuous symmetry the branch carries zero modes (Goldstone directions, the rows of `symmetry`,
    m x k) at every point, which make the plain system singular (phi could be a Goldstone mode, x could slide
    along the orbit). They are deflated with a phase condition and Lagrange multipliers, z = (x, c, phi, mu,
    nu): grad f + G^T mu = 0, G (x - x_ref) = 0, H phi + G^T nu = 0, G phi = 0, l . phi = 1. Since
    grad f . (generator x) = 0 identically, mu = nu = 0 at a solution: a true fold with phi off the orbit
    (the radial soft mode)."""

    method = "newton(grad=0, H phi=0, l.phi=1)"
    singular_ok = False

    def __init__(self, problem: Problem, l, symmetry=None, x_ref=None):
        self.problem = problem
        self.l = np.asarray(l, float)
        k = problem.k
        self.G = np.zeros((0, k)) if symmetry is None else np.atleast_2d(np.asarray(symmetry, float))
        m = self.G.shape[0]
        self.x_ref = np.zeros(k) if x_ref is None else np.asarray(x_ref, float)
        self.sizes = (k, 1, k, m, m)
        if m:
            self.method = ("newton(grad+G^T mu=0, G(x-x_ref)=0, H phi+G^T nu=0, G phi=0, l.phi=1): "
                           f"{m} Goldstone mode(s) deflated")

    def residual(self, z, mp=False):
        x, c, phi, mu, nu = _split(z, self.sizes)
        pt = self.problem.at(x, c[0], mp)
        G = self.G
        return np.hstack([pt.gradient + G.T @ mu, G @ (x - self.x_ref), pt.hessian @ phi + G.T @ nu, G @ phi,
                          [self.l @ phi - 1]])

    def jacobian(self, z, mp=False):
        k, m = self.problem.k, self.G.shape[0]
        x, c, phi, mu, nu = _split(z, self.sizes)
        pt = self.problem.at(x, c[0], mp)
        n = 2 * k + 1 + 2 * m
        A = _zeros((n, n), mp)
        ix, ic, iphi, imu, inu = 0, k, k + 1, 2 * k + 1, 2 * k + 1 + m     # column offsets
        r1, r2, r3, r4, r5 = 0, k, k + m, 2 * k + m, 2 * k + 2 * m          # row offsets
        A[r1:r1 + k, ix:ix + k] = pt.hessian
        A[r1:r1 + k, ic] = pt.gradient_d_control
        A[r1:r1 + k, imu:imu + m] = self.G.T
        A[r2:r2 + m, ix:ix + k] = self.G
        A[r3:r3 + k, ix:ix + k] = np.einsum("ijm,j->im", pt.third, phi)
        A[r3:r3 + k, ic] = pt.hessian_d_control @ phi
        A[r3:r3 + k, iphi:iphi + k] = pt.hessian
        A[r3:r3 + k, inu:inu + m] = self.G.T
        A[r4:r4 + m, iphi:iphi + k] = self.G
        A[r5, iphi:iphi + k] = self.l
        return A


class SymmetricCritical:
    """The Hessian at a fixed point x0 (grad f(x0; c) = 0 for every c) becomes singular: z = (c, phi)."""

    method = "newton(H(x0) phi=0, l.phi=1)"
    singular_ok = True          # a degenerate soft mode (continuous symmetry) leaves phi's block singular

    def __init__(self, problem: Problem, x0, l):
        self.problem, self.x0 = problem, list(x0)
        self.l = np.asarray(l, float)

    def residual(self, z, mp=False):
        c, phi = z[0], z[1:]
        pt = self.problem.at(self.x0, c, mp)
        return np.hstack([pt.hessian @ phi, [self.l @ phi - 1]])

    def jacobian(self, z, mp=False):
        k = self.problem.k
        c, phi = z[0], z[1:]
        pt = self.problem.at(self.x0, c, mp)
        A = _zeros((k + 1, k + 1), mp)
        A[:k, 0] = pt.hessian_d_control @ phi
        A[:k, 1:] = pt.hessian
        A[k, 1:] = self.l
        return A


class BranchPoint:
    """A simple branch point of grad f = 0 (two stationary branches cross): z = (x, c, phi, beta).

    At a solution beta = 0, H phi = 0 and d grad/dc lies in the range of H (phi . d grad/dc = 0),
    so a second branch leaves x there: the geometry of a second-order transition, wherever x is.
    """

    method = "newton(grad+beta phi=0, H phi=0, l.phi=1, phi.grad_c=0)"
    singular_ok = False

    def __init__(self, problem: Problem, l, c_scale: float = 1.0):
        self.problem = problem
        self.l = np.asarray(l, float)
        self.h = 1e-6 * c_scale
        self.sizes = (problem.k, 1, problem.k, 1)

    def residual(self, z, mp=False):
        x, c, phi, beta = _split(z, self.sizes)
        pt = self.problem.at(x, c[0], mp)
        return np.hstack([pt.gradient + beta[0] * phi, pt.hessian @ phi, [self.l @ phi - 1],
                          [phi @ pt.gradient_d_control]])

    def jacobian(self, z, mp=False):
        k = self.problem.k
        x, c, phi, beta = _split(z, self.sizes)
        pt = self.problem.at(x, c[0], mp)
        h = self.h if not mp else type(c[0])(self.h)
        gcc = (self.problem.at(x, c[0] + h, mp).gradient_d_control
               - self.problem.at(x, c[0] - h, mp).gradient_d_control) / (2 * h)
        n = 2 * k + 2
        A = _zeros((n, n), mp)
        A[:k, :k] = pt.hessian
        A[:k, k] = pt.gradient_d_control
        A[:k, k + 1:2 * k + 1] = beta[0] * np.eye(k) if not mp else np.eye(k, dtype=object) * beta[0]
        A[:k, -1] = phi
        A[k:2 * k, :k] = np.einsum("ijm,j->im", pt.third, phi)
        A[k:2 * k, k] = pt.hessian_d_control @ phi
        A[k:2 * k, k + 1:2 * k + 1] = pt.hessian
        A[2 * k, k + 1:2 * k + 1] = self.l
        A[2 * k + 1, :k] = phi @ pt.hessian_d_control
        A[2 * k + 1, k] = phi @ gcc
        A[2 * k + 1, k + 1:2 * k + 1] = pt.gradient_d_control
        return A


class _TwoParameter:
    """A system in (..., c, d, ...) where d is a second parameter of the problem: no derivative block in d is
    compiled, so the Jacobian is a central difference of the exact residual (in either back end)."""

    singular_ok = False

    def __init__(self, problem: Problem, second: str):
        self.problem, self.second = problem, second

    def at_d(self, d, mp):
        return self.problem.with_mp_params(**{self.second: d}) if mp else self.problem.with_params(**{self.second: d})

    def jacobian(self, z, mp=False):
        n = len(z)
        if mp:
            import mpmath

            h0 = mpmath.mpf(10) ** (-(mpmath.mp.dps // 2))
        else:
            h0 = 1e-7
        cols = []
        for j in range(n):
            h = h0 * (1 + abs(z[j]))
            zp, zm = z.copy(), z.copy()
            zp[j] = zp[j] + h
            zm[j] = zm[j] - h
            cols.append((np.asarray(self.residual(zp, mp)) - np.asarray(self.residual(zm, mp))) / (2 * h))
        return np.stack(cols, axis=1)


class CriticalPoint(_TwoParameter):
    """End of a first-order line, where its two spinodals merge: z = (x, c, d, phi) with
    grad f = 0, H phi = 0, l . phi = 1, D3 f[phi, phi, phi] = 0."""

    method = "newton(grad=0, H phi=0, l.phi=1, D3[phi,phi,phi]=0) in (x, control, second)"

    def __init__(self, problem: Problem, second: str, l):
        super().__init__(problem, second)
        self.l = np.asarray(l, float)

    def residual(self, z, mp=False):
        k = self.problem.k
        x, c, d, phi = _split(z, (k, 1, 1, k))
        pt = self.at_d(d[0], mp).at(x, c[0], mp)
        return np.hstack([pt.gradient, pt.hessian @ phi, [self.l @ phi - 1],
                          [np.einsum("ijk,i,j,k->", pt.third, phi, phi, phi)]])


class Tricritical(_TwoParameter):
    """Tricritical point on the instability line of a fixed symmetric point x0: z = (c, d, phi) with
    H(x0) phi = 0, l . phi = 1, a4_eff(phi) = Q4(phi) - (1/8) b . H_perp^+ b = 0, b = D3[phi, phi, .]."""

    method = "newton(H(x0) phi=0, l.phi=1, a4_eff=0) in (control, second)"

    def __init__(self, problem: Problem, second: str, x0, l):
        super().__init__(problem, second)
        self.x0 = list(x0)
        self.l = np.asarray(l, float)

    def residual(self, z, mp=False):
        k = self.problem.k
        c, d, phi = z[0], z[1], z[2:]
        p = self.at_d(d, mp)
        pt = p.at(self.x0, c, mp)
        norm2 = phi @ phi
        u = phi / norm2 ** 0.5
        if mp:
            q4 = p.quartic.mp_block("value", list(u), c, _mp_params_of(p))
        else:
            q4 = float(p.quartic.value(list(u), float(c), p.p))
        a4 = q4
        if k > 1:
            b = np.einsum("ijk,i,j->k", pt.third, u, u)
            b = b - (b @ u) * u
            M = pt.hessian + np.outer(u, u)
            a4 = q4 - 0.125 * (b @ _solve_any(M, b, mp))
        return np.hstack([pt.hessian @ phi, [self.l @ phi - 1], [a4]])


class DoubleZero(_TwoParameter):
    """Two soft modes of the symmetric point at once: H(x0; c, d) has a two-dimensional kernel.

    Minimally augmented (as BifurcationKit's fold problems): with the border V = (l1, l2) (k x 2), solve
    [[H, V], [V^T, 0]] [W; S] = [0; I_2]; the kernel is two-dimensional with W spanning it exactly when the
    2x2 block S vanishes. S is symmetric, so its three entries S11, S12, S22 are the residual in the two
    unknowns (c, d): Gauss-Newton, and a converged residual of zero certifies the double zero (generically
    it needs a symmetry that keeps S12 = 0, e.g. one Z2 per order parameter)."""

    method = "gauss-newton(S11=S12=S22=0, S the bordered Schur block of H(x0)) in (control, second)"

    def __init__(self, problem: Problem, second: str, x0, l1, l2):
        """x0 None: the disordered state is an unknown too (not at a fixed x0: shifted coordinates, or moving
        with the parameters): z = (x, c, d, beta) with grad f + V beta = 0 and W^T d grad/dc = 0 joining the
        residual. grad f = 0 alone is degenerate along the kernel (H vanishes there), so, as in the branch-point
        system, the kernel components of x are pinned by W^T d grad/dc = 0 (a branch through the point stays
        stationary: H dx/dc + d grad/dc = 0, and W^T H = 0); beta = 0 at a symmetric disordered state."""
        super().__init__(problem, second)
        self.x0 = None if x0 is None else list(x0)
        self.V = np.column_stack([np.asarray(l1, float), np.asarray(l2, float)])
        if x0 is None:
            self.method = ("gauss-newton(grad f + V beta=0, W^T grad_c=0, S11=S12=S22=0, S the bordered Schur "
                           "block of H) in (x, control, second, beta)")

    def point(self, z, mp=False):
        """(x, c, d) of z."""
        if self.x0 is None:
            k = self.problem.k
            return list(z[:k]), z[k], z[k + 1]
        return self.x0, z[0], z[1]

    def blocks(self, z, mp=False):
        """(W (k x 2), S (2 x 2)) of the bordered system at z."""
        k = self.problem.k
        x, c, d = self.point(z, mp)
        H = self.at_d(d, mp).at(x, c, mp).hessian
        M = _zeros((k + 2, k + 2), mp)
        M[:k, :k] = H
        M[:k, k:] = self.V
        M[k:, :k] = self.V.T
        rhs = _zeros((k + 2, 2), mp)
        rhs[k, 0] = rhs[k + 1, 1] = 1
        cols = [_solve_any(M, rhs[:, j], mp) for j in range(2)]
        sol = np.column_stack(cols)
        return sol[:k], sol[k:]

    def residual(self, z, mp=False):
        W, S = self.blocks(z, mp)
        r = np.array([S[0, 0], S[0, 1], S[1, 1]], dtype=object if mp else float)
        if self.x0 is None:
            k = self.problem.k
            x, c, d = self.point(z, mp)
            pt = self.at_d(d, mp).at(x, c, mp)
            r = np.hstack([pt.gradient + self.V @ z[k + 2:k + 4], W.T @ pt.gradient_d_control, r])
        return r


class CriticalEndPoint(_TwoParameter):
    """A second-order line (a branch point at xa) ends on a first-order line: the critical phase xa coexists
    with a distinct phase xb. z = (xa, c, d, phi, beta, xb) with the BranchPoint equations at xa,
    grad f(xb) = 0 and f(xa) - f(xb) = 0 (3k + 3 equations and unknowns)."""

    method = ("newton(grad_a+beta phi=0, H_a phi=0, l.phi=1, phi.grad_c=0, grad_b=0, f_a=f_b) "
              "in (x_a, control, second, phi, beta, x_b)")

    def __init__(self, problem: Problem, second: str, l):
        super().__init__(problem, second)
        self.l = np.asarray(l, float)

    def split(self, z):
        k = self.problem.k
        return _split(z, (k, 1, 1, k, 1, k))

    def residual(self, z, mp=False):
        xa, c, d, phi, beta, xb = self.split(z)
        p = self.at_d(d[0], mp)
        a, b = p.at(xa, c[0], mp), p.at(xb, c[0], mp)
        if mp:
            df = a.value - b.value
        else:
            from ._engine import f_difference

            df = f_difference(p, a.x, b.x, a.c)
        return np.hstack([a.gradient + beta[0] * phi, a.hessian @ phi, [self.l @ phi - 1],
                          [phi @ a.gradient_d_control], b.gradient, [df]])


def _mp_params_of(problem):
    from ._engine import mp_params

    return mp_params(problem)


def _solve_any(M, b, mp):
    if mp:
        import mpmath

        return np.array(list(mpmath.lu_solve(mpmath.matrix(M.tolist()), mpmath.matrix(list(b)))), dtype=object)
    return np.linalg.solve(np.asarray(M, float), np.asarray(b, float))


def fourth_directional(problem: Problem, x, c, v, h: float = 1e-3) -> float:
    """D^4 f[v, v, v, v] at (x, c): Richardson-extrapolated central difference of the exact D^3 f[v, v, v]."""
    v = np.asarray(v, float)
    x = np.asarray(x, float)

    def d3(t):
        return float(np.einsum("ijk,i,j,k->", problem.at(x + t * v, c).third, v, v, v))

    def central(s):
        return (d3(s) - d3(-s)) / (2 * s)

    scale = h * (1 + float(np.max(np.abs(x))))
    return (4 * central(scale / 2) - central(scale)) / 3
