"""copyhead.plotting through its public functions: Figures returned, ax respected, the backend left alone."""
import ast
import pathlib

import matplotlib
import pytest

from copyhead import CopyHeadModel, plotting
from copyhead.model import StationaryBranches
from copyhead.numerics.transitions import Boundary, PhaseDiagram, SpecialPoint

ROOT = pathlib.Path(__file__).resolve().parents[1]


def small_branches():
    # an S-shaped curve by hand: stable, metastable, unstable, metastable, stable
    alpha = (1.0, 2.0, 3.0, 2.5, 2.0, 2.5, 3.5)
    labels = ("stable", "stable", "metastable", "unstable", "unstable", "metastable", "stable")
    m = tuple(0.1 * i for i in range(7))
    return StationaryBranches(alpha, m, m, labels, tuple(-1.0 if s == "unstable" else 1.0 for s in labels),
                              (0,) * 7, "delta", {"attention": "softmax"})


def line_styles(ax):
    return [(line.get_linestyle(), tuple(line.get_xdata())) for line in ax.get_lines()]


def test_no_library_module_chooses_a_backend():
    offenders = []
    for folder in ("copyhead", "theory", "numerics", "derivations"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "use"
                        and isinstance(node.func.value, ast.Name) and node.func.value.id == "matplotlib"):
                    offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_branches_draws_each_stability_run_into_the_given_axes():
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    before = matplotlib.get_backend()
    out = plotting.branches(small_branches(), ax=ax)
    assert out is fig and matplotlib.get_backend() == before
    styles = line_styles(ax)
    # five runs, each joined to the first point of the next one
    assert [s for s, _ in styles] == ["-", "--", ":", "--", "-"]
    assert styles[0][1] == (1.0, 2.0, 3.0) and styles[2][1] == (2.5, 2.0, 2.5)
    assert sorted(t.get_text() for t in ax.get_legend().get_texts()) == [
        "metastable branch", "stable branch", "unstable branch"]


def test_phase_diagram_draws_spinodal_lines_when_present():
    from matplotlib.figure import Figure

    diagram = PhaseDiagram("alpha", "T", (1.0, 10.0), (4.0, 8.0), {},
                           (Boundary("first-order", ((6.0, 6.0), (5.5, 7.0))),
                            Boundary("spinodal", ((5.0, 6.0), (5.2, 7.0))),
                            Boundary("spinodal", ((8.6, 6.0), (8.0, 7.0)))),
                           (SpecialPoint("critical-end-point", {"alpha": 5.3, "T": 5.06}, True, 0.0, "newton"),))
    ax = Figure().add_subplot()
    plotting.phase_diagram(diagram, ax=ax)
    styles = line_styles(ax)
    assert [s for s, _ in styles[:3]] == ["-", ":", ":"]
    assert styles[1][1] == (6.0, 7.0)  # second control on x
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels.count("spinodal") == 1 and "first-order" in labels
    assert any("critical-end-point" in label for label in labels)


def test_save_writes_png_and_pdf_and_save_as_never_overwrites(tmp_path):
    fig = plotting.branches(small_branches())
    assert plotting.save(fig, tmp_path, "b") == ["b.png", "b.pdf"]
    assert (tmp_path / "b.png").stat().st_size > 0 and (tmp_path / "b.pdf").read_bytes()[:4] == b"%PDF"
    target = tmp_path / "keep.png"
    target.write_text("mine")
    with pytest.raises(FileExistsError):
        plotting.save_as(fig, target)
    assert target.read_text() == "mine"


def test_branches_of_a_model_need_a_range():
    from copyhead.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="alpha_range"):
        plotting.branches(CopyHeadModel())


def test_model_figures_end_to_end():
    """Smoke test on the real model: a landscape per alpha, each with its minima marked."""
    model = CopyHeadModel()
    fig = plotting.landscapes(model, [4.0, 7.0])
    ax = fig.axes[0]
    curves = [line for line in ax.get_lines() if len(line.get_xdata()) > 1]
    markers = [line for line in ax.get_lines() if len(line.get_xdata()) == 1]
    assert len(curves) == 2
    assert len(markers) == sum(len(model.minima(a)) for a in (4.0, 7.0))
