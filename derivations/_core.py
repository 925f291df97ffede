"""A derivation is a chain of SymPy statements, each with a check that runs."""
from __future__ import annotations

import contextlib
import random
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import mpmath as mp
import sympy as sp

from ..errors import InvalidParameterError

#: The kinds of evidence a step may rest on.
CHECK_KINDS = ("symbolic", "exact", "mpmath-50", "quadrature", "optimisation", "monte-carlo", "density",
               "finite-difference")

DIGITS = 50

#: The check tiers: "fast" (the default) runs every check with reduced sample sizes and start counts;
#: "thorough" runs the full set (``copyhead derive --check --thorough``, the slow tests).
TIERS = ("fast", "thorough")
_tier = ["fast"]


def current_tier() -> str:
    return _tier[0]


def effort(fast, thorough):
    """The size of a check in the current tier (sample counts, starts, cases): ``fast`` unless thorough."""
    return thorough if _tier[0] == "thorough" else fast


@contextlib.contextmanager
def tier(name: str):
    if name not in TIERS:
        raise InvalidParameterError("tier", f"must be one of {', '.join(TIERS)}, got {name!r}")
    previous, _tier[0] = _tier[0], name
    try:
        yield
    finally:
        _tier[0] = previous


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one check: passed, its kind, what was compared, and the worst error seen."""

    passed: bool
    kind: str
    detail: str
    max_error: float | None = None

    def __post_init__(self):
        if self.kind not in CHECK_KINDS:
            raise InvalidParameterError("kind", f"must be one of {', '.join(CHECK_KINDS)}, got {self.kind!r}")


@dataclass(frozen=True)
class Step:
    """One statement of a derivation and the checks that support it.

    statement: a SymPy object (usually Eq) stating the result;
    checks: callables returning CheckResult; all must pass.
    """

    section: str
    key: str
    title: str
    statement: object
    explanation: str
    checks: tuple = field(repr=False)

    def run(self) -> "StepReport":
        started = time.perf_counter()
        results = []
        for check in self.checks:
            try:
                results.append(check())
            except Exception as exc:  # a check that crashes is a failed check, reported as such
                results.append(CheckResult(False, getattr(check, "kind", "symbolic"),
                                           f"check raised {type(exc).__name__}: {exc}"))
        return StepReport(self, tuple(results), time.perf_counter() - started)


@dataclass(frozen=True)
class StepReport:
    step: Step
    results: tuple
    seconds: float

    @property
    def passed(self) -> bool:
        return bool(self.results) and all(r.passed for r in self.results)

    @property
    def kinds(self) -> tuple:
        return tuple(dict.fromkeys(r.kind for r in self.results))


def random_rationals(symbols: Sequence[sp.Symbol], count: int, seed: int, low=0.2, high=3.0,
                     overrides: dict | None = None) -> list[dict]:
    """Random points as exact rationals (positive symbols stay positive; real ones take either sign)."""
    rng = random.Random(seed)
    points = []
    for _ in range(count):
        point = {}
        for sym in symbols:
            value = sp.Rational(rng.randint(int(low * 1000), int(high * 1000)), 1000)
            if not sym.is_positive and rng.random() < 0.5:
                value = -value
            point[sym] = value
        point.update(overrides or {})
        points.append(point)
    return points


def identity_check(lhs: sp.Expr, rhs: sp.Expr, symbols: Sequence[sp.Symbol], *, count: int = 12, seed: int = 0,
                   tol_digits: int = 40, overrides: dict | None = None, relative: bool = True,
                   low=0.2, high=3.0) -> CheckResult:
    """lhs == rhs at random points, evaluated with mpmath at 50 digits."""
    worst = mp.mpf(0)
    diff = (lhs - rhs).doit()
    scale_expr = rhs.doit()
    with mp.workdps(DIGITS + 10):
        for point in random_rationals(symbols, count, seed, low, high, overrides):
            err = abs(sp.N(diff.subs(point), DIGITS))
            if relative:
                err = err / max(abs(sp.N(scale_expr.subs(point), DIGITS)), sp.Float(1e-30))
            worst = max(worst, mp.mpf(str(sp.N(err, 20))))
    passed = worst < mp.mpf(10) ** (-tol_digits)
    return CheckResult(bool(passed), "mpmath-50",
                       f"{count} random points at {DIGITS} digits, max {'rel' if relative else 'abs'} err "
                       f"{mp.nstr(worst, 3)}", float(worst))


def symbolic_check(expr: sp.Expr, detail: str) -> CheckResult:
    """expr simplifies to exactly zero."""
    residual = sp.simplify(expr)
    return CheckResult(residual == 0, "symbolic", f"{detail}: residual simplifies to {residual}")


def tolerance_check(kind: str, error: float, tol: float, detail: str) -> CheckResult:
    return CheckResult(bool(error <= tol), kind, f"{detail}: error {error:.3g} (tolerance {tol:.1g})", float(error))


def as_check(kind: str, fn: Callable[[], CheckResult]) -> Callable[[], CheckResult]:
    fn.kind = kind
    return fn


# ------------------------------------------------------------------ running sections, in parallel processes

@dataclass(frozen=True)
class RenderedStatement:
    """A statement as LaTeX strings, one per part: what a worker process sends back instead of SymPy objects
    (some do not survive pickling, e.g. Order terms)."""

    parts: tuple


def _run_section(module: str, tier_name: str, with_latex: bool) -> list[tuple]:
    """Build and check one section (in a worker process); plain data back, since checks are closures."""
    from importlib import import_module

    from .latex import statement_latex

    with tier(tier_name):
        out = []
        for step in import_module(module).steps():
            report = step.run()
            statement = RenderedStatement(tuple(statement_latex(step.statement))) if with_latex else None
            out.append((step.section, step.key, step.title, statement, step.explanation, report.results,
                        report.seconds))
        return out


def _reports(rows) -> list[StepReport]:
    return [StepReport(Step(section, key, title, statement, explanation, ()), results, seconds)
            for section, key, title, statement, explanation, results, seconds in rows]


def fork_pool(workers: int):
    """A process pool whose workers are forked (on Linux) from this process at its first submit, sharing
    what is imported and derived so far; the pool's own thread starts only after that."""
    import multiprocessing
    import sys
    from concurrent.futures import ProcessPoolExecutor

    # fork shares the already imported SymPy with the workers (spawn would re-import it in each)
    method = "fork" if sys.platform.startswith("linux") else None
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method))


class PendingSections:
    """Sections submitted to ``workers`` processes at construction, collected by :meth:`result`.

    The caller may do other work in between (the report computes its other parts meanwhile). All worker
    processes are forked at construction, from the calling thread, before the pool starts its own thread.
    With ``workers <= 1`` the sections run in this process, at :meth:`result`.
    """

    def __init__(self, modules: Sequence[str], *, tier_name: str = "fast", workers: int = 1, with_latex: bool = True,
                 heavy_first: Sequence[str] = (), executor=None):
        if tier_name not in TIERS:
            raise InvalidParameterError("tier", f"must be one of {', '.join(TIERS)}, got {tier_name!r}")
        self.modules, self.tier_name, self.with_latex = list(modules), tier_name, with_latex
        self._pool, self._futures = None, {}
        # executor: a caller's pool (fork_pool) that runs other jobs too; it stays the caller's to shut down
        self._owned = executor is None
        if executor is not None or (workers > 1 and len(self.modules) > 1):
            from importlib import import_module

            for module in self.modules:     # imported once here, shared by the forked workers
                import_module(module)
            self._pool = fork_pool(min(workers, len(self.modules))) if executor is None else executor
            rank = {module: r for r, module in enumerate(heavy_first)}
            order = sorted(range(len(self.modules)), key=lambda i: (rank.get(self.modules[i], len(rank)), i))
            try:
                self._futures = {self._pool.submit(_run_section, self.modules[i], tier_name, with_latex): i
                                 for i in order}
            except BaseException:
                self.cancel()
                raise

    def result(self, on_report=None) -> list[StepReport]:
        """Every step's report in derivation order; on_report sees them in that order, as soon as all
        earlier sections are done."""
        done: dict = {}
        emitted: list = []

        def flush():
            while len(emitted) < len(self.modules) and len(emitted) in done:
                emitted.append(done[len(emitted)])
                for report in emitted[-1]:
                    if on_report is not None:
                        on_report(report)

        if self._pool is None:
            for i, module in enumerate(self.modules):
                done[i] = _reports(_run_section(module, self.tier_name, self.with_latex))
                flush()
        else:
            from concurrent.futures import as_completed

            try:
                for future in as_completed(self._futures):
                    done[self._futures[future]] = _reports(future.result())
                    flush()
            finally:
                self.cancel()
        return [report for section in emitted for report in section]

    def cancel(self) -> None:
        """Drop the sections not started yet and, if the pool is ours, stop its workers; a no-op once the
        results are in."""
        if self._pool is not None:
            if self._owned:
                self._pool.shutdown(wait=True, cancel_futures=True)
            else:
                for future in self._futures:
                    future.cancel()
            self._pool = None


def run_sections(modules: Sequence[str], *, tier_name: str = "fast", workers: int = 1, on_report=None,
                 with_latex: bool = True, heavy_first: Sequence[str] = ()) -> list[StepReport]:
    """Every step of ``modules`` (section modules, in derivation order), sections in ``workers`` processes.

    Sections are independent: each worker derives what its sections need. on_report sees the reports in
    derivation order, as soon as all earlier sections are done. The reports' steps carry the statement as
    a RenderedStatement (with_latex) or None, and no check callables. heavy_first: modules to start
    first (longest first balances the processes); the rest follow in order.
    """
    return PendingSections(modules, tier_name=tier_name, workers=workers, with_latex=with_latex,
                           heavy_first=heavy_first).result(on_report)
