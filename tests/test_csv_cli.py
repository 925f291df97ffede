"""Commands that make curves write CSV tables with named columns next to their JSON."""
import pytest

from copyhead.cli import main
from copyhead.curves import read_csv

LANDAU = ["--free-energy", "a*x^2 - w*x^3 + b*x^4", "--order-params", "x", "--control", "a",
          "--param", "w=1", "--param", "b=1"]


def test_transition_csv_holds_the_closed_form_transition(tmp_path, capsys):
    path = tmp_path / "t.csv"
    assert main(["transition", *LANDAU, "--range", "-1", "1", "--csv", str(path), "--json"]) == 0
    header, rows = read_csv(path)
    assert header[:4] == ["kind", "a", "spinodal_lo", "spinodal_hi"]
    (row,) = rows
    assert row[0] == "first-order"
    # a* = w^2/(4b), spinodals 0 and 9w^2/(32b)
    assert float(row[1]) == pytest.approx(0.25, abs=1e-10)
    assert float(row[2]) == pytest.approx(0.0, abs=1e-9) and float(row[3]) == pytest.approx(0.28125, abs=1e-9)
    assert "# command: " in path.read_text()
    capsys.readouterr()
    assert main(["transition", *LANDAU, "--range", "-1", "1", "--csv", str(path)]) == 2
    assert "--csv" in capsys.readouterr().err


def test_phase_diagram_csv_lists_each_line_point(tmp_path, capsys):
    path = tmp_path / "pd.csv"
    assert main(["phase-diagram", *LANDAU, "--range", "-1", "1", "--second-control", "w",
                 "--second-range", "0.5", "1.5", "--points", "5", "--csv", str(path), "--json"]) == 0
    header, rows = read_csv(path)
    assert header == ["kind", "w", "a"]
    first = [(float(w), float(a)) for kind, w, a in rows if kind == "first-order"]
    assert len(first) >= 5
    for w, a in first:  # the first-order line a*(w) = w^2/4 at b = 1
        assert a == pytest.approx(w * w / 4, rel=1e-6, abs=1e-9)


def test_verify_csv_matches_the_json_points(tmp_path, capsys):
    import json

    path = tmp_path / "v.csv"
    tiny = ["--T", "4", "--V", "3", "--N", "6", "--alphas", "0.5", "2", "--chains", "2", "--steps", "60", "--seed", "3"]
    assert main(["verify", *tiny, "--csv", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    header, rows = read_csv(path)
    assert header == ["alpha", "N", "init", "sampler", "m_mean", "m_err", "m_theory"]
    assert [(float(r[0]), r[2], float(r[4]), float(r[5])) for r in rows] == [
        (p["alpha"], p["init"], p["m_mean"], p["m_err"]) for p in doc["points"]]
    glob = {e["alpha"]: [mn["m"] for mn in e["minima"] if mn["is_global"]][0] for e in doc["theory"]["alphas"]}
    assert all(float(r[6]) == glob[float(r[0])] for r in rows)


def test_engine_results_as_dataframes():
    pandas = __import__("pytest").importorskip("pandas")
    from copyhead.curves import to_dataframe
    from copyhead.numerics.transitions import expression_problem, find_transitions, phase_diagram

    problem = expression_problem("a*x^2 - w*x^3 + b*x^4", ["x"], "a", {"w": 1.0, "b": 1.0})
    frame = to_dataframe(find_transitions(problem, -1.0, 1.0))
    assert isinstance(frame, pandas.DataFrame) and frame.loc[0, "kind"] == "first-order"
    assert abs(frame.loc[0, "a"] - 0.25) < 1e-10
    lines = to_dataframe(phase_diagram(problem, "w", (0.5, 1.5), (-1.0, 1.0), n_points=5))
    first = lines[lines["kind"] == "first-order"]
    assert len(first) >= 5 and ((first["a"] - first["w"] ** 2 / 4).abs() < 1e-6).all()
