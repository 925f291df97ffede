"""copyhead: the Bayesian statistical-physics theory of copy-head emergence in attention, derived, checked
and computed.

Python usage::

    from copyhead import CopyHeadModel, ModelSpec, plotting
    model = CopyHeadModel(ModelSpec(T=16))       # the reduced model: free energy, minima, transitions
    report = model.transitions(2.0, 20.0)        # TransitionReport (typed, with evidence)
    fig = plotting.branches(model, (2.0, 12.0))  # m(alpha): stable, metastable and unstable branches

Subpackages: ``copyhead.theory`` (SymPy: the closed-form posterior, rate functions, reduced free energies),
``copyhead.derivations`` (every derivation step as a checked SymPy statement), ``copyhead.numerics``
(compiled free energies, the transition engine, the finite network and its samplers), ``copyhead.report``
(the main job), ``copyhead.plotting`` (figures) and ``copyhead.curves`` (CSV tables).
"""
from .errors import (ConvergenceError, CopyheadError, DerivationCheckFailed, InvalidParameterError,
                     NumericalRangeError)
from .spec import ModelSpec

__version__ = "0.1.0"


def __getattr__(name):
    # CopyHeadModel and plotting pull in SymPy and matplotlib: imported on first use
    if name == "CopyHeadModel":
        from .model import CopyHeadModel

        return CopyHeadModel
    if name in ("plotting", "curves", "model"):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ModelSpec", "CopyHeadModel", "plotting", "CopyheadError", "InvalidParameterError", "ConvergenceError",
           "NumericalRangeError", "DerivationCheckFailed", "__version__"]
