"""Named formulas as SymPy Functions: closed form via doit(), analytic fdiff, own LaTeX, own code printers.

Each function prints itself in code (numpy, mpmath, math, ...) in its floating-point stable form, and
evaluates itself in ``evalf``, so ``sympy.lambdify(x, WishartRate(x))`` and ``WishartRate(2).evalf(50)`` work
without a manual ``rewrite``/``doit`` (the pattern of ``sympy.physics.biomechanics.curve``).
"""
from __future__ import annotations

import mpmath
import sympy as sp
from sympy.printing.precedence import PRECEDENCE


class _PrintedFunction(sp.Function):
    """A named function that prints the expression returned by ``_code_form`` in every code printer."""

    def _code_form(self):
        raise NotImplementedError

    def _print_code(self, printer):
        # parenthesised so that the printed form binds like a function call
        return printer._print(printer.parenthesize(self._code_form(), PRECEDENCE["Atom"]))

    _ccode = _cxxcode = _fcode = _octave = _print_code
    _jaxcode = _cupycode = _lambdacode = _mpmathcode = _numpycode = _pythoncode = _scipycode = _print_code

    def _eval_evalf(self, prec):
        (arg,) = self.args
        value = arg._eval_evalf(prec + 10) if hasattr(arg, "_eval_evalf") else None
        if value is None or not value.is_extended_real or not value.is_Number:
            return None  # symbolic or complex argument: stays unevaluated
        with mpmath.workprec(prec + 20):
            result = self._mpmath_value(mpmath.mpf(value._to_mpmath(prec + 20)))
        return sp.Float(result, precision=prec)


class WishartRate(_PrintedFunction):
    r"""Large-deviation rate per singular value of the bilinear prior S = QK^T/N.

    phi(x) = (sqrt(1+4x^2) - 1)/2 - log((1 + sqrt(1+4x^2))/2)/2, with x the
    singular value of S/(sigma_q sigma_k). phi(x) = x^2/2 - x^4/4 + O(x^6);
    phi(x) = abs(x) - log(abs(x))/2 - 1/2 + o(1) for large abs(x).
    """

    nargs = 1

    @classmethod
    def eval(cls, arg):
        if arg.is_zero:
            return sp.S.Zero

    def doit(self, deep=True, **hints):
        (arg,) = self.args
        if deep:
            arg = arg.doit(deep=deep, **hints)
        root = sp.sqrt(1 + 4 * arg**2)
        return (root - 1) / 2 - sp.log((1 + root) / 2) / 2

    def _eval_rewrite_as_stable(self, arg, **kwargs):
        """Cancellation-free form for floating point: y - log1p(y)/2, y = 2x^2/(1 + sqrt(1+4x^2))."""
        from sympy.codegen.cfunctions import log1p

        y = 2 * arg**2 / (1 + sp.sqrt(1 + 4 * arg**2))
        return y - log1p(y) / 2

    def _code_form(self):
        """The stable form, arranged so that no intermediate overflows: y = x * (2x / (1 + hypot(1, 2x)))."""
        from sympy.codegen.cfunctions import hypot, log1p

        (arg,) = self.args
        ratio = sp.Mul(2, arg, sp.Pow(sp.Add(1, hypot(1, 2 * arg), evaluate=False), -1), evaluate=False)
        y = sp.Mul(arg, ratio, evaluate=False)
        return sp.Add(y, sp.Mul(sp.Rational(-1, 2), log1p(y), evaluate=False), evaluate=False)

    @staticmethod
    def _mpmath_value(v):
        y = 2 * v * v / (1 + mpmath.sqrt(1 + 4 * v * v))
        return y - mpmath.log1p(y) / 2

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise sp.ArgumentIndexError(self, argindex)
        (arg,) = self.args
        # phi'(x) = 2x / (1 + sqrt(1 + 4x^2)): derived and checked in derivations/ldp.py
        return 2 * arg / (1 + sp.sqrt(1 + 4 * arg**2))

    def _eval_is_nonnegative(self):
        if self.args[0].is_real:
            return True

    def _latex(self, printer, exp=None):
        body = r"\phi_{\mathrm{W}}\left(%s\right)" % printer._print(self.args[0])
        return body if exp is None else r"\phi_{\mathrm{W}}^{%s}\left(%s\right)" % (exp, printer._print(self.args[0]))


class GaussianLogitRate(_PrintedFunction):
    r"""Rate per singular value of a Gaussian prior placed directly on the logits: x^2/2."""

    nargs = 1

    def doit(self, deep=True, **hints):
        (arg,) = self.args
        if deep:
            arg = arg.doit(deep=deep, **hints)
        return arg**2 / 2

    def _code_form(self):
        return self.args[0] ** 2 / 2

    @staticmethod
    def _mpmath_value(v):
        return v * v / 2

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise sp.ArgumentIndexError(self, argindex)
        return self.args[0]

    def _latex(self, printer, exp=None):
        body = r"\phi_{\mathrm{G}}\left(%s\right)" % printer._print(self.args[0])
        return body if exp is None else r"\phi_{\mathrm{G}}^{%s}\left(%s\right)" % (exp, printer._print(self.args[0]))


RATE_FUNCTIONS = {"bilinear": WishartRate, "gaussian-logit": GaussianLogitRate}
