"""copyhead: Bayesian statistical-physics theory of copy-head emergence in attention.

Public entry points::

    from copyhead import ModelSpec
    from copyhead.derivations import run_checks
    from copyhead.numerics import reduced_free_energy, local_minima
"""
import os as _os

# In a source checkout the subpackages sit beside this directory (theory/,
# numerics/, derivations/); installed, setuptools maps them underneath us.
_checkout_root = _os.path.dirname(_os.path.dirname(_os.path.abspath(__file__)))
if _os.path.isfile(_os.path.join(_checkout_root, "theory", "__init__.py")):
    __path__.append(_checkout_root)  # noqa: F821  (package __path__)

from .errors import CopyheadError, InvalidParameterError  # noqa: E402
from .spec import ModelSpec  # noqa: E402

__version__ = "0.1.0"
__all__ = ["ModelSpec", "CopyheadError", "InvalidParameterError", "__version__"]
