"""Section j: training-time dynamics of the overlaps (Langevin and gradient flow), and the test error."""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import sympy as sp

from copyhead.spec import ModelSpec

from ..theory import dynamics as dyn
from ..theory import population
from ..theory import test_error as te
from ..theory.symbols import MODEL_PARAMS, alpha, m, q, sigma_k, sigma_q
from ._core import CheckResult, Step, as_check, symbolic_check, tolerance_check

SECTION = "Training-time dynamics and test error"


# ----------------------------------------------------------------------------- Ito's formula
# the generator applied symbolically, once per (T, N, dynamics) in a process: j.ito and j.deterministic share it
_ito_generator = lru_cache(maxsize=None)(dyn.ito_generator)


def _check_ito(dynamics: str) -> CheckResult:
    """The generator applied to every overlap entry equals the closed-form matrix drift (exact, generic E)."""
    worst = []
    for T_, N_ in ((2, 2), (2, 3)):
        gen = _ito_generator(T_, N_, dynamics)
        A_, B_ = gen.Q * gen.Q.T / N_, gen.K * gen.K.T / N_
        closed = dict(zip("ABS", dyn.matrix_drift(gen.G, A_, B_, gen.S, dynamics)))
        for name in "ABS":
            residual = (gen.drift[name] - closed[name]).applyfunc(lambda e: sp.expand(e))
            worst.append(all(e == 0 for e in residual))
    return CheckResult(all(worst), "symbolic",
                       f"{dynamics}: L phi - closed form expands to 0 for every entry of A, B, S at (T, N) = (2, 2), "
                       "(2, 3), with E(S) an undefined function (chain rule by SymPy)")


def _check_quadratic_variation() -> CheckResult:
    """Gamma(S_ts) = 2 |grad S_ts|^2 = (2/N)(A_tt + B_ss) -> 0: the overlaps are deterministic as N -> oo."""
    ok = True
    for T_, N_ in ((2, 2), (2, 3)):
        gen = _ito_generator(T_, N_, "langevin")
        A_, B_ = gen.Q * gen.Q.T / N_, gen.K * gen.K.T / N_
        target = sp.Matrix(T_, T_, lambda t, u: sp.Rational(2, N_) * (A_[t, t] + B_[u, u]))
        ok &= all(sp.expand(e) == 0 for e in gen.carre_du_champ["S"] - target)
        ok &= all(sp.expand(e) == 0 for e in gen.carre_du_champ["A"]
                  - sp.Matrix(T_, T_, lambda t, u: sp.Rational(2, N_) * (A_[t, t] + A_[u, u] + 2 * (t == u) * A_[t, u])))
    return CheckResult(bool(ok), "symbolic", "carre du champ of S_ts is (2/N)(A_tt + B_ss) and of A_tu is "
                       "(2/N)(A_tt + A_uu + 2 delta_tu A_tu) at (T, N) = (2, 2), (2, 3): O(1/N)")


# ----------------------------------------------------------------------------- gradient structure
def _gradient_structure(attention: str, tokens: str, dynamics: str) -> CheckResult:
    """Per block, rhs = -(2/mu) (X M + M X) with M = [[a, p], [p, b]], X = [[L_a, L_p/2], [L_p/2, L_b]],
    at random points with mpmath (50 digits); T, V integers >= 3."""
    import mpmath as mp

    from ._core import DIGITS, random_rationals

    rd = dyn.reduced_dynamics(attention, tokens, "bilinear", dynamics)
    L = rd.lyapunov.doit()
    residuals = []
    for j, (p, mult) in enumerate(zip(rd.order_params, rd.multiplicities)):
        a_, b_ = rd.state[3 * j], rd.state[3 * j + 1]
        X = sp.Matrix([[sp.diff(L, a_), sp.diff(L, p) / 2], [sp.diff(L, p) / 2, sp.diff(L, b_)]])
        Mb = sp.Matrix([[a_, p], [p, b_]])
        flow = -2 * (X * Mb + Mb * X) / mult
        residuals += [(rd.rhs[3 * j], flow[0, 0]), (rd.rhs[3 * j + 1], flow[1, 1]), (rd.rhs[3 * j + 2], flow[0, 1])]
    args = list(rd.state) + list(rd.params)
    fns = [sp.lambdify(args, [lhs.doit(), rhs], "mpmath") for lhs, rhs in residuals]
    worst = mp.mpf(0)
    with mp.workdps(DIGITS):
        for point in random_rationals(args, 6, seed=51):
            point[rd.params[0]] = int(point[rd.params[0]]) + 3     # T
            point[rd.params[1]] = int(point[rd.params[1]]) + 3     # V
            for pp in rd.order_params:   # inside the domain a b > p^2
                point[pp] = point[pp] / 4
            values = [mp.mpf(point[v].p) / point[v].q if isinstance(point[v], sp.Rational) else mp.mpf(point[v])
                      for v in args]
            for fn in fns:
                lhs, rhs = fn(*values)
                worst = max(worst, abs(lhs - rhs) / max(abs(rhs), mp.mpf(1)))
    return CheckResult(bool(worst < mp.mpf(10) ** -40), "mpmath-50",
                       f"{attention}/{tokens} {dynamics}: rhs vs -(2/mu)(XM + MX) at 6 random points, 50 digits: "
                       f"max rel err {mp.nstr(worst, 3)}", float(worst))


def _check_block_minimum_is_rate() -> CheckResult:
    """min over (a, b) of the block's Lyapunov term is mu phi(p/(sigma_q sigma_k)): the rate function of section b,
    at the block minimiser of theory.ldp scaled by the prior variances (50 digits, random points)."""
    import mpmath as mp

    from ..theory.functions import WishartRate
    from ..theory.ldp import block_minimiser
    from ..theory.symbols import x
    from ._core import DIGITS, random_rationals

    p, mu = sp.Symbol("p", real=True), sp.Symbol("mu", positive=True)
    a_, b_ = sp.Symbol("a", positive=True), sp.Symbol("b", positive=True)
    block = dyn.block_free_energy(p, a_, b_, mu)
    star = {a_: block_minimiser().subs(x, p / (sigma_q * sigma_k)) * sigma_q**2,
            b_: block_minimiser().subs(x, p / (sigma_q * sigma_k)) * sigma_k**2}
    exprs = [block.subs(star), mu * WishartRate(p / (sigma_q * sigma_k)).doit(),
             sp.diff(block, a_).subs(star), sp.diff(block, b_).subs(star)]
    args = [p, mu, sigma_q, sigma_k]
    fn = sp.lambdify(args, exprs, "mpmath")
    worst_value, worst_grad = mp.mpf(0), mp.mpf(0)
    with mp.workdps(DIGITS):
        for point in random_rationals(args, 12, seed=61):
            value, rate, ga, gb = fn(*[mp.mpf(point[v].p) / point[v].q for v in args])
            worst_value = max(worst_value, abs(value - rate) / max(abs(rate), mp.mpf(1)))
            worst_grad = max(worst_grad, abs(ga) + abs(gb))
    worst = max(worst_value, worst_grad)
    return CheckResult(bool(worst < mp.mpf(10) ** -40), "mpmath-50",
                       f"12 random (p, mu, sigma_q, sigma_k): block term at (a*, b*) vs mu phi, max rel err "
                       f"{mp.nstr(worst_value, 3)}; |(a, b)-gradient| there {mp.nstr(worst_grad, 3)}", float(worst))


# ----------------------------------------------------------------------------- fixed points
def _cases():
    return [(ModelSpec(), (6.0, 7.0)), (ModelSpec(T=8, V=8), (5.8, 6.5)), (ModelSpec(attention="linear"), (1.5, 3.0)),
            (ModelSpec(prior="gaussian-logit"), (9.4, 9.6)), (ModelSpec(attention="linear", tokens="onehot", T=6, V=5),
                                                             (1.5,))]


def _check_langevin_fixed_points() -> CheckResult:
    """At every local minimum of f (engine), with (a, b) at the Wishart block minimiser, the rhs vanishes;
    and a root search on rhs = 0 started 10% off returns the same order parameter."""
    from scipy import optimize

    from ..numerics.dynamics import _params, _state_at_minimum, compiled_dynamics
    from ..numerics.free_energy import local_minima

    worst_rhs, worst_root, count = 0.0, 0.0, 0
    for spec, alphas in _cases():
        cd = compiled_dynamics(spec.attention, spec.tokens, spec.prior, "langevin")
        for a in alphas:
            for mn in local_minima(spec, a):
                y = _state_at_minimum(spec, cd, list(mn.order_parameters.values()))
                p = _params(spec, a)
                worst_rhs = max(worst_rhs, float(np.max(np.abs(cd.rhs(y, p)))) / max(1.0, float(np.max(np.abs(y)))))
                root = optimize.root(lambda z: cd.rhs(z, p), 1.1 * y, jac=lambda z: cd.jac(z, p), method="hybr",
                                     options={"xtol": 1e-14})
                got = np.array(cd.order_parameters(root.x))
                want = np.array(list(mn.order_parameters.values()))
                worst_root = max(worst_root, float(np.max(np.abs(got - want))) / max(1.0, float(np.max(np.abs(want)))))
                count += 1
    return tolerance_check("optimisation", max(worst_rhs, worst_root), 1e-9,
                           f"{count} minima of f (softmax T=16, 8; linear; gaussian-logit; linear one-hot): "
                           f"max |rhs| {worst_rhs:.2g}, root of rhs vs engine minimum {worst_root:.2g}")


def _check_fold_is_spinodal() -> CheckResult:
    """The fold of the Langevin ODE (rhs = 0, det J = 0) is the engine's upper spinodal of f."""
    from ..numerics.dynamics import fold
    from ..numerics.transitions import find_transitions
    from ..model import CopyHeadModel

    worst = 0.0
    for spec in (ModelSpec(), ModelSpec(T=8, V=8), ModelSpec(prior="gaussian-logit")):
        hi = find_transitions(CopyHeadModel(spec).problem(), 2.0, 20.0).transitions[0].spinodals[1]
        sn = fold(spec, "langevin", hi)
        worst = max(worst, abs(sn.alpha_sp - hi) / hi)
    return tolerance_check("optimisation", worst, 1e-10,
                           "ODE fold (Newton on rhs, det J) vs transition engine spinodal, three models")


def _check_map_fixed_points() -> CheckResult:
    """Gradient flow: at every smooth MAP minimum with balanced blocks a = |p| sq/sk, b = |p| sk/sq the rhs
    vanishes; gradient flow from the copy start ends at the largest-m MAP minimum; and S = 0, M = 0 is
    linearly stable exactly when map_minima reports the kink."""
    from ..numerics.dynamics import _params, compiled_dynamics, initial_state, trajectory
    from ..theory.map_estimate import map_minima

    worst, kink_bad, count = 0.0, 0, 0
    for spec, alphas in ((ModelSpec(sigma_q=1.3, sigma_k=0.8), (6.0, 20.0, 40.0)), (ModelSpec(T=8, V=8), (10.0, 30.0)),
                         (ModelSpec(attention="linear"), (2.0, 6.0))):
        cd = compiled_dynamics(spec.attention, spec.tokens, spec.prior, "gradient-flow")
        for a in alphas:
            mins = map_minima(spec, a)
            p = _params(spec, a)
            for mn in mins:
                if mn.kind != "smooth":
                    continue
                x = mn.order_parameter
                y = np.array([abs(x) * spec.sigma_q / spec.sigma_k, abs(x) * spec.sigma_k / spec.sigma_q, x])
                worst = max(worst, float(np.max(np.abs(cd.rhs(y, p)))) / max(1.0, abs(x)))
                count += 1
            tr = trajectory(spec, a, dynamics="gradient-flow", init="copy", t_max=300.0, n_points=11)
            best = max(mn.m for mn in mins)
            worst = max(worst, abs(tr.m[-1] - best))
            y0 = initial_state(spec, cd, "uniform") * 0.0
            eig = np.linalg.eigvals(cd.jac(y0, p))
            stable = bool(np.max(np.real(eig)) < 0)
            kink_bad += stable != any(mn.kind == "kink" for mn in mins)
    passed = worst < 1e-8 and kink_bad == 0
    return CheckResult(passed, "optimisation",
                       f"{count} smooth MAP minima: max |rhs| and |m(t=300) - m_MAP| {worst:.2g}; stability of M = 0 "
                       f"vs the MAP kink disagrees {kink_bad} times", worst)


# ----------------------------------------------------------------------------- circulant reduction
def _full_matrix_drift(spec: ModelSpec, alpha_: float, A_, B_, S_, dynamics: str):
    """The T x T matrix ODE with G = dE/dS by the network's chain rule (numerics/network.attention_backward)
    applied to the population energy E(m, q) -- no reduction used."""
    from ..numerics.network import attention, attention_backward

    E = population.energy("centred")
    grad = sp.lambdify((m, q, *MODEL_PARAMS, alpha), [sp.diff(E, m), sp.diff(E, q)], "numpy")
    T_ = spec.T
    Att = attention(spec, S_)
    m_ = float(np.mean(Att[np.arange(T_), np.arange(T_) - 1]))
    q_ = float(np.sum(Att * Att) / T_)
    e_m, e_q = grad(m_, q_, *spec.numeric_params.values(), alpha_)
    Pi = np.roll(np.eye(T_), -1, axis=1)
    dA = e_m * Pi / T_ + e_q * 2 * Att / T_
    G = attention_backward(spec, Att, dA)
    noise = 2 * np.eye(T_) if dynamics == "langevin" else 0
    sq2, sk2 = spec.sigma_q**2, spec.sigma_k**2
    return (-(G @ S_.T + S_ @ G.T) - 2 * A_ / sq2 + noise, -(G.T @ S_ + S_.T @ G) - 2 * B_ / sk2 + noise,
            -(G @ B_ + A_ @ G) - S_ * (1 / sq2 + 1 / sk2))


def _check_reduction(dynamics: str) -> CheckResult:
    """At random circulant states the full T x T drift is circulant and its non-constant modes obey the
    reduced ODE (softmax: S = delta (Pi - J/T); linear: S = s Pi), T = 3..9, centred tokens."""
    from ..numerics.dynamics import _params, compiled_dynamics

    rng = np.random.default_rng(31)
    worst = 0.0
    for attention in ("softmax", "linear"):
        for T_ in (3, 5, 9):
            spec = ModelSpec(attention=attention, T=T_, V=T_ + 1, gamma=rng.uniform(0.5, 2), sigma_q=rng.uniform(0.7, 1.4),
                             sigma_k=rng.uniform(0.7, 1.4))
            cd = compiled_dynamics(attention, "centred", "bilinear", dynamics)
            Pi = np.roll(np.eye(T_), -1, axis=1)
            J = np.ones((T_, T_)) / T_
            for _ in range(3):
                a_, b_, a0, b0 = rng.uniform(0.5, 3.0, size=4)
                p_ = rng.uniform(-2, 2)
                alpha_ = rng.uniform(0.5, 12)
                if attention == "softmax":
                    basis, A_, B_ = Pi - J, a_ * (np.eye(T_) - J) + a0 * J, b_ * (np.eye(T_) - J) + b0 * J
                else:
                    basis, A_, B_ = Pi, a_ * np.eye(T_), b_ * np.eye(T_)
                dA, dB, dS = _full_matrix_drift(spec, alpha_, A_, B_, p_ * basis, dynamics)
                da, db, dp = cd.rhs(np.array([a_, b_, p_]), _params(spec, alpha_))
                if attention == "softmax":
                    pred_A = da * (np.eye(T_) - J) + (2 * (dynamics == "langevin") - 2 * a0 / spec.sigma_q**2) * J
                    pred_B = db * (np.eye(T_) - J) + (2 * (dynamics == "langevin") - 2 * b0 / spec.sigma_k**2) * J
                else:
                    pred_A, pred_B = da * np.eye(T_), db * np.eye(T_)
                scale = 1.0 + max(np.max(np.abs(dA)), np.max(np.abs(dS)))
                worst = max(worst, np.max(np.abs(dA - pred_A)) / scale, np.max(np.abs(dB - pred_B)) / scale,
                            np.max(np.abs(dS - dp * basis)) / scale)
    return tolerance_check("exact", float(worst), 1e-12,
                           f"{dynamics}: full-matrix drift (network chain rule) vs reduced ODE at 18 random circulant "
                           "states (max rel err)")


# ----------------------------------------------------------------------------- test error
def _check_readout_energy() -> CheckResult:
    """The minimum over w of the channel's ridge objective is its population energy plus the label constant."""
    w = sp.Symbol("w", real=True)
    obj = te.ridge_objective(population.c, population.M, w, 1)
    minimum = obj.subs(w, te.readout_weight())
    constant = alpha * population.T * te.LABEL_MOMENT / (2 * population.sigma2)
    energy = population.channel_limit()
    return symbolic_check(minimum - constant - energy, "min_w ridge objective - label constant - channel energy")


def _check_label_moment() -> CheckResult:
    """E[y y^T] restricted to each channel is (1/V) per dimension: exact enumeration, V = 2..7, both token kinds."""
    ok = True
    for V_ in range(2, 8):
        P = sp.eye(V_) - sp.ones(V_, V_) / V_
        for tokens in ("centred", "onehot"):
            second, _ = population.token_moments(tokens, V_)
            ok &= sp.simplify((P * second * P - P / V_)).is_zero_matrix
            mean_block = (sp.ones(V_, V_) / V_) * second * (sp.ones(V_, V_) / V_)
            expected = sp.zeros(V_) if tokens == "centred" else sp.ones(V_, V_) / V_ / V_
            ok &= sp.simplify(mean_block - expected).is_zero_matrix
    return CheckResult(bool(ok), "exact", "P E[yy^T] P = P/V and (J/V) E[yy^T] (J/V) = J/V^2 (onehot; 0 centred), V = 2..7")


def _check_test_error_mc() -> CheckResult:
    """Held-out error of the ridge readout fitted on a finite data set (network.make_data, N = 400, n = alpha N)
    at the engine's minima, against the closed form (noise-free labels, and labels with noise tau2 = 0.3)."""
    from ..numerics.dynamics import compiled_test_error
    from ..numerics.free_energy import local_minima
    from ..numerics.network import attention, make_data

    rng = np.random.default_rng(41)
    worst, count = 0.0, 0
    for spec, a in ((ModelSpec(T=8, V=6), 7.0), (ModelSpec(T=8, V=6, tokens="onehot"), 7.0),
                    (ModelSpec(attention="linear", T=6, V=5), 2.0)):
        err_fn = compiled_test_error(spec.attention, spec.tokens)
        N_ = 400
        for mn in local_minima(spec, a):
            ops = list(mn.order_parameters.values())
            T_ = spec.T
            Pi = np.roll(np.eye(T_), -1, axis=1)
            J = np.ones((T_, T_)) / T_
            if spec.attention == "softmax":
                S_ = ops[0] * (Pi - J)
            else:
                S_ = ops[0] * Pi + ((ops[1] - ops[0]) * J if len(ops) > 1 else 0)
            Att = attention(spec, S_)
            for tau2 in (0.0, 0.3):
                train = make_data(spec, int(a * N_), rng)
                H = np.einsum("ts,nsv->ntv", Att, train.X).reshape(-1, spec.V)
                Y = train.Y.reshape(-1, spec.V) + math.sqrt(tau2) * rng.standard_normal((H.shape[0], spec.V))
                lam = spec.sigma2 * N_ / spec.sigma_w**2
                W = np.linalg.solve(H.T @ H + lam * np.eye(spec.V), H.T @ Y).T
                test = make_data(spec, 8000, rng)
                Ht = np.einsum("ts,nsv->ntv", Att, test.X).reshape(-1, spec.V)
                Yt = test.Y.reshape(-1, spec.V) + math.sqrt(tau2) * rng.standard_normal((Ht.shape[0], spec.V))
                measured = float(np.mean(np.sum((Yt - Ht @ W.T) ** 2, axis=1)))
                theory = float(err_fn(*ops, *spec.numeric_params.values(), a, tau2))
                worst = max(worst, abs(measured - theory) / theory)
                count += 1
    return tolerance_check("monte-carlo", worst, 0.02,
                           f"{count} (minimum, label noise) cases, softmax centred/onehot and linear: held-out error "
                           "of the finite-n ridge readout vs closed form (max rel err; O(V^2/n) + sampling)")


def steps() -> list[Step]:
    Asym, Bsym, Ssym, Gsym = (sp.Symbol(n) for n in ("A", "B", "S", "G"))
    ito_stmt = sp.Eq(sp.Symbol(r"\dot S"), -(Gsym * Bsym + Asym * Gsym) - Ssym * (1 / sigma_q**2 + 1 / sigma_k**2),
                     evaluate=False)
    ito_a = sp.Eq(sp.Symbol(r"\dot A"), sp.Symbol(r"-(GS^T + SG^T) - 2A/\sigma_q^2 + 2I"), evaluate=False)
    rd = dyn.reduced_dynamics("softmax", "centred", "bilinear", "langevin")
    red = sp.Eq(sp.Symbol(r"\dot\delta"), sp.Symbol(r"-\frac{E'(\delta)}{T-1}(a+b) - \delta(\sigma_q^{-2}+\sigma_k^{-2})"),
                evaluate=False)
    return [
        Step(SECTION, "j.ito", r"Itô's formula for the overlaps", ito_a,
             r"Langevin dynamics $dZ = -\nabla U\,dt + \sqrt2\,dB$ on $Z = (Q;K)$, with $U = N E(QK^{\mathsf "
             r"T}/N)$ plus the weight decay. The Itô term of $\Delta(QQ^{\mathsf T}/N)$ gives $+2I$ (the "
             r"entropic term); gradient flow drops it. $dS/dt = -(GB + AG) - S(1/\sigma_q^2 + 1/\sigma_k^2)$, "
             r"with $G = \partial E/\partial S$.",
             (as_check("symbolic", lambda: _check_ito("langevin")), as_check("symbolic", lambda: _check_ito("gradient-flow")))),
        Step(SECTION, "j.deterministic", r"The overlaps are deterministic as $N \to \infty$", ito_stmt,
             r"The martingale part of each overlap has quadratic-variation rate $O(1/N)$; the drift "
             r"\eqref{eq:j.ito} depends on $(Q, K)$ only through $A$, $B$ and $S$. So the overlaps obey a "
             r"closed ODE in the limit.",
             (as_check("symbolic", _check_quadratic_variation),)),
        Step(SECTION, "j.gradient", "Langevin is a gradient flow of the free energy in overlap space", red,
             r"Per Fourier block $M = \begin{pmatrix} a & p\\ p & b\end{pmatrix}$ the right-hand side is "
             r"$-(2/\mu)(XM + MX)$ with $X = \partial L/\partial M$, $L = E + \mu\,\times$ the Wishart block "
             r"rate \eqref{eq:b.block} (its $\log\det$ is the entropy); for gradient flow $L = E$ plus the "
             r"weight decay. With $M > 0$ the Lyapunov equation $XM + MX = 0$ forces $X = 0$: fixed points are "
             r"stationary points of $L$; minimising $L$ over $(a, b)$ gives $\mu\,\phi_{\mathrm "
             r"W}(p/(\sigma_q\sigma_k)) + E$, so they are the stationary points of $f = I + E$ "
             r"\eqref{eq:d.free_energy}.",
             tuple(as_check("mpmath-50", lambda a=a, t=t, d=d: _gradient_structure(a, t, d))
                   for a, t, d in (("softmax", "centred", "langevin"), ("linear", "centred", "langevin"),
                                   ("softmax", "centred", "gradient-flow"), ("linear", "onehot", "langevin")))
             + (as_check("mpmath-50", _check_block_minimum_is_rate),)),
        Step(SECTION, "j.reduction", r"Circulant reduction ($T$ modes to one block per order parameter)",
             sp.Eq(sp.Symbol("state"), sp.Tuple(*rd.state), evaluate=False),
             r"$E$ is invariant under cyclic relabelling, so circulant $A$, $B$, $S$ stay circulant; each "
             r"Fourier block obeys the matrix ODE with $1\times 1$ matrices and $g = E'(p)/\mu$; the constant "
             r"mode of softmax $S$ decouples.",
             (as_check("exact", lambda: _check_reduction("langevin")), as_check("exact", lambda: _check_reduction("gradient-flow")))),
        Step(SECTION, "j.fixed", r"Fixed points of the Langevin ODE are the minima of $f$; its fold is the spinodal",
             sp.Eq(sp.Symbol(r"\dot y(y^*)"), 0, evaluate=False),
             "Checked at the engine's minima of the free energy (uniform and copy branches, both priors, both "
             "attentions) and at the upper spinodal.",
             (as_check("optimisation", _check_langevin_fixed_points), as_check("optimisation", _check_fold_is_spinodal))),
        Step(SECTION, "j.map", "Fixed points of gradient flow are the MAP minima",
             sp.Eq(sp.Symbol("a b"), sp.Symbol("p^2"), evaluate=False),
             r"Without the entropic term $M$ becomes singular at the fixed points (balanced $Q$, $K$: $ab = "
             r"p^2$), and $E'(p)/\mu = -\mathrm{sign}(p)/(\sigma_q\sigma_k)$: stationarity of the nuclear-norm "
             r"objective \eqref{eq:h.nuclear}. $M = 0$ is stable iff the subgradient condition "
             r"\eqref{eq:h.kink} holds (the MAP kink).",
             (as_check("optimisation", _check_map_fixed_points),)),
        Step(SECTION, "j.test_error", "Test error of the posterior-mean readout",
             sp.Eq(sp.Symbol("err"), te.test_error("centred"), evaluate=False),
             r"The ridge readout per channel is $w = c/(M + \sigma^2/(\alpha\sigma_w^2))$ \eqref{eq:c.limit}; "
             r"the error on a fresh position, plus $V\tau^2$ for noisy test labels. The same formula holds for "
             r"the MAP (the readout's mode is its mean).",
             (as_check("symbolic", _check_readout_energy), as_check("exact", _check_label_moment),
              as_check("monte-carlo", _check_test_error_mc))),
    ]
