"""CopyHeadModel and its curves, through public names, against computations that bypass the compiled code:
the SymPy free energy lambdified to mpmath (printed by the rate functions themselves) and a dense grid."""
import csv

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

from copyhead import CopyHeadModel, InvalidParameterError, ModelSpec
from copyhead.curves import read_csv

MODELS = [CopyHeadModel(), CopyHeadModel(T=8, gamma=1.7, sigma2=0.6), CopyHeadModel(attention="linear"),
          CopyHeadModel(attention="linear", gamma=0.3, prior="gaussian-logit", sigma_q=1.3)]


def reference_f(model, alpha):
    """f(x) at 30 digits from the SymPy expression: an independent path to the numbers."""
    (x,) = model.reduced.order_params
    expr = model.free_energy.subs(model.subs(alpha))
    fn = sp.lambdify(x, expr, "mpmath")
    return lambda v: fn(mp.mpf(v))


@pytest.fixture(scope="module")
def softmax_branches():
    return CopyHeadModel().stationary_branches(2.0, 12.0, n=200)


def test_params_are_the_theory_order_and_subs_is_consistent():
    from copyhead.spec import NUMERIC_FIELDS
    from copyhead.theory.symbols import MODEL_PARAMS

    model = CopyHeadModel(T=5, sigma_w=0.4)
    assert tuple(model.params) == tuple(str(s) for s in MODEL_PARAMS) == NUMERIC_FIELDS
    assert model.params["T"] == 5 and model.params["sigma_w"] == 0.4
    subs = model.subs(alpha=3.0)
    assert {str(k): v for k, v in subs.items()} == {**model.params, "alpha": 3.0}
    fe = model.compiled()
    assert model.param_vector(fe.params, alpha=3.0) == [model.values(3.0)[n] for n in fe.params]
    with pytest.raises(InvalidParameterError, match="alpha"):
        model.param_vector(["alpha"])


@pytest.mark.parametrize("model", MODELS, ids=lambda m: f"{m.spec.attention}-{m.spec.prior}-g{m.spec.gamma}")
@pytest.mark.parametrize("alpha", [0.7, 7.5])
def test_minima_are_the_minima_of_the_symbolic_free_energy(model, alpha):
    f = reference_f(model, alpha)
    found = model.minima(alpha)
    scale = model.spec.sigma_q * model.spec.sigma_k
    grid = np.linspace(-1.0 * scale if model.spec.attention == "softmax" else 0.0, 12.0 * scale, 701)
    values = np.array([float(f(v)) for v in grid])
    best = grid[np.argmin(values)]
    glob = [mn for mn in found if mn.is_global]
    assert glob, found
    # the global minimum: within one grid step of the grid's best point (linear: up to the sign of s)
    assert min(abs(abs(mn.order_parameter) - abs(best)) for mn in glob) <= grid[1] - grid[0]
    for mn in found:
        x0 = mp.mpf(mn.order_parameter)
        assert abs(float(f(x0)) - mn.f) <= 1e-9 * max(1.0, abs(mn.f))
        h = 1e-4 * scale
        assert float(f(x0 - h)) >= float(f(x0)) and float(f(x0 + h)) >= float(f(x0))
        assert abs(float(model.observables([mn.order_parameter])["m"]) - mn.m) <= 1e-12


def test_stationary_branches_are_stationary_and_labelled_by_the_global_minimum(softmax_branches):
    model = CopyHeadModel()
    (x,) = model.reduced.order_params
    grad = sp.lambdify((x, sp.Symbol("alpha", positive=True, finite=True)),
                       sp.diff(model.free_energy, x).subs(model.subs()), "mpmath")
    assert set(softmax_branches.stability) == {"stable", "metastable", "unstable"}
    for a, d, label, curvature in list(zip(softmax_branches.alpha, softmax_branches.order_parameter,
                                           softmax_branches.stability, softmax_branches.curvature))[::7]:
        assert abs(grad(mp.mpf(d), mp.mpf(a))) <= 1e-8
        assert (curvature < 0) == (label == "unstable")
        if label != "unstable":
            is_global = any(abs(mn.order_parameter - d) < 1e-6 for mn in model.minima(a) if mn.is_global)
            assert is_global == (label == "stable")


def test_branch_folds_sit_at_the_engine_spinodals(softmax_branches):
    """The branch turns in alpha at the folds: the alpha range of the metastable and unstable points is the
    spinodal window of the transition engine (to the resolution of the scan)."""
    (first,) = [t for t in CopyHeadModel().transitions(2.0, 20.0).transitions if t.kind == "first-order"]
    inside = [a for a, s in zip(softmax_branches.alpha, softmax_branches.stability) if s != "stable"]
    lo, hi = first.spinodals
    assert lo - 1e-9 <= min(inside) <= lo + 0.02 * (hi - lo)
    assert hi - 0.02 * (hi - lo) <= max(inside) <= hi + 1e-9
    # the curve is refined until it reaches both ends of the window, in steps of at most 2 (hi - lo) / n
    assert min(softmax_branches.alpha) < 2.0 + 0.1 and max(softmax_branches.alpha) > 12.0 - 0.1
    steps = np.abs(np.diff(softmax_branches.alpha))
    assert steps.max() <= 2 * 10.0 / 200 + 1e-12


def test_linear_branches_include_the_symmetric_point():
    model = CopyHeadModel(attention="linear")
    branches = model.stationary_branches(0.5, 3.0, n=60)
    alpha_c = [t for t in model.transitions(0.5, 3.0).transitions if t.kind == "second-order"][0].critical_value
    for a, m, label, curve in zip(branches.alpha, branches.m, branches.stability, branches.curve):
        if curve == 1:
            assert m == 0 and label == ("stable" if a < alpha_c else "unstable")
        else:
            assert a > alpha_c and label == "stable" and m > 0


def test_branches_csv_has_named_columns_and_round_trips(softmax_branches, tmp_path):
    path = softmax_branches.to_csv(tmp_path / "branches.csv")
    header, rows = read_csv(path)
    assert header == ["alpha", "m", "delta", "stability", "curvature", "curve"]
    assert len(rows) == len(softmax_branches)
    assert [float(r[0]) for r in rows] == list(softmax_branches.alpha)  # repr round-trips floats exactly
    assert {r[3] for r in rows} == {"stable", "metastable", "unstable"}
    text = path.read_text()
    assert text.startswith("# model: ") and "# column stability:" in text
    with pytest.raises(InvalidParameterError, match="exists"):
        softmax_branches.to_csv(path)
    # the comment lines are skipped by any CSV reader told so
    assert next(csv.reader(line for line in text.splitlines() if not line.startswith("#"))) == header


def test_to_dataframe(softmax_branches):
    pandas = pytest.importorskip("pandas")
    frame = softmax_branches.to_dataframe()
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame.columns) == ["alpha", "m", "delta", "stability", "curvature", "curve"]
    assert frame["alpha"].tolist() == list(softmax_branches.alpha)


def test_bad_input_names_the_parameter():
    model = CopyHeadModel()
    for call, name in ((lambda: model.minima(-1.0), "alpha"), (lambda: model.minima(float("nan")), "alpha"),
                       (lambda: model.stationary_branches(5.0, 2.0), "alpha"),
                       (lambda: model.problem("beta"), "control"),
                       (lambda: CopyHeadModel(attention="linear", tokens="onehot").stationary_branches(1, 2), "tokens"),
                       (lambda: CopyHeadModel("softmax"), "spec"), (lambda: CopyHeadModel(T=1), "T")):
        with pytest.raises(InvalidParameterError) as info:
            call()
        assert info.value.parameter == name and info.value.reason


@pytest.mark.slow  # compiles a second control (about 5 s)
def test_problem_with_another_control_matches_alpha_control():
    """The same free energy seen with gamma as the control: equal values at equal parameters."""
    model = CopyHeadModel(T=8)
    by_alpha, by_gamma = model.problem("alpha"), model.problem("gamma", alpha=4.0)
    x = [np.array([0.3, 1.5, 4.0])]
    assert np.allclose(by_alpha.f(x, 4.0), by_gamma.f(x, 1.0), rtol=1e-14)
    assert np.allclose(by_alpha.obs(x, 4.0), by_gamma.obs(x, 1.0), rtol=1e-14)


def test_alpha_star_scan_table():
    scan = CopyHeadModel().alpha_star_vs_T([4, 16])
    table = scan.to_table()
    assert table.columns[:3] == ("T", "ln_T", "alpha_star")
    by_T = dict(zip(table.column("T"), table.column("alpha_star")))
    assert by_T[4] is None  # T = 4 is below the critical end point: crossover only
    assert by_T[16] == pytest.approx(5.9704634191640881979, rel=1e-9)  # README value (20-digit engine run)


def test_spec_and_model_share_one_vocabulary():
    from copyhead.spec import FIELD_NAMES, OPTION_NAMES, option_name

    assert FIELD_NAMES == tuple(ModelSpec().to_dict())
    assert OPTION_NAMES == {name: option_name(name) for name in FIELD_NAMES}
    assert OPTION_NAMES["sigma_q"] == "--sigma-q" and OPTION_NAMES["T"] == "--T"
