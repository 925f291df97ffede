"""Special points from their own defining systems: bicritical and tetracritical points (DoubleZero), critical end
points (CriticalEndPoint) and the fold of a branch with Goldstone modes (Fold with the symmetry deflated).

The models are variants of the catalogue's (shifted, rescaled, other couplings), so that the code is tried
outside the cases it was written against. Every reference is a closed form worked out in the docstring.
"""
from __future__ import annotations

import json
import math

import mpmath
import numpy as np
import pytest

from copyhead.cli import main as cli_main
from copyhead.numerics.transitions import expression_problem, phase_diagram
from copyhead.numerics.transitions._phase import _phases_kind
from copyhead.numerics.transitions import (critical_end_point_newton, double_zero_newton, kernel_quartic,
                                           multicritical_kind, refine_fold)

# x orders where t + g = 3/10, y where t - 2g = -3/10: both at once at g = 1/5, t = 1/10. The quartic on the
# kernel is x^4 + 2 y^4 + c x^2 y^2: tetracritical for c^2 < 8, bicritical for c > 2 sqrt(2).
SHIFTED = "(t + g - 0.3)*x^2 + x^4 + (t - 2*g + 0.3)*y^2 + 2*y^4 + c*x^2*y^2"
# (t - 2y) x^2 + x^4/2 + 3 g(y), g = y^4/4 + w y^3/3 - y^2/2 - h y: the x = 0 phases of the cusp coexist at
# h = w/3 + 2 w^3/27 (equal areas put the middle root of g' - h at the inflection y = -w/3), between
# y = -w/3 -+ sqrt(1 + w^2/3); x orders in the upper one where t = 2 y: the critical end point.
CEP = "(t - 2*y)*x^2 + x^4/2 + 3*(y^4/4 + w*y^3/3 - y^2/2 - h*y)"


def cep_closed_form(w):
    with mpmath.workdps(50):
        w = mpmath.mpf(repr(w))        # the decimal as typed (-0.3 is -3/10, as the engine reads --param w=-0.3)
        return w / 3 + 2 * w**3 / 27, 2 * (-w / 3 + mpmath.sqrt(1 + w**2 / 3))


def test_double_zero_is_refined_to_the_exact_point_in_mpmath():
    problem = expression_problem(SHIFTED, ["x", "y"], "t", {"g": 0.0, "c": 1.0})
    r, _, W = double_zero_newton(problem, "g", (0.0, 0.0), 0.5, -0.3, (1, 0), (0, 1), digits=30)
    assert r.converged
    with mpmath.workdps(40):
        assert abs(r.mp_x[0] - mpmath.mpf(1) / 10) < mpmath.mpf(10) ** -30     # the typed 0.3 is kept exact
        assert abs(r.mp_x[1] - mpmath.mpf(1) / 5) < mpmath.mpf(10) ** -30
    r, _, W = double_zero_newton(problem, "g", (0.0, 0.0), 0.5, -0.3, (1, 0), (0, 1))
    assert r.converged and abs(r.x[0] - 0.1) < 1e-14 and abs(r.x[1] - 0.2) < 1e-14


# the same model with x shifted by 1 and y by t/3: no fixed symmetric point, the disordered state moves with t
MOVING = ("(t + g - 0.3)*(x-1)^2 + (x-1)^4 + (t - 2*g + 0.3)*(y-t/3)^2 + 2*(y-t/3)^4 + c*(x-1)^2*(y-t/3)^2")


def test_double_zero_with_a_moving_disordered_state_in_mpmath():
    problem = expression_problem(MOVING, ["x", "y"], "t", {"g": 0.0, "c": 1.0})
    assert problem.symmetric_point is None
    r, system, _ = double_zero_newton(problem, "g", None, 0.3, 0.1, (1, 0), (0, 1), x_free=(1.05, 0.0),
                                      digits=30)
    assert r.converged
    with mpmath.workdps(40):
        x, y, t, g = r.mp_x[:4]
        assert abs(t - mpmath.mpf(1) / 10) < mpmath.mpf(10) ** -30 and abs(g - mpmath.mpf(1) / 5) < mpmath.mpf(10) ** -30
        assert abs(x - 1) < mpmath.mpf(10) ** -30 and abs(y - t / 3) < mpmath.mpf(10) ** -30
        assert max(abs(v) for v in r.mp_x[4:]) < mpmath.mpf(10) ** -30          # the multipliers vanish


def test_double_zero_refuses_coupled_modes():
    """An x y term couples the two modes: their eigenvalues repel, no double zero exists in two parameters,
    and the residual (the off-diagonal Schur entry, = s/2 ... s) cannot vanish."""
    problem = expression_problem(SHIFTED + " + s*x*y", ["x", "y"], "t", {"g": 0.0, "c": 1.0, "s": 0.1})
    r, _, _ = double_zero_newton(problem, "g", (0.0, 0.0), 0.5, -0.3, (1, 0), (0, 1))
    assert not r.converged and r.residual > 1e-3


@pytest.mark.parametrize("c, kind", [(1.0, "tetracritical-point"), (-1.0, "tetracritical-point"),
                                     (4.0, "bicritical-point"), (-4.0, None), (2 * math.sqrt(2), None)])
def test_kernel_quartic_decides_the_kind(c, kind):
    problem = expression_problem(SHIFTED, ["x", "y"], "t", {"g": 0.2, "c": c})
    q = kernel_quartic(problem, (0.0, 0.0), 0.1, np.eye(2))
    assert abs(q["A"] - 1) < 1e-12 and abs(q["E"] - 2) < 1e-12 and abs(q["C"] - c) < 1e-12
    assert abs(q["B"]) < 1e-12 and abs(q["D"]) < 1e-12
    got, reason = multicritical_kind(q)
    assert got == kind, reason


@pytest.mark.parametrize("s", [1.0, 2.5])
def test_kernel_quartic_eliminates_a_stiff_mode(s):
    """A third, massive order parameter z with z^2 - s x^2 z relaxes to z = s x^2/2 and lowers the x^4
    coefficient on the kernel to 1 - s^2/4 (negative for s = 2.5: no bicritical/tetracritical kind)."""
    problem = expression_problem(SHIFTED + " + z^2 - s*x^2*z", ["x", "y", "z"], "t", {"g": 0.0, "c": 1.0, "s": s})
    r, _, W = double_zero_newton(problem, "g", (0.0, 0.0, 0.0), 0.5, -0.3, (1, 0, 0), (0, 1, 0))
    assert r.converged and abs(r.x[0] - 0.1) < 1e-14 and abs(r.x[1] - 0.2) < 1e-14
    q = kernel_quartic(problem.with_params(g=float(r.x[1])), (0.0, 0.0, 0.0), float(r.x[0]), W)
    assert abs(q["A"] - (1 - s * s / 4)) < 1e-12 and abs(q["E"] - 2) < 1e-12 and abs(q["C"] - 1) < 1e-12
    assert (multicritical_kind(q)[0] == "tetracritical-point") == (s < 2)


def test_phase_sequence_kinds():
    assert _phases_kind(["disordered", "mode-1", "mode-2"]) == "bicritical-point"
    assert _phases_kind(["mode-1", "mixed", "mode-2", "disordered"]) == "tetracritical-point"
    # a mixed phase that does not lie between the two single-mode phases is no tetracritical point
    assert _phases_kind(["mode-1", "disordered", "mixed", "mode-2", "disordered"]) is None
    assert _phases_kind(["disordered", "mode-1"]) is None and _phases_kind(None) is None


@pytest.mark.parametrize("w", [-0.3, 0.7])
def test_critical_end_point_system_in_mpmath(w):
    h_ref, t_ref = cep_closed_form(w)
    problem = expression_problem(CEP, ["x", "y"], "h", {"t": 2.0, "w": w})
    ya = float(t_ref) / 2 + 0.05
    r, system, _ = critical_end_point_newton(problem, "t", (0.0, ya), float(h_ref) + 0.02, float(t_ref) + 0.1,
                                             (0.0, -1.1), c_scale=3.0, d_scale=0.5, digits=25)
    assert r.converged
    k = problem.k
    with mpmath.workdps(40):
        assert abs(r.mp_x[k] - h_ref) < mpmath.mpf(10) ** -25
        assert abs(r.mp_x[k + 1] - t_ref) < mpmath.mpf(10) ** -25
    xa, _, _, _, _, xb = system.split(r.x)
    assert abs(xa[0]) < 1e-12 and abs(xb[1] - (-w / 3 - math.sqrt(1 + w * w / 3))) < 1e-12


@pytest.mark.parametrize("expr, names, center", [
    ("t*((x-1)^2+(y+0.5)^2) - 2*((x-1)^2+(y+0.5)^2)^2 + ((x-1)^2+(y+0.5)^2)^3", ["x", "y"], (1.0, -0.5)),
    ("t*(x^2+y^2+z^2) - 2*(x^2+y^2+z^2)^2 + (x^2+y^2+z^2)^3", ["x", "y", "z"], (0.0, 0.0, 0.0)),
])
def test_fold_with_goldstone_modes_deflated(expr, names, center):
    """t r^2 - 2 r^4 + r^6: the ordered sphere's stationary radius t = 4 r^2 - 3 r^4 folds at r^2 = 2/3,
    t = 4/3, whatever the direction on the sphere (one Goldstone mode for O(2), two for O(3))."""
    problem = expression_problem(expr, names, "t", {})
    k = len(names)
    direction = np.array([math.cos(1.0), math.sin(1.0), 0.3][:k])
    direction /= np.linalg.norm(direction)
    t0 = 1.2
    r2 = (2 + math.sqrt(4 - 3 * t0)) / 3                  # the stable (outer) root of 4 r^2 - 3 r^4 = t0
    x = np.array(center) + math.sqrt(r2) * direction
    xf, cf, res, conv, _ = refine_fold(problem, x, t0, zero_modes=k - 1)
    assert conv and abs(cf - 4 / 3) < 1e-12
    assert abs(float(np.sum((xf - np.array(center)) ** 2)) - 2 / 3) < 1e-12


# ------------------------------------------------------------------ whole diagrams (slow)

def _one(diagram, kind):
    found = [s for s in diagram.special_points if s.kind == kind]
    assert [s.kind for s in diagram.special_points] == [kind], [(s.kind, s.values) for s in diagram.special_points]
    return found[0]


@pytest.mark.slow
@pytest.mark.parametrize("expr, control, second, params, rng, rng2, kind", [
    (SHIFTED, "t", "g", {"g": 0.0, "c": 1.0}, (-1.4, 1.5), (-0.2, 0.7), "tetracritical-point"),
    (SHIFTED, "g", "t", {"t": 0.0, "c": 4.0}, (-1.5, 1.5), (-0.6, 0.9), "bicritical-point"),
    (SHIFTED, "t", "g", {"g": 0.0, "c": 4.0}, (-1.5, 1.5), (-0.2, 0.7), "bicritical-point"),
    (MOVING, "t", "g", {"g": 0.0, "c": 1.0}, (-1.4, 1.5), (-0.2, 0.7), "tetracritical-point"),
    (MOVING, "g", "t", {"t": 0.0, "c": 4.0}, (-1.5, 1.5), (-0.6, 0.9), "bicritical-point"),
])
def test_multicritical_points_of_a_shifted_model(expr, control, second, params, rng, rng2, kind):
    problem = expression_problem(expr, ["x", "y"], control, params)
    diagram = phase_diagram(problem, second, rng2, rng, digits=20)
    sp = _one(diagram, kind)
    assert sp.flag == "ok" and sp.evidence["phases_kind"] == sp.evidence["landau_kind"] == kind
    assert abs(sp.values["t"] - 0.1) < 1e-12 and abs(sp.values["g"] - 0.2) < 1e-12
    assert sp.values_digits == {control: {"t": "0.1", "g": "0.2"}[control], second: {"t": "0.1", "g": "0.2"}[second]}
    ends = [b for b in diagram.boundaries if b.kind in ("first-order", "second-order") and
            any(abs(c - sp.values[control]) < 1e-12 and abs(d - sp.values[second]) < 1e-12 for c, d in b.points)]
    want = {"tetracritical-point": ["second-order"] * 4, "bicritical-point": ["first-order"] + ["second-order"] * 2}
    assert sorted(b.kind for b in ends) == want[kind]


@pytest.mark.slow
def test_critical_end_point_of_a_rescaled_model_from_the_cli(capsys):
    h_ref, t_ref = cep_closed_form(-0.3)
    code = cli_main(["phase-diagram", "--free-energy", CEP, "--order-params", "x", "y", "--control", "h",
                     "--range", "-1", "2", "--param", "t=1", "--param", "w=-0.3", "--second-control", "t",
                     "--second-range", "0.5", "3.5", "--digits", "20", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    [sp] = out["special_points"]
    assert sp["kind"] == "critical-end-point" and sp["flag"] == "ok"
    assert abs(sp["values"]["h"] - float(h_ref)) < 1e-12 and abs(sp["values"]["t"] - float(t_ref)) < 1e-12
    with mpmath.workdps(30):
        assert abs(mpmath.mpf(sp["values_digits"]["t"]) - t_ref) < mpmath.mpf(10) ** -19
    assert sp["evidence"]["order_parameter_jump"] > 1 and sp["evidence"]["landau_at_critical_phase"]["a4_effective"] > 0
    # the second-order line ends on the point; the first-order line runs through it
    second_lines = [b for b in out["boundaries"] if b["kind"] == "second-order"]
    first_lines = [b for b in out["boundaries"] if b["kind"] == "first-order"]
    assert len(second_lines) == 1 and abs(second_lines[0]["points"][0][1] - float(t_ref)) < 1e-12
    assert len(first_lines) == 1 and first_lines[0]["points"][0][1] < float(t_ref) < first_lines[0]["points"][-1][1]


@pytest.mark.slow
def test_spin_flop_spinodals_are_continued_as_branch_points_to_the_bicritical_point():
    """(t+g) x^2 + x^4 + (t-g) y^2 + y^4 + 3 x^2 y^2 at t < 0: the x phase (x^2 = -(t+g)/2) is stable against y
    while t - g + 3 x^2 > 0, up to g = t (1 - 3/2)/(1 + 3/2) = -t/5 (a branch point: y can grow), the y phase
    mirrors it; both spinodal lines end at the bicritical point g = t = 0."""
    problem = expression_problem("(t+g)*x^2 + x^4 + (t-g)*y^2 + y^4 + c*x^2*y^2", ["x", "y"], "g",
                                 {"t": -0.5, "c": 3.0})
    diagram = phase_diagram(problem, "t", (-1.0, 1.0), (-1.0, 1.0))
    spinodals = [b for b in diagram.boundaries if b.kind == "spinodal"]
    assert len(spinodals) == 2
    for line in spinodals:
        assert len(line.points) > 10 and line.points[-1] == (0.0, 0.0)
        assert all(abs(abs(g) + t / 5) < 1e-9 and t <= 0 for g, t in line.points)
    assert sorted(math.copysign(1, g) for g, t in (s.points[0] for s in spinodals)) == [-1, 1]


@pytest.mark.slow
@pytest.mark.parametrize("sign, second_range", [(1, (0.95, 1.07)), (-1, (-1.5, -0.6)), (-1, (-1.07, -0.95))])
def test_critical_end_point_whichever_side_the_line_lies_and_in_a_narrow_box(sign, second_range):
    """The catalogue's w = 0 model with t -> sign * t: the second-order line h = t'^3 - t' (t' = sign t > 1)
    ends at h = 0, t' = 1, entered from above (sign 1) or from below (sign -1) in the second parameter. In the
    narrow boxes the line lies within one control grid cell of the first-order line at the coarse point next
    to the critical end point, where the coarse analysis misses it: the line is followed on to the point."""
    expr = f"({sign}*t - y)*x^2 + x^4 + y^4/4 - y^2/2 - h*y"
    problem = expression_problem(expr, ["x", "y"], "h", {"t": sign * 1.0})
    diagram = phase_diagram(problem, "t", second_range, (-1, 2))
    sp = _one(diagram, "critical-end-point")
    assert sp.flag == "ok" and abs(sp.values["h"]) < 1e-12 and abs(sp.values["t"] - sign) < 1e-12
    for line in diagram.boundaries:
        if line.kind == "second-order":         # cut at the point: no metastable continuation beyond it
            assert all(sign * d >= 1 - 1e-12 for _, d in line.points)


@pytest.mark.slow
def test_o2_tricritical_point_and_no_spurious_multicritical_point():
    """t r^2 + (b - 0.2) r^4 + r^6 with r^2 = x^2 + y^2: the soft mode of x = y = 0 is twofold at every t = 0
    (O(2)), a line of double zeros, not an isolated bicritical or tetracritical point; the radial quartic
    vanishes at b = 0.2: a tricritical point, refined in mpmath with the degenerate soft mode held fixed."""
    problem = expression_problem("t*(x^2+y^2) + (b-0.2)*(x^2+y^2)^2 + (x^2+y^2)^3", ["x", "y"], "t", {"b": 0.5})
    diagram = phase_diagram(problem, "b", (-1, 1), (-0.5, 0.6), digits=15)
    sp = _one(diagram, "tricritical")
    assert abs(sp.values["t"]) < 1e-12 and abs(sp.values["b"] - 0.2) < 1e-12
    assert sp.values_digits == {"t": "0.0", "b": "0.2"}
