"""The reference model of ../THEORY.md as one frozen, validated object."""
from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, fields

from .errors import InvalidParameterError

ATTENTIONS = ("softmax", "linear")
TOKENS = ("centred", "onehot")
PRIORS = ("bilinear", "gaussian-logit")

#: the numeric knobs, in the order of the theory's MODEL_PARAMS (checked in tests)
NUMERIC_FIELDS = ("T", "V", "gamma", "sigma_q", "sigma_k", "sigma_w", "sigma2")


def option_name(field_name: str) -> str:
    """The command-line option of a field or parameter: sigma_q -> --sigma-q (the one naming rule)."""
    return "--" + field_name.replace("_", "-")


def check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and float(value).is_integer() and math.isfinite(value):
            value = int(value)
        else:
            raise InvalidParameterError(name, f"must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise InvalidParameterError(name, f"must be an integer >= {minimum}, got {value}")
    return int(value)


def check_positive(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidParameterError(name, f"must be a positive finite number, got {value!r}")
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise InvalidParameterError(name, f"must be a positive finite number, got {value!r}")
    return value


#: Knobs and the scales derived from them stay inside this range, so that their squares and cubes (curvatures,
#: kappa / eps^2, ...) remain in double precision. Outside it results would be rounding noise: refused.
DERIVED_RANGE = (1e-100, 1e100)


def check_scales(spec) -> None:
    """Refuse knobs whose derived quantities leave double precision, naming the knob (see DERIVED_RANGE)."""
    lo, hi = DERIVED_RANGE
    checks = [(name, name, getattr(spec, name), lo, hi) for name in ("gamma", "sigma_q", "sigma_k", "sigma_w", "sigma2")]
    checks += [("T", "T", float(spec.T), lo, hi), ("V", "V", float(spec.V), lo, hi),
               # the Hessian of the prior term scales as (sigma_q sigma_k)^-4, so its range is the fourth root's
               ("sigma_q", "sigma_q sigma_k", spec.sigma_q * spec.sigma_k, lo ** 0.75, hi ** 0.75),
               ("gamma", "the logit scale gamma sigma_q sigma_k", spec.gamma * spec.sigma_q * spec.sigma_k, lo, hi),
               # kappa = alpha T (V-1) / (2 sigma2 V) is of order 1 at this alpha
               ("sigma2", "the data scale 2 sigma2 V / (T (V-1))", 2 * spec.sigma2 * spec.V / (spec.T * (spec.V - 1)),
                lo, hi)]
    for parameter, what, value, low, high in checks:
        if not (low <= value <= high):
            raise InvalidParameterError(parameter, f"{what} is {value:.3g}; it must lie within [{low:.0e}, {high:.0e}] "
                                        "for the derived quantities to be computed in double precision")


def check_choice(name: str, value, choices) -> str:
    if value not in choices:
        raise InvalidParameterError(name, f"must be one of {', '.join(choices)}; got {value!r}")
    return value


@dataclass(frozen=True)
class ModelSpec:
    """Single-layer positional attention trained to copy the previous token.

    Fields (the knobs of THEORY.md, same meaning)::

      attention  'softmax' (A = softmax_rows(gamma S)) or 'linear' (A = gamma S)
      T          context length (>= 2), positions cyclic
      V          vocabulary size (>= 2)
      gamma      inverse temperature of the logits S = Q K^T / N (> 0)
      sigma_q, sigma_k   prior std of the entries of Q and K
      sigma_w    prior std of the readout: W_ij ~ N(0, sigma_w^2 / N)
      sigma2     Gaussian likelihood noise variance
      tokens     'centred' (x = e_v - 1/V) or 'onehot' (x = e_v)
      prior      'bilinear' (S = QK^T/N, Wishart large deviations) or
                 'gaussian-logit' (Gaussian prior placed directly on S, same variance)
    """

    attention: str = "softmax"
    T: int = 16
    V: int = 16
    gamma: float = 1.0
    sigma_q: float = 1.0
    sigma_k: float = 1.0
    sigma_w: float = 1.0
    sigma2: float = 1.0
    tokens: str = "centred"
    prior: str = "bilinear"

    def __post_init__(self):
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731  (frozen dataclass)
        set_("attention", check_choice("attention", self.attention, ATTENTIONS))
        set_("tokens", check_choice("tokens", self.tokens, TOKENS))
        set_("prior", check_choice("prior", self.prior, PRIORS))
        set_("T", check_int("T", self.T, 2))
        set_("V", check_int("V", self.V, 2))
        for name in ("gamma", "sigma_q", "sigma_k", "sigma_w", "sigma2"):
            set_(name, check_positive(name, getattr(self, name)))
        check_scales(self)

    def to_dict(self) -> dict:
        return asdict(self)

    def replace(self, **changes) -> "ModelSpec":
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            name = sorted(unknown)[0]
            raise InvalidParameterError(name, f"is not a model parameter; known: {', '.join(OPTION_NAMES)}")
        return ModelSpec(**{**self.to_dict(), **changes})

    @property
    def numeric_params(self) -> dict:
        """The numeric knobs, keyed by field name."""
        return {k: getattr(self, k) for k in NUMERIC_FIELDS}


#: every field of ModelSpec, in order, and its command-line option (made by option_name, never typed)
FIELD_NAMES = tuple(f.name for f in fields(ModelSpec))
OPTION_NAMES = {name: option_name(name) for name in FIELD_NAMES}
