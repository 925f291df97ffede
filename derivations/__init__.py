"""The derivation: sections a-k, each a list of checked SymPy statements.

    from copyhead.derivations import all_steps, run_checks
    reports = run_checks()          # runs every check
"""
from __future__ import annotations

from ._core import CHECK_KINDS, TIERS, CheckResult, Step, StepReport, current_tier, run_sections, tier

SECTIONS = ("posterior", "ldp", "population", "reduction", "landau", "softmax", "scaling", "map_estimate",
            "modelling", "dynamics", "finite_n")
# fast-tier CPU time per section, longest first (measured; only the load balance of run_checks depends on it)
_HEAVY_FIRST = ("reduction", "ldp", "softmax", "landau", "map_estimate", "scaling", "population", "posterior",
                "finite_n", "modelling", "dynamics")


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
    workers = default_workers() if workers is None else workers
    if steps is None:
        return run_sections([f"{__name__}.{name}" for name in SECTIONS], tier_name=tier_name, workers=workers,
                            on_report=on_report, with_latex=with_latex,
                            heavy_first=[f"{__name__}.{name}" for name in _HEAVY_FIRST])
    reports = []
    with tier(tier_name):
        for step in steps:
            report = step.run()
            reports.append(report)
            if on_report is not None:
                on_report(report)
    return reports


def default_workers() -> int:
    """Processes for the checks: no more than the cores available, nor than the sections."""
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(cores, len(SECTIONS)))


__all__ = ["CHECK_KINDS", "TIERS", "CheckResult", "Step", "StepReport", "SECTIONS", "all_steps", "current_tier",
           "default_workers", "run_checks", "run_sections", "tier"]
