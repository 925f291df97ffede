"""`copyhead verify`: option validation, JSON shape, plot safety, theory plumbing."""
import argparse
import json
import os
import subprocess
import sys
import types
from dataclasses import dataclass

import pytest

from copyhead import _verify_cli
from copyhead.scripting import UsageError, add_model_options

TINY = ["--T", "4", "--V", "3", "--N", "6", "--alphas", "0.5", "2", "--chains", "2", "--steps", "60",
        "--workers", "1"]


def parse(argv):
    parser = argparse.ArgumentParser(prog="copyhead verify")
    add_model_options(parser)
    _verify_cli.configure(parser)
    return parser.parse_args(argv)


def run_json(argv, capsys):
    assert _verify_cli.run(parse(argv + ["--json"])) == 0
    out = capsys.readouterr()
    lines = out.out.strip().splitlines()
    assert len(lines) == 1  # exactly one JSON object on stdout; progress went to stderr
    assert "[1/" in out.err
    return json.loads(lines[0])


def test_json_shape(capsys):
    doc = run_json(TINY + ["--seed", "4"], capsys)
    assert set(doc) == {"points", "theory", "finite_n", "meta"}
    assert len(doc["points"]) == 1 * 2 * 2  # N x alphas x inits
    assert len(doc["finite_n"]["rows"]) == len(doc["points"])   # the one-loop prediction beside each point
    for p in doc["points"]:
        assert set(p) == {"alpha", "N", "init", "sampler", "m_mean", "m_err", "diagnostics"}
        assert p["N"] == 6 and p["sampler"] == "mala" and p["init"] in ("uniform", "copy")
        assert 0 <= p["m_mean"] <= 1
        assert p["diagnostics"]["burn_in"] == "first half discarded"
    assert {(p["alpha"], p["init"]) for p in doc["points"]} == {
        (a, i) for a in (0.5, 2.0) for i in ("uniform", "copy")}
    assert doc["meta"]["seed"] == 4 and doc["meta"]["params"]["T"] == 4
    assert doc["meta"]["version"]


def test_same_seed_same_numbers(capsys):
    a = run_json(TINY + ["--sampler", "langevin"], capsys)
    b = run_json(TINY + ["--sampler", "langevin"], capsys)
    assert [p["m_mean"] for p in a["points"]] == [p["m_mean"] for p in b["points"]]


def test_adam_and_full_posterior(capsys):
    doc = run_json(TINY + ["--sampler", "adam", "--posterior", "full", "--inits", "copy"], capsys)
    assert [p["init"] for p in doc["points"]] == ["copy", "copy"]
    assert all(p["sampler"] == "adam" for p in doc["points"])
    # the theory block carries the MAP minima (theory/map_estimate.py) for Adam runs
    mp = doc["theory"]["map"]
    assert mp["source"] == "copyhead.theory.map_estimate.map_minima"
    assert [e["alpha"] for e in mp["alphas"]] == [0.5, 2.0]
    for e in mp["alphas"]:
        assert sum(mn["is_global"] for mn in e["minima"]) >= 1
        assert all(mn["kind"] in ("kink", "smooth") for mn in e["minima"])
    # T=4, V=3 softmax at alpha 0.5: the uniform state S = 0 is a MAP minimum (subgradient condition)
    assert any(mn["kind"] == "kink" and abs(mn["m"] - 0.25) < 1e-12 for mn in mp["alphas"][0]["minima"])


def test_no_map_block_for_samplers(capsys):
    doc = run_json(TINY, capsys)
    assert "map" not in doc["theory"]


@pytest.mark.parametrize("argv, option", [
    (["--N", "1"], "--N"), (["--N", "6.5"], "--N"), (["--N", "x"], "--N"),
    (["--alphas", "0"], "--alphas"), (["--alphas", "-1"], "--alphas"), (["--alphas", "inf"], "--alphas"),
    (["--alphas", "nan"], "--alphas"), (["--alphas", "abc"], "--alphas"),
    (["--chains", "0"], "--chains"), (["--steps", "0"], "--steps"), (["--steps", "1e3"], "--steps"),
    (["--seed", "-1"], "--seed"), (["--workers", "0"], "--workers"), (["--step", "0"], "--step"),
    (["--sampler", "hmc"], "--sampler"), (["--posterior", "joint"], "--posterior"),
    (["--inits", "random"], "--inits"), (["--T", "1"], "--T"), (["--gamma", "-2"], "--gamma"),
    (["--prior", "gaussian-logit"], "--prior"), (["--scheduler", " "], "--scheduler"),
])
def test_bad_values_are_usage_errors_naming_the_option(argv, option):
    with pytest.raises(UsageError) as info:
        _verify_cli.run(parse(TINY + argv))
    assert str(info.value).startswith(option + ":")
    assert "\n" not in str(info.value)


def test_plot_written_and_never_overwritten(tmp_path, capsys):
    target = tmp_path / "m.png"
    assert _verify_cli.run(parse(TINY + ["--plot", str(target)])) == 0
    assert target.stat().st_size > 1000
    before = target.read_bytes()
    with pytest.raises(UsageError, match=r"^--plot: .*already exists"):
        _verify_cli.run(parse(TINY + ["--plot", str(target)]))
    assert target.read_bytes() == before
    with pytest.raises(UsageError, match=r"^--plot:"):
        _verify_cli.run(parse(TINY + ["--plot", str(tmp_path / "nodir" / "m.png")]))
    with pytest.raises(UsageError, match=r"^--plot:"):
        _verify_cli.run(parse(TINY + ["--plot", str(tmp_path / "m.notaformat")]))


@dataclass(frozen=True)
class FakeMinimum:
    order_parameter: float
    m: float
    q: float
    f: float
    is_global: bool


def test_theory_block_comes_from_the_model(monkeypatch, capsys):
    from copyhead import CopyHeadModel

    calls = []

    def minima(self, alpha):
        calls.append((self.spec.T, alpha))
        return (FakeMinimum(0.1, 0.3, 0.2, -1.0, True), FakeMinimum(2.0, 0.9, 0.8, -0.5, False))

    monkeypatch.setattr(CopyHeadModel, "minima", minima)
    doc = run_json(TINY, capsys)
    assert sorted(calls) == [(4, 0.5), (4, 2.0)]
    entries = doc["theory"]["alphas"]
    assert [e["alpha"] for e in entries] == [0.5, 2.0]
    assert entries[0]["minima"][0] == {"order_parameter": 0.1, "m": 0.3, "q": 0.2, "f": -1.0, "is_global": True}


def test_missing_dask_through_the_cli(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(UsageError, match=r"^--scheduler: dask.distributed is not installed"):
        _verify_cli.run(parse(TINY + ["--scheduler", "tcp://127.0.0.1:8786"]))


def _cli_available():
    try:
        import copyhead.cli  # noqa: F401  (availability probe)
    except ImportError:
        return False
    return True


@pytest.mark.skipif(not _cli_available(), reason="copyhead.cli not written yet")
def test_subprocess_entry_point(tmp_path):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    ok = subprocess.run([sys.executable, "-m", "copyhead", "verify", *TINY, "--json"],
                        capture_output=True, text=True, env=env, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert len(json.loads(ok.stdout)["points"]) == 4
    bad = subprocess.run([sys.executable, "-m", "copyhead", "verify", *TINY, "--chains", "0"],
                         capture_output=True, text=True, env=env, timeout=120)
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.strip().splitlines()[-1].count("--chains") == 1
