"""Typed errors. Each names what went wrong and how to fix it."""


class CopyheadError(Exception):
    """Base class for every error copyhead raises on purpose."""


class InvalidParameterError(CopyheadError, ValueError):
    """A user-supplied parameter is out of its domain.

    ``parameter`` is the user-facing name (as on the command line, e.g. ``T``
    or ``sigma-q``); the message says what values are allowed.
    """

    def __init__(self, parameter: str, message: str):
        self.parameter = parameter
        super().__init__(f"{parameter}: {message}")


class DerivationCheckFailed(CopyheadError):
    """A derivation step's check did not pass; the step's result is not trustworthy."""


class ConvergenceError(CopyheadError, ArithmeticError):
    """A numerical solver did not converge; widen the range or raise the iteration budget."""


class NumericalRangeError(CopyheadError, ArithmeticError):
    """A result exists but does not fit in double precision (e.g. curvatures ~ 1/(sigma_q sigma_k)^4 overflow);
    rescale the parameters or use the mpmath evaluators (CompiledFreeEnergy.mp_block)."""
