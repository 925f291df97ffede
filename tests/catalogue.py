"""Reference free energies with known answers: the target of the transition engine.

Each `Case` is a textbook mean-field model typed as a user would type it, with
a control range a user would choose, and the answer computed HERE, by a closed
form or by an independent mpmath calculation on the model's own formula (never
by the engine). `CASES` is the catalogue; `CASE_BY_ID` indexes it.

Conventions: the reported observable is the first order parameter; a jump is
|after - before| of it; `Expect.tol` is the tolerance |got - want| <= tol*(1 + |want|)
of the critical value. A case either runs `find_transitions` over `range`
(`expected` lists every transition, in order; an empty tuple means none), or,
when `diagram` is set, runs `phase_diagram` with `range` as the control range.
Special-point names follow statistical physics: a *critical point* ends a
first-order line; a *critical end point* is where a second-order line ends on a
first-order line.
"""
from __future__ import annotations

import contextlib
import math
import signal
from dataclasses import dataclass
from functools import lru_cache

import mpmath

DPS = 40  # working precision of the references; results are rounded to double


@dataclass(frozen=True)
class Expect:
    """One transition of the global minimum along the control.

    kind: first-order, second-order or crossover; at: critical value (coexistence,
    branch point, or susceptibility peak); spinodals: (lo, hi) limits of the
    metastable window when they are folds, else None (not checked);
    spinodals_bracket: only check lo <= at <= hi; jump: |delta observable| (None: not
    checked, e.g. a degenerate ordered phase); df_jump: d f/d control after minus
    before; beta: order-parameter exponent; a4: effective Landau quartic at `at`.
    """

    kind: str
    at: float
    tol: float = 1e-8
    spinodals: tuple | None = None
    spinodals_bracket: bool = False
    jump: float | None = 0.0
    df_jump: float | None = None
    beta: float | None = None
    a4: float | None = None


@dataclass(frozen=True)
class Special:
    """A special point of a phase diagram: kind and values ((name, value), ...)."""

    kind: str
    at: tuple
    tol: float = 1e-6

    @property
    def values(self) -> dict:
        return dict(self.at)


@dataclass(frozen=True)
class Diagram:
    """phase_diagram over (control in Case.range) x (second in second_range); every special point expected."""

    second: str
    second_range: tuple
    special: tuple


@dataclass(frozen=True)
class Case:
    """A catalogue entry. params: ((name, value), ...) in CLI order; must_flag: the run must raise a
    one-line error or carry a warning/flag saying why (e.g. 'unbounded'), never a clean answer."""

    id: str
    model: str
    expr: str
    order_params: tuple
    control: str
    range: tuple
    params: tuple = ()
    expected: tuple = ()
    diagram: Diagram | None = None
    must_flag: str | None = None
    reference: str = ""

    @property
    def params_dict(self) -> dict:
        return dict(self.params)

    def cli_args(self) -> list:
        """argv for `copyhead transition` (or `phase-diagram` when a diagram) with --json."""
        argv = ["phase-diagram" if self.diagram else "transition", "--free-energy", self.expr,
                "--order-params", *self.order_params, "--control", self.control,
                "--range", repr(float(self.range[0])), repr(float(self.range[1]))]
        for name, val in self.params:
            argv += ["--param", f"{name}={float(val)!r}"]
        if self.diagram:
            argv += ["--second-control", self.diagram.second, "--second-range",
                     *(repr(float(v)) for v in self.diagram.second_range)]
        return argv + ["--json"]


# ------------------------------------------------------------------ independent references (mpmath)

def _f(x) -> float:
    return float(x)


def _golden_peak(chi, lo, hi, iterations: int = 160) -> float:
    """Maximiser of a unimodal chi on [lo, hi] by golden section in mpmath."""
    with mpmath.workdps(DPS):
        a, b = mpmath.mpf(lo), mpmath.mpf(hi)
        g = (mpmath.sqrt(5) - 1) / 2
        for _ in range(iterations):
            c, d = b - g * (b - a), a + g * (b - a)
            if chi(c) > chi(d):
                b = d
            else:
                a = c
        return _f((a + b) / 2)


@lru_cache(None)
def cw_field_peak(h: float) -> float:
    """Curie-Weiss f = -m^2/2 - h m + T s(m): T where |dm/dT| peaks on the global minimum (m > 0 for h > 0)."""
    with mpmath.workdps(DPS):
        def chi(T):
            m = mpmath.findroot(lambda m: m - mpmath.tanh((m + h) / T), 0.9)
            # f' = -m - h + T atanh m = 0  ->  dm/dT = -atanh(m) / (T/(1-m^2) - 1)
            return abs(mpmath.atanh(m) / (T / (1 - m**2) - 1))
        return _golden_peak(chi, "0.9", "1.2")


@lru_cache(None)
def cw_field_line(T: float) -> tuple:
    """Curie-Weiss at T < 1 with control h: (m0, h_spinodal) with m0 = tanh(m0/T) and the fold of the m > 0
    branch at m^2 = 1 - T, h = T atanh(m) - m (< 0)."""
    with mpmath.workdps(DPS):
        m0 = mpmath.findroot(lambda m: m - mpmath.tanh(m / T), 0.99)
        ms = mpmath.sqrt(1 - mpmath.mpf(T))
        return _f(m0), _f(T * mpmath.atanh(ms) - ms)


@lru_cache(None)
def tilted_landau_peak(h: float) -> float:
    """t x^2 + x^4 - h x: t where |dx/dt| peaks on the global minimum (largest real root of 2 t x + 4 x^3 = h)."""
    with mpmath.workdps(DPS):
        def chi(t):
            roots = mpmath.polyroots([4, 0, 2 * t, -h], maxsteps=200, extraprec=60)
            x = max(r.real for r in roots if abs(r.imag) < mpmath.mpf(10) ** -25)
            return abs(-2 * x / (2 * t + 12 * x**2))
        return _golden_peak(chi, "-0.3", "0.3")


def bc_free_energy(m, T, D):
    """Mean-field Blume-Capel (spin 1, zJ = 1) after the trace over the spin."""
    return m**2 / 2 - T * mpmath.log(1 + 2 * mpmath.exp(-D / T) * mpmath.cosh(m / T))


@lru_cache(None)
def blume_capel_second(D: float) -> float:
    """Second-order line: T = 2 e^{-D/T} / (1 + 2 e^{-D/T}) (quadratic Landau coefficient vanishes)."""
    with mpmath.workdps(DPS):
        return _f(mpmath.findroot(lambda T: T - 2 * mpmath.exp(-D / T) / (1 + 2 * mpmath.exp(-D / T)), 0.5))


def _blume_capel_coexistence(m, T, D) -> list:
    """f'(m) = 0 and f(m) = f(0): the ordered minimum coexisting with m = 0."""
    return [mpmath.diff(lambda mm: bc_free_energy(mm, T, D), m), bc_free_energy(m, T, D) - bc_free_energy(0, T, D)]


@lru_cache(None)
def blume_capel_first_T(D: float) -> tuple:
    """First-order point at fixed D: (T, |m|) solving f'(m) = 0, f(m) = f(0)."""
    with mpmath.workdps(DPS):
        m, T = mpmath.findroot(lambda m, T: _blume_capel_coexistence(m, T, D), (0.8, 0.2))
        return _f(T), _f(abs(m))


@lru_cache(None)
def blume_capel_first_D(T: float) -> tuple:
    """First-order point at fixed T (control D): (D, |m|)."""
    with mpmath.workdps(DPS):
        m, D = mpmath.findroot(lambda m, D: _blume_capel_coexistence(m, T, D), (0.95, 0.45))
        return _f(D), _f(abs(m))


def _potts_f(m, T, q=3):
    """Mean-field q-state Potts, -(1/2) sum x_i^2 + T sum x_i log x_i, along x = ((1+(q-1)m)/q, (1-m)/q, ...)."""
    x1, x2 = (1 + (q - 1) * m) / q, (1 - m) / q
    return -(x1**2 + (q - 1) * x2**2) / 2 + T * (x1 * mpmath.log(x1) + (q - 1) * x2 * mpmath.log(x2))


@lru_cache(None)
def potts_first(q: int = 3) -> tuple:
    """(T_c, m_c, T_lower_spinodal, T_upper_spinodal) by mpmath: coexistence f'(m) = 0, f(m) = f(0); the
    disordered state loses stability where f''(0) = 0; the ordered branch ends at a fold f' = f'' = 0."""
    with mpmath.workdps(DPS):
        d1 = lambda m, T: mpmath.diff(lambda u: _potts_f(u, T, q), m)          # noqa: E731
        d2 = lambda m, T: mpmath.diff(lambda u: _potts_f(u, T, q), m, 2)       # noqa: E731
        m_c, T_c = mpmath.findroot(lambda m, T: [d1(m, T), _potts_f(m, T, q) - _potts_f(0, T, q)], (0.5, 0.36))
        T_lo = mpmath.findroot(lambda T: d2(0, T), 0.3)
        m_f, T_hi = mpmath.findroot(lambda m, T: [d1(m, T), d2(m, T)], (0.3, 0.37))
        return _f(T_c), _f(m_c), _f(T_lo), _f(T_hi)


def potts_closed_form(q: int = 3) -> tuple:
    """Textbook closed form: T_c = (q-2) / (2 (q-1) ln(q-1)), m_c = (q-2)/(q-1), disorder spinodal 1/q."""
    return (q - 2) / (2 * (q - 1) * math.log(q - 1)), (q - 2) / (q - 1), 1 / q


@lru_cache(None)
def regular_solution_mu(chi: float) -> tuple:
    """x log x + (1-x) log(1-x) + chi x (1-x) - mu x at chi > 2, control mu: coexistence at mu = 0 between
    x0 and 1 - x0 (log(x/(1-x)) = chi (2x - 1)); the x > 1/2 branch ends at its fold x(1-x) = 1/(2 chi),
    mu = log(x/(1-x)) + chi (1 - 2x). Returns (jump |2 x0 - 1|, mu_spinodal < 0)."""
    with mpmath.workdps(DPS):
        # bracket away from the trivial root x = 1/2
        x0 = mpmath.findroot(lambda x: mpmath.log(x / (1 - x)) - chi * (2 * x - 1), (0.5 + 1 / (4 * chi), 1 - 1e-12),
                             solver="illinois")
        xs = (1 + mpmath.sqrt(1 - 2 / mpmath.mpf(chi))) / 2
        return _f(abs(2 * x0 - 1)), _f(mpmath.log(xs / (1 - xs)) + chi * (1 - 2 * xs))


@lru_cache(None)
def sublattice_gas(J: float, mu: float) -> tuple:
    """Two-sublattice lattice gas T/2 (s(a) + s(b)) + J a b - mu (a + b)/2 (s: mixing entropy), control T.
    In a = rho + d, b = rho - d the disordered density rho(T) solves T log(rho/(1-rho)) + 2 J rho = mu, and it
    orders where T s''(rho) = 2 J, i.e. T = 2 J rho (1 - rho). Returns (T_c, rho_c, effective quartic in d):
    a4 = T s''''/24 - (T s''')^2 / (8 f_rho_rho) with f_rho_rho = T s'' + 2 J (the density relaxes)."""
    with mpmath.workdps(DPS):
        rho, T = mpmath.findroot(lambda r, T: [T * mpmath.log(r / (1 - r)) + 2 * J * r - mu, T - 2 * J * r * (1 - r)],
                                 (0.6, 0.45))
        s2 = 1 / rho + 1 / (1 - rho)
        s3 = -1 / rho**2 + 1 / (1 - rho)**2
        s4 = 2 / rho**3 + 2 / (1 - rho)**3
        a4 = T * s4 / 24 - (T * s3) ** 2 / (8 * (T * s2 + 2 * J))
        return _f(T), _f(rho), _f(a4)


def sextic_first(b: float, c: float = 1.0) -> tuple:
    """a x^2 + b x^4 + c x^6, b < 0, control a: coexistence a = b^2/(4c) with x^2 = -b/(2c) (f = c x^2 (x^2 + b/2c)^2);
    the ordered branch's fold at a = b^2/(3c); x = 0 loses stability at a = 0. Returns (a_c, jump, spinodals,
    df/da jump = -x^2)."""
    return b * b / (4 * c), math.sqrt(-b / (2 * c)), (0.0, b * b / (3 * c)), b / (2 * c)


def coupled_quartic(*g: float) -> float:
    """t x^2 + x^4 + x^6 + sum_i (y_i^2 - g_i x^2 y_i): eliminating y_i = g_i x^2 / 2 leaves the quartic 1 - sum g_i^2/4."""
    return 1 - sum(gi * gi for gi in g) / 4


def coupled_phi4_second_ordering(g: float, c: float) -> float:
    """(t+g) x^2 + x^4 + (t-g) y^2 + y^4 + c x^2 y^2, g > 0: y orders at t = g with y^2 = (g - t)/2; inside it
    the x quadratic t + g + c y^2 vanishes at t = -g (1 + c/2)/(1 - c/2) (tetracritical side, c < 2)."""
    return -g * (1 + c / 2) / (1 - c / 2)


def spin_flop_spinodals(t: float, c: float) -> tuple:
    """Same model at fixed t < 0, control g, c > 2: the x phase (x^2 = -(t+g)/2) is stable against y while
    t - g + c x^2 > 0, i.e. up to g = t (1 - c/2)/(1 + c/2); the y phase mirrors it."""
    g = t * (1 - c / 2) / (1 + c / 2)
    return -abs(g), abs(g)


def _lambda_g(y, w, h):
    """The non-ordering part of the critical-end-point model: a cusp in y, g = y^4/4 + w y^3/3 - y^2/2 - h y."""
    return y**4 / 4 + w * y**3 / 3 - y**2 / 2 - h * y


@lru_cache(None)
def critical_end_point(w: float) -> tuple:
    """(t - y) x^2 + x^4 + g(y): x orders in a phase of density y where t = y (a second-order line, the
    effective quartic 1 - 1/(2 g''(y)) > 0), and the two x = 0 phases of the cusp g coexist where g'(ya) =
    g'(yb) = 0 and g(ya) = g(yb). The line ends on that first-order line where the upper phase ya is critical:
    t = ya. Solved by mpmath for (ya, yb, h); test_references_cross_checked compares the closed form
    h = w/3 + 2 w^3/27, ya = -w/3 + sqrt(1 + w^2/3) (h = 0, t = 1 at w = 0).
    Returns (h, t, yb, quartic at the critical phase)."""
    with mpmath.workdps(DPS):
        def eqs(ya, yb, h):
            return [ya**3 + w * ya**2 - ya - h, yb**3 + w * yb**2 - yb - h, _lambda_g(ya, w, h) - _lambda_g(yb, w, h)]
        ya, yb, h = mpmath.findroot(eqs, (1.0, -1.2, 0.1))
        g2 = 3 * ya**2 + 2 * w * ya - 1
        return _f(h), _f(ya), _f(yb), _f(1 - 1 / (2 * g2))


@lru_cache(None)
def phi8_special(c: float) -> tuple:
    """a x^2 + b x^4 - c x^6 + x^8 is, in u = x^2 >= 0, the quartic F(u) = a u + b u^2 - c u^3 + u^4.
    Critical end point: at a = 0 (x = 0 critical, the second-order line) an ordered phase u > 0 coexists with
    u = 0: F(u) = dF/du = 0 at a = 0, i.e. b - c u + u^2 has a double root. Critical point: the line of
    coexisting ordered phases ends where the first three u-derivatives of F vanish. Both solved here by mpmath
    findroot on those equations (closed forms b = c^2/4; a = -c^3/16, b = 3 c^2/8, checked in
    test_references_cross_checked). Returns ((a_cep, b_cep), (a_cp, b_cp))."""
    with mpmath.workdps(DPS):
        F = lambda u, a, b: a * u + b * u**2 - c * u**3 + u**4          # noqa: E731
        u, b = mpmath.findroot(lambda u, b: [F(u, 0, b), mpmath.diff(lambda v: F(v, 0, b), u)], (0.6, 0.3))
        cep = (0.0, _f(b))
        u, a, b = mpmath.findroot(lambda u, a, b: [mpmath.diff(lambda v: F(v, a, b), u, n) for n in (1, 2, 3)],
                                  (0.3, -0.1, 0.4))
        return cep, (_f(a), _f(b))


@lru_cache(None)
def phi8_ordered_coexistence(b: float, c: float = 1.0) -> tuple:
    """Same model at fixed b between the two special points: two ordered phases u1 < u2 coexist (equal areas
    under the cubic dF/du put its middle root at the inflection u = c/4, so a = -(dF/du at a = 0)(c/4)).
    Returns (a, jump sqrt(u2) - sqrt(u1), spinodals where d2F/du2 = 0, sorted), roots by mpmath.polyroots."""
    with mpmath.workdps(DPS):
        um = mpmath.mpf(c) / 4
        a = -(2 * b * um - 3 * c * um**2 + 4 * um**3)
        roots = sorted(r.real for r in mpmath.polyroots([4, -3 * c, 2 * b, a], extraprec=80))
        folds = mpmath.polyroots([12, -6 * c, 2 * b], extraprec=80)
        spin = sorted(-(2 * b * u - 3 * c * u**2 + 4 * u**3) for u in (r.real for r in folds))
        return _f(a), _f(mpmath.sqrt(roots[2]) - mpmath.sqrt(roots[0])), tuple(_f(v) for v in spin)


# ------------------------------------------------------------------ the catalogue

CURIE_WEISS = "-m^2/2 - h*m + T*((1+m)/2*log((1+m)/2) + (1-m)/2*log((1-m)/2))"
ISING_OCCUPATION = "-(2*p-1)^2/2 + T*(p*log(p) + (1-p)*log(1-p))"
REGULAR_SOLUTION = "x*log(x) + (1-x)*log(1-x) + chi*x*(1-x) - mu*x"
BLUME_CAPEL = "m^2/2 - T*log(1 + 2*exp(-D/T)*cosh(m/T))"
BLUME_CAPEL_MQ = "-m^2/2 + D*q + T*((q+m)/2*log((q+m)/2) + (q-m)/2*log((q-m)/2) + (1-q)*log(1-q))"
POTTS3 = "-((1+2*m)^2/9 + 2*(1-m)^2/9)/2 + T*((1+2*m)/3*log((1+2*m)/3) + 2*(1-m)/3*log((1-m)/3))"
POTTS3_SIMPLEX = "-(a^2 + b^2 + (1-a-b)^2)/2 + T*(a*log(a) + b*log(b) + (1-a-b)*log(1-a-b))"
SUBLATTICE_GAS = "T/2*(a*log(a) + (1-a)*log(1-a) + b*log(b) + (1-b)*log(1-b)) + J*a*b - mu*(a+b)/2"
TWO_OP = "t*x^2 + x^4 + x^6 + y^2 - g*x^2*y"
THREE_OP = "t*x^2 + x^4 + x^6 + y^2 + z^2 - g*x^2*y - k*x^2*z"
COUPLED_PHI4 = "(t+g)*x^2 + x^4 + (t-g)*y^2 + y^4 + c*x^2*y^2"
O2_SECOND = "t*(x^2+y^2) + (x^2+y^2)^2"
O2_FIRST = "t*(x^2+y^2) - (x^2+y^2)^2 + (x^2+y^2)^3"
CEP_MODEL = "(t - y)*x^2 + x^4 + y^4/4 + w*y^3/3 - y^2/2 - h*y"

_CW_LOW = 0.5
_RS_CHI = 3.0
_LG = dict(J=1.0, mu=1.2)
_BC_T = 0.2
_POTTS = potts_first(3)
_SEX = sextic_first(-1.0)
_THREE = sextic_first(coupled_quartic(2.0, 2.0))
_TWO = sextic_first(coupled_quartic(3.0))

CASES = (
    # -------------------------------------------------- Landau phi^4 and its disguises
    Case("landau-2-4", "Landau phi^4", "t*x^2 + b*x^4", ("x",), "t", (-1, 1), (("b", 1.0),),
         (Expect("second-order", 0.0, beta=0.5, a4=1.0),), reference="x^2 = -t/(2b)"),
    Case("landau-2-4-wide", "Landau phi^4, wide range", "t*x^2 + b*x^4", ("x",), "t", (-100, 100), (("b", 1.0),),
         (Expect("second-order", 0.0, beta=0.5, a4=1.0),), reference="x^2 = -t/(2b)"),
    Case("landau-soft-quartic", "Landau phi^4, small quartic (minima at x ~ ±30)", "t*x^2/2 + b*x^4/4", ("x",), "t",
         (-1, 1), (("b", 1e-3),), (Expect("second-order", 0.0, beta=0.5, a4=2.5e-4),), reference="x^2 = -t/b"),
    Case("landau-stiff-quartic", "Landau phi^4, large quartic (minima at x ~ ±1e-2)", "t*x^2 + b*x^4", ("x",), "t",
         (-1, 1), (("b", 1e4),), (Expect("second-order", 0.0, beta=0.5, a4=1e4),), reference="x^2 = -t/(2b)"),
    Case("landau-offset-control", "Landau phi^4, shifted control", "(t - 0.3)*x^2 + x^4", ("x",), "t", (-5, 5), (),
         (Expect("second-order", 0.3, beta=0.5, a4=1.0),), reference="quadratic coefficient vanishes at t = 0.3"),
    Case("landau-shifted", "Landau phi^4 in shifted coordinates", "t*(x-1)^2 + (x-1)^4", ("x",), "t", (-1, 1), (),
         (Expect("second-order", 0.0, beta=0.5, a4=1.0),), reference="u = x - 1: t u^2 + u^4"),
    Case("landau-shifted-expanded", "Landau phi^4 in shifted coordinates, multiplied out",
         "x^4 - 4*x^3 + (6 + t)*x^2 - (4 + 2*t)*x + 1 + t", ("x",), "t", (-1, 1), (),
         (Expect("second-order", 0.0, beta=0.5, a4=1.0),), reference="= t (x-1)^2 + (x-1)^4"),
    Case("landau-moving", "Landau phi^4, symmetric value moving with the control",
         "t*(x - 1 - t/2)^2 + (x - 1 - t/2)^4", ("x",), "t", (-1, 1), (),
         (Expect("second-order", 0.0, beta=0.5, a4=1.0),), reference="u = x - 1 - t/2: t u^2 + u^4"),
    Case("landau-cubic", "Landau with a cubic term", "a*x^2 - w*x^3 + b*x^4", ("x",), "a", (-0.5, 0.6),
         (("w", 1.0), ("b", 1.0)),
         (Expect("first-order", 0.25, spinodals=(0.0, 9 / 32), jump=0.5, df_jump=-0.25),),
         reference="f = b x^2 (x - w/2b)^2 at a = w^2/4b; ordered fold 9 w^2/(32 b); x = 0 unstable below a = 0"),
    Case("landau-cubic-wide", "Landau with a cubic term, wide range", "a*x^2 - w*x^3 + b*x^4", ("x",), "a", (-10, 10),
         (("w", 1.0), ("b", 1.0)),
         (Expect("first-order", 0.25, spinodals=(0.0, 9 / 32), jump=0.5, df_jump=-0.25),),
         reference="as landau-cubic"),
    Case("landau-sixth", "Landau phi^6, negative quartic", "a*x^2 + b*x^4 + c*x^6", ("x",), "a", (-0.5, 0.6),
         (("b", -1.0), ("c", 1.0)),
         (Expect("first-order", _SEX[0], spinodals=_SEX[2], jump=_SEX[1], df_jump=_SEX[3]),),
         reference="f = c x^2 (x^2 + b/2c)^2 at a = b^2/4c"),
    Case("landau-sixth-tricritical", "Landau phi^6 at the tricritical quartic (beta = 1/4)", "a*x^2 + b*x^4 + x^6",
         ("x",), "a", (-1, 1), (("b", 0.0),), (Expect("second-order", 0.0, beta=0.25, a4=0.0),),
         reference="x^4 = -a/3"),
    Case("landau-sixth-positive", "Landau phi^6, positive quartic", "a*x^2 + b*x^4 + x^6", ("x",), "a", (-1, 1),
         (("b", 1.0),), (Expect("second-order", 0.0, beta=0.5, a4=1.0),), reference="quartic b > 0"),
    Case("landau-sixth-diagram", "Landau phi^6 tricritical point", "a*x^2 + b*x^4 + c*x^6", ("x",), "a", (-0.5, 0.6),
         (("b", 0.0), ("c", 1.0)), diagram=Diagram("b", (-1.0, 1.0), (Special("tricritical", (("a", 0.0), ("b", 0.0))),)),
         reference="a = b = 0"),
    Case("tilted-landau", "Landau phi^4 in a field (crossover)", "t*x^2 + x^4 - h*x", ("x",), "t", (-1, 1),
         (("h", 0.1),), (Expect("crossover", 0.0, tol=1e-6),),
         reference="|dt/dx| = h/(2x^2) + 4x is least at x^3 = h/4, where t = 0 (checked by golden section)"),
    Case("cusp", "Cusp catastrophe, field-driven", "x^4/4 - r*x^2/2 - h*x", ("x",), "h", (-1, 1), (("r", 1.0),),
         (Expect("first-order", 0.0, spinodals=(-2 * (1 / 3) ** 1.5, 2 * (1 / 3) ** 1.5), jump=2.0, df_jump=-2.0),),
         reference="x = +-sqrt(r) at h = 0; folds at h = -+2 (r/3)^(3/2)"),
    Case("cusp-diagram", "Cusp catastrophe: critical point", "x^4/4 - r*x^2/2 - h*x", ("x",), "h", (-1, 1),
         (("r", 1.0),), diagram=Diagram("r", (-0.5, 1.0), (Special("critical-point", (("h", 0.0), ("r", 0.0))),)),
         reference="the folds merge at r = h = 0"),
    # -------------------------------------------------- Curie-Weiss / Ising mean field on (-1, 1)
    Case("curie-weiss", "Curie-Weiss (Ising mean field)", CURIE_WEISS, ("m",), "T", (0.5, 1.5), (("h", 0.0),),
         (Expect("second-order", 1.0, beta=0.5, a4=1 / 12),), reference="m = tanh(m/T): T_c = 1, a4 = T/12"),
    Case("curie-weiss-wide", "Curie-Weiss, wide range (m within 1e-9 of the boundary)", CURIE_WEISS, ("m",), "T",
         (0.1, 2.0), (("h", 0.0),), (Expect("second-order", 1.0, beta=0.5, a4=1 / 12),), reference="T_c = 1"),
    Case("curie-weiss-field", "Curie-Weiss in a field (crossover)", CURIE_WEISS, ("m",), "T", (0.5, 1.5),
         (("h", 0.05),), (Expect("crossover", cw_field_peak(0.05), tol=1e-6),),
         reference="golden-section maximum of |dm/dT| in mpmath"),
    Case("curie-weiss-h", "Curie-Weiss below T_c, field-driven first order", CURIE_WEISS, ("m",), "h", (-0.5, 0.5),
         (("T", _CW_LOW),),
         (Expect("first-order", 0.0, spinodals=(cw_field_line(_CW_LOW)[1], -cw_field_line(_CW_LOW)[1]),
                 jump=2 * cw_field_line(_CW_LOW)[0], df_jump=-2 * cw_field_line(_CW_LOW)[0]),),
         reference="m0 = tanh(m0/T); folds at m^2 = 1 - T (mpmath)"),
    Case("curie-weiss-diagram", "Curie-Weiss in (h, T): critical point", CURIE_WEISS, ("m",), "h", (-0.3, 0.3),
         (("T", 0.8),), diagram=Diagram("T", (0.5, 1.5), (Special("critical-point", (("h", 0.0), ("T", 1.0))),)),
         reference="the field-driven first-order line h = 0 ends at T = 1"),
    Case("ising-occupation", "Ising mean field in occupation p = (1+m)/2 on (0, 1)", ISING_OCCUPATION, ("p",), "T",
         (0.5, 1.5), (), (Expect("second-order", 1.0, beta=0.5, a4=4 / 3),), reference="= Curie-Weiss, p = 1/2 symmetric"),
    Case("paramagnet", "Curie-Weiss above T_c (no transition)", CURIE_WEISS, ("m",), "T", (1.2, 3.0), (("h", 0.0),), (),
         reference="m = 0 is the only minimum for T > 1"),
    # -------------------------------------------------- lattice gas / regular solution on (0, 1)
    Case("regular-solution-chi", "Regular solution, interaction-driven demixing", REGULAR_SOLUTION, ("x",), "chi",
         (0.0, 5.0), (("mu", 0.0),), (Expect("second-order", 2.0, beta=0.5, a4=4 / 3),),
         reference="f''(1/2) = 4 - 2 chi; s''''(1/2)/24 = 4/3"),
    Case("regular-solution-T", "Regular solution in temperature, wide range (minima within 1e-9 of 0 and 1)",
         "T*(x*log(x) + (1-x)*log(1-x)) + 2*x*(1-x)", ("x",), "T", (0.1, 2.0), (),
         (Expect("second-order", 1.0, beta=0.5, a4=4 / 3),), reference="f''(1/2) = 4 T - 4; T s(1/2)/24 = 4/3"),
    Case("regular-solution-mu", "Regular solution at fixed chi = 3, field-driven first order", REGULAR_SOLUTION, ("x",),
         "mu", (-1.0, 1.0), (("chi", _RS_CHI),),
         (Expect("first-order", 0.0, spinodals=(regular_solution_mu(_RS_CHI)[1], -regular_solution_mu(_RS_CHI)[1]),
                 jump=regular_solution_mu(_RS_CHI)[0], df_jump=-regular_solution_mu(_RS_CHI)[0]),),
         reference="x0 from log(x/(1-x)) = chi (2x-1); folds at x(1-x) = 1/(2 chi) (mpmath)"),
    Case("regular-solution-diagram", "Regular solution in (mu, chi): consolute critical point", REGULAR_SOLUTION,
         ("x",), "mu", (-1.0, 1.0), (("chi", 3.0),),
         diagram=Diagram("chi", (1.0, 4.0), (Special("critical-point", (("mu", 0.0), ("chi", 2.0))),)),
         reference="the coexistence line mu = 0 ends at chi = 2"),
    Case("sublattice-gas", "Two-sublattice lattice gas: ordering with the density moving with T", SUBLATTICE_GAS,
         ("a", "b"), "T", (0.1, 1.0), tuple(_LG.items()),
         (Expect("second-order", sublattice_gas(**_LG)[0], beta=0.5),),
         reference="T = 2 J rho (1-rho), T log(rho/(1-rho)) + 2 J rho = mu (mpmath); effective quartic > 0"),
    # -------------------------------------------------- Blume-Capel (spin 1)
    Case("blume-capel-second", "Blume-Capel, second-order side", BLUME_CAPEL, ("m",), "T", (0.2, 1.0), (("D", 0.2),),
         (Expect("second-order", blume_capel_second(0.2), beta=0.5),),
         reference="T = 2 e^{-D/T}/(1 + 2 e^{-D/T}) (mpmath)"),
    Case("blume-capel-first", "Blume-Capel, first-order side", BLUME_CAPEL, ("m",), "T", (0.05, 0.6), (("D", 0.48),),
         (Expect("first-order", blume_capel_first_T(0.48)[0], jump=blume_capel_first_T(0.48)[1]),),
         reference="f'(m) = 0, f(m) = f(0) (mpmath); m = 0 stays metastable down to T = 0 (max_T p(T)/T < 1 at "
                   "D = 0.48), so there is only the ordered branch's fold and no spinodal pair"),
    Case("blume-capel-D", "Blume-Capel at T = 0.2, crystal-field driven", BLUME_CAPEL, ("m",), "D", (0.0, 1.0),
         (("T", _BC_T),),
         (Expect("first-order", blume_capel_first_D(_BC_T)[0], spinodals_bracket=True,
                 jump=blume_capel_first_D(_BC_T)[1]),),
         reference="f'(m) = 0, f(m) = f(0) in (m, D) (mpmath)"),
    Case("blume-capel-diagram", "Blume-Capel tricritical point", BLUME_CAPEL, ("m",), "T", (0.15, 0.9), (("D", 0.3),),
         diagram=Diagram("D", (0.25, 0.48), (Special("tricritical", (("T", 1 / 3), ("D", math.log(4) / 3))),)),
         reference="T = 1/3, D = (2/3) ln 2"),
    Case("blume-capel-wide-diagram", "Blume-Capel tricritical point, wide box", BLUME_CAPEL, ("m",), "T", (0.05, 1.2),
         (("D", 0.3),),
         diagram=Diagram("D", (0.0, 0.6), (Special("tricritical", (("T", 1 / 3), ("D", math.log(4) / 3))),)),
         reference="T = 1/3, D = (2/3) ln 2"),
    Case("blume-capel-mq", "Blume-Capel with magnetisation and quadrupole moment (q moves with T)", BLUME_CAPEL_MQ,
         ("m", "q"), "T", (0.2, 1.0), (("D", 0.2),), (Expect("second-order", blume_capel_second(0.2), beta=0.5),),
         reference="eliminating q gives the Blume-Capel line"),
    Case("blume-capel-mq-first", "Blume-Capel with m and q, first-order side", BLUME_CAPEL_MQ, ("m", "q"), "T",
         (0.1, 0.6), (("D", 0.48),),
         (Expect("first-order", blume_capel_first_T(0.48)[0], jump=blume_capel_first_T(0.48)[1]),),
         reference="same stationary points as blume-capel-first (one spinodal only)"),
    # -------------------------------------------------- Potts (q = 3)
    Case("potts3", "3-state Potts mean field", POTTS3, ("m",), "T", (0.2, 0.6), (),
         (Expect("first-order", _POTTS[0], spinodals=(_POTTS[2], _POTTS[3]), jump=_POTTS[1]),),
         reference="T_c = 1/(4 ln 2), m_c = 1/2, spinodals 1/3 and the ordered fold (mpmath)"),
    Case("potts3-simplex", "3-state Potts mean field on the simplex (two concentrations)", POTTS3_SIMPLEX, ("a", "b"),
         "T", (0.2, 0.6), (), (Expect("first-order", _POTTS[0], spinodals=(_POTTS[2], _POTTS[3]), jump=None),),
         reference="as potts3; the ordered phase is threefold degenerate (jump of a not fixed)"),
    # -------------------------------------------------- several order parameters
    Case("two-op-second", "Two order parameters, coupling x^2 y (second order)", TWO_OP, ("x", "y"), "t", (-0.5, 0.5),
         (("g", 1.0),), (Expect("second-order", 0.0, beta=0.5, a4=coupled_quartic(1.0)),),
         reference="y = g x^2/2: quartic 1 - g^2/4"),
    Case("two-op-first", "Two order parameters, coupling x^2 y (first order)", TWO_OP, ("x", "y"), "t", (-0.5, 0.8),
         (("g", 3.0),), (Expect("first-order", _TWO[0], spinodals=_TWO[2], jump=_TWO[1]),),
         reference="y = g x^2/2: sextic with quartic 1 - g^2/4 = -5/4"),
    Case("two-op-diagram", "Two order parameters: tricritical coupling", TWO_OP, ("x", "y"), "t", (-0.5, 0.8),
         (("g", 1.0),), diagram=Diagram("g", (1.0, 3.0), (Special("tricritical", (("t", 0.0), ("g", 2.0))),)),
         reference="quartic 1 - g^2/4 vanishes at g = 2"),
    Case("two-op-moving", "Two order parameters, symmetric q = t moving with the control",
         "t*m^2 + m^4 + (q - t)^2/2 + c*m^2*q", ("m", "q"), "t", (-1, 1), (("c", 1.0),),
         (Expect("second-order", 0.0, beta=0.5, a4=0.5),),
         reference="q = t - c m^2: t (1 + c) m^2 + (1 - c^2/2) m^4"),
    Case("three-op-second", "Three order parameters (second order)", THREE_OP, ("x", "y", "z"), "t", (-0.5, 0.5),
         (("g", 1.0), ("k", 1.0)), (Expect("second-order", 0.0, beta=0.5, a4=coupled_quartic(1.0, 1.0)),),
         reference="y = g x^2/2, z = k x^2/2: quartic 1/2"),
    Case("three-op-first", "Three order parameters (first order)", THREE_OP, ("x", "y", "z"), "t", (-0.5, 0.8),
         (("g", 2.0), ("k", 2.0)), (Expect("first-order", _THREE[0], spinodals=_THREE[2], jump=_THREE[1]),),
         reference="quartic 1 - 1 - 1 = -1: a_c = 1/4, x^2 = 1/2"),
    # -------------------------------------------------- coupled phi^4: successive, tetracritical, bicritical
    Case("coupled-successive", "Coupled phi^4: y orders, then x inside the y-ordered phase", COUPLED_PHI4, ("x", "y"),
         "t", (-2, 2), (("g", 0.2), ("c", 1.0)),
         (Expect("second-order", coupled_phi4_second_ordering(0.2, 1.0), beta=0.5), Expect("second-order", 0.2)),
         reference="y at t = g; x where t + g + c (g - t)/2 = 0"),
    Case("coupled-decoupled", "Two independent phi^4 (successive transitions)", COUPLED_PHI4, ("x", "y"), "t", (-2, 2),
         (("g", 0.5), ("c", 0.0)), (Expect("second-order", -0.5, beta=0.5), Expect("second-order", 0.5)),
         reference="x at t = -g, y at t = g"),
    Case("tetracritical-diagram", "Coupled phi^4, c^2 < 4: tetracritical point", COUPLED_PHI4, ("x", "y"), "t",
         (-1, 1), (("g", 0.2), ("c", 1.0)),
         diagram=Diagram("g", (-0.5, 0.5), (Special("tetracritical-point", (("t", 0.0), ("g", 0.0))),)),
         reference="four second-order lines meet at t = g = 0"),
    Case("bicritical-spin-flop", "Coupled phi^4, c^2 > 4: spin flop (first order in g)", COUPLED_PHI4, ("x", "y"), "g",
         (-1, 1), (("t", -0.5), ("c", 3.0)),
         (Expect("first-order", 0.0, spinodals=spin_flop_spinodals(-0.5, 3.0), jump=0.5, df_jump=-0.5),),
         reference="f_x = -(t+g)^2/4 = f_y = -(t-g)^2/4 at g = 0; each phase is destabilised by the other field"),
    Case("bicritical-diagram", "Coupled phi^4, c^2 > 4: bicritical point", COUPLED_PHI4, ("x", "y"), "g", (-1, 1),
         (("t", -0.5), ("c", 3.0)),
         diagram=Diagram("t", (-1.0, 1.0), (Special("bicritical-point", (("g", 0.0), ("t", 0.0))),)),
         reference="two second-order lines and the spin-flop line meet at g = t = 0"),
    # -------------------------------------------------- critical end point: a lambda line ends on a first-order line
    Case("cep-successive", "Lambda line crossing a density jump: first order in y, then x orders", CEP_MODEL,
         ("y", "x"), "h", (-1, 2), (("t", 1.2), ("w", 0.0)),
         (Expect("first-order", 0.0, spinodals=(-2 / 27 ** 0.5, 2 / 27 ** 0.5), jump=2.0, df_jump=-2.0),
          Expect("second-order", 1.2 ** 3 - 1.2, beta=0.5)),
         reference="x = 0: the cusp y^3 - y = h coexists at h = 0 (y = -+1), folds h = -+2/sqrt(27); x orders "
                   "where y = t, h = t^3 - t"),
    Case("cep-diagram", "Critical end point: the lambda line t = y ends on the density jump", CEP_MODEL, ("x", "y"),
         "h", (-1, 2), (("t", 1.0), ("w", 0.0)),
         diagram=Diagram("t", (0.6, 1.5), (Special("critical-end-point", (("h", critical_end_point(0.0)[0]),
                                                                          ("t", critical_end_point(0.0)[1]))),)),
         reference="h = 0, t = 1 (symmetry y -> -y of the cusp at h = 0; mpmath solution of the defining equations)"),
    Case("cep-asymmetric-diagram", "Critical end point of an asymmetric cusp (w = 1/2)", CEP_MODEL, ("x", "y"), "h",
         (-1, 2), (("t", 1.0), ("w", 0.5)),
         diagram=Diagram("t", (0.3, 1.3), (Special("critical-end-point", (("h", critical_end_point(0.5)[0]),
                                                                          ("t", critical_end_point(0.5)[1]))),)),
         reference="g'(ya) = g'(yb) = 0, g(ya) = g(yb), t = ya (mpmath)"),
    Case("phi8-successive", "Landau phi^8: two ordered phases coexist, then x = 0 orders continuously",
         "a*x^2 + b*x^4 - c*x^6 + x^8", ("x",), "a", (-0.5, 0.5), (("b", 0.35), ("c", 1.0)),
         (Expect("first-order", phi8_ordered_coexistence(0.35)[0], spinodals=phi8_ordered_coexistence(0.35)[2],
                 jump=phi8_ordered_coexistence(0.35)[1]),
          Expect("second-order", 0.0, beta=0.5, a4=0.35)),
         reference="u = x^2: equal areas under the cubic dF/du put its middle root at u = c/4 (mpmath roots)"),
    Case("phi8-diagram", "Landau phi^8: critical end point and critical point", "a*x^2 + b*x^4 - c*x^6 + x^8", ("x",),
         "a", (-0.5, 0.5), (("b", 0.3), ("c", 1.0)),
         diagram=Diagram("b", (0.1, 0.5), (Special("critical-end-point", (("a", phi8_special(1.0)[0][0]),
                                                                          ("b", phi8_special(1.0)[0][1]))),
                                           Special("critical-point", (("a", phi8_special(1.0)[1][0]),
                                                                      ("b", phi8_special(1.0)[1][1]))))),
         reference="the line a = 0 ends at b = c^2/4 on the first-order line, which continues between two ordered "
                   "phases to a critical point a = -c^3/16, b = 3 c^2/8 (mpmath on the defining equations)"),
    # -------------------------------------------------- continuous symmetry
    Case("o2-second", "O(2) phi^4 (zero mode in the ordered phase)", O2_SECOND, ("x", "y"), "t", (-1, 1), (),
         (Expect("second-order", 0.0, beta=0.5, jump=None),), reference="r^2 = -t/2"),
    Case("o2-first", "O(2) phi^6 with negative quartic", O2_FIRST, ("x", "y"), "t", (-0.5, 0.6), (),
         (Expect("first-order", _SEX[0], spinodals=_SEX[2], jump=None),), reference="radial sextic, as landau-sixth"),
    # -------------------------------------------------- no transition
    Case("none-stable", "Landau phi^4, disordered throughout", "t*x^2 + x^4", ("x",), "t", (0.5, 5.0), (), (),
         reference="x = 0 for t > 0"),
    Case("none-harmonic", "Harmonic, minimum moving linearly", "(x - t)^2", ("x",), "t", (-10, 10), (), (),
         reference="x = t: no singularity, constant susceptibility"),
    Case("none-log", "x - t log x on x > 0", "x - t*log(x)", ("x",), "t", (0.1, 10.0), (), (),
         reference="x = t: no singularity, constant susceptibility"),
    # -------------------------------------------------- non-smooth and unbounded
    Case("abs-cubic", "Non-smooth abs(x)^3 term (beta = 1)", "t*x^2 + abs(x)^3", ("x",), "t", (-1, 1), (),
         (Expect("second-order", 0.0, beta=1.0),), reference="|x| = -2t/3"),
    Case("unbounded-sextic", "Unbounded below: negative sextic", "t*x^2 + x^4 - x^6/1000", ("x",), "t", (-1, 1), (),
         must_flag="unbounded", reference="f -> -inf as |x| -> inf: no global minimum exists"),
)

CASE_BY_ID = {case.id: case for case in CASES}
assert len(CASE_BY_ID) == len(CASES), "catalogue ids must be unique"


# ------------------------------------------------------------------ the checker (tests and benchmark)

# JSON contract read here: transitions[i].{kind, critical_value, jump, spinodals, df_dcontrol_jump, flag, converged,
# evidence.exponent.beta, evidence.landau.a4_effective}, warnings; special_points[i].{kind, values}; boundaries.
VALUE_TOL_SPINODAL = 1e-7
VALUE_TOL_JUMP = 1e-7
BETA_TOL = 0.02
A4_TOL = 1e-6


def _close(got, want, tol):
    return got is not None and math.isfinite(got) and abs(got - want) <= tol * (1 + abs(want))


def _texts(out: dict) -> list:
    return [str(w) for w in out.get("warnings", ())] + [str(t.get("flag")) for t in out.get("transitions", ())]


def problems(case: Case, out: dict | None, error: str | None) -> list:
    """Everything wrong with one run's output (a result dict, or a one-line error message)."""
    if case.must_flag:
        if error is not None:
            return [] if case.must_flag in error.lower() else [f"error does not say {case.must_flag!r}: {error}"]
        found = []
        if not any(case.must_flag in t.lower() for t in _texts(out)):
            found.append(f"no warning or flag says {case.must_flag!r}: {_texts(out)}")
        found += [f"clean {t['kind']} at {t['critical_value']} despite {case.must_flag}"
                  for t in out.get("transitions", ()) if t.get("flag") == "ok"]
        return found
    if error is not None:
        return [f"error: {error}"]
    found = [f"spurious warning: {w}" for w in out.get("warnings", ()) if "unbounded" in str(w).lower()]
    if case.diagram:
        return found + _diagram_problems(case, out)
    got = out["transitions"]
    kinds = [t["kind"] for t in got]
    want = [e.kind for e in case.expected]
    if kinds != want:
        return found + [f"kinds {kinds} at {[t['critical_value'] for t in got]}, expected {want} at "
                        f"{[e.at for e in case.expected]}"]
    for t, e in zip(got, case.expected):
        where = f"{e.kind} at {e.at}"
        if not _close(t["critical_value"], e.at, e.tol):
            found.append(f"{where}: critical value {t['critical_value']}")
        if t.get("flag") != "ok" or not t.get("converged"):
            found.append(f"{where}: flag {t.get('flag')!r}, converged {t.get('converged')}")
        if e.jump is not None and not _close(t["jump"], e.jump, VALUE_TOL_JUMP):
            found.append(f"{where}: jump {t['jump']}, expected {e.jump}")
        if e.df_jump is not None and not _close(t.get("df_dcontrol_jump"), e.df_jump, VALUE_TOL_JUMP):
            found.append(f"{where}: df/dcontrol jump {t.get('df_dcontrol_jump')}, expected {e.df_jump}")
        spin = t.get("spinodals")
        if e.spinodals is not None:
            if spin is None or not all(_close(s, w, VALUE_TOL_SPINODAL) for s, w in zip(sorted(spin), e.spinodals)):
                found.append(f"{where}: spinodals {spin}, expected {e.spinodals}")
        if e.spinodals_bracket and (spin is None or not spin[0] <= t["critical_value"] <= spin[1]):
            found.append(f"{where}: spinodals {spin} do not bracket the transition")
        evidence = t.get("evidence") or {}
        if e.beta is not None:
            beta = (evidence.get("exponent") or {}).get("beta")
            if beta is None or abs(beta - e.beta) > BETA_TOL:
                found.append(f"{where}: beta {beta}, expected {e.beta}")
        if e.a4 is not None:
            a4 = (evidence.get("landau") or {}).get("a4_effective")
            if not _close(a4, e.a4, A4_TOL):
                found.append(f"{where}: effective quartic {a4}, expected {e.a4}")
    return found


def _diagram_problems(case: Case, out: dict) -> list:
    got = out["special_points"]
    found = []
    if sorted(s["kind"] for s in got) != sorted(s.kind for s in case.diagram.special):
        found.append(f"special points {[(s['kind'], s['values']) for s in got]}, expected "
                     f"{[(s.kind, s.values) for s in case.diagram.special]}")
    for want in case.diagram.special:
        if not any(s["kind"] == want.kind and all(_close(s["values"].get(k), v, want.tol) for k, v in want.at)
                   for s in got):
            found.append(f"{want.kind} at {want.values} not found")
    if not out["boundaries"]:
        found.append("no boundary lines")
    return found


# ------------------------------------------------------------------ runner helpers

class CaseTimeout(BaseException):
    """Raised by time_limit; a BaseException, so that the CLI's catch-all does not turn it into an exit code."""


@contextlib.contextmanager
def time_limit(seconds: float):
    """Interrupt the block after `seconds` (SIGALRM; main thread only): a hang fails the run instead of the suite."""
    def on_alarm(signum, frame):
        raise CaseTimeout(f"took longer than {seconds:.0f} s")
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_engine(case: Case, seconds: float = 30.0):
    """(result dict, None) or (None, one-line error) of find_transitions / phase_diagram on the case (public API)."""
    from copyhead.errors import CopyheadError
    from copyhead.numerics.transitions import expression_problem, find_transitions, phase_diagram

    try:
        with time_limit(seconds):
            problem = expression_problem(case.expr, case.order_params, case.control, case.params_dict)
            if case.diagram:
                result = phase_diagram(problem, case.diagram.second, case.diagram.second_range, case.range)
            else:
                result = find_transitions(problem, *case.range)
            return result.to_dict(), None
    except CopyheadError as exc:
        return None, str(exc)


# ------------------------------------------------------------------ copy-head closed forms

def copy_head_alpha_c(T, V, gamma=1.0, sigma_q=1.0, sigma_k=1.0, sigma_w=1.0, sigma2=1.0):
    """Closed-form alpha_c of linear centred attention (quadratic Landau coefficient vanishes)."""
    return sigma2 * V / (gamma * sigma_w * sigma_q * sigma_k * math.sqrt(T * (V - 1)))


def copy_head_gamma_tc(T, V, sigma_q=1.0, sigma_k=1.0, sigma_w=1.0):
    """Tricritical gamma of linear centred attention, bilinear prior (effective quartic vanishes)."""
    return math.sqrt(V - 1) / (2 * sigma_q * sigma_k * sigma_w * math.sqrt(T))


# ------------------------------------------------------------------ legacy view (tests/test_transitions.py)

def _legacy(case: Case, **changes) -> dict:
    expected = [dict(kind=e.kind, critical=e.at, spinodals="bracket" if e.spinodals_bracket else e.spinodals,
                     jump=e.jump, **({"beta": e.beta} if e.beta is not None else {}),
                     **({"a4": e.a4} if e.a4 is not None else {}),
                     **({"df_jump": e.df_jump} if e.df_jump is not None else {})) for e in case.expected]
    entry = dict(id=case.id, expr=case.expr, order_params=list(case.order_params), control=case.control,
                 params=case.params_dict, range=case.range, expected=expected)
    entry.update(changes)
    return entry


def _legacy_diagram(case_id: str, **kind_names) -> dict:
    d = CASE_BY_ID[case_id]
    return dict(second=d.diagram.second, second_range=d.diagram.second_range, control_range=d.range,
                special=[dict(kind=kind_names.get(s.kind, s.kind), values=s.values) for s in d.diagram.special])


# The solver-level tests predate CASES; the old engine names a critical point "critical-end-point".
CATALOGUE = [
    _legacy(CASE_BY_ID["curie-weiss"]), _legacy(CASE_BY_ID["curie-weiss-field"]), _legacy(CASE_BY_ID["landau-2-4"]),
    _legacy(CASE_BY_ID["landau-cubic"]), _legacy(CASE_BY_ID["landau-sixth"], diagram=_legacy_diagram("landau-sixth-diagram")),
    _legacy(CASE_BY_ID["blume-capel-second"], diagram=_legacy_diagram("blume-capel-diagram")),
    _legacy(CASE_BY_ID["blume-capel-first"]), _legacy(CASE_BY_ID["tilted-landau"]),
    _legacy(CASE_BY_ID["cusp"], diagram=_legacy_diagram("cusp-diagram", **{"critical-point": "critical-end-point"})),
    _legacy(CASE_BY_ID["two-op-second"]),
    _legacy(CASE_BY_ID["two-op-first"], diagram=_legacy_diagram("two-op-diagram")),
]
BY_ID = {e["id"]: e for e in CATALOGUE}


def value(v):
    """Legacy accessor: expected values are plain numbers now."""
    return v() if callable(v) else v
