"""Named formulas: symbolic form, derivative, LaTeX and lambdified values (50-digit reference)."""
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
