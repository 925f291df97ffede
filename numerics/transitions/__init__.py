"""Locate, classify and map phase transitions of a free energy f(x; control, params).

Public API::

    from copyhead.numerics.transitions import expression_problem, find_transitions, phase_diagram
    report = find_transitions(expression_problem("t*x**2 + x**4", ["x"], "t"), -1.0, 1.0)

The engine knows only a ``Problem`` (a compiled free energy with its parameters, observable and domain). The
copy-head model builds its own: ``copyhead.CopyHeadModel(spec).problem(control)``.

See results.py for the returned objects (all frozen, JSON-serialisable, with evidence).
"""
from . import _analysis, _phase
from ._analysis import susceptibility
from ._engine import Problem
from ._phase import transition_line
from .results import Boundary, Fold, PhaseDiagram, SpecialPoint, Transition, TransitionReport
# building blocks, for users who assemble their own analysis (and for the tests): the continuation, the
# defining systems and their solvers, one Newton, the domain
from ._continuation import continue_branch, continue_spinodal, refine_fold
from ._domain import infer_domain
from ._engine import all_minima
from ._newton import NewtonResult, newton
from ._special_points import (coexistence_newton, critical_end_point_newton, critical_newton, double_zero_newton,
                              kernel_quartic, mp_coexistence, mp_critical, multicritical_kind)
from ._systems import Coexistence

__all__ = ["Problem", "expression_problem", "find_transitions", "auto_range", "phase_diagram",
           "transition_line", "susceptibility", "parse_free_energy", "parse_assignment", "Transition",
           "TransitionReport", "Fold", "Boundary", "SpecialPoint", "PhaseDiagram",
           # building blocks
           "continue_branch", "continue_spinodal", "refine_fold", "infer_domain", "all_minima", "NewtonResult",
           "newton", "Coexistence", "coexistence_newton", "critical_newton", "critical_end_point_newton",
           "double_zero_newton", "kernel_quartic", "multicritical_kind", "mp_coexistence", "mp_critical"]


def parse_free_energy(*args, **kwargs):
    """See expression.parse_free_energy (imported lazily: SymPy is not needed in model mode)."""
    from .expression import parse_free_energy as _parse

    return _parse(*args, **kwargs)


def parse_assignment(*args, **kwargs):
    """See expression.parse_assignment."""
    from .expression import parse_assignment as _parse

    return _parse(*args, **kwargs)


# The public entry points check their arguments as the command line does (typed errors naming the parameter);
# the engine behind them assumes valid input.

def expression_problem(text, order_params, control, params=None, **kw):
    from copyhead import _api_checks as check

    check.name("text", text), check.name("control", control)
    if isinstance(order_params, str) or not all(isinstance(n, str) for n in order_params or ()):
        raise check.InvalidParameterError("order_params", f"must be a list of names, got {order_params!r}")
    return _analysis.expression_problem(text, list(order_params), control, check.params(params), **kw)


def find_transitions(problem, lo, hi, *, digits=None, n_grid: int = 49, **kw):
    from copyhead import _api_checks as check

    check.problem(problem)
    lo, hi = check.interval("range", (lo, hi), positive=problem.positive_control)
    digits = None if digits is None else check.bounded_int("digits", digits, 1, 200)
    return _analysis.find_transitions(problem, lo, hi, digits=digits, n_grid=check.bounded_int("n_grid", n_grid, 9, 2001),
                                      **kw)


def auto_range(problem, *args, **kw):
    from copyhead import _api_checks as check

    return _analysis.auto_range(check.problem(problem), *args, **kw)


def phase_diagram(problem, second, second_range, control_range=None, *, n_coarse: int = 7, n_points: int = 41, **kw):
    from copyhead import _api_checks as check

    check.problem(problem)
    second_range = check.second_parameter(problem, second, second_range)
    if control_range is not None:
        control_range = check.interval("control_range", control_range, positive=problem.positive_control)
    return _phase.phase_diagram(problem, second, second_range, control_range,
                                n_coarse=check.bounded_int("n_coarse", n_coarse, 2, 200),
                                n_points=check.bounded_int("n_points", n_points, 2, 10000), **kw)


# the facade's functions document what they wrap
for _public, _impl in ((expression_problem, _analysis.expression_problem), (find_transitions, _analysis.find_transitions),
                       (auto_range, _analysis.auto_range), (phase_diagram, _phase.phase_diagram)):
    _public.__doc__ = _impl.__doc__
del _public, _impl
