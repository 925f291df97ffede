"""copyhead.numerics: numbers from the theory, and the finite network to test them against.

Names by role (each imported on first use, so ``import copyhead.numerics`` stays cheap)::

    # compiled free energies: SymPy -> numpy/mpmath with exact derivative blocks, disk-cached
    compiled_model, compiled_observables, compile_free_energy, CompiledFreeEnergy
    # minima of the reduced free energy
    local_minima, Minimum
    # phase transitions of any free energy (the generic engine; see copyhead.numerics.transitions)
    Problem, find_transitions, phase_diagram, expression_problem, parse_free_energy, auto_range,
    TransitionReport, Transition, Fold, PhaseDiagram, Boundary, SpecialPoint
    # the finite network of THEORY.md
    Network, make_data, attention, initial_state, copy_order_parameter
    # sampling and optimisation on it
    m_of_alpha, Point, ula, mala, adam, split_rhat, effective_sample_size, integrated_autocorr_time
    # where the work runs
    open_executor, SerialExecutor

The copy-head model itself (its parameters, the Problem of a ModelSpec) is ``copyhead.CopyHeadModel``.
"""
from copyhead._facade import lazy_facade

ROLES = {
    "compiled free energies": {"compiled_model": "compiled", "compiled_observables": "compiled",
                               "compile_free_energy": "compiled", "CompiledFreeEnergy": "compiled"},
    "minima": {"local_minima": "free_energy", "Minimum": "free_energy"},
    "phase transitions": {name: "transitions" for name in (
        "Problem", "find_transitions", "phase_diagram", "expression_problem", "parse_free_energy", "auto_range",
        "TransitionReport", "Transition", "Fold", "PhaseDiagram", "Boundary", "SpecialPoint")},
    "finite network": {name: "network" for name in (
        "Network", "make_data", "attention", "initial_state", "copy_order_parameter")},
    "sampling": {name: "sampling" for name in (
        "m_of_alpha", "Point", "ula", "mala", "adam", "split_rhat", "effective_sample_size",
        "integrated_autocorr_time")},
    "execution": {"open_executor": "executors", "SerialExecutor": "executors"},
}

__getattr__, __dir__, __all__ = lazy_facade(__name__, ROLES)
