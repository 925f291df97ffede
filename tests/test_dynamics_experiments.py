"""The dynamics experiment scripts: refuse to overwrite, one-line errors."""

import pytest


@pytest.mark.parametrize("script, output", [("dynamics_adam.py", "dynamics_adam.json"),
                                            ("dynamics_emergence.py", "dynamics.json")])
def test_refuses_to_overwrite(script, output, tmp_path, capsys, load_experiment):
    (tmp_path / output).write_text("{}")
    assert load_experiment(script).main(["--out", str(tmp_path)]) == 2
    assert "--force" in capsys.readouterr().err
    assert (tmp_path / output).read_text() == "{}"


@pytest.mark.parametrize("script, argv, option", [("dynamics_adam.py", ["--lr", "-1"], "--lr"),
                                                  ("dynamics_adam.py", ["--N", "x"], "--N"),
                                                  ("dynamics_emergence.py", ["--Ts", "1"], "--Ts")])
def test_bad_input_one_line(script, argv, option, tmp_path, capsys, load_experiment):
    assert load_experiment(script).main([*argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and option in err
    assert not (tmp_path / "o").exists()
