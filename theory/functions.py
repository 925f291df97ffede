"""Named formulas as SymPy Functions: closed form via doit(), analytic fdiff, own LaTeX."""
from __future__ import annotations

import sympy as sp


class WishartRate(sp.Function):
    r"""Large-deviation rate per singular value of the bilinear prior S = QK^T/N.

    phi(x) = (sqrt(1+4x^2) - 1)/2 - log((1 + sqrt(1+4x^2))/2)/2, with x the
    singular value of S/(sigma_q sigma_k). phi(x) = x^2/2 - x^4/4 + O(x^6);
    phi(x) = |x| - log|x|/2 - 1/2 + o(1) for large |x|.
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


class GaussianLogitRate(sp.Function):
    r"""Rate per singular value of a Gaussian prior placed directly on the logits: x^2/2."""

    nargs = 1

    def doit(self, deep=True, **hints):
        (arg,) = self.args
        if deep:
            arg = arg.doit(deep=deep, **hints)
        return arg**2 / 2

    def fdiff(self, argindex=1):
        if argindex != 1:
            raise sp.ArgumentIndexError(self, argindex)
        return self.args[0]

    def _latex(self, printer, exp=None):
        body = r"\phi_{\mathrm{G}}\left(%s\right)" % printer._print(self.args[0])
        return body if exp is None else r"\phi_{\mathrm{G}}^{%s}\left(%s\right)" % (exp, printer._print(self.args[0]))


RATE_FUNCTIONS = {"bilinear": WishartRate, "gaussian-logit": GaussianLogitRate}
