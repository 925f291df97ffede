"""Curves as tables with named columns: written as CSV next to the JSON, and as pandas DataFrames.

A :class:`CurveTable` is the one shape every theory curve takes on its way to a file (m(alpha) branches,
transition and spinodal lines, alpha*(T), sampling points with their errors). Columns are named and carry
their unit or meaning in ``descriptions``; the CSV starts with ``#`` comment lines naming the source and
the model, so a file read later still says what it is.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field

from .errors import InvalidParameterError


@dataclass(frozen=True)
class CurveTable:
    """Rows of equal length under named columns.

    name: short identifier (the file stem); columns: column names in order; rows: tuples of values
    (floats, ints or strings; a missing value is None and is written as an empty cell, never NaN);
    descriptions: column -> meaning; meta: what produced it (model, command, version), written as comments.
    """

    name: str
    columns: tuple
    rows: tuple
    descriptions: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        width = len(self.columns)
        for row in self.rows:
            if len(row) != width:
                raise InvalidParameterError("rows", f"every row of {self.name!r} needs {width} values "
                                                    f"({', '.join(self.columns)}); got {len(row)}")

    def column(self, name: str) -> list:
        if name not in self.columns:
            raise InvalidParameterError("column", f"{name!r} is not a column of {self.name!r}; "
                                                  f"columns: {', '.join(self.columns)}")
        i = self.columns.index(name)
        return [row[i] for row in self.rows]

    def to_csv_text(self) -> str:
        out = io.StringIO()
        for key, value in self.meta.items():
            out.write(f"# {key}: {value}\n")
        for col in self.columns:
            if col in self.descriptions:
                out.write(f"# column {col}: {self.descriptions[col]}\n")
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        for row in self.rows:
            writer.writerow([_cell(v) for v in row])
        return out.getvalue()

    def to_csv(self, path, *, force: bool = False):
        """Write the table to path (atomically; an existing file is kept unless force)."""
        from ._io import atomic_write_text

        return atomic_write_text(path, self.to_csv_text(), force=force, parameter="path")

    def to_dataframe(self):
        """The table as a pandas DataFrame (pandas is optional: ``pip install pandas``)."""
        try:
            import pandas
        except ImportError:
            raise InvalidParameterError("pandas", "is not installed; pip install pandas, or use to_csv()") from None
        frame = pandas.DataFrame(list(self.rows), columns=list(self.columns))
        frame.attrs.update(self.meta)
        return frame


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        return repr(value)
    return value


def phase_diagram_table(diagram, meta=None) -> CurveTable:
    """The lines of a PhaseDiagram (transition lines and, when present, spinodal lines) as one long table:
    kind, the second control, the control."""
    second, control = diagram.second_control, diagram.control
    rows = tuple((b.kind, float(p[1]), float(p[0])) for b in diagram.boundaries for p in b.points)
    return CurveTable("transition_lines", ("kind", second, control), rows,
                      descriptions={"kind": "first-order | second-order | crossover | spinodal",
                                    control: "control value on the line", second: "second control"},
                      meta={"params": diagram.params, **(meta or {})})


def transitions_table(report, meta=None) -> CurveTable:
    """One row per Transition of a TransitionReport: kind, critical value, spinodals, m before and after."""
    rows = []
    for t in report.transitions:
        spin = list(t.spinodals) if t.spinodals else [None, None]
        rows.append((t.kind, t.critical_value, spin[0], spin[1], t.order_parameter.get("before"),
                     t.order_parameter.get("after"), t.converged, t.flag))
    return CurveTable("transitions", ("kind", report.control, "spinodal_lo", "spinodal_hi", "m_before", "m_after",
                                      "converged", "flag"), tuple(rows),
                      descriptions={report.control: "critical value (coexistence point, critical point or "
                                                    "susceptibility peak)"},
                      meta={"params": report.params, **(meta or {})})


def sampling_table(points, theory=None, meta=None) -> CurveTable:
    """Sampling points (numerics.sampling.Point) with their errors; theory: optional {alpha: m} column."""
    rows = tuple((p.alpha, p.N, p.init, p.sampler, p.m_mean, p.m_err,
                  None if theory is None else theory.get(p.alpha)) for p in points)
    return CurveTable("sampling", ("alpha", "N", "init", "sampler", "m_mean", "m_err", "m_theory"), rows,
                      descriptions={"m_err": "standard error of m_mean over chains and time",
                                    "m_theory": "global minimum of the N -> infinity theory (empty if not given)"},
                      meta=meta or {})


def to_dataframe(result):
    """A pandas DataFrame of a result: anything with to_table(), a PhaseDiagram, a TransitionReport, or a
    sequence of sampling Points."""
    if hasattr(result, "to_table"):
        return result.to_table().to_dataframe()
    if hasattr(result, "boundaries"):
        return phase_diagram_table(result).to_dataframe()
    if hasattr(result, "transitions"):
        return transitions_table(result).to_dataframe()
    if isinstance(result, (list, tuple)) and all(hasattr(p, "m_err") for p in result):
        return sampling_table(result).to_dataframe()
    raise InvalidParameterError("result", f"has no table form: {type(result).__name__}")


def read_csv(path) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of a CSV written by CurveTable.to_csv, comment lines skipped (values stay strings)."""
    with open(path, newline="") as handle:
        lines = [line for line in handle if not line.startswith("#")]
    table = list(csv.reader(lines))
    return table[0], table[1:]


__all__ = ["CurveTable", "phase_diagram_table", "transitions_table", "sampling_table", "to_dataframe", "read_csv"]
