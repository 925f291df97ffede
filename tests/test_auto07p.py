"""The copy-head softmax spinodals and critical point against AUTO-07p (optional, slow).

AUTO-07p (Debian package auto-07p, which compiles equation files with gcc and links them with gfortran) continues
the stationary branch f'(delta; alpha) = 0 of the default softmax model at T = V = 16 and reports its folds (LP):
the spinodals. A second run continues the fold system (f' = 0, f'' = 0) in T; the critical point, where the two
spinodals merge, is the fold of that curve in T. The equations are the SymPy derivatives of the reduced free energy
(the model's definition), printed as C; continuation, fold detection and location are AUTO's, independent of the
engine. Skipped, with the reason, when AUTO-07p or gfortran is missing.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import mpmath
import pytest

AUTO_DIR = os.environ.get("AUTO_DIR", "/usr/lib/auto-07p")
README = {"spinodals": (5.004479388, 8.640856474), "critical": {"T": 5.059033, "alpha": 5.284642}}


def _missing() -> str | None:
    if not os.path.isdir(os.path.join(AUTO_DIR, "python", "auto")):
        return f"AUTO-07p not found in {AUTO_DIR} (apt-get install auto-07p)"
    if shutil.which("gfortran") is None:
        return "gfortran not found (AUTO-07p links equation files with it; apt-get install gfortran)"
    if shutil.which("python3") is None:
        return "python3 not found (AUTO-07p's Python interface runs under it)"
    return None


pytestmark = [pytest.mark.slow, pytest.mark.skipif(_missing() is not None, reason=_missing() or "")]

_C_TAIL = """
int bcnd (integer ndim, const doublereal *par, const integer *icp, integer nbc, const doublereal *u0,
          const doublereal *u1, integer ijac, doublereal *fb, doublereal *dbc) { return 0; }
int icnd (integer ndim, const doublereal *par, const integer *icp, integer nint, const doublereal *u,
          const doublereal *uold, const doublereal *udot, const doublereal *upold, integer ijac,
          doublereal *fi, doublereal *dint) { return 0; }
int fopt (integer ndim, const doublereal *u, const integer *icp, const doublereal *par, integer ijac,
          doublereal *fs, doublereal *dfdu, doublereal *dfdp) { return 0; }
int pvls (integer ndim, const doublereal *u, doublereal *par) { return 0; }
"""
_CONSTANTS = dict(IPS=0, ILP=1, ISP=0, ISW=1, NMX=5000, NPR=100000, DSMIN=1e-8, DSMAX=0.05, A0=-1e6, A1=1e6,
                  EPSL=1e-12, EPSU=1e-12, EPSS=1e-10, ITMX=20, NWTN=5, JAC=0, ITNW=10, NTST=1, NCOL=1, IAD=0,
                  IPLT=0, NBC=0, NINT=0, MXBF=0, IID=0)


def _equations():
    """f'(delta) and f''(delta) of the default softmax model (T left free), as C over U0 = delta, P1 = alpha, P2 = T;
    and an mpmath f' for the starting point."""
    import sympy as sp

    from copyhead import CopyHeadModel, ModelSpec
    from copyhead.theory import symbols
    from copyhead.theory.reduced import reduced_model

    spec = ModelSpec()
    model = reduced_model(spec.attention, spec.tokens, spec.prior)
    (delta,) = model.order_params
    knobs = {getattr(symbols, k): sp.nsimplify(v) for k, v in spec.numeric_params.items() if k != "T"}
    f = model.free_energy.doit().subs(knobs)
    g1 = sp.diff(f, delta)
    g2 = sp.diff(g1, delta)
    names = {delta: sp.Symbol("U0"), symbols.alpha: sp.Symbol("P1"), symbols.T: sp.Symbol("P2")}
    c_code = [sp.ccode(g.subs(names)) for g in (g1, g2)]
    return c_code, sp.lambdify((delta, symbols.alpha, symbols.T), g1, "mpmath")


def _c_file(residuals, unknowns: str, start: dict) -> str:
    body = "\n".join(f"  f[{i}] = {r};" for i, r in enumerate(residuals))
    starts = " ".join(f"{k} = {v!r};" for k, v in start.items())
    return f"""#include "auto_f2c.h"
#include <math.h>
int func (integer ndim, const doublereal *u, const integer *icp, const doublereal *par, integer ijac,
          doublereal *f, doublereal *dfdu, doublereal *dfdp)
{{
  doublereal {unknowns};
{body}
  return 0;
}}
int stpnt (integer ndim, doublereal t, doublereal *u, doublereal *par) {{ {starts} return 0; }}
""" + _C_TAIL


def _run_auto(directory, name: str, c_source: str, **constants) -> list:
    """Run AUTO-07p on one equation file; the labelled fold points (LP) as rows of floats from the b-file."""
    with open(os.path.join(directory, f"{name}.c"), "w") as handle:
        handle.write(c_source)
    options = ", ".join(f"{k}={v!r}" for k, v in {**_CONSTANTS, **constants}.items())
    # AUTO's s-file reader fails with current numpy; the b-file has 11 significant digits, enough here
    script = f"import auto\nauto.run(e={name!r}, sv={name!r}, {options})\n"
    env = dict(os.environ, PYTHONPATH=os.path.join(AUTO_DIR, "python"), AUTO_DIR=AUTO_DIR)
    done = subprocess.run(["python3", "-c", script], cwd=directory, env=env, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    rows = []
    with open(os.path.join(directory, f"b.{name}")) as handle:
        for line in handle:
            fields = line.split()
            if len(fields) > 4 and fields[0] != "0" and fields[2] == "2":      # TY = 2: a fold (LP)
                rows.append([float(v) for v in fields[4:]])
    return rows


@pytest.fixture(scope="module")
def auto_results(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("auto07p"))
    (g1_c, g2_c), g1 = _equations()
    with mpmath.workdps(30):
        delta0 = float(mpmath.findroot(lambda d: g1(d, 2, 16), 0.01))          # on the small-delta branch
    spin = _run_auto(directory, "spin", _c_file([g1_c], "U0 = u[0], P1 = par[0], P2 = par[1]",
                                                {"u[0]": delta0, "par[0]": 2.0, "par[1]": 16.0}),
                     NDIM=1, ICP=[1], DS=0.01, RL0=1.0, RL1=20.0)
    folds = sorted((row[0], row[2]) for row in spin)                            # (alpha, delta)
    assert len(folds) == 2, spin
    alpha_hi, delta_hi = folds[1]
    crit = _run_auto(directory, "crit", _c_file([g1_c, g2_c], "U0 = u[0], P1 = u[1], P2 = par[1]",
                                                {"u[0]": delta_hi, "u[1]": alpha_hi, "par[1]": 16.0}),
                     NDIM=2, ICP=[2], DS=-0.01, RL0=2.5, RL1=40.0)
    assert len(crit) == 1, crit
    T_c, _, delta_c, alpha_c = crit[0]
    return {"spinodals": (folds[0][0], folds[1][0]), "critical": {"T": T_c, "alpha": alpha_c, "delta": delta_c}}


def test_readme_numbers_agree_with_auto(auto_results):
    for got, stated in zip(auto_results["spinodals"], README["spinodals"]):
        assert abs(got - stated) < 2e-9
    for key, stated in README["critical"].items():
        assert abs(auto_results["critical"][key] - stated) < 2e-6


def test_engine_spinodals_agree_with_auto(auto_results):
    from copyhead import CopyHeadModel, ModelSpec
    from copyhead.numerics.transitions import find_transitions

    report = find_transitions(CopyHeadModel(ModelSpec()).problem(), 2.0, 20.0)
    (first,) = [t for t in report.transitions if t.kind == "first-order"]
    for got, want in zip(first.spinodals, auto_results["spinodals"]):
        assert abs(got - want) < 1e-9 * want, (first.spinodals, auto_results["spinodals"])


def test_engine_critical_point_agrees_with_auto(auto_results):
    from copyhead import CopyHeadModel, ModelSpec
    from copyhead.numerics.transitions import phase_diagram

    diagram = phase_diagram(CopyHeadModel(ModelSpec()).problem(), "T", (4.0, 8.0))
    # "critical-end-point" is the engine's old name for this point (issue 9, item 9)
    points = [p for p in diagram.special_points if p.kind in ("critical-point", "critical-end-point")]
    assert len(points) == 1, diagram.special_points
    want = auto_results["critical"]
    assert abs(points[0].values["T"] - want["T"]) < 1e-7 * want["T"]
    assert abs(points[0].values["alpha"] - want["alpha"]) < 1e-7 * want["alpha"]


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-m", "slow", "-q"]))
