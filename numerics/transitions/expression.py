"""Safe parser for free energies typed by a user (``--free-energy EXPR``).

The text is parsed by Python's ``ast`` module into a syntax tree and *that
tree* is translated node by node into SymPy: nothing is ever passed to
``eval``. Allowed: numbers, names, + - * / ** (and ^ as power), unary minus,
parentheses and calls of whitelisted functions. Refused: attribute access,
subscripts, keywords, lambdas, comprehensions, strings, dunder names, and any
name that is neither an order parameter, the control, a --param, nor a
whitelisted constant. Every refusal is an InvalidParameterError naming the
offending item.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

import sympy as sp

from copyhead.errors import InvalidParameterError

FUNCTIONS = {
    "exp": sp.exp, "log": sp.log, "ln": sp.log, "sqrt": sp.sqrt, "cosh": sp.cosh, "sinh": sp.sinh,
    "tanh": sp.tanh, "cos": sp.cos, "sin": sp.sin, "tan": sp.tan, "atan": sp.atan, "atanh": sp.atanh,
    "asinh": sp.asinh, "acosh": sp.acosh, "abs": sp.Abs, "Abs": sp.Abs, "erf": sp.erf,
    "logcosh": lambda z: sp.log(sp.cosh(z)),
}
CONSTANTS = {"pi": sp.pi, "E": sp.E, "e": sp.E}
MAX_LENGTH = 10_000
MAX_EXPONENT = 1000

_BINOPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
           ast.Div: lambda a, b: a / b, ast.Pow: lambda a, b: a ** b}


@dataclass(frozen=True)
class ParsedFreeEnergy:
    """expr: the SymPy free energy; order_params/control/params: its Symbols (params in given order)."""

    text: str
    expr: sp.Expr
    order_params: tuple
    control: sp.Symbol
    params: tuple


def _symbol(name: str) -> sp.Symbol:
    return sp.Symbol(name, real=True)


def _check_name(option: str, name: str, kind: str) -> str:
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
        raise InvalidParameterError(option, f"{kind} name {name!r} must be an identifier not starting with '_'")
    if name in FUNCTIONS or name in CONSTANTS:
        raise InvalidParameterError(option, f"{kind} name {name!r} is reserved (function or constant)")
    return name


def parse_free_energy(text: str, order_params, control: str, params=(), *, option: str = "free-energy"
                      ) -> ParsedFreeEnergy:
    """Parse ``text`` into a SymPy expression in the given names (all real Symbols)."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidParameterError(option, "empty expression")
    if len(text) > MAX_LENGTH:
        raise InvalidParameterError(option, f"expression longer than {MAX_LENGTH} characters")
    order_params = [_check_name("order-params", n, "order parameter") for n in order_params]
    if not order_params:
        raise InvalidParameterError("order-params", "give at least one order parameter")
    control = _check_name("control", control, "control")
    params = [_check_name("param", n, "parameter") for n in params]
    names = order_params + [control] + params
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InvalidParameterError("order-params", f"name {dup[0]!r} is used twice (order parameters, control and --param names must differ)")
    table = {n: _symbol(n) for n in names}
    try:
        # '^' means power (as in most notations); Python would read it as xor with lower precedence than +
        tree = ast.parse(text.strip().replace("^", "**"), mode="eval")
    except SyntaxError as exc:
        raise InvalidParameterError(option, f"not a valid expression ({exc.msg} at column {exc.offset})") from None
    unknown: list[str] = []
    expr = _convert(tree.body, table, unknown, option)
    if unknown:
        names_ = ", ".join(sorted(set(unknown)))
        raise InvalidParameterError(option, f"unknown symbol(s) {names_}; declare them with --order-params, "
                                            f"--control or --param NAME=VALUE")
    if not isinstance(expr, sp.Expr) or expr.is_number is None and not expr.free_symbols:
        raise InvalidParameterError(option, "expression does not evaluate to a scalar")
    missing = [n for n in order_params if table[n] not in expr.free_symbols]
    if missing:
        raise InvalidParameterError("order-params", f"order parameter(s) {', '.join(missing)} do not appear in the free energy")
    return ParsedFreeEnergy(text, expr, tuple(table[n] for n in order_params), table[control],
                            tuple(table[n] for n in params))


def _convert(node, table, unknown, option):
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise InvalidParameterError(option, f"only numbers are allowed as literals, got {node.value!r}")
        if isinstance(node.value, int):
            return sp.Integer(node.value)
        return sp.Rational(repr(node.value))   # exact decimal, so --digits refinement is meaningful
    if isinstance(node, ast.Name):
        name = node.id
        if name.startswith("_"):
            raise InvalidParameterError(option, f"name {name!r} is not allowed")
        if name in table:
            return table[name]
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in FUNCTIONS:
            raise InvalidParameterError(option, f"function {name!r} must be called, e.g. {name}(x)")
        unknown.append(name)
        return sp.Integer(0)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        left = _convert(node.left, table, unknown, option)
        right = _convert(node.right, table, unknown, option)
        if isinstance(node.op, ast.Pow) and right.is_number and (not right.is_finite or abs(right) > MAX_EXPONENT):
            raise InvalidParameterError(option, f"exponent {right} too large (|exponent| <= {MAX_EXPONENT})")
        if isinstance(node.op, ast.Div) and right.is_zero:
            raise InvalidParameterError(option, "division by zero")
        return _BINOPS[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = _convert(node.operand, table, unknown, option)
        return -inner if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise InvalidParameterError(option, "only plain function calls like exp(x) are allowed")
        name = node.func.id
        if name not in FUNCTIONS:
            allowed = ", ".join(sorted(FUNCTIONS))
            raise InvalidParameterError(option, f"function {name!r} is not allowed; allowed: {allowed}")
        if node.keywords or len(node.args) != 1:
            raise InvalidParameterError(option, f"function {name!r} takes exactly one positional argument")
        return FUNCTIONS[name](_convert(node.args[0], table, unknown, option))
    if isinstance(node, ast.Attribute):
        raise InvalidParameterError(option, f"attribute access ('.{node.attr}') is not allowed")
    if isinstance(node, ast.BinOp):
        raise InvalidParameterError(option, f"operator {type(node.op).__name__} is not allowed")
    raise InvalidParameterError(option, f"{type(node).__name__} is not allowed in a free energy")


def parse_assignment(text: str, option: str = "param") -> tuple[str, float]:
    """'NAME=VALUE' -> (name, float value). VALUE may be a constant expression like 2*pi."""
    if not isinstance(text, str) or "=" not in text:
        raise InvalidParameterError(option, f"expected NAME=VALUE, got {text!r}")
    name, _, value = text.partition("=")
    name, value = name.strip(), value.strip()
    _check_name(option, name, "parameter")
    try:
        tree = ast.parse(value, mode="eval")
    except SyntaxError:
        raise InvalidParameterError(option, f"{name}: value {value!r} is not a number") from None
    unknown: list[str] = []
    expr = _convert(tree.body, {}, unknown, option)
    if unknown or not expr.is_number:
        raise InvalidParameterError(option, f"{name}: value {value!r} is not a number")
    number = float(expr)
    if number != number or number in (float("inf"), float("-inf")):
        raise InvalidParameterError(option, f"{name}: value {value!r} is not finite")
    return name, number
