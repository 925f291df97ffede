"""copyhead.theory: the theory as SymPy expressions, each derived once and checked in copyhead.derivations.

Names by role (each imported on first use)::

    # symbols and their LaTeX names
    MODEL_PARAMS, latex
    # named functions (own derivative, LaTeX, code printers and evalf)
    WishartRate, GaussianLogitRate, RATE_FUNCTIONS
    # a. posterior with the readout integrated out
    evidence_statement, sufficient_statistics_statement
    # b. large deviations of the query-key overlap
    derived_rate, legendre_rate, rate_per_singular_value
    # c. population energy
    energy, kappa_eps, data_constant
    # d. reduction to order parameters
    reduced_model, ReducedModel, kinematics, Kinematics, stationarity_polynomial, all_families
    # e. Landau expansion (linear attention)
    landau_expansion, LandauExpansion
    # f. softmax stationarity
    softmax_conditions, SoftmaxConditions
    # h. MAP estimate (Adam with weight decay)
    map_objective, MapObjective, map_minima, MapMinimum, softmax_kink_threshold
"""
from copyhead._facade import lazy_facade

ROLES = {
    "symbols": {"MODEL_PARAMS": "symbols", "latex": "symbols"},
    "named functions": {"WishartRate": "functions", "GaussianLogitRate": "functions", "RATE_FUNCTIONS": "functions"},
    "posterior": {"evidence_statement": "posterior", "sufficient_statistics_statement": "posterior"},
    "large deviations": {"derived_rate": "ldp", "legendre_rate": "ldp", "rate_per_singular_value": "ldp"},
    "population energy": {"energy": "population", "kappa_eps": "population", "data_constant": "population"},
    "reduction": {name: "reduced" for name in ("reduced_model", "ReducedModel", "kinematics", "Kinematics",
                                               "stationarity_polynomial", "all_families")},
    "Landau expansion": {"landau_expansion": "landau", "LandauExpansion": "landau"},
    "softmax": {"softmax_conditions": "softmax", "SoftmaxConditions": "softmax"},
    "MAP estimate": {name: "map_estimate" for name in ("map_objective", "MapObjective", "map_minima", "MapMinimum",
                                                       "softmax_kink_threshold")},
}

__getattr__, __dir__, __all__ = lazy_facade(__name__, ROLES)
