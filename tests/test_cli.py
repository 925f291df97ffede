"""The command line: JSON contract, one-line errors with exit code 2, no overwrites."""
import json
import os
import re
import subprocess
import sys

import pytest

from copyhead.cli import main


def run(*args, env=None):
    return subprocess.run([sys.executable, "-m", "copyhead", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=600)


def test_free_energy_json():
    out = run("free-energy", "--alpha", "6", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["alpha"] == 6.0 and data["model"]["attention"] == "softmax"
    assert len(data["minima"]) == 2 and sum(mn["is_global"] for mn in data["minima"]) == 1
    assert {"order_parameters", "m", "f"} <= set(data["minima"][0])


@pytest.mark.parametrize("args,option", [
    (["--T", "1"], "--T"), (["--T", "x"], "--T"), (["--V", "1"], "--V"), (["--gamma", "0"], "--gamma"),
    (["--gamma", "inf"], "--gamma"), (["--sigma-q", "-1"], "--sigma-q"), (["--sigma-k", "nan"], "--sigma-k"),
    (["--sigma-w", "0"], "--sigma-w"), (["--sigma2", "-2"], "--sigma2"), (["--attention", "relu"], "--attention"),
    (["--tokens", "bits"], "--tokens"), (["--prior", "laplace"], "--prior"), (["--alpha", "-1"], "--alpha"),
    (["--alpha", "abc"], "--alpha")])
def test_bad_input_one_line_exit_2(args, option, capsys):
    argv = ["free-energy", *args] if "--alpha" in args else ["free-energy", "--alpha", "2", *args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and option in err and "Traceback" not in err


def test_unknown_option_is_one_line(capsys):
    assert main(["free-energy", "--alpha", "2", "--bogus"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--bogus" in err


def test_derive_latex_refuses_to_overwrite(tmp_path, capsys):
    target = tmp_path / "d.tex"
    target.write_text("mine")
    assert main(["derive", "--latex", str(target)]) == 2
    assert target.read_text() == "mine" and "--force" in capsys.readouterr().err


def test_derive_lists_steps_without_checking(capsys):
    assert main(["derive"]) == 0
    assert "a.evidence" in capsys.readouterr().out


@pytest.mark.slow
def test_derive_check_end_to_end():
    out = run("derive", "--check")
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.strip().splitlines()
    summary = re.match(r"^(\d+)/(\d+) steps verified( \(.*\))?$", lines[-1])
    assert summary, lines[-1]
    n, total = summary.group(1), summary.group(2)
    assert n == total and int(total) == len(lines) - 1


def test_numerical_failure_is_one_line_exit_1(monkeypatch, capsys):
    """Library errors (non-convergence) reach the user as one line and exit code 1, never a traceback."""
    import copyhead.numerics.free_energy as fe
    from copyhead.errors import ConvergenceError

    def fail(spec, alpha):
        raise ConvergenceError("alpha=2.0: the free-energy gradient does not point outward")

    monkeypatch.setattr(fe, "local_minima", fail)
    assert main(["free-energy", "--alpha", "2"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ConvergenceError" in err and "Traceback" not in err
