"""The derivation: sections a-i, each a list of checked SymPy statements.

    from copyhead.derivations import all_steps, run_checks
    reports = run_checks()          # runs every check
"""
from __future__ import annotations

from ._core import CHECK_KINDS, CheckResult, Step, StepReport

SECTIONS = ("posterior", "ldp", "population", "reduction", "landau", "softmax", "scaling", "map_estimate",
            "finite_n")


def all_steps() -> list[Step]:
    """Every step, in derivation order (building them derives the theory; results are cached in-process)."""
    from importlib import import_module

    steps = []
    for name in SECTIONS:
        steps.extend(import_module(f"{__name__}.{name}").steps())
    return steps


def run_checks(steps=None, on_report=None) -> list[StepReport]:
    """Run each step's checks; on_report(report) is called as each finishes (for progress)."""
    reports = []
    for step in steps if steps is not None else all_steps():
        report = step.run()
        reports.append(report)
        if on_report is not None:
            on_report(report)
    return reports


__all__ = ["CHECK_KINDS", "CheckResult", "Step", "StepReport", "SECTIONS", "all_steps", "run_checks"]
