"""Every symbol of the theory, with its LaTeX name, defined once."""
from __future__ import annotations

import sympy as sp

#: symbol name -> LaTeX; the only place LaTeX names are chosen.
LATEX_NAMES = {
    "alpha": r"\alpha", "gamma": r"\gamma", "sigma_q": r"\sigma_q", "sigma_k": r"\sigma_k",
    "sigma_w": r"\sigma_w", "sigma2": r"\sigma^2", "T": "T", "V": "V", "N": "N", "n": "n",
    "delta": r"\delta", "s": "s", "u": "u", "m": "m", "q": "q", "r": r"\bar r", "R": "R",
    "kappa": r"\kappa", "eps": r"\epsilon", "x": "x", "a": "a", "b": "b", "theta": r"\theta",
    "lam": r"\lambda", "c": "c", "M": "M", "rho": r"\rho",
}

_positive = dict(positive=True, finite=True)
alpha = sp.Symbol("alpha", **_positive)
gamma = sp.Symbol("gamma", **_positive)
sigma_q = sp.Symbol("sigma_q", **_positive)
sigma_k = sp.Symbol("sigma_k", **_positive)
sigma_w = sp.Symbol("sigma_w", **_positive)
sigma2 = sp.Symbol("sigma2", **_positive)
# T and V are kept continuous so T can serve as a control parameter of the
# reduced free energy; integer-only statements substitute concrete values.
T = sp.Symbol("T", **_positive)
V = sp.Symbol("V", **_positive)
N = sp.Symbol("N", **_positive)
n = sp.Symbol("n", **_positive)

delta = sp.Symbol("delta", real=True)   # softmax gap: target logit minus the others
s = sp.Symbol("s", real=True)           # linear amplitude of the shift matrix
u = sp.Symbol("u", real=True)           # row-sum (constant Fourier) mode, one-hot linear only
x = sp.Symbol("x", real=True)           # generic scaled singular value
m = sp.Symbol("m", real=True)           # mean attention on the previous token
q = sp.Symbol("q", nonnegative=True)    # mean squared row norm of A
r = sp.Symbol("r", real=True)           # mean row sum of A
R = sp.Symbol("R", nonnegative=True)    # mean squared row sum of A
kappa = sp.Symbol("kappa", **_positive)
eps = sp.Symbol("eps", **_positive)
a = sp.Symbol("a", **_positive)
b = sp.Symbol("b", **_positive)
theta = sp.Symbol("theta", real=True)
lam = sp.Symbol("lam", **_positive)
c = sp.Symbol("c", real=True)
M = sp.Symbol("M", nonnegative=True)

#: model parameters in ModelSpec field order (the numeric knobs).
MODEL_PARAMS = (T, V, gamma, sigma_q, sigma_k, sigma_w, sigma2)
BY_NAME = {str(sym): sym for sym in (alpha, gamma, sigma_q, sigma_k, sigma_w, sigma2, T, V, N, n,
                                     delta, s, u, x, m, q, r, R, kappa, eps, a, b, theta, lam, c, M)}


def latex(expr, **kwargs) -> str:
    """sympy.latex with the project's symbol names."""
    names = {sym: LATEX_NAMES[str(sym)] for sym in getattr(expr, "free_symbols", ()) if str(sym) in LATEX_NAMES}
    return sp.latex(expr, symbol_names=names, **kwargs)
