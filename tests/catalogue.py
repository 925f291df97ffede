"""Reference free energies with known answers, for the transition engine.

Every known answer is a closed form or an independent mpmath computation
written here (never the engine's output). Conventions: the control is the
first name in `control`; `range` is the control range handed to the engine.

Entry fields:
  id, expr (typed as a user would), order_params, control, params, range,
  expected: list of {kind, critical, spinodals (or None), jump (observable = first
  order parameter), beta (second order), a4 (Landau effective quartic at c_c)},
  diagram (optional): {second, second_range, control_range, special: [{kind, values}]}.
"""
from __future__ import annotations

import math

import mpmath

CURIE_WEISS = "-m^2/2 - h*m + T*((1+m)/2*log((1+m)/2) + (1-m)/2*log((1-m)/2))"
BLUME_CAPEL = "m^2/2 - T*log(1 + 2*exp(-D/T)*cosh(m/T))"


def _golden_peak(chi, lo: str, hi: str, iterations: int) -> float:
    """Maximiser of a unimodal chi on [lo, hi] by golden section in mpmath (independent of the engine)."""
    a, b = mpmath.mpf(lo), mpmath.mpf(hi)
    g = (mpmath.sqrt(5) - 1) / 2
    for _ in range(iterations):
        c, d = b - g * (b - a), a + g * (b - a)
        if chi(c) > chi(d):
            b = d
        else:
            a = c
    return float((a + b) / 2)


def _cw_field_peak(h=0.05):
    """Curie-Weiss in a field: T where |dm/dT| peaks on the global minimum (m > 0 for h > 0), by mpmath."""
    mpmath.mp.dps = 30

    def m_of(T):
        return mpmath.findroot(lambda m: m - mpmath.tanh((m + h) / T), 0.9)

    def chi(T):
        m = m_of(T)
        # f' = -m - h + T atanh m = 0  ->  dm/dT = -atanh(m) / (T/(1-m^2) - 1)
        return abs(mpmath.atanh(m) / (T / (1 - m**2) - 1))

    return _golden_peak(chi, "0.9", "1.2", 120)    # |chi| is unimodal near the peak


def _tilted_landau_peak(h=0.1):
    """t x^2 + x^4 - h x: t where |dx/dt| peaks on the global minimum (largest root of 2 t x + 4 x^3 = h)."""
    mpmath.mp.dps = 30

    def chi(t):
        roots = mpmath.polyroots([4, 0, 2 * t, -h])
        x = max(r.real for r in roots if abs(r.imag) < mpmath.mpf(10) ** -20)
        return abs(-2 * x / (2 * t + 12 * x**2))

    return _golden_peak(chi, "-0.3", "0.3", 150)


def _blume_capel_second(D):
    """Second-order line of mean-field Blume-Capel (zJ = 1): T = 2 e^{-D/T} / (1 + 2 e^{-D/T})."""
    mpmath.mp.dps = 30
    return float(mpmath.findroot(lambda T: T - 2 * mpmath.exp(-D / T) / (1 + 2 * mpmath.exp(-D / T)), 0.5))


def _blume_capel_first(D):
    """First-order point of mean-field Blume-Capel at given D (mpmath, on the closed-form free energy)."""
    mpmath.mp.dps = 30

    def f(m, T):
        return m**2 / 2 - T * mpmath.log(1 + 2 * mpmath.exp(-D / T) * mpmath.cosh(m / T))

    def fp(m, T):
        return mpmath.diff(lambda mm: f(mm, T), m)

    def system(m, T):
        return [fp(m, T), f(m, T) - f(0, T)]

    sol = mpmath.findroot(system, (0.8, 0.2))
    return float(sol[1]), float(abs(sol[0]))


def _coupled_two_op():
    """t x^2 + x^4 + x^6 + y^2 - g x^2 y, g = 3: eliminate y = g x^2 / 2 -> t x^2 + (1 - g^2/4) x^4 + x^6."""
    g = 3.0
    b = 1 - g**2 / 4
    t_c = b**2 / 4
    x = math.sqrt(-b / 2)
    return t_c, x, b**2 / 3


CATALOGUE = [
    dict(id="curie-weiss", expr=CURIE_WEISS, order_params=["m"], control="T", params={"h": 0.0}, range=(0.5, 1.5),
         expected=[dict(kind="second-order", critical=1.0, spinodals=None, jump=0.0, beta=0.5, a4=1 / 12)]),
    dict(id="curie-weiss-field", expr=CURIE_WEISS, order_params=["m"], control="T", params={"h": 0.05},
         range=(0.5, 1.5), expected=[dict(kind="crossover", critical=_cw_field_peak, spinodals=None, jump=0.0)]),
    dict(id="landau-2-4", expr="t*x^2 + b*x^4", order_params=["x"], control="t", params={"b": 1.0}, range=(-1, 1),
         expected=[dict(kind="second-order", critical=0.0, spinodals=None, jump=0.0, beta=0.5, a4=1.0)]),
    dict(id="landau-cubic", expr="a*x^2 - w*x^3 + b*x^4", order_params=["x"], control="a",
         params={"w": 1.0, "b": 1.0}, range=(-0.5, 0.6),
         # f = b x^2 (x - x1)^2 at coexistence: a = w^2/(4b), x1 = w/(2b); spinodal of the ordered
         # minimum 9 w^2/(32 b); the disordered minimum x = 0 loses stability at a = 0.
         expected=[dict(kind="first-order", critical=0.25, spinodals=(0.0, 9 / 32), jump=0.5, df_jump=-0.25)]),
    dict(id="landau-sixth", expr="a*x^2 + b*x^4 + c*x^6", order_params=["x"], control="a",
         params={"b": -1.0, "c": 1.0}, range=(-0.5, 0.6),
         # coexistence a = b^2/(4c), x^2 = -b/(2c); spinodals 0 and b^2/(3c)
         expected=[dict(kind="first-order", critical=0.25, spinodals=(0.0, 1 / 3), jump=math.sqrt(0.5),
                        df_jump=-0.5)],
         diagram=dict(second="b", second_range=(-1.0, 1.0), control_range=(-0.5, 0.6),
                      special=[dict(kind="tricritical", values={"a": 0.0, "b": 0.0})])),
    dict(id="blume-capel-second", expr=BLUME_CAPEL, order_params=["m"], control="T", params={"D": 0.2},
         range=(0.2, 1.0),
         expected=[dict(kind="second-order", critical=lambda: _blume_capel_second(0.2), spinodals=None, jump=0.0,
                        beta=0.5)],
         diagram=dict(second="D", second_range=(0.25, 0.48), control_range=(0.15, 0.9),
                      special=[dict(kind="tricritical", values={"T": 1 / 3, "D": math.log(4) / 3})])),
    dict(id="blume-capel-first", expr=BLUME_CAPEL, order_params=["m"], control="T", params={"D": 0.48},
         range=(0.05, 0.6),
         expected=[dict(kind="first-order", critical=lambda: _blume_capel_first(0.48)[0], spinodals="bracket",
                        jump=lambda: _blume_capel_first(0.48)[1])]),
    dict(id="tilted-landau", expr="t*x^2 + x^4 - h*x", order_params=["x"], control="t", params={"h": 0.1},
         range=(-1, 1), expected=[dict(kind="crossover", critical=_tilted_landau_peak, spinodals=None, jump=0.0)]),
    dict(id="cusp", expr="x^4/4 - r*x^2/2 - h*x", order_params=["x"], control="h", params={"r": 1.0},
         range=(-1, 1),
         # symmetric coexistence at h = 0, x = +-sqrt(r); folds at h = -+ 2 (r/3)^(3/2); cusp at r = h = 0
         expected=[dict(kind="first-order", critical=0.0, spinodals=(-2 * (1 / 3) ** 1.5, 2 * (1 / 3) ** 1.5),
                        jump=2.0)],
         diagram=dict(second="r", second_range=(-0.5, 1.0), control_range=(-1, 1),
                      special=[dict(kind="critical-end-point", values={"h": 0.0, "r": 0.0})])),
    dict(id="two-op-second", expr="t*x^2 + x^4 + x^6 + y^2 - g*x^2*y", order_params=["x", "y"], control="t",
         params={"g": 1.0}, range=(-0.5, 0.5),
         expected=[dict(kind="second-order", critical=0.0, spinodals=None, jump=0.0, beta=0.5, a4=1 - 1 / 4)]),
    dict(id="two-op-first", expr="t*x^2 + x^4 + x^6 + y^2 - g*x^2*y", order_params=["x", "y"], control="t",
         params={"g": 3.0}, range=(-0.5, 0.8),
         expected=[dict(kind="first-order", critical=_coupled_two_op()[0], spinodals=(0.0, _coupled_two_op()[2]),
                        jump=_coupled_two_op()[1])],
         diagram=dict(second="g", second_range=(1.0, 3.0), control_range=(-0.5, 0.8),
                      special=[dict(kind="tricritical", values={"t": 0.0, "g": 2.0})])),
]

BY_ID = {e["id"]: e for e in CATALOGUE}


def value(v):
    """Expected values may be thunks (mpmath references computed on demand)."""
    return v() if callable(v) else v


def copy_head_alpha_c(T, V, gamma=1.0, sigma_q=1.0, sigma_k=1.0, sigma_w=1.0, sigma2=1.0):
    """Closed-form alpha_c of linear centred attention (quadratic Landau coefficient vanishes)."""
    return sigma2 * V / (gamma * sigma_w * sigma_q * sigma_k * math.sqrt(T * (V - 1)))


def copy_head_gamma_tc(T, V, sigma_q=1.0, sigma_k=1.0, sigma_w=1.0):
    """Tricritical gamma of linear centred attention, bilinear prior (effective quartic vanishes)."""
    return math.sqrt(V - 1) / (2 * sigma_q * sigma_k * sigma_w * math.sqrt(T))
