"""The derivation: sections a-k, each a list of checked SymPy statements.

    from copyhead.derivations import all_steps, run_checks
    reports = run_checks()          # runs every check
"""
from __future__ import annotations

from ._core import (CHECK_KINDS, TIERS, CheckResult, PendingSections, Step, StepReport, current_tier, effort,
                    fork_pool, identity_check, run_sections, tier)

SECTIONS = ("posterior", "ldp", "population", "reduction", "landau", "softmax", "scaling", "map_estimate",
            "modelling", "dynamics", "finite_n")
# fast-tier CPU time per section, longest first (measured each in a fresh worker: python benchmarks/bench_derive.py
# --sections; only the load balance of run_checks depends on it)
_HEAVY_FIRST = ("dynamics", "reduction", "finite_n", "modelling", "landau", "softmax", "ldp", "scaling", "map_estimate",
                "population", "posterior")


def import_sections() -> None:
    """Import every section module (before forking workers, so that they share the imports)."""
    from importlib import import_module

    for name in SECTIONS:
        import_module(f"{__name__}.{name}")


def all_steps() -> list[Step]:
    """Every step, in derivation order (building them derives the theory; results are cached in-process)."""
    from importlib import import_module

    steps = []
    for name in SECTIONS:
        steps.extend(import_module(f"{__name__}.{name}").steps())
    return steps


def run_checks(steps=None, on_report=None, *, thorough: bool = False, workers: int | None = None,
               with_latex: bool = True) -> list[StepReport]:
    """Run each step's checks; on_report(report) is called as each finishes, in derivation order.

    thorough: the full set of checks (larger samples, all multi-start cases); the default fast tier runs
    every check at reduced size. workers > 1 runs the (independent) sections in that many processes
    (default: default_workers(), the cores available).
    Without ``steps``, the reports' steps carry the statement as LaTeX (with_latex) and no check callables.
    """
    tier_name = "thorough" if thorough else "fast"
    if steps is None:
        return start_checks(thorough=thorough, workers=workers, with_latex=with_latex).result(on_report)
    reports = []
    with tier(tier_name):
        for step in steps:
            report = step.run()
            reports.append(report)
            if on_report is not None:
                on_report(report)
    return reports


def start_checks(*, thorough: bool = False, workers: int | None = None, with_latex: bool = True,
                 executor=None) -> PendingSections:
    """Every section's checks submitted to worker processes now; ``.result(on_report)`` collects the
    reports as :func:`run_checks` returns them (meanwhile the caller may compute something else).
    executor: a pool of the caller's (``fork_pool``), shared with its other jobs, instead of our own."""
    workers = default_workers() if workers is None else workers
    return PendingSections([f"{__name__}.{name}" for name in SECTIONS], tier_name="thorough" if thorough else "fast",
                           workers=workers, with_latex=with_latex,
                           heavy_first=[f"{__name__}.{name}" for name in _HEAVY_FIRST], executor=executor)


def default_workers() -> int:
    """Processes for the checks: no more than the cores available, nor than the sections."""
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, len(SECTIONS)))


__all__ = ["CHECK_KINDS", "TIERS", "CheckResult", "PendingSections", "Step", "StepReport", "SECTIONS", "all_steps",
           "current_tier", "default_workers", "effort", "fork_pool", "identity_check", "import_sections", "run_checks",
           "run_sections", "start_checks", "tier"]
