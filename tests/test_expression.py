"""User-typed free energies: exact literals, one-line refusals of complex/infinite/oversized input, bounded symbolic
cost, every whitelisted function in every generated block, and the CLI's argument parsing."""
from __future__ import annotations

import json

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from catalogue import time_limit
from copyhead.cli import build_parser
from copyhead.cli import main as cli_main
from copyhead.errors import InvalidParameterError
from copyhead.numerics.compiled import BLOCKS, compile_free_energy
from copyhead.numerics.transitions.expression import (FUNCTIONS, MAX_LENGTH, domain_indicator, domain_violation,
                                                      parse_assignment, parse_free_energy)

LITERAL = "0.1234567890123456789012345"       # 25 significant digits: a double keeps 17
TOWER = "^".join(["x"] * 25)                  # 49 characters


def cli(argv, capsys):
    capsys.readouterr()
    code = cli_main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# ------------------------------------------------------------------ exact literals

def test_decimal_literal_kept_exact():
    parsed = parse_free_energy(f"(t - {LITERAL})*x^2 + x^4", ["x"], "t")
    t = sp.Symbol("t", real=True)
    assert parsed.expr.coeff(sp.Symbol("x", real=True), 2) == t - sp.Rational(LITERAL)
    assert parse_free_energy("1.5e-3*x + t*x^2", ["x"], "t").expr.coeff(sp.Symbol("x", real=True), 1) == \
        sp.Rational(3, 2000)


@pytest.mark.parametrize("text, control, critical", [
    (f"(t - {LITERAL})*x^2 + x^4", "t", LITERAL),                          # second order at t = literal
    (f"(a - {LITERAL})*x^2 - x^3 + x^4", "a", "0.3734567890123456789012345"),  # first order at 1/4 + literal
])
def test_digits_refine_the_free_energy_as_typed(text, control, critical, capsys):
    code, out, err = cli(["transition", "--free-energy", text, "--order-params", "x", "--control", control,
                          "--range", "-1e-3", "1", "--digits", "30", "--json"], capsys)
    assert code == 0, err
    (tr,) = json.loads(out)["transitions"]
    digits = tr["critical_value_digits"]
    # a literal rounded to double would differ from the 18th digit on
    assert mpmath.mpf(digits) == mpmath.mpf(critical) or abs(mpmath.mpf(digits) - mpmath.mpf(critical)) < 1e-28


# ------------------------------------------------------------------ one-line refusals

@pytest.mark.parametrize("text, fragment", [
    ("t*x^2 + sqrt(-1)*x", "sqrt(-1) is not real"),
    ("t*x^2 + log(-1)*x", "log(-1) is not real"),
    ("t*x^2 + log(0)*x", "log(0) is not finite"),
    ("t*x^2 + acosh(0.5)*x", "acosh(0.5) is not real"),
    ("t*x^2 + atanh(2)*x", "atanh(2) is not real"),
    ("t*x^2 + sqrt(-1 - x^2)", "sqrt(-1 - x^2) is not real for any real value"),
    ("t*x^2 + 1e400*x", "1e400 = "),
    ("t*x^2 + 999^999*x", "999^999 = "),
    ("t*x^2 + 1e-400*x", "outside double precision"),
    ("t*x^2 + exp(1000)*x", "exp(1000) = "),
    ("t*x^2 + 2j*x", "imaginary literal"),
    ("t*x^2 + x^2/(1 - 1)", "division by zero"),
    (TOWER + " + t*x", "too large to compile"),
    ("t*x + " + "exp(" * 120 + "x" + ")" * 120, "nested"),
    ("t*x + " + "(" * 300 + "x" + ")" * 300, "--free-energy:"),
    ("t*x + " + "-" * 6000 + "x", "nested too deeply"),         # beyond Python's own parser stack
])
def test_bad_terms_give_one_line_errors(text, fragment, capsys):
    with time_limit(20):
        code, out, err = cli(["transition", "--free-energy", text, "--order-params", "x", "--control", "t",
                              "--range", "-1", "1"], capsys)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "internal error" not in err and "Traceback" not in err, err
    assert lines[0].startswith("copyhead: error: --free-energy:") and fragment in lines[0], lines[0]


def test_param_values_checked_in_terms(capsys):
    code, _, err = cli(["transition", "--free-energy", "t*x^2 + x^4 + log(a)*x", "--order-params", "x", "--control",
                        "t", "--range", "-1", "1", "--param", "a=-1"], capsys)
    assert code == 2 and "log(a) is not real at a = -1" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(InvalidParameterError, match="h: 1e400"):
        parse_assignment("h=1e400")
    with pytest.raises(InvalidParameterError, match="h: log"):
        parse_assignment("h=log(-2)")


@pytest.mark.parametrize("extra, fragment", [
    (["--param", "a=1", "--param", "b=1"], "--param: a does not appear in the free energy"),
    (["--param", "b=2", "--param", "a=1"], "--param: a does not appear"),
])
def test_unused_param_refused(extra, fragment, capsys):
    code, _, err = cli(["transition", "--free-energy", "t*x^2 + b*x^4", "--order-params", "x", "--control", "t",
                        "--range", "-1", "1", *extra], capsys)
    assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1


def test_absent_control_refused(capsys):
    code, _, err = cli(["transition", "--free-energy", "x^2 + x^4", "--order-params", "x", "--control", "t",
                        "--range", "-1", "1"], capsys)
    assert code == 2 and "--control: t does not appear in the free energy" in err


def test_domain_indicator_masks_points_outside():
    parsed = parse_free_energy("t*x + acosh(x)^2 + y*log(y)", ["x", "y"], "t")
    inside = domain_indicator(parsed)
    xs = np.array([0.5, 1.0, 2.0, 3.0])
    assert inside(xs, np.array([0.5, 0.5, -1.0, 0.2]), 1.0).tolist() == [False, True, False, True]
    assert inside(2.0, 0.5, 1.0).shape == ()
    # the point is outside although the complex continuation is real there: acosh(1/2)^2 = -pi^2/9
    with mpmath.workdps(30):
        assert abs(mpmath.acosh(0.5) ** 2 + mpmath.pi ** 2 / 9) < 1e-25
    assert domain_indicator(parse_free_energy("t*x^2 + x^4", ["x"], "t"))(xs, 0.0).all()


def test_runtime_domain_names_the_term():
    parsed = parse_free_energy("t*x + acosh(x) + y*log(y) + atanh(x/4)", ["x", "y"], "t")
    assert {c.term for c in parsed.domain} == {"acosh(x)", "log(y)", "atanh(x/4)"}
    assert domain_violation(parsed, {"x": 2.0, "y": 0.5, "t": 1.0}) is None
    message = domain_violation(parsed, {"x": 0.5, "y": 0.5, "t": 1.0})
    assert message.startswith("acosh(x) is not real at x = 0.5")
    assert "log(y)" in domain_violation(parsed, {"x": 2.0, "y": -0.5, "t": 1.0})


# ------------------------------------------------------------------ bounded cost and length

def test_power_tower_refused_quickly():
    with time_limit(20), pytest.raises(InvalidParameterError, match="too large to compile"):
        parse_free_energy(TOWER + " + t*x", ["x"], "t")


def test_expressions_up_to_the_length_limit_parse():
    terms, k = [], 0
    while len(" + ".join(terms)) < MAX_LENGTH - 40:
        terms.append(f"{k % 7 + 1}/{k % 5 + 2}*x^{k % 40}*t^{k % 3}")
        k += 1
    text = " + ".join(terms)
    assert MAX_LENGTH - 40 <= len(text) <= MAX_LENGTH
    with time_limit(60):
        parsed = parse_free_energy(text, ["x"], "t")                 # a sum of ~600 terms: no RecursionError
        product = parse_free_energy("t*" + "*".join(["x"] * 4000), ["x"], "t")
        signs = parse_free_energy("t*x + " + "-" * 3000 + "x^2", ["x"], "t")
        many = parse_free_energy("t*x^2+" + "+".join(["x^4"] * 2400), ["x"], "t")   # the 2400 terms of issue 12
    x, t = sp.Symbol("x", real=True), sp.Symbol("t", real=True)
    assert parsed.expr.is_Add and product.expr == t * x**4000
    assert signs.expr == t * x + x**2 and many.expr == t * x**2 + 2400 * x**4
    with pytest.raises(InvalidParameterError, match="longer than"):
        parse_free_energy("x + " * 2500 + "t", ["x"], "t")


# ------------------------------------------------------------------ every function in every block

# argument offset keeping each function inside its domain at the test points
_OFFSET = {"acosh": 2.0, "atanh": 0.1, "log": 1.5, "ln": 1.5, "sqrt": 1.5, "abs": 0.0, "Abs": 0.0}
_MP = {"exp": mpmath.exp, "log": mpmath.log, "ln": mpmath.log, "sqrt": mpmath.sqrt, "cosh": mpmath.cosh,
       "sinh": mpmath.sinh, "tanh": mpmath.tanh, "cos": mpmath.cos, "sin": mpmath.sin, "tan": mpmath.tan,
       "atan": mpmath.atan, "atanh": mpmath.atanh, "asinh": mpmath.asinh, "acosh": mpmath.acosh, "abs": abs,
       "Abs": abs, "erf": mpmath.erf, "logcosh": lambda z: mpmath.log(mpmath.cosh(z))}
_POINTS = ((0.3, -0.2, 0.7), (-0.35, 0.25, -0.4))    # the argument x/4 + y/8 changes sign between them


def _reference(name, block, x, y, t):
    """The block by mpmath.diff on an mpmath formula typed independently (50 digits)."""
    with mpmath.workdps(50):
        c = mpmath.mpf(_OFFSET.get(name, 0.5))

        def f(x_, y_, t_):
            return t_ * t_ * _MP[name](x_ / 4 + y_ / 8 + c) + x_ * x_ * y_

        xs = [mpmath.mpf(v) for v in (x, y, t)]

        def d(*orders):
            return float(mpmath.diff(f, xs, orders))

        def grad(c):
            return [d(1, 0, c), d(0, 1, c)]

        def hess(c):
            return [[d(2, 0, c), d(1, 1, c)], [d(1, 1, c), d(0, 2, c)]]
        blocks = {"value": lambda: d(0, 0, 0), "gradient": lambda: grad(0), "hessian": lambda: hess(0),
                  "third": lambda: [[[d(*np.bincount([i, j, k], minlength=3)) for k in range(2)] for j in range(2)]
                                    for i in range(2)],
                  "d_control": lambda: d(0, 0, 1), "gradient_d_control": lambda: grad(1),
                  "hessian_d_control": lambda: hess(1), "d2_control": lambda: d(0, 0, 2)}
        return blocks[block]()


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_in_every_block(name):
    c = _OFFSET.get(name, 0.5)
    parsed = parse_free_energy(f"t^2*{name}(x/4 + y/8 + {c}) + x^2*y", ["x", "y"], "t")
    compiled = compile_free_energy(parsed.expr, parsed.order_params, parsed.control, parsed.params)
    for x, y, t in _POINTS:
        for block in BLOCKS:
            want = np.array(_reference(name, block, x, y, t), dtype=float)
            got = np.broadcast_to(compiled.block(block, [x, y], t, []), want.shape)
            assert np.allclose(got, want, rtol=1e-9, atol=1e-12), (name, block, got, want)
            with mpmath.workdps(30):
                exact = np.array(compiled.mp_block(block, [x, y], t, []), dtype=object)
            exact = np.broadcast_to(np.vectorize(float, otypes=[float])(exact), want.shape)
            assert np.allclose(exact, want, rtol=1e-12, atol=1e-14), (name, block, "mpmath", exact, want)


def test_abs_kink_model_compiles_with_piecewise_derivatives():
    parsed = parse_free_energy("t*x^2 + abs(x)^3", ["x"], "t")
    compiled = compile_free_energy(parsed.expr, parsed.order_params, parsed.control, parsed.params)
    for x in (-0.4, 0.4):
        assert compiled.block("hessian", [x], 0.1, [])[0][0] == pytest.approx(0.2 + 6 * abs(x))
        assert compiled.block("third", [x], 0.1, [])[0][0][0] == pytest.approx(6 * np.sign(x))


# ------------------------------------------------------------------ command-line parsing

@pytest.mark.parametrize("argv", [
    ["transition", "--free-energy", "t*x^2 + x^4", "--order-params", "x", "--control", "t", "--range", "-1e-3", "1"],
    ["transition", "--free-energy", "t*x^2 + x^4", "--order-params", "x", "--control", "t", "--range", "-2.5E+0",
     "-.5e-1"],
    ["phase-diagram", "--free-energy", "a*x^2 + b*x^4 + x^6", "--order-params", "x", "--control", "a", "--range",
     "-5e-1", "6e-1", "--param", "b=-1e-1", "--second-control", "b", "--second-range", "-1e0", "1e0"],
])
def test_negative_scientific_numbers_accepted(argv):
    args = build_parser().parse_args(argv)
    assert float(args.range[0]) < 0
    if "--second-range" in argv:
        assert float(args.second_range[0]) == -1.0


def test_negative_scientific_range_runs(capsys):
    code, out, err = cli(["transition", "--free-energy", "t*x^2 + x^4", "--order-params", "x", "--control", "t",
                          "--range", "-1e-3", "1e-2", "--json"], capsys)
    assert code == 0, err
    (tr,) = json.loads(out)["transitions"]
    assert tr["kind"] == "second-order" and abs(tr["critical_value"]) < 1e-12


# ------------------------------------------------------------------ random input never escapes as a raw error

_TOKENS = ["x", "t", "a", "1e400", "999", "0.5", "2j", "1e-400", "pi", "e", "^", "*", "+", "-", "/", "(", ")",
           "log(", "sqrt(", "acosh(", "atanh(", "abs(", "erf(", "exp(", "logcosh(", ",", "x^x^x", "0"]


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.lists(st.sampled_from(_TOKENS), min_size=1, max_size=25))
def test_random_token_strings_give_typed_errors_only(tokens):
    text = "".join(tokens)
    with time_limit(20):
        try:
            parsed = parse_free_energy(text, ["x"], "t", ["a"], param_values={"a": -0.5})
        except InvalidParameterError as exc:
            assert "\n" not in str(exc)
            return
    assert not parsed.expr.has(sp.I, sp.zoo, sp.nan, sp.oo)
