"""Locate, classify and map phase transitions of a free energy f(x; control, params).

Public API::

    from copyhead.numerics.transitions import model_problem, expression_problem, find_transitions, phase_diagram
    report = find_transitions(model_problem(ModelSpec()), 2.0, 20.0)

See results.py for the returned objects (all frozen, JSON-serialisable, with evidence).
"""
from ._analysis import auto_range, expression_problem, find_transitions, model_problem, susceptibility
from ._engine import Problem
from ._phase import phase_diagram, transition_line
from .results import Boundary, Fold, PhaseDiagram, SpecialPoint, Transition, TransitionReport

__all__ = ["Problem", "model_problem", "expression_problem", "find_transitions", "auto_range", "phase_diagram",
           "transition_line", "susceptibility", "parse_free_energy", "parse_assignment", "Transition",
           "TransitionReport", "Fold", "Boundary", "SpecialPoint", "PhaseDiagram"]


def parse_free_energy(*args, **kwargs):
    """See expression.parse_free_energy (imported lazily: SymPy is not needed in model mode)."""
    from .expression import parse_free_energy as _parse

    return _parse(*args, **kwargs)


def parse_assignment(*args, **kwargs):
    """See expression.parse_assignment."""
    from .expression import parse_assignment as _parse

    return _parse(*args, **kwargs)
