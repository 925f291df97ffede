"""Section b: large deviations of the query-key overlap."""
from __future__ import annotations

import numpy as np
import sympy as sp
from scipy import optimize, stats

from ..theory import ldp
from ..theory.functions import GaussianLogitRate, WishartRate
from ..theory.symbols import a, x
from ._core import CheckResult, Step, as_check, effort, identity_check, symbolic_check, tolerance_check

SECTION = "Large deviations of the query-key overlap"


def _phi_numpy():
    return sp.lambdify(x, WishartRate(x), "numpy")  # prints its own cancellation-free form


def _check_wishart_density() -> CheckResult:
    """-(1/N) log p_N(G) -> I_W(G): finite-N slope of scipy's exact Wishart log-density."""
    rng = np.random.default_rng(1)
    dim = 4
    worst = 0.0
    for _ in range(3):
        B = rng.normal(size=(dim, dim))
        G = B @ B.T / dim + 0.5 * np.eye(dim)
        Sigma = np.diag(rng.uniform(0.5, 2.0, size=dim))
        rate = float(ldp.wishart_rate_matrix(sp.Matrix(G), sp.Matrix(Sigma)))
        n1, n2 = 4000, 8000
        # log p_N = -N I + (dim(dim+1)/4) log N + c + O(1/N): remove the log N term, take the slope
        lp = [stats.wishart(df=k, scale=Sigma / k).logpdf(G) - dim * (dim + 1) / 4 * np.log(k) for k in (n1, n2)]
        slope = -(lp[1] - lp[0]) / (n2 - n1)
        worst = max(worst, abs(slope - rate))
    return tolerance_check("density", worst, 1e-3,
                           "slope in N of scipy's exact Wishart log-density (N = 4000, 8000) vs I_W(G), 3 random G")


def _check_block_minimisation_numeric() -> CheckResult:
    """Minimise the 2T x 2T Wishart rate over the QQ and KK blocks at fixed random S."""
    rng = np.random.default_rng(2)
    phi = _phi_numpy()
    worst = 0.0
    for T_ in (2, 3):
        sq, sk = rng.uniform(0.6, 1.6, size=2)
        S = rng.normal(scale=0.8, size=(T_, T_))
        Sigma_inv = np.diag([1 / sq**2] * T_ + [1 / sk**2] * T_)
        iu = np.triu_indices(T_)

        def rate(params):
            # Cholesky-free parametrisation: symmetric blocks; infeasible points get +inf
            Aq = np.zeros((T_, T_)); Aq[iu] = params[:len(iu[0])]; Aq = Aq + Aq.T - np.diag(np.diag(Aq))
            Ak = np.zeros((T_, T_)); Ak[iu] = params[len(iu[0]):]; Ak = Ak + Ak.T - np.diag(np.diag(Ak))
            G = np.block([[Aq, S], [S.T, Ak]])
            sign, logdet = np.linalg.slogdet(Sigma_inv @ G)
            if sign <= 0:
                return 1e10
            return 0.5 * (np.trace(Sigma_inv @ G) - logdet - 2 * T_)

        start_q = np.eye(T_) * (sq**2 + 3 * np.abs(S).max() * sq / sk)
        start_k = np.eye(T_) * (sk**2 + 3 * np.abs(S).max() * sk / sq)
        x0 = np.concatenate([start_q[iu], start_k[iu]])
        # Nelder-Mead (robust to the infeasible region) into the basin, BFGS to the minimum
        best = optimize.minimize(rate, x0, method="Nelder-Mead",
                                 options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 40000, "maxfev": 40000})
        best = optimize.minimize(rate, best.x, method="BFGS", options={"gtol": 1e-11})
        singular = np.linalg.svd(S / (sq * sk), compute_uv=False)
        worst = max(worst, abs(best.fun - float(np.sum(phi(singular)))))
    return tolerance_check("optimisation", worst, 1e-7,
                           "numerical minimisation over the QQ, KK blocks at random S (T=2,3) vs sum phi(s_i)")


def _check_monte_carlo_slope() -> CheckResult:
    """Empirical density of x = q.k/N at N and 2N: the log-density slope is -phi(x)."""
    rng = np.random.default_rng(3)
    samples = effort(500_000, 2_000_000)
    worst = 0.0
    details = []
    Ns = (6, 12)
    centres = (0.4, 0.7)
    width = 0.02
    logp = {}
    for N_ in Ns:
        q_ = rng.standard_normal((samples, N_), dtype=np.float32)
        k_ = rng.standard_normal((samples, N_), dtype=np.float32)
        xs = np.einsum("ij,ij->i", q_, k_) / N_
        for c in centres:
            frac = np.mean(np.abs(xs - c) < width / 2)
            logp[(N_, c)] = np.log(frac / width)
    phi = _phi_numpy()
    for c in centres:
        # log p_N = -N phi + (1/2) log N + c(x) + O(1/N): remove the log N term before differencing
        slope = -((logp[(Ns[1], c)] - 0.5 * np.log(Ns[1])) - (logp[(Ns[0], c)] - 0.5 * np.log(Ns[0]))) / (Ns[1] - Ns[0])
        worst = max(worst, abs(slope - phi(c)))
        details.append(f"x={c}: MC {slope:.4f} vs phi {phi(c):.4f}")
    return tolerance_check("monte-carlo", worst, 0.02,
                           f"Monte Carlo log-density slope of q.k/N between N={Ns[0]} and {Ns[1]} "
                           f"({samples:.0e} samples each; {'; '.join(details)})")


def _check_gaussian_logit_variance() -> CheckResult:
    """The Gaussian-logit prior matches the bilinear prior's variance: N Var(S_ij) = sigma_q^2 sigma_k^2."""
    rng = np.random.default_rng(4)
    sq, sk, N_ = 1.3, 0.7, 64
    Q = rng.normal(scale=sq, size=(20000, N_))
    K = rng.normal(scale=sk, size=(20000, N_))
    S = np.einsum("ij,ij->i", Q, K) / N_
    ratio = N_ * S.var() / (sq * sk) ** 2
    return tolerance_check("monte-carlo", abs(ratio - 1), 0.04,
                           "N Var(S_ij)/(sigma_q sigma_k)^2 from 2e4 samples at N=64 (expected 1)")


def _check_gaussian_dominates() -> CheckResult:
    xs = np.linspace(-30, 30, 6001)
    gap = xs**2 / 2 - _phi_numpy()(xs)
    return CheckResult(bool(gap.min() >= -1e-15), "exact",
                       f"x^2/2 - phi(x) >= 0 on [-30, 30] (min {gap.min():.2e}): the bilinear prior has heavier "
                       "tails, so large logits are cheaper than under a Gaussian prior on S")


def steps() -> list[Step]:
    G = sp.MatrixSymbol("G", 2, 2)
    Sigma = sp.MatrixSymbol(r"\Sigma", 2, 2)
    I_W = sp.Function(r"I_{\mathrm{W}}")(G)
    # G is 2T x 2T: the constant is half its dimension
    wishart_statement = sp.Eq(I_W, (sp.Trace(sp.Inverse(Sigma) * G) - sp.log(sp.Determinant(sp.Inverse(Sigma) * G))) / 2
                              - sp.Symbol("T", positive=True, finite=True), evaluate=False)
    phi_expr = WishartRate(x).doit()
    a_star = ldp.block_minimiser()
    series = sp.series(phi_expr, x, 0, 8).removeO()
    asym = sp.limit(phi_expr - x + sp.log(x) / 2, x, sp.oo)
    phi_dd = sp.simplify(sp.diff(phi_expr, x, 2))
    root = sp.sqrt(1 + 4 * x**2)
    return [
        Step(SECTION, "b.wishart", "Wishart rate of the overlap matrix", wishart_statement,
             r"$G = (Q;K)(Q;K)^{\mathsf T}/N$ is Wishart with $N$ degrees of freedom and scale $\Sigma/N$, "
             r"where $\Sigma = \mathrm{diag}(\sigma_q^2 I, \sigma_k^2 I)$; its log-density is $-N I_{\mathrm "
             r"W}(G) + O(\log N)$.",
             (as_check("density", _check_wishart_density),)),
        Step(SECTION, "b.block", r"Minimising one $2\times 2$ block at fixed overlap $x$",
             sp.Eq(sp.Symbol("a^*"), a_star, evaluate=False),
             r"In the singular-value basis of $S/(\sigma_q\sigma_k)$ the minimisation of \eqref{eq:b.wishart} "
             r"over the $QQ$ and $KK$ blocks splits into $2\times 2$ blocks with diagonal $a, b$ and "
             r"off-diagonal $x$; by symmetry $a = b$, and SymPy solves the stationarity condition.",
             (as_check("mpmath-50", lambda: identity_check(sp.diff(ldp.block_rate().subs(sp.Symbol("b", positive=True),
                                                                                       a), a).subs(a, a_star), sp.S(0),
                                                           [x], relative=False)),)),
        Step(SECTION, "b.phi", "Rate per singular value",
             sp.Eq(sp.Function(r"I")(sp.Symbol("S")), sp.Sum(WishartRate(sp.Symbol("s_i")), (sp.Symbol("i"), 1,
                                                                                            sp.Symbol("T"))),
                   evaluate=False),
             r"Substituting the minimiser \eqref{eq:b.block} into \eqref{eq:b.wishart} gives, per singular "
             r"value $s_i$ of $S/(\sigma_q\sigma_k)$, $\phi_{\mathrm W}(x) = \frac{\sqrt{1+4x^2}-1}{2} - "
             r"\frac12\log\frac{1+\sqrt{1+4x^2}}{2}$.",
             (as_check("symbolic", lambda: symbolic_check(ldp.derived_rate() - phi_expr, "block rate at a* minus phi")),
              as_check("optimisation", _check_block_minimisation_numeric),
              as_check("monte-carlo", _check_monte_carlo_slope))),
        Step(SECTION, "b.legendre", r"Independent route: Gärtner–Ellis",
             sp.Eq(WishartRate(x), sp.Symbol(r"\sup_\theta") * (x * sp.Symbol(r"\theta") + sp.log(1 - sp.Symbol(r"\theta")**2) / 2),
                   evaluate=False),
             r"$\mathbb E\, e^{\theta\, q\cdot k} = (1-\theta^2)^{-N/2}$, so the scaled cumulant generating "
             r"function is $-\frac12\log(1-\theta^2)$; its Legendre transform is the rate \eqref{eq:b.phi}.",
             (as_check("mpmath-50", lambda: identity_check(ldp.legendre_rate(), phi_expr, [x])),)),
        Step(SECTION, "b.series", "Small and large overlap",
             sp.Tuple(sp.Eq(WishartRate(x), series + sp.O(x**8), evaluate=False),
                      sp.Eq(sp.Limit(WishartRate(x) - x + sp.log(x) / 2, x, sp.oo), asym, evaluate=False)),
             r"$\phi_{\mathrm W}(x) = x^2/2 - x^4/4 + \dots$: the Gaussian-logit rate $x^2/2$ agrees to second "
             r"order; for large $x$ the rate grows linearly, $\phi_{\mathrm W} = x - \frac12\log x - \frac12 + "
             r"o(1)$. Numerics use the equal, cancellation-free form $y - \frac12\log(1+y)$ with $y = "
             r"2x^2/(1+\sqrt{1+4x^2})$.",
             (as_check("symbolic", lambda: symbolic_check(series.coeff(x, 2) - sp.Rational(1, 2),
                                                          "x^2 coefficient minus 1/2")),
              as_check("symbolic", lambda: symbolic_check(series.coeff(x, 4) + sp.Rational(1, 4),
                                                          "x^4 coefficient plus 1/4")),
              as_check("symbolic", lambda: symbolic_check(asym + sp.Rational(1, 2), "limit of phi - x + log(x)/2 plus 1/2")),
              as_check("mpmath-50", lambda: identity_check(WishartRate(x).diff(x), sp.diff(phi_expr, x), [x])),
              as_check("mpmath-50", lambda: identity_check(WishartRate(x).rewrite("stable"), phi_expr, [x],
                                                           low=1e-3, high=50)))),
        Step(SECTION, "b.convex", "Convexity of the rate", sp.Eq(sp.Derivative(WishartRate(x), x, 2), phi_dd,
                                                                 evaluate=False),
             r"$\phi_{\mathrm W}'' = 2/(r(1+r))$ with $r = \sqrt{1+4x^2} > 0$; convexity gives the Jensen step "
             r"used in the reduction \eqref{eq:d.linear}.",
             (as_check("symbolic", lambda: symbolic_check(phi_dd - 2 / (root * (1 + root)), "phi'' - 2/(r(1+r))")),)),
        Step(SECTION, "b.gaussian", "Alternative: Gaussian prior directly on the logits",
             sp.Eq(GaussianLogitRate(x), GaussianLogitRate(x).doit(), evaluate=False),
             r"A Gaussian prior on $S$ with the same variance $\sigma_q^2\sigma_k^2/N$ per entry has rate "
             r"$\sum_{ij} S_{ij}^2/(2\sigma_q^2\sigma_k^2) = \sum_i s_i^2/2$ (the squared Frobenius norm is "
             r"the sum of the squared singular values).",
             (as_check("monte-carlo", _check_gaussian_logit_variance),
              as_check("exact", _check_gaussian_dominates))),
    ]
