"""Issue 12: the Python API validates like the CLI, with typed errors naming the parameter."""
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from copyhead import CopyHeadModel, InvalidParameterError, ModelSpec
from copyhead.numerics.free_energy import local_minima
from copyhead.numerics.transitions import (auto_range, expression_problem, find_transitions, phase_diagram)


@pytest.fixture(scope="module")
def problem():
    return CopyHeadModel(ModelSpec()).problem()


@pytest.mark.parametrize("call,parameter", [
    (lambda p: find_transitions(p, 2.0, 20.0, n_grid=0), "n_grid"),            # failed before: accepted
    (lambda p: find_transitions(p, "2", 20.0), "range"),                        # before: TypeError
    (lambda p: find_transitions(p, math.nan, 20.0), "range"),
    (lambda p: find_transitions(p, 2.0, 20.0, digits="x"), "digits"),           # before: TypeError
    (lambda p: find_transitions("softmax", 2.0, 20.0), "problem"),              # before: AttributeError
    (lambda p: auto_range(None), "problem"),
    (lambda p: CopyHeadModel("softmax").problem(), "spec"),                               # before: AttributeError
    (lambda p: CopyHeadModel(ModelSpec()).problem(alpha=math.nan), "alpha"),
    (lambda p: phase_diagram(p, "T", (1.5, 8.0)), "second_range"),              # failed before: accepted
    (lambda p: phase_diagram(p, "gamma", (-1.0, 2.0)), "second_range"),
    (lambda p: phase_diagram(p, "T", (4.0, 8.0), n_points=0), "n_points"),
    (lambda p: phase_diagram(p, "T", (4.0, 8.0), control_range=(math.nan, 3.0)), "control_range"),
    (lambda p: phase_diagram(p, "Tee", (4.0, 8.0)), "Tee"),
    (lambda p: expression_problem("a*x^2 + x^4", ["x"], "a", {"w": math.nan}), "param w"),  # before: accepted
    (lambda p: expression_problem("a*x^2 + x^4", "x", "a"), "order_params"),
    (lambda p: expression_problem(3, ["x"], "a"), "text"),
    (lambda p: local_minima(ModelSpec(), "6"), "alpha"),
    (lambda p: local_minima("softmax", 6.0), "spec"),
])
def test_api_refuses_with_a_typed_error_naming_the_parameter(problem, call, parameter):
    with pytest.raises(InvalidParameterError) as info:
        call(problem)
    assert info.value.parameter == parameter and "\n" not in str(info.value)


@pytest.mark.parametrize("field,value", [("T", "16"), ("T", 2.5), ("gamma", math.nan), ("sigma2", None),
                                         ("attention", ["softmax"]), ("sigma2", 1e-300)])
def test_model_spec_refuses_wrong_types_and_values(field, value):
    with pytest.raises(InvalidParameterError) as info:
        ModelSpec(**{field: value})
    assert info.value.parameter == field


junk = st.one_of(st.none(), st.text(max_size=3), st.just(math.nan), st.just(math.inf), st.just(-math.inf),
                 st.booleans(), st.lists(st.integers(), max_size=2), st.integers(-10, 0))


@settings(max_examples=40, deadline=None)
@given(lo=junk, hi=st.one_of(junk, st.just(20.0)), n_grid=st.one_of(junk, st.just(49)))
def test_find_transitions_junk_arguments_are_typed_errors(problem, lo, hi, n_grid):
    """Whatever junk comes in: an InvalidParameterError naming range or n_grid, never a raw Python error."""
    with pytest.raises(InvalidParameterError) as info:
        find_transitions(problem, lo, hi, n_grid=n_grid)
    assert info.value.parameter in ("range", "n_grid")
