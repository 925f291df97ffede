"""Section k: finite N -- the density prefactor, the Occam factor, one-loop means and the jump shift."""
from __future__ import annotations

from types import SimpleNamespace

import mpmath as mp
import numpy as np
import sympy as sp
from scipy import integrate, optimize, stats

from ..theory import finite_n as fn
from ..theory import population as pop
from ..theory.functions import WishartRate
from ..theory.symbols import MODEL_PARAMS, N, R, T, V, alpha, gamma, m, q, sigma2, sigma_w, x
from ._core import CheckResult, Step, as_check, effort, symbolic_check, tolerance_check

SECTION = "Finite N: one loop about the saddle point"


# ----------------------------------------------------------------------------- i.density
def _log_densities():
    saddle = sp.lambdify((x, N), fn.log_density_T1().doit(), "mpmath")
    exact = sp.lambdify((x, N), fn.exact_log_density_T1(), "mpmath")
    return saddle, exact


def _check_exact_density_vs_wishart() -> CheckResult:
    """The product-normal density of x = q.k/N against scipy's 2x2 Wishart density integrated over its diagonal."""
    _, exact = _log_densities()
    worst = 0.0
    details = []
    # a = x e^u, b = (x^2/a) e^(t^2): ab > x^2 becomes t != 0; tensor Gauss-Legendre in (u, t)
    nodes, weights = np.polynomial.legendre.leggauss(120)
    u, wu = 9.0 * nodes, 9.0 * weights
    t, wt = 1.5 + 1.5 * nodes, 1.5 * weights
    U, Tt = np.meshgrid(u, t, indexing="ij")
    W = np.outer(wu, wt)
    for N_, x_ in ((4, 0.4), (7, 0.8)):
        aa = x_ * np.exp(U)
        bb = x_ * np.exp(-U) * np.exp(Tt**2)
        G = np.array([[aa.ravel(), np.full(aa.size, x_)], [np.full(aa.size, x_), bb.ravel()]])
        pdf = stats.wishart(df=N_, scale=np.eye(2) / N_).pdf(G).reshape(aa.shape)
        jac = x_**2 * np.exp(Tt**2) * 2 * Tt        # da db = x^2 e^(t^2) 2t du dt
        value = float(np.sum(W * pdf * jac))
        ref = float(mp.exp(exact(x_, N_)))
        worst = max(worst, abs(value / ref - 1))
        details.append(f"N={N_}, x={x_}: {value:.6g} vs {ref:.6g}")
    return tolerance_check("density", worst, 1e-6, "exact density of x = q.k/N vs scipy Wishart pdf integrated over "
                                                   f"the diagonal (2-D quadrature; {'; '.join(details)})")


def _check_density_monte_carlo() -> CheckResult:
    _, exact = _log_densities()
    rng = np.random.default_rng(11)
    N_, samples, width = 8, 1_000_000, 0.04
    xs = np.einsum("ij,ij->i", rng.standard_normal((samples, N_)), rng.standard_normal((samples, N_))) / N_
    worst, details = 0.0, []
    for c in (0.3, 0.7):
        frac = np.mean(np.abs(xs - c) < width / 2) / width
        ref = float(mp.quad(lambda t: mp.exp(exact(t, N_)), [c - width / 2, c + width / 2])) / width
        err = abs(frac - ref) / np.sqrt(ref / (samples * width))    # in Monte Carlo standard errors
        worst = max(worst, err)
        details.append(f"x={c}: MC {frac:.4f} vs exact {ref:.4f}")
    return tolerance_check("monte-carlo", worst, 4.0, "exact density of q.k/N at N=8 vs 1e6 samples, error in standard "
                                                      f"errors ({'; '.join(details)})")


def _check_saddle_point_density() -> CheckResult:
    """log p_N = -N phi + (1/2) log phi'' + (1/2) log(N/2pi) + O(1/N): the error falls like 1/N; without the prefactor
    it does not fall at all."""
    saddle, exact = _log_densities()
    phi_dd = sp.lambdify(x, sp.diff(WishartRate(x), x, 2).doit(), "mpmath")
    errs, bare = {}, {}
    with mp.workdps(30):
        for N_ in (10, 20, 40, 80):
            errs[N_] = max(abs(float(saddle(x_, N_) - exact(x_, N_))) for x_ in (0.3, 0.8, 1.5))
            bare[N_] = max(abs(float(saddle(x_, N_) - mp.log(phi_dd(x_)) / 2 - exact(x_, N_))) for x_ in (0.3, 0.8, 1.5))
    ratio = errs[40] / errs[80]
    ok = errs[80] < 1e-2 and 1.7 < ratio < 2.3 and min(bare.values()) > 0.05
    return CheckResult(bool(ok), "density",
                       f"max |saddle-point - exact| log-density at x = 0.3, 0.8, 1.5: "
                       + ", ".join(f"N={k}: {v:.2e}" for k, v in errs.items())
                       + f" (ratio N=40/80: {ratio:.3f}, expected 2 for O(1/N)); without (1/2) log phi'': "
                       + ", ".join(f"{v:.3f}" for v in bare.values()), errs[80])


# ----------------------------------------------------------------------------- i.hessian
def _check_hessian_finite_differences() -> CheckResult:
    """Exact T^2 x T^2 Hessian (Legendre dual of the prior, chain rule through A) vs central differences of the
    independent gradient of numerics/full.py, at random S, five families."""
    from copyhead import ModelSpec
    from copyhead.numerics.finite_n import dense_hessian
    from copyhead.numerics.full import free_energy_and_gradient

    rng = np.random.default_rng(5)
    specs = [ModelSpec(T=3, V=4), ModelSpec(T=4, V=3, attention="linear", gamma=0.7),
             ModelSpec(T=3, V=5, tokens="onehot", sigma_q=1.3), ModelSpec(T=3, V=3, attention="linear", tokens="onehot"),
             ModelSpec(T=3, prior="gaussian-logit", sigma_k=0.8)]
    worst = 0.0
    for spec in specs:
        T_ = spec.T
        S = rng.normal(scale=0.5, size=(T_, T_))
        H = dense_hessian(spec, 2.3, S)
        h = 1e-5
        fd = np.zeros_like(H)
        for i in range(T_ * T_):
            E = np.zeros(T_ * T_)
            E[i] = h
            E = E.reshape(T_, T_)
            fd[:, i] = (free_energy_and_gradient(S + E, spec, 2.3)[1] - free_energy_and_gradient(S - E, spec, 2.3)[1]).ravel() / (2 * h)
        worst = max(worst, float(np.max(np.abs(H - fd)) / max(1.0, np.max(np.abs(H)))))
    return tolerance_check("finite-difference", worst, 1e-8,
                           "grad^2 f (all T^2 entries) vs central differences of numerics/full.py's gradient, random "
                           "S, softmax/linear x centred/onehot x both priors")


def _check_sectors() -> CheckResult:
    """Fourier-sector log-determinants equal the dense ones at circulant minima (T = 5, 6)."""
    from copyhead import ModelSpec
    from copyhead.numerics.finite_n import _Point, log_det_parts, logit_matrix
    from copyhead.numerics.free_energy import local_minima

    worst = 0.0
    for spec, a in ((ModelSpec(T=5, V=4), 6.0), (ModelSpec(T=6, V=3, attention="linear"), 3.0)):
        for mn in local_minima(spec, a):
            point = _Point(spec, a, logit_matrix(spec, list(mn.order_parameters.values())))
            blocks, dense = log_det_parts(point), log_det_parts(point, "dense")
            worst = max(worst, max(abs(blocks[k] - dense[k]) / (1 + abs(dense[k])) for k in dense))
    return tolerance_check("exact", worst, 1e-10, "log det in T Fourier sectors (size T) vs dense T^2 x T^2 "
                                                  "determinants at every minimum (relative, floating point)")


# ----------------------------------------------------------------------------- i.occam
def _check_occam_sampled() -> CheckResult:
    """(V/2) log det(I + Sigma_h/lambda) from sampled data at n = alpha N tends to the closed form."""
    rng = np.random.default_rng(7)
    T_, V_, a_, s2, sw = 4, 5, 3.0, 0.8, 1.3
    S = rng.normal(size=(T_, T_))
    A = np.exp(S) / np.exp(S).sum(axis=1, keepdims=True)
    q_ = float(np.sum(A * A) / T_)
    closed = sp.lambdify((q, T, V, alpha, sigma2, sigma_w), fn.occam_factor("centred"))(q_, T_, V_, a_, s2, sw)
    errs = {}
    for N_ in (40, 400, 4000):
        vals = []
        for _ in range(4):
            n_ = int(a_ * N_)
            X = np.eye(V_)[rng.integers(0, V_, size=(n_, T_))] - 1.0 / V_
            H = np.einsum("ts,nsv->ntv", A, X).reshape(-1, V_)
            lam_ = s2 * N_ / sw**2
            vals.append(V_ / 2 * np.linalg.slogdet(np.eye(V_) + H.T @ H / lam_)[1])
        errs[N_] = abs(np.mean(vals) - closed)
    ok = errs[4000] < 0.01 * abs(closed) and errs[4000] < errs[40]
    return CheckResult(bool(ok), "monte-carlo",
                       f"h_W from sampled centred data (softmax A, T=4, V=5; 4 data sets each) vs (V(V-1)/2) "
                       f"log(1+q/eps) = {closed:.5f}: |error| " + ", ".join(f"N={k}: {v:.2e}" for k, v in errs.items()),
                       errs[4000])


# ----------------------------------------------------------------------------- i.mean
def _T1_problem(alpha_: float, V_: int):
    """Linear attention at T = 1, centred tokens: f(x) = phi(x) + E(gamma x, gamma^2 x^2); exact posterior on x > 0."""
    values = {T: 1, V: V_, gamma: 1, sigma2: 1, sigma_w: 1, alpha: alpha_}
    energy = pop.energy("centred").subs({m: x, q: x**2}).subs(values)
    occam = fn.occam_factor("centred").subs({q: x**2}).subs(values)
    f = WishartRate(x).doit() + energy
    return f, occam


def _check_one_loop_exact_T1() -> CheckResult:
    """<m>_N from exact quadrature of (exact density of q.k/N) x exp(-N E - h_W) vs m* + c/N (numerics.finite_n at T=1)."""
    from copyhead.numerics.finite_n import mean_correction

    alpha_, V_ = 5.0, 4
    f, occam = _T1_problem(alpha_, V_)
    fprime = sp.lambdify(x, sp.diff(f, x), "mpmath")
    x_star = float(mp.findroot(fprime, 1.0))
    # scipy's Bessel K (mpmath's is slow at order ~400); double precision is ample for a mean
    log_w = sp.lambdify((x, N), fn.exact_log_density_T1() - N * (f - WishartRate(x).doit()) - occam, "scipy")
    fdd = float(sp.lambdify(x, sp.diff(f, x, 2), "mpmath")(x_star))
    scaled = {}
    for N_ in (100, 200, 400):
        width = 14 / np.sqrt(N_ * fdd)
        peak = float(log_w(x_star, float(N_)))
        def w(t, N_=N_, peak=peak):
            with np.errstate(all="ignore"):   # Bessel K under/overflows far in the tails, where w ~ 0
                value = np.exp(log_w(t, float(N_)) - peak)
            return float(value) if np.isfinite(value) else 0.0

        lo, hi = max(x_star / 4, x_star - width), x_star + width
        opts = dict(points=[x_star], epsabs=0, epsrel=1e-12, limit=200)
        mean = integrate.quad(lambda t: t * w(t), lo, hi, **opts)[0] / integrate.quad(w, lo, hi, **opts)[0]
        scaled[N_] = N_ * (mean - x_star)
    reference = 2 * scaled[400] - scaled[200]          # Richardson: removes the O(1/N) remainder
    spec = SimpleNamespace(attention="linear", tokens="centred", prior="bilinear", gamma=1.0, sigma_q=1.0,
                           sigma_k=1.0, sigma_w=1.0, sigma2=1.0, V=V_)
    parts, _, _, _ = mean_correction(spec, alpha_, np.array([[x_star]]))
    c = sum(parts.values())
    err = abs(c - reference) / abs(reference)
    return tolerance_check("quadrature", err, 0.01,
                           f"T=1 linear (V=4, alpha=5): N(<m>_N - m*) from exact quadrature = "
                           + ", ".join(f"{v:.4f} (N={k})" for k, v in scaled.items())
                           + f", extrapolated {reference:.4f}; one loop c = {c:.4f} (relative error)")


def _check_one_loop_cumulants() -> CheckResult:
    exact_c, formula_c = fn.one_loop_mean_1d()
    return symbolic_check(exact_c - formula_c, "cumulant expansion of <g> to O(1/N) minus the one-loop formula "
                                               "(1/2) g''/f'' - g'/f'' (f'''/(2f'') + Phi0')")


# ----------------------------------------------------------------------------- i.jump
def _check_jump_expansion() -> CheckResult:
    order1, closed = fn.jump_shift()
    return symbolic_check(order1 - closed, "O(1/N) root of N Delta f(alpha) + Delta Phi(alpha) = 0 minus "
                                           "-Delta Phi / Delta f_alpha")


def _check_jump_solved() -> CheckResult:
    """The Brent root of N Delta f + Delta Phi = 0 approaches alpha* + C/N: N (alpha_eq - alpha*) -> C."""
    from copyhead import ModelSpec
    from copyhead.numerics.finite_n import jump

    out = jump(ModelSpec(T=8), Ns=(2000, 4000))
    scaled = {k: (v - out["alpha_star"]) * int(k) for k, v in out["alpha_eq"].items()}
    extrapolated = 2 * scaled["4000"] - scaled["2000"]
    err = abs(extrapolated - out["shift"]) / abs(out["shift"])
    return tolerance_check("quadrature", err, 2e-3,
                           f"softmax T=8: N(alpha_eq - alpha*) = {scaled['2000']:.4f} (N=2000), {scaled['4000']:.4f} "
                           f"(N=4000), extrapolated {extrapolated:.4f} vs C = {out['shift']:.4f}")


# ----------------------------------------------------------------------------- i.kramers
def _double_well_mfpt(N_: int, *, precise: bool = False) -> tuple[float, float]:
    """(exact mean first-passage time, Kramers) for dx = -U'(x) dt + sqrt(2) dB, U = N f + Phi0,
    f = x^4/4 - x^2/2 + x/10, Phi0 = x/2, from the left minimum to the right one (reflecting far left).

    Exact: tau = int_{x_m}^{x_r} dy e^{U(y)} int_{-oo}^{y} dz e^{-U(z)} by nested adaptive quadrature
    (scipy; with ``precise``, mpmath at 20 digits)."""
    fn_ = lambda v: v**4 / 4 - v**2 / 2 + v / 10  # noqa: E731
    phi0 = lambda v: v / 2  # noqa: E731
    xm, xs, xr = sorted(np.roots([1, 0, -1, 0.1]).real)
    U = lambda v: N_ * fn_(v) + phi0(v)  # noqa: E731
    Um, Us, lo = U(xm), U(xs), xm - 2.0
    if precise:
        with mp.workdps(20):
            inner = lambda v: mp.quad(lambda t: mp.exp(Um - U(t)), [lo, xm, v] if v > xm else [lo, v])  # noqa: E731
            tau = float(mp.quad(lambda v: mp.exp(U(v) - Us) * inner(v), [xm, xs, xr]) * mp.exp(Us - Um))
    else:
        def inner(v):
            return integrate.quad(lambda t: np.exp(Um - U(t)), lo, v, points=[xm] if v > xm else None, epsabs=0,
                                  epsrel=1e-12, limit=200)[0]
        tau = integrate.quad(lambda v: np.exp(U(v) - Us) * inner(v), xm, xr, points=[xs], epsabs=0, epsrel=1e-11,
                             limit=200)[0] * np.exp(Us - Um)
    laplace, _ = fn.kramers_time_1d()
    hm, hs = 3 * xm**2 - 1, abs(3 * xs**2 - 1)
    sym = fn.KRAMERS_SYMBOLS
    kramers = float(laplace.subs({sym["h_min"]: hm, sym["h_saddle"]: hs, sym["mu"]: 1, N: N_,
                                  sym["barrier"]: fn_(xs) - fn_(xm), sym["dphi0"]: phi0(xs) - phi0(xm)}))
    return float(tau), kramers


def _check_kramers_mfpt() -> CheckResult:
    """The exact mean first-passage time of a 1-D double well tends to Kramers' formula with an O(1/N) error."""
    errs = {N_: (lambda t: t[0] / t[1] - 1)(_double_well_mfpt(N_)) for N_ in (20, 40, 80, 160, 320)}
    ratio = errs[160] / errs[320]
    detail = ("1-D double well f = x^4/4 - x^2/2 + x/10, Phi0 = x/2: tau_exact/tau_Kramers - 1 = "
              + ", ".join(f"{v:.3e} (N={k})" for k, v in errs.items()) + f"; ratio N=160/320 {ratio:.3f} (2 for O(1/N))")
    ok = abs(errs[320]) < 0.01 and 1.7 < ratio < 2.3
    if effort(False, True):
        tau_s, _ = _double_well_mfpt(20)
        tau_mp, _ = _double_well_mfpt(20, precise=True)
        detail += f"; scipy vs mpmath (20 digits) at N=20: {abs(tau_s / tau_mp - 1):.1e}"
        ok = ok and abs(tau_s / tau_mp - 1) < 1e-8
    return CheckResult(bool(ok), "quadrature", detail, abs(errs[320]))


def _check_langer_pieces() -> CheckResult:
    """At a circulant saddle: the sector spectrum equals the dense T^2 x T^2 one (one negative eigenvalue), and the
    unstable rate kappa of the overlap ODE (numerics/dynamics.py) equals (sigma_q^2 + sigma_k^2)|lambda_-| of the
    Hessian of f where the two dynamics coincide (gaussian-logit prior: Langevin on S with that mobility)."""
    from copyhead import ModelSpec
    from copyhead.numerics.finite_n import _unstable_rate, barriers, dense_hessian, logit_matrix, saddle_phi

    worst, details = 0.0, []
    for spec, a in ((ModelSpec(T=8), 5.6), (ModelSpec(T=16, prior="gaussian-logit"), 9.5)):
        (row,) = barriers(spec, [a])
        S = logit_matrix(spec, [row["saddle_order_parameter"]])
        kappa, _ = _unstable_rate(spec, a, row["saddle_order_parameter"])
        if spec.T <= 8:
            eig = np.linalg.eigvalsh(dense_hessian(spec, a, S))
            sector = saddle_phi(spec, a, S)
            dense_fluct = 0.5 * float(np.sum(np.log(np.abs(eig))))
            err = max(abs(dense_fluct - sector["fluctuations"]) / (1 + abs(dense_fluct)),
                      abs(eig.min() - sector["negative_eigenvalue"]))
            ok_count = int(np.sum(eig < 0)) == 1 == sector["negative_count"]
            worst = max(worst, err if ok_count else 1.0)
            details.append(f"T=8 softmax saddle: dense vs sector log|det| and lambda_- {err:.1e}, "
                           f"negative eigenvalues {int(np.sum(eig < 0))}")
        if spec.prior == "gaussian-logit":
            predicted = (spec.sigma_q**2 + spec.sigma_k**2) * abs(row["saddle_negative_eigenvalue"])
            err = abs(kappa / predicted - 1)
            worst = max(worst, err)
            details.append(f"T=16 gaussian-logit: kappa (ODE Jacobian) {kappa:.10g} vs (sigma_q^2+sigma_k^2)"
                           f"|lambda_-| {predicted:.10g}")
    return tolerance_check("exact", worst, 1e-9, "; ".join(details))


def steps() -> list[Step]:
    st = fn.statements()
    occam_limit = fn.occam_factor("centred")
    exact_c, _ = fn.one_loop_mean_1d()
    return [
        Step(SECTION, "k.density", "Finite-N density of the overlap, with its prefactor", st["density"],
             r"$S = \frac{1}{N}\sum_a q_a k_a^T$ is a mean of $N$ i.i.d. matrices, so its density is Daniels' saddle-point "
             r"density: the rate function alone drops $\frac{1}{2}\log\det\nabla^2 I(S)$. At $T = 1$ it is checked against "
             "the exact product-normal density, itself checked against scipy's Wishart density and Monte Carlo.",
             (as_check("density", _check_exact_density_vs_wishart), as_check("monte-carlo", _check_density_monte_carlo),
              as_check("density", _check_saddle_point_density))),
        Step(SECTION, "k.hessian", r"Exact Hessians on the $T^2$ logits, block-diagonal in Fourier space",
             sp.Eq(sp.Symbol(r"\nabla^2 I(S)"), sp.Symbol(r"[\nabla^2\Lambda(\nabla I(S))]^{-1}"), evaluate=False),
             r"$\Lambda(\Theta) = -\frac{1}{2}\log\det(I - \Theta\Theta^T)$ is the cumulant generating function of "
             r"$q k^T$; by Legendre duality $\nabla^2 I = (\nabla^2\Lambda)^{-1}$, which needs no derivative of "
             r"(degenerate) singular values. At circulant $S$ every Hessian commutes with the cyclic shift and splits "
             r"into $T$ Fourier sectors.",
             (as_check("finite-difference", _check_hessian_finite_differences), as_check("exact", _check_sectors))),
        Step(SECTION, "k.occam", "The readout's Occam factor", sp.Eq(sp.Symbol("h_W"), occam_limit, evaluate=False),
             r"$\frac{V}{2}\log\det(I + \Sigma_h/\lambda)$ with the population $\Sigma_h$: $N$ cancels at fixed "
             r"$\alpha$, so it is an $O(1)$ term of $-\log p$, $\frac{V(V-1)}{2}\log(1 + q/\epsilon)$ for centred tokens.",
             (as_check("symbolic", lambda: symbolic_check(occam_limit - fn.occam_centred_closed_form(),
                                                          "h_W minus (V(V-1)/2) log(1+q/eps)")),
              as_check("monte-carlo", _check_occam_sampled))),
        Step(SECTION, "k.mean", "One-loop means", sp.Tuple(st["phi"], st["mean"],
                                                            sp.Eq(sp.Symbol("c"), exact_c, evaluate=False)),
             r"Expanding $e^{-N f - \Phi_0}$ to $O(1/N)$ about $S^*$: $c = \frac{1}{2}\mathrm{tr}(\nabla^2 g H^{-1}) - "
             r"\nabla g \cdot H^{-1}\nabla\Phi$, $H = \nabla^2 f$ (the one-variable cumulant expansion is shown; "
             "the matrix form is the same sum over eigen-directions).",
             (as_check("symbolic", _check_one_loop_cumulants), as_check("quadrature", _check_one_loop_exact_T1))),
        Step(SECTION, "k.jump", "Finite-size shift of the first-order jump", st["jump"],
             r"Each phase weighs $e^{-N f - \Phi}$; equal weights at $N\Delta f + \Delta\Phi = 0$ give "
             r"$\alpha_{eq}(N) = \alpha^* + C/N$ with $C = -\Delta\Phi/\Delta(\partial f/\partial\alpha)$ (Borgs-Kotecky).",
             (as_check("symbolic", _check_jump_expansion), as_check("quadrature", _check_jump_solved))),
        Step(SECTION, "k.kramers", "Escape times over the barrier (Kramers/Langer)",
             sp.Tuple(fn.langer_time(), sp.Eq(sp.Symbol(r"\tau_{1D}"), fn.kramers_time_1d()[1], evaluate=False)),
             r"Overdamped Langevin with stationary density $e^{-U}$, $U = N f + \Phi_0$: the mean first-passage time "
             r"$\tau = \mu^{-1}\int dy\, e^{U(y)}\int_{-\infty}^{y} dz\, e^{-U(z)}$ is, by Laplace's method, the "
             r"product of the Gaussian integrals about the saddle and the minimum (SymPy). In $T^2$ dimensions (Langer) "
             r"the ratio of Hessian determinants enters and $N$ cancels: $\log\tau = \log(2\pi/\kappa) + "
             r"\Phi_{saddle} - \Phi_{min} + N\Delta F$, $\kappa$ the unstable rate of the overlap ODE at the saddle "
             r"(Langevin time of the dynamics section); $D_s = |\det\nabla^2 U|$ at the saddle, $D_m = \det\nabla^2 U$ at "
             r"the minimum, $h = |f''|$ there. Integrating $A, B$ out of the overlap density gives the density "
             r"of $S$ with its prefactor, so the $S$-space determinants are those of the full overlap space.",
             (as_check("symbolic", lambda: symbolic_check(fn.kramers_time_1d()[0] - fn.kramers_time_1d()[1],
                                                          "Laplace asymptotics of the MFPT integral minus Kramers")),
              as_check("quadrature", _check_kramers_mfpt), as_check("exact", _check_langer_pieces))),
    ]
