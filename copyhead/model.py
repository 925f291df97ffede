"""One owner for "this ModelSpec as numbers": the copy-head model of THEORY.md, ready to compute with.

    from copyhead import CopyHeadModel, ModelSpec
    model = CopyHeadModel(ModelSpec(T=16))
    model.free_energy                 # SymPy expression f(delta; alpha, T, V, gamma, ...)
    model.minima(6.0)                 # local minima of the reduced free energy, with evidence
    model.transitions(2.0, 20.0)      # TransitionReport (first order at alpha* = 5.9705 for the default)
    model.stationary_branches(2, 12)  # m(alpha): stable, metastable and unstable branches

``CopyHeadModel`` is the only place that knows the order of the numeric parameters (``params``) and how a
spec becomes a SymPy substitution (``subs``) or the parameter vector of a compiled free energy
(``param_vector``). The generic transition engine (``copyhead.numerics.transitions``) receives a ``Problem``
built here and never sees the theory.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .curves import CurveTable
from .errors import InvalidParameterError
from .spec import NUMERIC_FIELDS, ModelSpec, check_positive

STABILITY = ("stable", "metastable", "unstable")
PARAM_RANGE = (1e-30, 1e30)   # positive model parameters outside this are refused (see CopyHeadModel.problem)


class _Tabular:
    """CSV and pandas views of a result that can make its CurveTable (``to_table``)."""

    def to_csv(self, path, *, force: bool = False):
        return self.to_table().to_csv(path, force=force)

    def to_dataframe(self):
        return self.to_table().to_dataframe()


@dataclass(frozen=True)
class StationaryBranches(_Tabular):
    """Stationary points of the reduced free energy along alpha, each labelled by its stability.

    alpha, m, order_parameter: one entry per point, ordered along the stationary curve (parametrised by the
    order parameter, so a fold appears as a turn in alpha); stability: 'stable' (global minimum at that
    alpha), 'metastable' (local minimum, not global) or 'unstable' (negative curvature); curvature: f'' at
    the point, the evidence for the label; curve: which connected curve the point lies on (0: the scan over
    the order parameter; 1: the symmetric point, stationary at every alpha); spec: the model.
    """

    alpha: tuple
    m: tuple
    order_parameter: tuple
    stability: tuple
    curvature: tuple
    curve: tuple
    order_name: str
    spec: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.alpha)

    def runs(self):
        """Consecutive points of equal stability: [(label, [indices])], joined end to end for drawing."""
        out = []
        for i, label in enumerate(self.stability):
            if out and out[-1][0] == label and out[-1][1][-1] == i - 1 and self.curve[i] == self.curve[i - 1]:
                out[-1][1].append(i)
            else:
                out.append((label, [i]))
        return out

    def to_table(self) -> CurveTable:
        rows = tuple(zip(self.alpha, self.m, self.order_parameter, self.stability, self.curvature, self.curve))
        return CurveTable("branches", ("alpha", "m", self.order_name, "stability", "curvature", "curve"), rows,
                          descriptions={"alpha": "amount of data n/N", "m": "mean attention on the previous token",
                                        self.order_name: "order parameter of the reduced free energy",
                                        "stability": "stable (global minimum) | metastable | unstable",
                                        "curvature": f"d2f/d{self.order_name}2 at the point (evidence)",
                                        "curve": "connected curve: 0 scan over the order parameter, 1 symmetric "
                                                 "point"},
                          meta={"model": self.spec})

    def to_dict(self) -> dict:
        return {"order_name": self.order_name, "spec": self.spec,
                "points": [dict(zip(("alpha", "m", "order_parameter", "stability", "curvature", "curve"), row))
                           for row in zip(self.alpha, self.m, self.order_parameter, self.stability, self.curvature,
                                          self.curve)]}


@dataclass(frozen=True)
class AlphaStarScan(_Tabular):
    """alpha*(T): one row per context length (see CopyHeadModel.alpha_star_vs_T for the fields)."""

    rows: tuple
    spec: dict = field(default_factory=dict)

    def found(self) -> list[dict]:
        """The rows with a first-order transition (T below the critical point has only a crossover)."""
        return [row for row in self.rows if "alpha_star" in row]

    def to_table(self) -> CurveTable:
        rows = []
        for row in self.rows:
            spin = row.get("spinodals") or [None, None]
            rows.append((row["T"], row["ln_T"], row.get("alpha_star"), spin[0], spin[1], row.get("m_before"),
                         row.get("m_after"), ";".join(row["kinds"]), row.get("flag")))
        return CurveTable("alpha_star_vs_T", ("T", "ln_T", "alpha_star", "spinodal_lo", "spinodal_hi", "m_before",
                                               "m_after", "kinds", "flag"), tuple(rows),
                          descriptions={"alpha_star": "first-order coexistence point (empty: no first-order "
                                                      "transition at this T)",
                                        "kinds": "every transition found in the bracket, ';'-separated"},
                          meta={"model": self.spec})

    def to_dict(self) -> dict:
        return {"spec": self.spec, "rows": [dict(r) for r in self.rows]}


class CopyHeadModel:
    """The reduced copy-head model of a ModelSpec: its free energy, numbers and transitions.

    ``CopyHeadModel(spec)`` or ``CopyHeadModel(T=8, attention="linear")`` (fields of ModelSpec).
    """

    def __init__(self, spec: ModelSpec | None = None, **changes):
        if spec is None:
            spec = ModelSpec()
        if not isinstance(spec, ModelSpec):
            raise InvalidParameterError("spec", f"must be a ModelSpec, got {type(spec).__name__}")
        self.spec = spec.replace(**changes) if changes else spec

    def __repr__(self) -> str:
        return f"CopyHeadModel({self.spec!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, CopyHeadModel) and other.spec == self.spec

    def __hash__(self) -> int:
        return hash(self.spec)

    def replace(self, **changes) -> "CopyHeadModel":
        return CopyHeadModel(self.spec.replace(**changes))

    # ------------------------------------------------------------------ symbols
    @property
    def reduced(self):
        """theory.reduced.ReducedModel of this family (order parameters, energy, prior rate)."""
        from .theory.reduced import reduced_model

        return reduced_model(self.spec.attention, self.spec.tokens, self.spec.prior)

    @property
    def free_energy(self):
        """f(x; alpha, params) per N as a SymPy expression (the rate stays a named function; it prints and
        evaluates itself, so lambdify and evalf need no rewrite)."""
        return self.reduced.free_energy

    @property
    def order_names(self) -> tuple:
        return tuple(str(v) for v in self.reduced.order_params)

    @property
    def params(self) -> dict:
        """The numeric parameters, name -> value, in the order of theory.symbols.MODEL_PARAMS (which is
        spec.NUMERIC_FIELDS, tested; SymPy is not imported for it)."""
        return {name: float(getattr(self.spec, name)) for name in NUMERIC_FIELDS}

    def values(self, alpha=None, **overrides) -> dict:
        """params plus alpha (when given) and any overrides, name -> float."""
        values = dict(self.params)
        if alpha is not None:
            values["alpha"] = _positive_alpha(alpha)
        for name, value in overrides.items():
            values[name] = check_positive(name, value)
        return values

    def subs(self, alpha=None) -> dict:
        """SymPy substitution {symbol: value} for the numeric parameters (and alpha when given)."""
        from .theory.symbols import BY_NAME

        return {BY_NAME[name]: value for name, value in self.values(alpha).items()}

    def param_vector(self, names, alpha=None) -> list[float]:
        """Values in the order of ``names`` (e.g. a compiled free energy's ``params``)."""
        values = self.values(alpha)
        missing = [n for n in names if n not in values]
        if missing:
            raise InvalidParameterError(missing[0], "has no value: pass alpha or choose it as the control")
        return [values[n] for n in names]

    # ------------------------------------------------------------------ numbers
    def compiled(self, control: str = "alpha"):
        """The compiled free energy with exact derivative blocks (numerics.compiled.CompiledFreeEnergy)."""
        from .numerics.compiled import compiled_model

        return compiled_model(self.spec.attention, self.spec.tokens, self.spec.prior, control)

    def f(self, x, alpha):
        """Free energy per N at order parameters x (a sequence, entries may be arrays) and alpha."""
        fe = self.compiled()
        return fe.value(_as_points(x, len(fe.order_params)), _positive_alpha(alpha), self.param_vector(fe.params))

    def observables(self, x) -> dict:
        """m (mean attention on the previous token) and q (mean squared row norm of A) at order parameters x."""
        from .numerics.compiled import compiled_observables

        points = _as_points(x, len(self.order_names))
        fns = compiled_observables(self.spec.attention, self.spec.tokens)
        return {name: fn(*points, *self.params.values()) for name, fn in fns.items()}

    def minima(self, alpha):
        """All local minima of the reduced free energy at alpha, sorted by f (numerics.free_energy.Minimum)."""
        from .numerics.free_energy import local_minima

        return local_minima(self.spec, _positive_alpha(alpha))

    def minima_scan(self, alphas) -> dict:
        """{alpha: tuple of Minimum} over alphas; an alpha where the search fails maps to its CopyheadError."""
        from .errors import CopyheadError

        out = {}
        for a in alphas:
            try:
                out[float(a)] = self.minima(a)
            except CopyheadError as exc:
                out[float(a)] = exc
        return out

    def minima_record(self, alphas) -> dict:
        """minima_scan as JSON: {"source", "alphas": [{"alpha", "minima": [...]} or {"alpha", "error"}]}."""
        rows = []
        for a, found in self.minima_scan(alphas).items():
            if isinstance(found, Exception):
                rows.append({"alpha": a, "error": str(found)})
                continue
            rows.append({"alpha": a, "minima": [
                {"order_parameter": float(x.order_parameter), "m": float(x.m), "q": float(x.q), "f": float(x.f),
                 "is_global": bool(x.is_global)} for x in found]})
        return {"source": "copyhead.numerics.free_energy.local_minima", "alphas": rows}

    def map_minima_record(self, alphas) -> dict:
        """MAP minima (Adam with weight decay) as JSON; {"unsupported": why} for families the reduction
        does not cover."""
        from .theory.map_estimate import SUPPORTED

        source = "copyhead.theory.map_estimate.map_minima"
        if (self.spec.attention, self.spec.tokens) not in SUPPORTED or self.spec.prior != "bilinear":
            return {"source": source, "unsupported": f"MAP reduction covers {SUPPORTED} with the bilinear prior"}
        return {"source": source, "alphas": [{"alpha": float(a), "minima": [
            {"order_parameter": float(x.order_parameter), "m": float(x.m), "q": float(x.q), "f": float(x.f),
             "kind": x.kind, "is_global": bool(x.is_global)} for x in self.map_minima(a)]} for a in alphas]}

    def map_minima(self, alpha):
        """Local minima of the MAP objective (what Adam with weight decay finds): theory.map_estimate.MapMinimum."""
        from .theory.map_estimate import map_minima

        return map_minima(self.spec, _positive_alpha(alpha))

    def problem(self, control: str = "alpha", alpha: float | None = None):
        """The transition engine's Problem with ``control`` free (alpha, or any numeric parameter; then alpha
        is fixed at ``alpha``, default 1). The observable is m, the mean attention on the previous token. For
        linear attention the symmetric point is S = 0 and the Landau quartic comes from the symbolic layer.

        This is where the copy-head model meets the generic engine: the engine receives only this Problem
        (compiled free energy, parameter values, observable) and never imports the theory."""
        from .numerics.compiled import compiled_landau_quartic, compiled_observables
        from .numerics.transitions import Problem

        allowed = ("alpha", *NUMERIC_FIELDS)
        if control not in allowed:
            raise InvalidParameterError("control", f"must be one of {', '.join(allowed)}; got {control!r}")
        for name, value in self.params.items():
            if name not in ("T", "V") and not (PARAM_RANGE[0] <= abs(value) <= PARAM_RANGE[1]):
                raise InvalidParameterError(name, f"= {value:g} is outside [{PARAM_RANGE[0]:g}, {PARAM_RANGE[1]:g}]"
                                                  ": the double-precision engine cannot resolve the model at this "
                                                  "scale (alpha* scales with it); rescale the model")
        cf = self.compiled(control)
        values = self.values(1.0 if alpha is None else alpha)
        m_fn = compiled_observables(self.spec.attention, self.spec.tokens)["m"]

        def observable(xs, c, pv, _ctrl=control):
            return m_fn(*xs, *[c if name == _ctrl else pv[name] for name in NUMERIC_FIELDS])

        symmetric = quartic = None
        if self.spec.attention == "linear":
            symmetric = tuple(0.0 for _ in cf.order_params)
            quartic = compiled_landau_quartic(self.spec.attention, self.spec.tokens, self.spec.prior, control)
        return Problem(cf, control, {n: float(values[n]) for n in cf.params}, tuple(cf.order_params), "m",
                       observable, symmetric, quartic,
                       label=f"copy head {self.spec.attention}/{self.spec.tokens}/{self.spec.prior}",
                       positive_control=True, extra={"spec": self.spec.to_dict()})

    def transitions(self, lo: float, hi: float, *, control: str = "alpha", **options):
        """find_transitions on problem(control) over [lo, hi] (a TransitionReport)."""
        from .numerics.transitions import find_transitions

        return find_transitions(self.problem(control), lo, hi, **options)

    def phase_diagram(self, vary: str, value_range, *, control: str = "alpha", **options):
        """The transition lines in the (vary, control) plane (a PhaseDiagram)."""
        from .numerics.transitions import phase_diagram

        return phase_diagram(self.problem(control), vary, tuple(value_range), **options)

    def alpha_star_vs_T(self, Ts, *, on_row=None) -> AlphaStarScan:
        """The softmax coexistence point alpha* at each context length in Ts: one row per T, the first-order
        transition found in an automatically bracketed alpha range.

        Row fields: T, ln_T, seconds, bracket, kinds (every transition found), and, where the transition is
        first order: alpha_star, spinodals, m_before, m_after, delta_after, converged, flag. A T below the
        critical point (where the first-order line ends) has only a crossover and no alpha_star.
        ``on_row(row)`` is called after each T (progress)."""
        import math
        import time

        from .numerics.transitions import auto_range, find_transitions

        if self.spec.attention != "softmax":
            raise InvalidParameterError("attention", "alpha*(T) is defined for the softmax copy head")
        Ts = list(Ts)
        for T in Ts:
            if isinstance(T, bool) or not isinstance(T, (int, float, np.integer, np.floating)) or int(T) != T or T < 2:
                raise InvalidParameterError("T", f"must be integers >= 2, got {T!r}")
        rows = []
        for T in Ts:
            problem = self.replace(T=int(T)).problem()
            started = time.perf_counter()
            bracket = auto_range(problem)
            report = find_transitions(problem, *bracket) if bracket else None
            first = [t for t in (report.transitions if report else ()) if t.kind == "first-order"]
            row = {"T": int(T), "ln_T": math.log(T), "seconds": time.perf_counter() - started,
                   "bracket": list(bracket) if bracket else None,
                   "kinds": [t.kind for t in report.transitions] if report else []}
            if first:
                t = first[0]
                row.update(alpha_star=t.critical_value, spinodals=list(t.spinodals) if t.spinodals else None,
                           m_before=t.order_parameter["before"], m_after=t.order_parameter["after"],
                           delta_after=t.order_parameters["after"]["delta"], converged=t.converged, flag=t.flag)
            rows.append(row)
            if on_row is not None:
                on_row(row)
        return AlphaStarScan(tuple(rows), self.spec.to_dict())

    def stationary_branches(self, lo: float, hi: float, *, n: int = 400, x_range=None) -> StationaryBranches:
        """Every stationary point with alpha in [lo, hi], from the exact polynomial in alpha that f'(x) = 0
        becomes at fixed x (roots by numpy.roots at n values of x); labelled by curvature and by comparison
        with the global minimum at the same alpha. One-order-parameter models only.

        x_range: the order-parameter interval scanned; default from the minima at lo and hi.
        """
        lo, hi = _positive_alpha(lo), _positive_alpha(hi)
        if not lo < hi:
            raise InvalidParameterError("alpha", f"needs lo < hi, got {lo} and {hi}")
        if len(self.order_names) != 1:
            raise InvalidParameterError("tokens", "stationary branches are drawn for one order parameter; "
                                                  "the one-hot linear model has two (s, u)")
        if isinstance(n, bool) or not isinstance(n, int) or n < 10:
            raise InvalidParameterError("n", f"must be an integer >= 10, got {n!r}")
        coefficients = _stationarity_coefficients(self.spec.attention, self.spec.tokens, self.spec.prior)
        fe = self.compiled()
        params = self.param_vector(fe.params)
        names = list(self.params.values())
        if x_range is None:
            reach = max(abs(mn.order_parameter) for a in (lo, hi) for mn in self.minima(a))
            scale = self.spec.sigma_q * self.spec.sigma_k
            x_lo = 0.0 if self.reduced.symmetric_point is not None else -0.5 * scale
            x_range = (x_lo, 1.5 * reach + scale)
        def roots(x):
            poly = [float(c(x, *names)) for c in coefficients]
            if not any(poly):
                return None  # the symmetric point: stationary at every alpha, added below
            out = []
            for root in np.roots(np.trim_zeros(poly, "f")):
                a = float(root.real)
                if abs(root.imag) <= 1e-9 * max(1.0, abs(a)) and lo <= a <= hi:
                    out.append(a)
            return sorted(out)

        # refine x where the curve moves fast in alpha or leaves the window, so that every branch is drawn
        # to the edge of [lo, hi] with steps of at most two grid spacings in alpha
        xs = list(np.linspace(float(x_range[0]), float(x_range[1]), n))
        found = {x: roots(x) for x in xs}
        d_alpha = 2.0 * (hi - lo) / n
        for _ in range(30):
            inserted = False
            for x0, x1 in zip(xs[:-1], xs[1:]):
                r0, r1 = found[x0], found[x1]
                if r0 is None or r1 is None or x1 - x0 < 1e-12 * max(1.0, abs(x0)):
                    continue
                if len(r0) != len(r1) or any(abs(p - q) > d_alpha for p, q in zip(r0, r1)):
                    mid = 0.5 * (x0 + x1)
                    found[mid] = roots(mid)
                    inserted = True
            xs = sorted(found)
            if not inserted or len(xs) > 40 * n:
                break
        rows = []
        global_f = {}
        for x in xs:
            for a in found[x] or ():
                rows.append(self._label(fe, params, x, a, global_f) + (0,))
        if self.reduced.symmetric_point is not None:
            x0 = float(self.reduced.symmetric_point[0])
            rows.extend(self._label(fe, params, x0, float(a), global_f) + (1,) for a in np.linspace(lo, hi, n))
        m_of = self.observables
        return StationaryBranches(tuple(r[0] for r in rows), tuple(float(m_of([r[2]])["m"]) for r in rows),
                                  tuple(r[2] for r in rows), tuple(r[1] for r in rows), tuple(r[3] for r in rows),
                                  tuple(r[4] for r in rows), self.order_names[0], self.spec.to_dict())

    def _label(self, fe, params, x, a, global_f):
        curvature = float(fe.hessian([x], a, params)[0][0])
        if curvature < 0:
            return (a, "unstable", float(x), curvature)
        if a not in global_f:
            global_f[a] = self.minima(a)[0].f
        f = float(fe.value([x], a, params))
        return (a, "stable" if f <= global_f[a] + 1e-9 * max(1.0, abs(global_f[a])) else "metastable", float(x),
                curvature)


# ---------------------------------------------------------------------------- helpers
def _positive_alpha(alpha) -> float:
    return check_positive("alpha", alpha)


def _as_points(x, k: int) -> list:
    points = list(x) if isinstance(x, (list, tuple)) else [x]
    if len(points) != k:
        raise InvalidParameterError("x", f"needs {k} order parameter value(s), got {len(points)}")
    return points


@lru_cache(maxsize=None)
def _stationarity_coefficients(attention: str, tokens: str, prior: str):
    """numpy functions (x, *MODEL_PARAMS) -> coefficients of the numerator of f'(x) as a polynomial in alpha."""
    import sympy as sp

    from .theory.reduced import reduced_model, stationarity_polynomial
    from .theory.symbols import MODEL_PARAMS

    (x,) = reduced_model(attention, tokens, prior).order_params
    poly = stationarity_polynomial(attention, tokens, prior)
    return tuple(sp.lambdify((x, *MODEL_PARAMS), c, "numpy") for c in poly.all_coeffs())


__all__ = ["CopyHeadModel", "StationaryBranches", "AlphaStarScan", "STABILITY"]
