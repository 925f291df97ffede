"""Typed errors. Each carries its data (which parameter or step, and why), so callers never parse messages;
the command line turns ``parameter`` into an option name in one place (``copyhead._cli_common.usage_error``)."""


class CopyheadError(Exception):
    """Base class for every error copyhead raises on purpose."""


class InvalidParameterError(CopyheadError, ValueError):
    """A user-supplied parameter is out of its domain.

    ``parameter``: the field or argument name (``T``, ``sigma_q``, ``alpha``, ``scheduler``; a name that
    already is an option, ``--out``, stays as it is); ``reason``: what values are allowed, one line.
    ``str(error)`` is ``"parameter: reason"``.
    """

    def __init__(self, parameter: str, reason: str):
        self.parameter = parameter
        self.reason = reason
        super().__init__(f"{parameter}: {reason}")

    def __reduce__(self):  # picklable across process pools with both fields
        return (type(self), (self.parameter, self.reason))


class DerivationCheckFailed(CopyheadError, ArithmeticError):
    """A derivation did not produce the form it must (a symbolic identity, a unique root, a sign): the
    result built on it is not trustworthy. ``step``: what was being derived; ``reason``: what was found."""

    def __init__(self, step: str, reason: str):
        self.step = step
        self.reason = reason
        super().__init__(f"{step}: {reason}")

    def __reduce__(self):
        return (type(self), (self.step, self.reason))


class ConvergenceError(CopyheadError, ArithmeticError):
    """A numerical solver did not converge; widen the range or raise the iteration budget."""


class NumericalRangeError(CopyheadError, ArithmeticError):
    """A result exists but does not fit in double precision (e.g. curvatures ~ 1/(sigma_q sigma_k)^4 overflow);
    rescale the parameters or use the mpmath evaluators (CompiledFreeEnergy.mp_block)."""
