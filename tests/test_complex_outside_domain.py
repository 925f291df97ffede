"""A point outside the real domain evaluates to NaN in every numpy block, never to the real part of a complex
value (acosh(1/2)^2 = -pi^2/9 would be a real-looking, invented free energy)."""
from __future__ import annotations

import math
import warnings

import numpy as np

from copyhead.numerics.transitions import expression_problem, find_transitions


def test_acosh_below_one_is_nan_not_its_real_part():
    problem = expression_problem("t*x + acosh(x)^2", ["x"], "t")
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # no ComplexWarning: nothing is silently cast
        inside = problem.at([2.0], 0.5)
        outside = problem.at([0.5], 0.5)
    assert math.isclose(float(inside.value), 0.5 * 2.0 + math.acosh(2.0) ** 2, rel_tol=1e-14)
    assert np.isnan(float(outside.value))
    assert np.all(np.isnan(np.asarray(outside.gradient, dtype=float)))


def test_no_transition_invented_from_complex_values():
    problem = expression_problem("t*x + acosh(x)^2", ["x"], "t")
    with warnings.catch_warnings():
        warnings.simplefilter("error", getattr(np, "exceptions", np).ComplexWarning)
        report = find_transitions(problem, -1.0, 1.0)
    assert report.transitions == ()
