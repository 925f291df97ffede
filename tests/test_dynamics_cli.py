"""copyhead dynamics: JSON shape, bad inputs as one-line errors, --plot never overwrites unasked."""
import json

import pytest

from copyhead.cli import main


def test_json_shape(capsys):
    assert main(["dynamics", "--alphas", "4", "9", "--t-max", "100", "--points", "51", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["spinodals"]) == 2
    low, high = out["trajectories"]
    for tr in (low, high):
        assert {"alpha", "dynamics", "init", "t", "m", "test_error", "t_emerge", "final_branch"} <= set(tr)
        assert len(tr["t"]) == len(tr["m"]) == len(tr["test_error"]) == 51
    assert low["t_emerge"] is None and low["final_branch"] == "uniform"
    assert high["t_emerge"] > 0 and high["final_branch"] == "copy"
    assert high["test_error"][-1] < high["test_error"][0]


def test_free_energy_json_has_test_error(capsys):
    assert main(["free-energy", "--alpha", "6", "--json"]) == 0
    minima = json.loads(capsys.readouterr().out)["minima"]
    assert len(minima) == 2
    by_m = sorted(minima, key=lambda mn: mn["m"])
    assert 0 < by_m[1]["test_error"] < by_m[0]["test_error"] < 15 / 16


@pytest.mark.parametrize("argv, option", [
    (["--alphas", "x"], "--alphas"), (["--alphas", "-2"], "--alphas"), (["--alphas", "nan"], "--alphas"),
    (["--alphas", "3", "--dynamics", "sgd"], "--dynamics"), (["--alphas", "3", "--init", "random"], "--init"),
    (["--alphas", "3", "--t-max", "0"], "--t-max"), (["--alphas", "3", "--t-max", "1e9"], "--t-max"),
    (["--alphas", "3", "--N", "0"], "--N"), (["--alphas", "3", "--points", "1"], "--points"),
    (["--alphas", "3", "--T", "1"], "--T"), (["--alphas", "3", "--gamma", "-1"], "--gamma"),
    (["--alphas", "3", "--plot", "out.unknownformat"], "--plot"), ([], "--alphas"),
])
def test_bad_inputs(argv, option, capsys):
    assert main(["dynamics", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and option in err and "Traceback" not in err


def test_plot_refuses_existing_file(tmp_path, capsys):
    target = tmp_path / "m.png"
    target.write_text("keep me")
    assert main(["dynamics", "--alphas", "9", "--t-max", "50", "--plot", str(target)]) == 2
    assert "--plot" in capsys.readouterr().err and target.read_text() == "keep me"
    assert main(["dynamics", "--alphas", "9", "--t-max", "50", "--plot", str(target), "--force"]) == 0
    assert target.read_bytes()[:4] == b"\x89PNG"
