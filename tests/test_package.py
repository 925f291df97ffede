"""Packaging: the facades list real names by role, and an installed (non-editable) copy works from /."""
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("package", ["copyhead.numerics", "copyhead.theory"])
def test_facade_names_resolve_and_are_documented(package):
    import importlib

    module = importlib.import_module(package)
    assert module.__all__ and sorted(module.__all__) == dir(module)
    for role, names in module.ROLES.items():
        assert role and names
        for name in names:
            assert getattr(module, name) is not None
            assert name in module.__doc__, f"{name} missing from the {package} docstring"
    with pytest.raises(AttributeError):
        module.not_a_name  # noqa: B018


def test_package_docstring_imports_exist():
    import copyhead

    for name in ("ModelSpec", "CopyHeadModel", "plotting"):
        assert name in copyhead.__doc__ and getattr(copyhead, name) is not None


def test_checkout_folders_are_not_subpackages():
    """Only the mapped subpackages live under copyhead (no __path__ extension onto the checkout)."""
    import copyhead

    assert list(copyhead.__path__) == [str(ROOT / "copyhead")]
    for stray in ("tests", "experiments", "benchmarks"):
        with pytest.raises(ImportError):
            __import__(f"copyhead.{stray}")


@pytest.mark.slow  # builds a wheel (setuptools from PyPI in an isolated build env)
def test_non_editable_install_runs_from_root(tmp_path):
    import shutil

    source = tmp_path / "source"  # a copy: the build leaves its build/ folder there, not in the checkout
    source.mkdir()
    shutil.copy2(ROOT / "pyproject.toml", source)
    shutil.copy2(ROOT / "README.md", source)
    for folder in ("copyhead", "theory", "numerics", "derivations"):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / "site"
    build = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                            str(source)], capture_output=True, text=True, timeout=600)
    assert build.returncode == 0, build.stderr
    env = {**os.environ, "PYTHONPATH": str(target), "COPYHEAD_CACHE": str(tmp_path / "cache"), "MPLBACKEND": "Agg"}
    code = ("import copyhead, copyhead.theory.reduced, copyhead.numerics.transitions\n"
            "from copyhead import CopyHeadModel, plotting\n"
            "assert copyhead.__file__.startswith(%r)\n"
            "t = CopyHeadModel(attention='linear').transitions(0.2, 5.0).transitions[0]\n"
            "print(t.kind, round(t.critical_value, 9))\n" % str(target))
    run = subprocess.run([sys.executable, "-c", code], cwd="/", env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    # closed form 16/sqrt(240) (README, derivation section e)
    assert run.stdout.split() == ["second-order", f"{16 / 240 ** 0.5:.9f}".rstrip("0")]


def test_generic_engine_does_not_import_the_theory():
    """The engine receives a Problem; a typed free energy runs end to end without copyhead.theory or the
    copy-head model being imported (fresh interpreter, so nothing else has imported them first)."""
    code = ("import sys\n"
            "from copyhead.numerics.transitions import expression_problem, find_transitions\n"
            "r = find_transitions(expression_problem('t*x**2 + x**4', ['x'], 't'), -1.0, 1.0)\n"
            "assert r.transitions[0].kind == 'second-order', r\n"
            "print(sorted(m for m in sys.modules if m.startswith(('copyhead.theory', 'copyhead.model'))))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_experiments_use_only_public_modules():
    """experiments/ import copyhead's public names (copyhead.scripting for CLI-like behaviour), no private module."""
    root = pathlib.Path(__file__).resolve().parents[1] / "experiments"
    import ast

    offenders = []
    for path in sorted(root.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("copyhead"):
                private = [p for p in node.module.split(".") if p.startswith("_")]
                private += [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
                if private:
                    offenders.append(f"{path.name}: from {node.module} import {private}")
    assert not offenders, offenders
