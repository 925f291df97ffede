import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from copyhead import InvalidParameterError, ModelSpec


@pytest.mark.parametrize("field,value", [("T", 1), ("T", 2.5), ("T", True), ("V", 1), ("V", "16"), ("gamma", 0.0),
                                         ("gamma", math.inf), ("gamma", math.nan), ("sigma_q", -1.0),
                                         ("sigma_k", 0), ("sigma_w", math.inf), ("sigma2", -0.1),
                                         ("attention", "relu"), ("tokens", "bits"), ("prior", "laplace")])
def test_invalid_values_name_the_parameter(field, value):
    with pytest.raises(InvalidParameterError) as info:
        ModelSpec(**{field: value})
    assert info.value.parameter == field and str(info.value).startswith(field)


def test_spec_is_frozen_and_replace_validates():
    spec = ModelSpec()
    with pytest.raises(AttributeError):
        spec.T = 3
    assert spec.replace(T=4).T == 4
    with pytest.raises(InvalidParameterError, match="^T"):
        spec.replace(T=0)
    with pytest.raises(InvalidParameterError, match="^Tee"):
        spec.replace(Tee=3)


@given(T=st.integers(2, 10**6), V=st.integers(2, 10**6),
       gamma=st.floats(min_value=1e-100, max_value=1e100, allow_nan=False, allow_infinity=False))
def test_valid_values_accepted(T, V, gamma):
    """Inside DERIVED_RANGE (tests/test_hardening_numerics.py: outside it, refused naming the knob)."""
    spec = ModelSpec(T=T, V=V, gamma=gamma)
    assert (spec.T, spec.V, spec.gamma) == (T, V, gamma)


@given(value=st.one_of(st.floats(max_value=0.0), st.just(math.nan), st.just(math.inf), st.text(), st.none()))
def test_invalid_variances_always_rejected(value):
    with pytest.raises(InvalidParameterError, match="^sigma2"):
        ModelSpec(sigma2=value)
