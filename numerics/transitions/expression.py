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
import sys
from dataclasses import dataclass

import sympy as sp

from copyhead.errors import InvalidParameterError


class _Kink(sp.Function):
    """A real function of one real argument with a kink at 0, differentiated piecewise (no DiracDelta)."""

    nargs = 1
    is_extended_real = True
    _exact = None        # the SymPy function used on numbers
    _parity = 1          # f(-u) = _parity * f(u)

    @classmethod
    def eval(cls, arg):
        if arg.is_number:
            return cls._exact(arg)
        known = cls._where_sign_known(arg)
        if known is not None:
            return known
        if arg.could_extract_minus_sign():
            return cls._parity * cls(-arg)

    def _latex(self, printer, exp=None):
        body = self._latex_form % printer._print(self.args[0])
        return body if exp is None else f"{body}^{{{exp}}}"


class KinkAbs(_Kink):
    """|u|: d|u|/du = sgn u, and the delta at the kink is dropped (SymPy's Abs would put DiracDelta into the
    Hessian, which no numeric back end evaluates)."""

    is_extended_nonnegative = True
    _exact = sp.Abs
    _latex_form = r"\left|%s\right|"

    @staticmethod
    def _where_sign_known(arg):
        if arg.is_extended_nonnegative:
            return arg
        if arg.is_extended_nonpositive:
            return -arg
        return None

    def fdiff(self, argindex=1):
        return KinkSign(self.args[0])

    def _eval_power(self, exponent):
        if exponent.is_integer and exponent.is_even:
            return self.args[0] ** exponent

    def _numpycode(self, printer):
        return f"abs({printer._print(self.args[0])})"

    _mpmathcode = _pythoncode = _numpycode

    def _sympystr(self, printer):
        return f"abs({printer._print(self.args[0])})"


class KinkSign(_Kink):
    """sgn u with derivative 0 (piecewise, as KinkAbs)."""

    _exact = sp.sign
    _parity = -1
    _latex_form = r"\operatorname{sgn}\left(%s\right)"

    @staticmethod
    def _where_sign_known(arg):
        if arg.is_extended_positive:
            return sp.S.One
        if arg.is_extended_negative:
            return sp.S.NegativeOne
        return None

    def fdiff(self, argindex=1):
        return sp.S.Zero

    def _numpycode(self, printer):
        return f"numpy.sign({printer._print(self.args[0])})"

    def _mpmathcode(self, printer):
        return f"mpmath.sign({printer._print(self.args[0])})"


class Erf(sp.erf):
    """erf, printed for numpy as math.erf elementwise (numpy has no erf; SciPy is not in the generated code)."""

    def _numpycode(self, printer):
        return f"numpy.vectorize(math.erf, otypes=[float])({printer._print(self.args[0])})"

    def _mpmathcode(self, printer):
        return f"mpmath.erf({printer._print(self.args[0])})"


FUNCTIONS = {
    "exp": sp.exp, "log": sp.log, "ln": sp.log, "sqrt": sp.sqrt, "cosh": sp.cosh, "sinh": sp.sinh,
    "tanh": sp.tanh, "cos": sp.cos, "sin": sp.sin, "tan": sp.tan, "atan": sp.atan, "atanh": sp.atanh,
    "asinh": sp.asinh, "acosh": sp.acosh, "abs": KinkAbs, "Abs": KinkAbs, "erf": Erf,
    "logcosh": lambda z: sp.log(sp.cosh(z)),
}
CONSTANTS = {"pi": sp.pi, "E": sp.E, "e": sp.E}
MAX_LENGTH = 10_000
MAX_EXPONENT = 1000
MAX_DEPTH = 100                 # nesting of the SymPy tree (SymPy and the printers recurse on it)
MAX_DERIVATIVE_NODES = 100_000  # estimated size of all third derivatives (compile time grows with it)
_DOUBLE_MAX_EXACT = sp.Rational(1.7976931348623157e308)
_DOUBLE_MIN_EXACT = sp.Rational(2.2250738585072014e-308)   # smallest normal double: smaller constants lose digits

_BINOPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
           ast.Div: lambda a, b: a / b, ast.Pow: lambda a, b: a ** b}


@dataclass(frozen=True)
class DomainCondition:
    """The term (as typed) is real only where ``expr relation 0`` (relation '>' or '>=')."""

    term: str
    expr: sp.Expr
    relation: str

    def holds(self, values: dict) -> bool:
        """values: {Symbol or name: number}; False also when the condition cannot be evaluated there."""
        number = self.expr.subs({(sp.Symbol(k, real=True) if isinstance(k, str) else k): v for k, v in values.items()})
        try:
            number = float(number)
        except (TypeError, ValueError):
            return False
        return number > 0 if self.relation == ">" else number >= 0


@dataclass(frozen=True)
class ParsedFreeEnergy:
    """expr: the SymPy free energy; order_params/control/params: its Symbols (params in given order);
    domain: where each term with a restricted domain (log, sqrt, acosh, atanh, fractional powers) is real."""

    text: str
    expr: sp.Expr
    order_params: tuple
    control: sp.Symbol
    params: tuple
    domain: tuple = ()


def domain_indicator(parsed: ParsedFreeEnergy):
    """A vectorised numpy function (*order_params, control, *params) -> bool array, True where every restricted term
    is real. Needed because the complex continuation can be real outside the domain (acosh(x)^2 = -pi^2/9 at
    x = 1/2), so the value itself does not always show that a point is outside."""
    import numpy

    args = [*parsed.order_params, parsed.control, *parsed.params]
    conditions = [(c.expr > 0) if c.relation == ">" else (c.expr >= 0) for c in parsed.domain]
    if not conditions:
        return lambda *values: numpy.ones(numpy.broadcast(*values).shape, dtype=bool)
    test = sp.lambdify(args, sp.And(*conditions), modules="numpy")

    def indicator(*values):
        with numpy.errstate(invalid="ignore"):
            return numpy.broadcast_to(numpy.asarray(test(*values), dtype=bool), numpy.broadcast(*values).shape)
    return indicator


def domain_violation(parsed: ParsedFreeEnergy, values: dict) -> str | None:
    """None if every term is real at ``values`` ({name: number}), else a one-line reason naming the term."""
    for cond in parsed.domain:
        if not cond.holds(values):
            used = sorted(str(s) for s in cond.expr.free_symbols)
            at = ", ".join(f"{n} = {float(values[n]):g}" for n in used if n in values)
            return f"{cond.term} is not real at {at} (needs {cond.expr} {cond.relation} 0)"
    return None


def _symbol(name: str) -> sp.Symbol:
    return sp.Symbol(name, real=True)


def _check_name(option: str, name: str, kind: str) -> str:
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
        raise InvalidParameterError(option, f"{kind} name {name!r} must be an identifier not starting with '_'")
    if name in FUNCTIONS or name in CONSTANTS:
        raise InvalidParameterError(option, f"{kind} name {name!r} is reserved (function or constant)")
    return name


def parse_free_energy(text: str, order_params, control: str, params=(), *, option: str = "free-energy",
                      param_values: dict | None = None) -> ParsedFreeEnergy:
    """Parse ``text`` into a SymPy expression in the given names (all real Symbols).

    Refused, each with a one-line InvalidParameterError: anything but numbers, names, arithmetic and whitelisted
    calls; unknown names; an order parameter, the control or a parameter that does not appear; a term that is
    complex, infinite or outside double precision (for constant terms, and for terms that are constant once
    ``param_values`` are substituted); nesting deeper than MAX_DEPTH; derivatives too large to compile.
    Decimal literals are kept exactly as typed (as Rationals).
    """
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
    substitutions = None
    if param_values is not None:
        substitutions = {table[n]: sp.Rational(repr(float(v))) for n, v in param_values.items() if n in table}
    source = text.strip().replace("^", "**")
    tree = _parse_tree(source, option)
    unknown: list[str] = []
    converter = _Converter(source, table, unknown, option, substitutions, "**" not in text)
    expr = converter.run(tree.body)
    if unknown:
        names_ = ", ".join(sorted(set(unknown)))
        raise InvalidParameterError(option, f"unknown symbol(s) {names_}; declare them with --order-params, "
                                            f"--control or --param NAME=VALUE")
    if not isinstance(expr, sp.Expr) or expr.is_number is None and not expr.free_symbols:
        raise InvalidParameterError(option, "expression does not evaluate to a scalar")
    present = expr.free_symbols
    missing = [n for n in order_params if table[n] not in present]
    if missing:
        raise InvalidParameterError("order-params", f"order parameter(s) {', '.join(missing)} do not appear in the free energy")
    if table[control] not in present:
        raise InvalidParameterError("control", f"{control} does not appear in the free energy")
    unused = [n for n in params if table[n] not in present]
    if unused:
        raise InvalidParameterError("param", f"{', '.join(unused)} does not appear in the free energy")
    _check_cost(expr, [table[n] for n in order_params], option)
    return ParsedFreeEnergy(text, expr, tuple(table[n] for n in order_params), table[control],
                            tuple(table[n] for n in params), tuple(converter.domain))


def _parse_tree(source: str, option: str):
    # ast.parse builds a sum of n terms n levels deep, against the recursion limit: allow what fits in MAX_LENGTH
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 2 * MAX_LENGTH + 1000))
    try:
        return ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise InvalidParameterError(option, f"not a valid expression ({exc.msg} at column {exc.offset})") from None
    except (RecursionError, MemoryError):
        raise InvalidParameterError(option, "expression nested too deeply") from None
    finally:
        sys.setrecursionlimit(limit)


def _nodes_and_depth(expr) -> tuple:
    """Tree size and depth, without recursion."""
    count, deepest, stack = 0, 0, [(expr, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        deepest = max(deepest, depth)
        stack.extend((a, depth + 1) for a in node.args)
    return count, deepest


def _check_cost(expr, xs, option):
    """Bound the symbolic cost before anything is compiled: nesting depth, and the size of the third
    derivatives, extrapolated from the first two (each derivative multiplies the size by about the same factor),
    so that e.g. a power tower x^x^...^x is refused in a second instead of hanging in differentiation."""
    nodes, depth = _nodes_and_depth(expr)
    if depth > MAX_DEPTH:
        raise InvalidParameterError(option, f"expression nested {depth} levels deep (at most {MAX_DEPTH})")
    k = len(xs)
    n_third = k * (k + 1) * (k + 2) // 6          # distinct third derivatives
    estimate = 0.0
    for v in xs:
        d1 = sp.diff(expr, v)
        n1 = max(_nodes_and_depth(d1)[0], 1)
        growth = max(n1 / nodes, 1.0)
        if n1 * growth * growth * n_third > MAX_DERIVATIVE_NODES:
            estimate = n1 * growth * growth * n_third
            break
        n2 = max(_nodes_and_depth(sp.diff(d1, v))[0], 1)
        estimate = max(estimate, n2 * max(n2 / n1, 1.0) * n_third)
        if estimate > MAX_DERIVATIVE_NODES:
            break
    if estimate > MAX_DERIVATIVE_NODES:
        raise InvalidParameterError(option, f"the derivatives of this expression are too large to compile (about "
                                            f"{estimate:.2g} terms, at most {MAX_DERIVATIVE_NODES:.0e}); simplify it")


def _is_chain(node, ops) -> bool:
    return isinstance(node, ast.BinOp) and isinstance(node.op, ops)


class _Converter:
    """AST -> SymPy without recursion (sums and products of any length, nesting up to MAX_DEPTH)."""

    def __init__(self, source, table, unknown, option, substitutions=None, caret=True):
        self.source, self.table, self.unknown, self.option = source, table, unknown, option
        self.substitutions = substitutions
        self.caret = caret
        self.domain: list[DomainCondition] = []

    def term(self, node) -> str:
        text = ast.get_source_segment(self.source, node) or ast.unparse(node)
        return text.replace("**", "^") if self.caret else text

    def run(self, root):
        # post-order with an explicit stack; a +/- (or */÷) chain is one node with all its operands
        stack, done = [(root, None)], []
        while stack:
            node, n = stack.pop()
            if n is None:
                children = self.children(node)
                stack.append((node, len(children)))
                stack.extend((c, None) for c in reversed(children))
                continue
            args = done[len(done) - n:] if n else []
            del done[len(done) - n:]
            done.append(self.checked(node, self.build(node, args)))
        return done[0]

    def children(self, node):
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            return self._chain(node, (ast.Add, ast.Sub))[0]
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div)):
            return self._chain(node, (ast.Mult, ast.Div))[0]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return [node.left, node.right]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return [node.operand]
        if isinstance(node, ast.Call):
            self._check_call(node)
            return [node.args[0]]
        self._check_leaf(node)
        return []

    @staticmethod
    def _chain(node, ops):
        """Operands and operators of a left-nested chain a op b op c ... (walked without recursion)."""
        rights, operators = [], []
        while _is_chain(node, ops):
            rights.append(node.right)
            operators.append(node.op)
            node = node.left
        return [node] + rights[::-1], operators[::-1]

    def _check_call(self, node):
        if not isinstance(node.func, ast.Name):
            raise InvalidParameterError(self.option, "only plain function calls like exp(x) are allowed")
        name = node.func.id
        if name not in FUNCTIONS:
            allowed = ", ".join(sorted(FUNCTIONS))
            raise InvalidParameterError(self.option, f"function {name!r} is not allowed; allowed: {allowed}")
        if node.keywords or len(node.args) != 1:
            raise InvalidParameterError(self.option, f"function {name!r} takes exactly one positional argument")

    def _check_leaf(self, node):
        if isinstance(node, (ast.Constant, ast.Name)):
            return
        if isinstance(node, ast.Attribute):
            raise InvalidParameterError(self.option, f"attribute access ('.{node.attr}') is not allowed")
        if isinstance(node, ast.BinOp):
            raise InvalidParameterError(self.option, f"operator {type(node.op).__name__} is not allowed")
        raise InvalidParameterError(self.option, f"{type(node).__name__} is not allowed in a free energy")

    def build(self, node, args):
        option = self.option
        if isinstance(node, ast.Constant):
            return self.literal(node)
        if isinstance(node, ast.Name):
            return self.name(node.id)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            ops = self._chain(node, (ast.Add, ast.Sub))[1]
            return sp.Add(args[0], *[a if isinstance(op, ast.Add) else -a for op, a in zip(ops, args[1:])])
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div)):
            ops = self._chain(node, (ast.Mult, ast.Div))[1]
            for op, a in zip(ops, args[1:]):
                if isinstance(op, ast.Div) and a.is_zero:
                    raise InvalidParameterError(option, "division by zero")
            return sp.Mul(args[0], *[a if isinstance(op, ast.Mult) else 1 / a for op, a in zip(ops, args[1:])])
        if isinstance(node, ast.BinOp):          # power
            base, exponent = args
            if exponent.is_number and (not exponent.is_finite or abs(exponent) > MAX_EXPONENT):
                raise InvalidParameterError(option, f"exponent {exponent} too large (|exponent| <= {MAX_EXPONENT})")
            if base.is_zero and exponent.is_number and exponent.is_negative:
                raise InvalidParameterError(option, "division by zero")
            return base ** exponent
        if isinstance(node, ast.UnaryOp):
            return -args[0] if isinstance(node.op, ast.USub) else args[0]
        return FUNCTIONS[node.func.id](args[0])

    def literal(self, node):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float, complex)):
            raise InvalidParameterError(self.option, f"only numbers are allowed as literals, got {value!r}")
        if isinstance(value, complex):
            raise InvalidParameterError(self.option, f"imaginary literal {self.term(node)} (the free energy is real)")
        if isinstance(value, int):
            return sp.Integer(value)
        # exact decimal as typed (a float would round it to 17 digits before --digits refinement)
        return sp.Rational(self.term(node).replace("_", ""))

    def name(self, name):
        if name.startswith("_"):
            raise InvalidParameterError(self.option, f"name {name!r} is not allowed")
        if name in self.table:
            return self.table[name]
        if name in CONSTANTS:
            return CONSTANTS[name]
        if name in FUNCTIONS:
            raise InvalidParameterError(self.option, f"function {name!r} must be called, e.g. {name}(x)")
        self.unknown.append(name)
        return sp.Integer(0)

    def checked(self, node, value):
        """A term must be real and finite, and a constant term must fit in double precision."""
        if isinstance(node, ast.Name) or not isinstance(value, sp.Expr):
            return value
        if value.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            self.refuse(node, "is not finite")
        if value.has(sp.I):
            self.refuse(node, "is not real")
        self._collect_domain(node, value)
        if value.is_number:
            self._check_number(node, value, "")
        elif self.substitutions and value.free_symbols <= set(self.substitutions):
            at = ", ".join(f"{s} = {float(v):g}" for s, v in self.substitutions.items() if s in value.free_symbols)
            self._check_number(node, value.subs(self.substitutions), f" at {at}")
        return value

    def _collect_domain(self, node, value):
        """Record where a restricted term is real; refuse it if it is real nowhere (e.g. sqrt(-1 - x^2))."""
        conditions = []
        if isinstance(node, ast.Call):
            name, arg = node.func.id, value.args[0] if value.args else None
            if name in ("log", "ln") and isinstance(value, sp.log):
                conditions = [(arg, ">")]
            elif name == "logcosh":
                conditions = []
            elif name == "sqrt":
                conditions = [(value.base, ">=")] if isinstance(value, sp.Pow) else []
            elif name == "acosh" and isinstance(value, sp.acosh):
                conditions = [(arg - 1, ">=")]
            elif name == "atanh" and isinstance(value, sp.atanh):
                conditions = [(1 - arg, ">"), (1 + arg, ">")]
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow) and isinstance(value, sp.Pow):
            if value.exp.is_number and not value.exp.is_integer:
                conditions = [(value.base, ">" if value.exp.is_negative else ">=")]
            elif not value.exp.is_number:
                conditions = [(value.base, ">")]      # x^y with a variable exponent
        for expr, relation in conditions:
            if expr.is_number:
                continue                              # constants are checked by value
            never = expr.is_negative if relation == ">=" else expr.is_nonpositive
            if never:
                self.refuse(node, "is not real for any real value of its arguments")
            always = expr.is_nonnegative if relation == ">=" else expr.is_positive
            if not always:
                self.domain.append(DomainCondition(self.term(node), expr, relation))

    def refuse(self, node, why):
        raise InvalidParameterError(self.option, f"{self.term(node)} {why}")

    def _check_number(self, node, value, where):
        if value.is_Rational:           # exact, and cheap for long literals and big integers
            magnitude = abs(value)
            if magnitude > _DOUBLE_MAX_EXACT or 0 < magnitude < _DOUBLE_MIN_EXACT:
                self.refuse(node, f"= {sp.N(value, 6)} is outside double precision{where}")
            return
        number = sp.N(value, 20)
        if number.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
            self.refuse(node, f"is not finite{where}")
        re, im = number.as_real_imag()
        if im != 0:
            self.refuse(node, f"is not real{where}")
        if abs(re) > _DOUBLE_MAX_EXACT or 0 < abs(re) < _DOUBLE_MIN_EXACT:
            self.refuse(node, f"= {sp.N(re, 6)} is outside double precision{where}")


def parse_assignment(text: str, option: str = "param") -> tuple[str, float]:
    """'NAME=VALUE' -> (name, float value). VALUE may be a constant expression like 2*pi."""
    if not isinstance(text, str) or "=" not in text:
        raise InvalidParameterError(option, f"expected NAME=VALUE, got {text!r}")
    name, _, value = text.partition("=")
    name, value = name.strip(), value.strip()
    _check_name(option, name, "parameter")
    try:
        tree = _parse_tree(value, option)
    except InvalidParameterError:
        raise InvalidParameterError(option, f"{name}: value {value!r} is not a number") from None
    unknown: list[str] = []
    try:
        expr = _Converter(value, {}, unknown, option, caret=False).run(tree.body)
    except InvalidParameterError as exc:
        raise InvalidParameterError(option, f"{name}: {exc.reason}") from None
    if unknown or not expr.is_number:
        raise InvalidParameterError(option, f"{name}: value {value!r} is not a number")
    number = float(expr)
    if number != number or number in (float("inf"), float("-inf")):
        raise InvalidParameterError(option, f"{name}: value {value!r} is not finite")
    return name, number
