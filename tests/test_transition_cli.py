"""`copyhead transition` / `copyhead phase-diagram`: the CLI contract.

The handlers are exercised through a parser built exactly as copyhead/cli.py
registers them (add_model_options, then configure_*); the real `python -m
copyhead` is also run when cli.py registers the subcommands.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import pytest

from copyhead.scripting import UsageError, add_model_options
from copyhead._transition_cli import (configure_phase_diagram, configure_transition, run_phase_diagram,
                                      run_transition)


def parser():
    p = argparse.ArgumentParser(prog="copyhead")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("transition")
    add_model_options(t)
    configure_transition(t)
    t.set_defaults(handler=run_transition)
    d = sub.add_parser("phase-diagram")
    add_model_options(d)
    configure_phase_diagram(d)
    d.set_defaults(handler=run_phase_diagram)
    return p


def run(argv, capsys):
    args = parser().parse_args(argv)
    code = args.handler(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_transition_model_json(capsys):
    code, out, err = run(["transition", "--alpha-range", "2", "20", "--json"], capsys)
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 1
    obj = json.loads(lines[0])
    assert list(obj)[:2] == ["control", "transitions"]
    assert obj["control"] == "alpha" and obj["order_parameter"] == "m"
    (tr,) = obj["transitions"]
    assert tr["kind"] == "first-order"
    assert set(tr["order_parameter"]) == {"before", "after"}
    lo, hi = tr["spinodals"]
    assert lo < tr["critical_value"] < hi
    assert obj["model"]["attention"] == "softmax"


def test_transition_auto_range_and_digits(capsys):
    code, out, err = run(["transition", "--attention", "linear", "--digits", "25", "--json"], capsys)
    assert code == 0
    obj = json.loads(out)
    assert obj["range_source"] == "auto" and "alpha range" in err
    (tr,) = [t for t in obj["transitions"] if t["kind"] == "second-order"]
    assert tr["critical_value_digits"].startswith("1.032795558988644")
    assert len(tr["critical_value_digits"].replace(".", "")) == 25


def test_transition_generic(capsys):
    code, out, _ = run(["transition", "--free-energy", "a*x^2 - w*x^3 + b*x^4", "--order-params", "x",
                        "--control", "a", "--range", "-0.5", "0.6", "--param", "w=1", "--param", "b=1", "--json"],
                       capsys)
    assert code == 0
    obj = json.loads(out)
    assert obj["control"] == "a"
    (tr,) = obj["transitions"]
    assert tr["kind"] == "first-order" and abs(tr["critical_value"] - 0.25) < 1e-12
    assert tr["spinodals"] == [pytest.approx(0.0, abs=1e-12), pytest.approx(9 / 32, abs=1e-12)]


def test_transition_human_output(capsys):
    code, out, _ = run(["transition", "--free-energy", "t*x^2 + x^4", "--order-params", "x", "--control", "t",
                        "--range", "-1", "1"], capsys)
    assert code == 0 and "second-order" in out and "beta" in out


@pytest.mark.parametrize("argv, fragment", [
    (["transition", "--free-energy", "x^2", "--order-params", "x", "--control", "t", "--range", "0", "1",
      "--T", "8"], "--T:"),
    (["transition", "--free-energy", "x^2", "--order-params", "x", "--control", "t"], "--range:"),
    (["transition", "--free-energy", "x^2", "--control", "t", "--range", "0", "1"], "--order-params:"),
    (["transition", "--free-energy", "x^2 + q", "--order-params", "x", "--control", "t", "--range", "0", "1"],
     "--free-energy: unknown symbol(s) q"),
    (["transition", "--free-energy", "x.real", "--order-params", "x", "--control", "t", "--range", "0", "1"],
     "--free-energy:"),
    (["transition", "--free-energy", "x^2", "--order-params", "x", "--control", "t", "--range", "1", "0"],
     "--range:"),
    (["transition", "--free-energy", "x^2*a", "--order-params", "x", "--control", "t", "--range", "0", "1",
      "--param", "a"], "--param:"),
    (["transition", "--range", "0", "1"], "--range:"),
    (["transition", "--alpha-range", "-1", "2"], "--alpha-range:"),
    (["transition", "--T", "1"], "--T:"),
    (["transition", "--digits", "zero"], "--digits:"),
    (["phase-diagram", "--range", "4", "8"], "--vary:"),
    (["phase-diagram", "--vary", "T"], "--range:"),
    (["phase-diagram", "--vary", "alpha", "--range", "1", "2"], "--vary:"),
    (["phase-diagram", "--vary", "T", "--range", "4", "8", "--T", "5"], "--T:"),
    (["phase-diagram", "--free-energy", "t*x^2+b*x^4", "--order-params", "x", "--control", "t", "--range", "-1",
      "1", "--param", "b=1", "--second-control", "c", "--second-range", "0", "1"], "--second-control:"),
])
def test_usage_errors(argv, fragment, capsys):
    args = parser().parse_args(argv)
    with pytest.raises(UsageError) as info:
        args.handler(args)
    assert str(info.value).startswith(fragment.split(":")[0] + ":")
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_phase_diagram_generic_json_and_plot(capsys, tmp_path):
    plot = tmp_path / "pd.png"
    code, out, err = run(["phase-diagram", "--free-energy", "a*x^2 + b*x^4 + x^6", "--order-params", "x",
                          "--control", "a", "--range", "-0.5", "0.6", "--param", "b=0",
                          "--second-control", "b", "--second-range", "-1", "1", "--points", "9", "--coarse", "5",
                          "--plot", str(plot), "--json"], capsys)
    assert code == 0
    obj = json.loads(out)
    assert list(obj)[:2] == ["boundaries", "special_points"]
    kinds = {b["kind"] for b in obj["boundaries"]}
    assert {"first-order", "second-order"} <= kinds
    for b in obj["boundaries"]:
        assert all(len(p) == 2 for p in b["points"])
    (tc,) = obj["special_points"]
    assert tc["kind"] == "tricritical" and abs(tc["values"]["a"]) < 1e-8 and abs(tc["values"]["b"]) < 1e-8
    assert plot.exists() and plot.stat().st_size > 1000
    # refuses to overwrite
    args = parser().parse_args(["phase-diagram", "--free-energy", "a*x^2 + b*x^4 + x^6", "--order-params", "x",
                                "--control", "a", "--range", "-0.5", "0.6", "--param", "b=0", "--second-control",
                                "b", "--second-range", "-1", "1", "--plot", str(plot)])
    with pytest.raises(UsageError, match="--plot: .* exists"):
        args.handler(args)


def test_phase_diagram_model_gamma(capsys):
    code, out, err = run(["phase-diagram", "--attention", "linear", "--vary", "gamma", "--range", "0.3", "0.8",
                          "--coarse", "5", "--points", "9", "--json"], capsys)
    assert code == 0
    obj = json.loads(out)
    (tc,) = [s for s in obj["special_points"] if s["kind"] == "tricritical"]
    assert abs(tc["values"]["gamma"] - 15 ** 0.5 / 8) < 1e-8
    assert "alpha" in tc["values"]


def _cli_has_transition():
    try:
        out = subprocess.run([sys.executable, "-m", "copyhead", "--help"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "transition" in out.stdout


@pytest.mark.skipif(not _cli_has_transition(), reason="copyhead/cli.py does not register `transition` yet")
def test_real_process_json():
    env = dict(os.environ)
    out = subprocess.run([sys.executable, "-m", "copyhead", "transition", "--json"], capture_output=True, text=True,
                         timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    obj = json.loads(out.stdout)
    assert obj["transitions"][0]["kind"] == "first-order"
    bad = subprocess.run([sys.executable, "-m", "copyhead", "transition", "--free-energy", "x^2", "--T", "4"],
                         capture_output=True, text=True, timeout=120, env=env)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_transition_json_carries_the_test_error_of_each_side(capsys):
    """Model mode: the Bayes test error on both sides of the jump and at each evidence minimum, evaluated at
    the reported order parameters; the copy side generalises better than the uniform side."""
    from copyhead import ModelSpec
    from copyhead.numerics.dynamics import test_error_at

    code, out, _ = run(["transition", "--alpha-range", "2", "20", "--json"], capsys)
    assert code == 0
    (tr,) = json.loads(out)["transitions"]
    err = tr["test_error"]
    assert err["before"] > err["after"] > 0
    spec = ModelSpec()
    for side in ("before", "after"):
        assert err[side] == test_error_at(spec, tr["critical_value"], tr["order_parameters"][side])
    assert sorted(mn["test_error"] for mn in tr["evidence"]["minima"]) == sorted(err.values())
