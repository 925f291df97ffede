"""Finite-N theory: the O(1) terms that the N -> oo free energy drops, and what they shift.

At finite N the posterior density of the logits S (a T x T matrix, d = T^2 entries) is

    p_N(S) ~ exp(-N f(S) - Phi0(S)),   Phi0 = -(1/2) log det grad^2 I(S) + h_W(S),

* -(1/2) log det grad^2 I: the prefactor of the density of S = (1/N) sum_a q_a k_a^T, a mean of N
  i.i.d. matrices (Daniels' saddle-point density; Wishart at T = 1);
* h_W = (V/2) log det(I + Sigma_h/lambda): the readout's Occam factor, the log-determinant that
  the population energy drops (theory/population.py shows it is O(1), not O(N)).

Integrating the Gaussian fluctuations about a minimum S* gives log Z = -N f* - Phi + O(1/N) with

    Phi = (1/2) log det(grad^2 f / grad^2 I) + h_W,

and means  <g>_N = g* + c/N,  c = (1/2) tr(grad^2 g H^-1) - grad g . H^-1 grad Phi,  H = grad^2 f.
Two phases have equal weight where N Delta f + Delta Phi = 0, so the first-order jump sits at
alpha_eq(N) = alpha* + C/N, C = -Delta Phi / Delta(df/dalpha) (Borgs-Kotecky).

The data enter only through their population limit here (annealed): the O(sqrt N) random part of
the evidence and its O(1) mean shift are not included (see the README's finite-N section).
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from copyhead.errors import DerivationCheckFailed

from . import population
from .functions import WishartRate
from .symbols import M, N, R, alpha, c, lam, n, q, sigma2, sigma_w, x

# generic symbols of the one-loop statements (scalar stand-ins for the matrix quantities)
rate = sp.Symbol("I", real=True)
rate_curvature = sp.Symbol("D", positive=True)          # det grad^2 I
dim = sp.Symbol("d", positive=True, integer=True)
delta_f = sp.Symbol(r"\Delta f", real=True)
delta_phi = sp.Symbol(r"\Delta\Phi", real=True)
delta_f_alpha = sp.Symbol(r"\Delta f_\alpha", real=True)  # d(f_copy - f_uniform)/d alpha at alpha*
delta_f_alpha2 = sp.Symbol(r"\Delta f_{\alpha\alpha}", real=True)
delta_phi_alpha = sp.Symbol(r"\Delta\Phi_\alpha", real=True)
alpha_star = sp.Symbol(r"\alpha^*", positive=True)
eta = sp.Symbol(r"\eta", positive=True)                   # 1/N


def saddle_point_log_density() -> sp.Expr:
    """Daniels: log p_N(s) of a d-dimensional mean of N i.i.d. vectors, to O(1/N)."""
    return -N * rate + sp.log(rate_curvature) / 2 + dim / 2 * sp.log(N / (2 * sp.pi))


@lru_cache(maxsize=None)
def log_density_T1() -> sp.Expr:
    """The saddle-point log-density of x = q.k/N (T = 1, unit variances): d = 1, I = phi, D = phi''."""
    phi = WishartRate(x)
    return saddle_point_log_density().subs({rate: phi, rate_curvature: sp.diff(phi, x, 2), dim: 1})


@lru_cache(maxsize=None)
def exact_log_density_T1() -> sp.Expr:
    """Exact log-density of x = q.k/N for q, k ~ N(0, I_N), x > 0 (the product-normal law:
    N (Nx)^((N-1)/2) K_{(N-1)/2}(Nx) / (2^((N-1)/2) sqrt(pi) Gamma(N/2)))."""
    nu = (N - 1) / 2
    return (sp.log(N) + nu * sp.log(N * x) + sp.log(sp.besselk(nu, N * x)) - nu * sp.log(2)
            - sp.log(sp.pi) / 2 - sp.loggamma(N / 2))


@lru_cache(maxsize=None)
def occam_finite_n(tokens: str) -> sp.Expr:
    """h_W = (V/2) log det(I + Sigma_h / lambda) with the population Sigma_h = n sum_ch M_ch Pi_ch."""
    from .symbols import V

    channel = V / 2 * sp.log(1 + n * M / lam)
    return sum(mult * channel.subs(M, M_) for mult, _, M_ in population.channels(tokens))


@lru_cache(maxsize=None)
def occam_factor(tokens: str) -> sp.Expr:
    """h_W with n = alpha N and lambda = sigma2 N / sigma_w^2: N drops out (an O(1) term)."""
    scaled = occam_finite_n(tokens).subs({n: alpha * N, lam: sigma2 * N / sigma_w**2})
    if scaled.has(N):
        raise DerivationCheckFailed("Occam factor", "h_W depends on N at fixed alpha")
    return scaled


def occam_centred_closed_form() -> sp.Expr:
    """(V(V-1)/2) log(1 + q/eps) with eps the readout ridge of theory/population.py."""
    from .symbols import V

    _, eps_ = population.kappa_eps()
    return V * (V - 1) / 2 * sp.log(1 + q / eps_)


def one_loop_mean_1d() -> tuple[sp.Expr, sp.Expr]:
    """(exact <g> to O(1/N) from the cumulant expansion in one variable, the one-loop formula).

    F(y) = N f(y) + Phi0(y) about the minimum y = 0 of f; returns both forms of c for
    f = h y^2/2 + f3 y^3/6 + f4 y^4/24, Phi0 = p1 y, g = g1 y + g2 y^2/2, as SymPy expressions.
    """
    y, h, f3, f4, p1, g1, g2 = sp.symbols("y h f_3 f_4 p_1 g_1 g_2", real=True)
    h = sp.Symbol("h", positive=True)
    z = sp.Symbol("z", real=True)
    # y = z / sqrt(N): expand the exponent beyond the Gaussian, average term by term
    eps_ = sp.Symbol("epsilon", positive=True)   # 1/sqrt(N)
    expo = -(f3 * z**3 / 6 * eps_ + f4 * z**4 / 24 * eps_**2) - p1 * z * eps_
    g = g1 * z * eps_ + g2 * z**2 / 2 * eps_**2
    weight = sp.series(sp.exp(expo), eps_, 0, 3).removeO()

    def gauss(expr):
        poly = sp.Poly(sp.expand(expr), z)
        return sum(coef * (sp.factorial2(k - 1) / h ** (k // 2) if k % 2 == 0 else 0)
                   for (k,), coef in poly.terms())

    num, den = gauss(sp.expand(g * weight)), gauss(weight)
    mean = sp.series(num / den, eps_, 0, 3).removeO()
    exact_c = sp.simplify(mean.coeff(eps_, 2))
    # one loop: Phi = (1/2) log f'' + Phi0 ; grad Phi at 0 = f3/(2h) + p1
    formula_c = g2 / (2 * h) - g1 / h * (f3 / (2 * h) + p1)
    return exact_c, formula_c


@lru_cache(maxsize=None)
def jump_shift() -> tuple[sp.Expr, sp.Expr]:
    """(alpha_eq - alpha* to O(1/N) solved from N Delta f + Delta Phi = 0, the closed form C/N)."""
    a = sp.Symbol("a", real=True)
    equation = (delta_f_alpha * a + delta_f_alpha2 * a**2 / 2) / eta + delta_phi + delta_phi_alpha * a
    # a = a1 eta + a2 eta^2 + ...: solve order by order
    a1, a2 = sp.symbols("a_1 a_2", real=True)
    expanded = sp.expand(sp.series(equation.subs(a, a1 * eta + a2 * eta**2), eta, 0, 2).removeO())
    sol1 = sp.solve(expanded.coeff(eta, 0), a1)[0]
    closed = -delta_phi / delta_f_alpha
    return sol1, closed


#: symbols of the Kramers statements: curvatures f'' at the minimum and |f''| at the saddle, mobility, barrier
#: Delta F = f_s - f_m, and Delta Phi0 = Phi0_s - Phi0_m
KRAMERS_SYMBOLS = {"h_min": sp.Symbol("h_m", positive=True), "h_saddle": sp.Symbol("h_s", positive=True),
                   "mu": sp.Symbol(r"\mu", positive=True), "barrier": sp.Symbol(r"\Delta F", positive=True),
                   "dphi0": sp.Symbol(r"\Delta\Phi_0", positive=True)}


def kramers_time_1d() -> tuple[sp.Expr, sp.Expr]:
    """(Laplace asymptotics of the exact mean first-passage time, the Kramers formula) in one variable.

    Overdamped Langevin dx = -mu U'(x) dt + sqrt(2 mu) dB, stationary density exp(-U), U = N f + Phi0.
    The exact mean time from the minimum x_m to a point beyond the saddle x_s (reflecting far left) is
    tau = (1/mu) int_{x_m}^{b} dy e^{U(y)} int_{-oo}^{y} dz e^{-U(z)}; at large N the inner integral is
    the Gaussian about x_m and the outer the Gaussian about x_s (curvatures N f_m'' > 0, N f_s'' < 0).
    """
    y, z = sp.symbols("y z", real=True)
    h_min, h_saddle, mu, barrier, dphi0 = (KRAMERS_SYMBOLS[k] for k in ("h_min", "h_saddle", "mu", "barrier", "dphi0"))
    inner = sp.integrate(sp.exp(-N * h_min * z**2 / 2), (z, -sp.oo, sp.oo))
    outer = sp.integrate(sp.exp(-N * h_saddle * y**2 / 2), (y, -sp.oo, sp.oo))
    laplace = outer * inner * sp.exp(N * barrier + dphi0) / mu
    formula = 2 * sp.pi / (mu * N * h_saddle) * sp.sqrt(h_saddle / h_min) * sp.exp(N * barrier + dphi0)
    return laplace, formula


def langer_time() -> sp.Eq:
    """tau = (2 pi / kappa) sqrt(D_s / D_m) exp(U_s - U_m), U = N f + Phi0, D_s = |det grad^2 U| at the saddle,
    D_m = det grad^2 U at the minimum, as a statement."""
    kappa = sp.Symbol(r"\kappa", positive=True)
    det_s, det_m = sp.symbols("D_s D_m", positive=True)      # |det grad^2 U| at the saddle, det at the minimum
    dU = sp.Symbol(r"\Delta U", real=True)
    return sp.Eq(sp.Symbol(r"\tau"), 2 * sp.pi / kappa * sp.sqrt(det_s / det_m) * sp.exp(dU), evaluate=False)


def statements() -> dict:
    """The finite-N results as SymPy equations (for the derivation document)."""
    S = sp.Symbol("S")
    Phi = sp.Function(r"\Phi")(S)
    g = sp.Function("g")
    H = sp.Symbol("H")
    return {
        "density": sp.Eq(sp.Function(r"\log p_N")(S), saddle_point_log_density(), evaluate=False),
        "phi": sp.Eq(Phi, sp.log(sp.Symbol(r"\det\nabla^2 f") / sp.Symbol(r"\det\nabla^2 I")) / 2
                     + sp.Symbol("h_W"), evaluate=False),
        "mean": sp.Eq(sp.Symbol(r"\langle g\rangle_N"), g(sp.Symbol("S^*")) + sp.Symbol("c") / N, evaluate=False),
        "jump": sp.Eq(sp.Symbol(r"\alpha_{eq}(N)"), alpha_star + jump_shift()[1] / N, evaluate=False),
        "hessian": H,
    }


__all__ = ["saddle_point_log_density", "log_density_T1", "exact_log_density_T1", "occam_finite_n",
           "occam_factor", "occam_centred_closed_form", "one_loop_mean_1d", "jump_shift", "KRAMERS_SYMBOLS", "kramers_time_1d",
           "langer_time", "statements"]
