"""Named formulas: symbolic form, derivative, LaTeX and lambdified values (50-digit reference)."""
import math

import mpmath as mp
import pytest
import sympy as sp

from copyhead.theory.functions import GaussianLogitRate, WishartRate
from copyhead.theory.symbols import latex, x


def phi_reference(v):
    """THEORY.md's formula, typed independently with mpmath."""
    r = mp.sqrt(1 + 4 * v * v)
    return (r - 1) / 2 - mp.log((1 + r) / 2) / 2


def test_wishart_rate_zero_and_doit():
    assert WishartRate(0) == 0
    root = sp.sqrt(1 + 4 * x**2)
    assert sp.simplify(WishartRate(x).doit() - ((root - 1) / 2 - sp.log((1 + root) / 2) / 2)) == 0


def test_fdiff_matches_derivative_of_closed_form():
    assert sp.simplify(sp.diff(WishartRate(x), x) - sp.diff(WishartRate(x).doit(), x)) == 0
    assert sp.simplify(sp.diff(GaussianLogitRate(x), x) - x) == 0


def test_latex_printers():
    assert latex(WishartRate(x)) == r"\phi_{\mathrm{W}}\left(x\right)"
    assert latex(GaussianLogitRate(x) ** 2) == r"\phi_{\mathrm{G}}^{2}\left(x\right)"
    assert latex(sp.Symbol("sigma2", positive=True)) == r"\sigma^2"


@pytest.mark.parametrize("value", ["0.001", "0.3", "-1.7", "12.5", "1e3"])
def test_lambdified_values_50_digits(value):
    with mp.workdps(50):
        v = mp.mpf(value)
        got = sp.lambdify(x, WishartRate(x).doit(), "mpmath")(v)
        assert abs(got - phi_reference(v)) <= mp.mpf(10) ** -45 * max(1, abs(phi_reference(v)))


def test_numpy_lambdify_is_accurate_at_small_x():
    import numpy as np

    f = sp.lambdify(x, WishartRate(x).doit(), "numpy")
    for v in (1e-2, 1e-1, 1.0, 10.0):
        with mp.workdps(50):
            ref = float(phi_reference(mp.mpf(v)))
        assert abs(f(np.float64(v)) - ref) <= 1e-12 * max(ref, 1e-4)


@pytest.mark.parametrize("value", [1e-7, 1e-4, 0.5, 30.0])
def test_compiled_rate_has_no_cancellation(value):
    """The compiled free energy uses the stable rewrite: full double precision even at tiny x."""
    from copyhead.numerics.compiled import _doit

    f = sp.lambdify(x, _doit(WishartRate(x)), "numpy")
    with mp.workdps(50):
        ref = float(phi_reference(mp.mpf(value)))
    assert abs(f(value) - ref) <= 4e-16 * ref


# --- printers and evalf: no manual rewrite needed ---------------------------------------------------------------

WIDE_RANGE = ["1e-30", "1e-8", "-0.003", "0.7", "-5", "1e3", "-1e8", "1e15", "1e150", "1e300"]


def phi_reference_stable(v):
    """Independent 50-digit reference that stays exact where the textbook form cancels: at |x| << 1 the
    difference of (sqrt(1+4x^2)-1)/2 and its log is taken at 150 digits."""
    with mp.workdps(150):
        return +phi_reference(mp.mpf(v))


@pytest.mark.parametrize("value", WIDE_RANGE)
def test_lambdify_mpmath_without_rewrite_50_digits(value):
    f = sp.lambdify(x, WishartRate(x), "mpmath")
    with mp.workdps(50):
        ref = phi_reference_stable(value)
        assert abs(f(mp.mpf(value)) - ref) <= mp.mpf(10) ** -48 * abs(ref)


@pytest.mark.parametrize("module", ["numpy", "math"])
@pytest.mark.parametrize("value", WIDE_RANGE)
def test_lambdify_float_without_rewrite(module, value):
    """Double precision to a few ulp over 330 decades: no cancellation at small |x|, no overflow at large |x|."""
    f = sp.lambdify(x, WishartRate(x), module)
    ref = float(phi_reference_stable(value))
    got = f(float(value))
    assert math.isfinite(got) and abs(got - ref) <= 8e-16 * ref


def test_lambdify_numpy_arrays_and_composite_arguments():
    import numpy as np

    grid = np.array([-3.0, -1e-9, 0.0, 2e-5, 40.0])
    f = sp.lambdify(x, 3 * WishartRate(x / 2) + GaussianLogitRate(x), "numpy", cse=True)
    ref = [3 * float(phi_reference_stable(v / 2)) + v * v / 2 for v in grid]
    assert np.allclose(f(grid), ref, rtol=4e-16, atol=0)


@pytest.mark.parametrize("value", ["1e-25", "0.25", "-7", "1e40"])
def test_evalf_gives_numbers_at_requested_precision(value):
    got = WishartRate(sp.Float(value, 60)).evalf(50)
    assert got.is_Float
    with mp.workdps(50):
        ref = phi_reference_stable(value)
        assert abs(mp.mpf(got) - ref) <= mp.mpf(10) ** -48 * abs(ref)
    assert (WishartRate(sp.Rational(1, 3)) + 1).evalf(30).is_Float
    assert GaussianLogitRate(sp.Rational(3, 2)).evalf() == sp.Float(1.125)


def test_evalf_of_symbolic_argument_stays_symbolic():
    assert WishartRate(x).evalf() == WishartRate(x)
