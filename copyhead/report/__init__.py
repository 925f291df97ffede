"""`copyhead report`: the main job. Derivation, headline numbers, figures and a Markdown summary.

    from copyhead.report import build_report, load_report
    summary = build_report("out", quick=True)
    results = load_report("out")          # {"meta": ..., "result": ...}
"""
from ._build import build_report, load_report

__all__ = ["build_report", "load_report"]
