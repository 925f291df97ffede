"""The experiment scripts refuse to overwrite their outputs without --force (checked before any work)."""
import importlib.util
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent / "experiments"
SCRIPTS = {
    "verify_linear_onset.py": "linear_onset.json",
    "softmax_equilibrium.py": "equilibrium.json",
    "ula_step_study.py": "ula_step.json",
    "adam_vs_map.py": "adam_vs_map.json",
}


def _load(name):
    spec = importlib.util.spec_from_file_location(name[:-3], ROOT / name)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("script, output", sorted(SCRIPTS.items()))
def test_refuses_to_overwrite(script, output, tmp_path, capsys):
    (tmp_path / output).write_text("{}")
    assert _load(script).main(["--out", str(tmp_path)]) == 2
    assert "--force" in capsys.readouterr().err
    assert (tmp_path / output).read_text() == "{}"


@pytest.mark.parametrize("script", ["verify_linear_onset.py", "softmax_equilibrium.py", "adam_vs_map.py",
                                    "verify_m_of_alpha.py"])
def test_network_scripts_reject_the_gaussian_logit_prior_in_one_line(script, tmp_path, capsys):
    assert _load(script).main(["--prior", "gaussian-logit", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--prior" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_softmax_equilibrium_helpers():
    mod = _load("softmax_equilibrium.py")
    assert mod.alpha_at_half([1.0, 2.0, 3.0], [0.0, 0.25, 0.75]) == pytest.approx(2.5)
    assert mod.alpha_at_half([1.0, 2.0], [0.0, 0.2]) is None
    import numpy as np
    assert mod.crossings(np.array([0.1, 0.5, 0.1, 0.5]), 0.3) == 3
    rng = np.random.default_rng(0)
    two = np.concatenate([rng.normal(0.15, 0.02, 5000), rng.normal(0.5, 0.03, 5000)])
    thr, bimodal = mod.valley_threshold(two, 0.12, 0.6, 0.33)
    assert bimodal and 0.2 < thr < 0.42
    fit = mod.logistic_fit([1.0, 2.0, 3.0], [0.1, 0.5, 0.9], [100] * 3)
    assert fit["alpha_half"] == pytest.approx(2.0, abs=1e-9)


def test_linear_onset_alpha_c():
    from copyhead.spec import ModelSpec
    mod = _load("verify_linear_onset.py")
    assert mod.alpha_c_formula(ModelSpec(attention="linear", T=8, V=8)) == pytest.approx(8 / 56 ** 0.5)
