"""SymPy -> Python source for numpy and mpmath, and a loader that runs only arithmetic.

``generate_source`` calls ``sp.cse`` and SymPy's code printers (the ones
lambdify uses) directly: lambdify's dummify pass, term sorting and walk over
implemented functions cost 4-9x more than the algebra (benchmarks/bench_derive.py).

``load_source`` is the only place generated code is executed. It first checks
the source against a whitelist of syntax (one function of positional arguments,
assignments, arithmetic, calls to whitelisted numpy/mpmath/math functions,
numeric constants), so a cache file or shipped source that was planted or
damaged cannot run anything but arithmetic.
"""
from __future__ import annotations

import ast
import hashlib
import math
import pathlib
import re

import mpmath
import numpy

MODULES = ("numpy", "mpmath")

#: Function and constant names generated code may use, per module (printers print them fully qualified).
#: A new whitelisted function in the expression parser needs its printed names here (numpy.vectorize only
#: ever wraps names that are themselves checked, e.g. math.erf).
ALLOWED_NAMES = {
    "numpy": frozenset({
        "sqrt", "exp", "expm1", "log", "log1p", "log2", "log10", "sin", "cos", "tan", "sinh", "cosh", "tanh",
        "arcsin", "arccos", "arctan", "arctan2", "arcsinh", "arccosh", "arctanh", "abs", "absolute", "sign",
        "select", "where", "less", "less_equal", "greater", "greater_equal", "equal", "not_equal",
        "logical_and", "logical_or", "logical_not", "heaviside", "maximum", "minimum", "amax", "amin", "power",
        "float64", "pi", "e", "inf", "nan", "euler_gamma", "hypot", "square", "cbrt", "real", "imag",
        "isnan", "isinf", "sinc", "vectorize",
    }),
    "mpmath": frozenset({
        "mpf", "mpc", "sqrt", "cbrt", "exp", "expm1", "log", "log1p", "ln", "sin", "cos", "tan", "sinh", "cosh",
        "tanh", "asin", "acos", "atan", "atan2", "asinh", "acosh", "atanh", "erf", "erfc", "sign", "fabs",
        "pi", "e", "inf", "nan", "euler", "hypot", "power", "re", "im", "floor", "ceil", "max", "min",
        "loggamma", "gamma",
    }),
    "math": frozenset({"erf", "erfc", "gamma", "lgamma", "sqrt", "exp", "log", "pi", "e", "inf", "nan", "fabs"}),
    "scipy.special": frozenset({"erf", "erfc", "gammaln", "gamma", "expit", "logit"}),
}
ALLOWED_BUILTINS = {"abs": abs, "min": min, "max": max, "float": float, "complex": complex}

_ARG = re.compile(r"_a\d+\Z")
_TEMP = re.compile(r"_c\d+\Z")
_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.USub, ast.UAdd, ast.Not, ast.And, ast.Or,
              ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Eq, ast.NotEq, ast.Mod, ast.FloorDiv, ast.BitAnd, ast.BitOr,
              ast.Invert)
_EXPRESSIONS = (ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.IfExp, ast.Call, ast.Constant, ast.Name,
                ast.Attribute, ast.List, ast.Tuple, ast.keyword, ast.Load) + _OPERATORS


class UnsafeSourceError(ValueError):
    """Generated source contains something other than arithmetic on its arguments."""


# ------------------------------------------------------------------ derivative blocks (SymPy)

def derivative_block(name: str, expr, order_params, control, memo: dict | None = None):
    """One of compiled.BLOCKS as a SymPy expression or nested list (custom Functions differentiate via fdiff).

    memo: a dict shared between calls for the same expr, so the hessian reuses the gradient and so on.
    """
    import sympy as sp

    memo = {} if memo is None else memo
    if name in memo:
        return memo[name]
    xs = list(order_params)

    def get(other):
        return derivative_block(other, expr, xs, control, memo)

    if name == "value":
        out = expr
    elif name == "gradient":
        out = [sp.diff(expr, v) for v in xs]
    elif name == "hessian":
        out = [[sp.diff(g, v) for v in xs] for g in get("gradient")]
    elif name == "third":
        out = [[[sp.diff(h, v) for v in xs] for h in row] for row in get("hessian")]
    elif name == "d_control":
        out = sp.diff(expr, control)
    elif name == "gradient_d_control":
        out = [sp.diff(g, control) for g in get("gradient")]
    elif name == "hessian_d_control":
        out = [[sp.diff(h, control) for h in row] for row in get("hessian")]
    elif name == "d2_control":
        out = sp.diff(get("d_control"), control)
    else:
        raise KeyError(name)
    memo[name] = out
    return out


def doit(obj):
    if isinstance(obj, list):
        return [doit(o) for o in obj]
    # "stable" rewrites (e.g. WishartRate) avoid floating-point cancellation
    return obj.rewrite("stable").doit() if hasattr(obj, "doit") else obj


# ------------------------------------------------------------------ source generation

def _flatten(obj, out):
    if isinstance(obj, (list, tuple)):
        return [_flatten(o, out) for o in obj]
    out.append(obj)
    return len(out) - 1


def _rebuild(shape, printed):
    if isinstance(shape, list):
        return "[" + ", ".join(_rebuild(s, printed) for s in shape) + "]"
    return printed[shape]


def _printer(module: str, names: dict):
    from sympy.printing.numpy import NumPyPrinter
    from sympy.printing.pycode import MpmathPrinter

    base = NumPyPrinter if module == "numpy" else MpmathPrinter

    class Printer(base):
        # arguments and cse temporaries print under positional names, so a user's symbol can never
        # collide with a module name (what lambdify's dummify did, without rebuilding the expression)
        def _print_Symbol(self, symbol):
            try:
                return names[symbol]
            except KeyError:
                raise ValueError(f"symbol {symbol} is not an argument of the generated function") from None

        _print_Dummy = _print_Symbol

    # order "none": print terms in SymPy's canonical argument order instead of sorting them again
    return Printer({"fully_qualified_modules": True, "inline": True, "allow_unknown_functions": False,
                    "order": "none"})


def generate_source(args, expr, module: str, *, cse: bool = True) -> str:
    """Python source of ``def f(_a0, _a1, ...)`` evaluating ``expr`` (an expression or nested lists of them)."""
    import sympy as sp

    flat: list = []
    shape = _flatten(expr, flat)
    flat = [sp.sympify(e) for e in flat]
    if cse:
        temps, reduced = sp.cse(flat, symbols=sp.numbered_symbols("_cse"), order="none")
    else:
        temps, reduced = [], flat
    names = {sym: f"_a{i}" for i, sym in enumerate(args)}
    names.update({sym: f"_c{i}" for i, (sym, _) in enumerate(temps)})
    printer = _printer(module, names)
    lines = [f"def f({', '.join(f'_a{i}' for i in range(len(args)))}):"]
    lines += [f"    {names[sym]} = {printer.doprint(value)}" for sym, value in temps]
    lines.append(f"    return {_rebuild(shape, [printer.doprint(e) for e in reduced])}")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ checked loading

def _dotted(node) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def check_source(source: str) -> ast.Module:
    """Parse and check ``source`` against the whitelist; raises UnsafeSourceError."""
    try:
        tree = ast.parse(source, mode="exec")
    except (SyntaxError, ValueError) as exc:
        raise UnsafeSourceError(f"not valid Python: {exc}") from None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.FunctionDef):
        raise UnsafeSourceError("expected exactly one function definition")
    fn = tree.body[0]
    a = fn.args
    if (fn.decorator_list or fn.returns or a.vararg or a.kwarg or a.kwonlyargs or a.posonlyargs or a.defaults
            or any(not _ARG.match(arg.arg) or arg.annotation for arg in a.args)):
        raise UnsafeSourceError("the function signature must be plain positional arguments _a0, _a1, ...")
    local = {arg.arg for arg in a.args}
    *assignments, ret = fn.body or [None]
    if not isinstance(ret, ast.Return) or ret.value is None:
        raise UnsafeSourceError("the function must end in one return statement")
    for stmt in assignments:
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name)
                and _TEMP.match(stmt.targets[0].id)):
            raise UnsafeSourceError(f"line {getattr(stmt, 'lineno', '?')}: only assignments to _c<n> are allowed")
        _check_expression(stmt.value, local)
        local.add(stmt.targets[0].id)
    _check_expression(ret.value, local)
    return tree


def _check_expression(node, local: set) -> None:
    for sub in ast.walk(node):
        if not isinstance(sub, _EXPRESSIONS):
            raise UnsafeSourceError(f"line {getattr(sub, 'lineno', '?')}: {type(sub).__name__} is not allowed")
        if isinstance(sub, ast.Constant) and not (isinstance(sub.value, (int, float, complex)) or sub.value is None):
            raise UnsafeSourceError(f"line {sub.lineno}: constant {sub.value!r} is not a number")
        if isinstance(sub, ast.Attribute):
            name = _dotted(sub)
            module, _, attr = (name or "").rpartition(".")
            if attr not in ALLOWED_NAMES.get(module, ()):
                raise UnsafeSourceError(f"line {sub.lineno}: {name or 'attribute'} is not a whitelisted function")
        if isinstance(sub, ast.Name):
            if not (sub.id in local or sub.id in ALLOWED_BUILTINS or sub.id in ("numpy", "mpmath", "math", "scipy")):
                raise UnsafeSourceError(f"line {sub.lineno}: name {sub.id} is not defined")
        if isinstance(sub, ast.Call) and isinstance(sub.func, ast.Name) and sub.func.id not in ALLOWED_BUILTINS:
            raise UnsafeSourceError(f"line {sub.lineno}: {sub.func.id} is not callable here")
    # a bare module name is only allowed as the root of a whitelisted attribute
    roots = {id(n.value) for n in ast.walk(node) if isinstance(n, ast.Attribute)}
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id in ("numpy", "mpmath", "math", "scipy") and id(sub) not in roots \
                and sub.id not in local:
            raise UnsafeSourceError(f"line {sub.lineno}: bare module name {sub.id}")


def _namespace(source: str) -> dict:
    namespace = {"__builtins__": dict(ALLOWED_BUILTINS), "numpy": numpy, "mpmath": mpmath, "math": math}
    if "scipy.special" in source:
        import scipy.special

        namespace["scipy"] = __import__("scipy")
        del scipy  # imported for its side effect: scipy.special is an attribute now
    return namespace


def load_source(source: str):
    """The function defined by ``source``, after check_source; raises UnsafeSourceError."""
    tree = check_source(source)
    namespace = _namespace(source)
    exec(compile(tree, "<copyhead-generated>", "exec"), namespace)  # checked above: arithmetic only
    return namespace["f"]


def source_digest(key: str, block: str, source: str) -> str:
    """Content hash binding a source to its cache key and block name."""
    return hashlib.sha256("\0".join((key, block, source)).encode()).hexdigest()


def fingerprint() -> str:
    """Hash of the theory sources and of this generator: editing either invalidates cached and shipped code."""
    here = pathlib.Path(__file__).resolve()
    digest = hashlib.sha256()
    for path in sorted(here.parent.parent.joinpath("theory").glob("*.py")) + [here]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]
