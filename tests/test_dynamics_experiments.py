"""The dynamics experiment scripts: refuse to overwrite, one-line errors."""
import importlib.util
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent / "experiments"


def _load(name):
    spec = importlib.util.spec_from_file_location(name[:-3], ROOT / name)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("script, output", [("dynamics_adam.py", "dynamics_adam.json"),
                                            ("dynamics_emergence.py", "dynamics.json")])
def test_refuses_to_overwrite(script, output, tmp_path, capsys):
    (tmp_path / output).write_text("{}")
    assert _load(script).main(["--out", str(tmp_path)]) == 2
    assert "--force" in capsys.readouterr().err
    assert (tmp_path / output).read_text() == "{}"


@pytest.mark.parametrize("script, argv, option", [("dynamics_adam.py", ["--lr", "-1"], "--lr"),
                                                  ("dynamics_adam.py", ["--N", "x"], "--N"),
                                                  ("dynamics_emergence.py", ["--Ts", "1"], "--Ts")])
def test_bad_input_one_line(script, argv, option, tmp_path, capsys):
    assert _load(script).main([*argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and option in err
    assert not (tmp_path / "o").exists()
