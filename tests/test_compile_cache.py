"""The compile cache and the generated code: fault injection, shipped sources, codegen against lambdify, laziness."""
import json
import os
import stat

import numpy as np
import pytest
import sympy as sp

from copyhead.numerics import codegen, compiled
from copyhead.theory import symbols
from copyhead.theory.reduced import all_families, reduced_model

from catalogue import CATALOGUE

PARAMS = [7, 5, 1.3, 0.9, 1.1, 0.8, 0.6]      # T, V, gamma, sigma_q, sigma_k, sigma_w, sigma2
PLANTED_COMMAND = "__import__('os').system('touch {marker}')"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A private, empty cache; shipped sources off so every block goes through the disk cache."""
    directory = tmp_path / "cache"
    monkeypatch.setenv("COPYHEAD_CACHE", str(directory))
    monkeypatch.setattr(compiled, "_shipped", lambda: {})
    monkeypatch.setattr(compiled, "_warned", set())
    return directory


def _quartic():
    x, a, b = sp.symbols("x a b", real=True)
    return a * x**2 + b * x**4 - x**3, [x], a, [b]


def _compile():
    return compiled.compile_free_energy(*_quartic())


def _reference_gradient(x, a, b):
    return 2 * a * x + 4 * b * x**3 - 3 * x**2


def _entry_file(directory):
    (path,) = list(directory.glob("compiled-*.json"))
    return path


def _rewrite_source(path, block, new_source, *, rehash):
    entry = json.loads(path.read_text())
    entry["blocks"][block]["source"] = new_source
    if rehash:    # an attacker who knows the scheme: the hash matches, the checker must still refuse the code
        entry["blocks"][block]["sha256"] = codegen.source_digest(entry["key"], block, new_source)
    path.write_text(json.dumps(entry))


def test_cold_then_warm_round_trip_uses_the_disk(cache):
    cold = _compile()
    assert np.isclose(cold.gradient([0.7], 0.3, [2.0])[0], _reference_gradient(0.7, 0.3, 2.0), rtol=1e-14)
    path = _entry_file(cache)
    assert set(json.loads(path.read_text())["blocks"]) == {"numpy:gradient"}
    assert stat.S_IMODE(cache.stat().st_mode) & 0o077 == 0     # created private
    warm = _compile()
    assert warm.numpy_fns._entry.sources.keys() == {"numpy:gradient"}   # read back from disk
    xs = np.linspace(-2, 2, 9)
    assert np.array_equal(cold.gradient([xs], 0.3, [2.0]), warm.gradient([xs], 0.3, [2.0]))


@pytest.mark.parametrize("source", [
    "def f(_a0, _a1, _a2):\n    return " + PLANTED_COMMAND + "\n",
    "import os\ndef f(_a0, _a1, _a2):\n    return os.system('touch {marker}')\n",
    "def f(_a0, _a1, _a2):\n    _c0 = ().__class__.__base__.__subclasses__()\n    return _a0\n",
    "def f(_a0, _a1, _a2, cmd=" + PLANTED_COMMAND + "):\n    return _a0\n",
    "def f(_a0, _a1, _a2):\n    return numpy.ctypeslib\n",
    "def f(_a0, _a1, _a2):\n    return [_ for _ in (" + PLANTED_COMMAND + ",)]\n",
], ids=["dunder-import", "import", "dunder-attributes", "default-argument", "module-attribute", "comprehension"])
def test_planted_entry_never_runs(cache, tmp_path, source):
    marker = tmp_path / "planted-ran"
    _compile().gradient([0.7], 0.3, [2.0])
    path = _entry_file(cache)
    _rewrite_source(path, "numpy:gradient", source.format(marker=marker), rehash=True)
    with pytest.warns(compiled.CompileCacheWarning, match="compile cache .*refused"):
        fresh = _compile()
        got = fresh.gradient([0.7], 0.3, [2.0])[0]
    assert not marker.exists()
    assert np.isclose(got, _reference_gradient(0.7, 0.3, 2.0), rtol=1e-14)
    assert "touch" not in path.read_text()      # the regenerated block replaced the planted one


def test_tampered_entry_does_not_change_results(cache):
    _compile().gradient([0.7], 0.3, [2.0])
    path = _entry_file(cache)
    source = json.loads(path.read_text())["blocks"]["numpy:gradient"]["source"]
    tampered = source.replace("4*", "5*")
    assert tampered != source
    _rewrite_source(path, "numpy:gradient", tampered, rehash=False)
    with pytest.warns(compiled.CompileCacheWarning, match=f"compile cache {path}.*content hash"):
        got = _compile().gradient([0.7], 0.3, [2.0])[0]
    assert np.isclose(got, _reference_gradient(0.7, 0.3, 2.0), rtol=1e-14)


@pytest.mark.parametrize("content", ['[]', '{"format": 2}', '{"format": 2, "key": "KEY", "names": {}, "blocks": []}',
                                     '{"format": 2, "key": "KEY", "names": {"order_params": ["x"], "control": 1, '
                                     '"params": ["b"]}, "blocks": {}}', '{"sources": {"numpy:value": "x"}}',
                                     'not json {', '\x00\xff'],
                         ids=["list", "no-key", "blocks-list", "control-int", "old-format", "invalid-json", "binary"])
def test_malformed_entry_warns_once_and_is_replaced(cache, content):
    _compile().gradient([0.7], 0.3, [2.0])
    path = _entry_file(cache)
    key = json.loads(path.read_text())["key"]
    path.write_text(content.replace("KEY", key))
    with pytest.warns(compiled.CompileCacheWarning, match=f"compile cache {path}"):
        got = _compile().gradient([0.7], 0.3, [2.0])[0]
    assert np.isclose(got, _reference_gradient(0.7, 0.3, 2.0), rtol=1e-14)
    # not a permanent failure: the entry was rewritten, the next run is silent
    assert json.loads(path.read_text())["key"] == key
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error", compiled.CompileCacheWarning)
        _compile().gradient([0.7], 0.3, [2.0])


def _plant_wrong_but_valid(path, block="numpy:gradient"):
    """A well-formed entry with a correct hash whose code is arithmetic but wrong (returns 42)."""
    _rewrite_source(path, block, "def f(_a0, _a1, _a2):\n    return [42.0]\n", rehash=True)


def test_group_writable_directory_is_ignored(cache):
    _compile().gradient([0.7], 0.3, [2.0])
    path = _entry_file(cache)
    _plant_wrong_but_valid(path)
    os.chmod(cache, 0o775)
    before = path.read_bytes()
    with pytest.warns(compiled.CompileCacheWarning, match=f"compile cache {cache}: directory writable by group"):
        got = _compile().gradient([0.7], 0.3, [2.0])[0]
    assert np.isclose(got, _reference_gradient(0.7, 0.3, 2.0), rtol=1e-14)
    assert path.read_bytes() == before          # nothing written into a shared directory either


def test_group_writable_or_symlinked_entry_is_ignored(cache, tmp_path):
    _compile().gradient([0.7], 0.3, [2.0])
    path = _entry_file(cache)
    _plant_wrong_but_valid(path)
    os.chmod(path, 0o664)
    with pytest.warns(compiled.CompileCacheWarning, match="writable by group"):
        assert _compile().gradient([0.7], 0.3, [2.0])[0] != 42.0
    elsewhere = tmp_path / "elsewhere.json"
    _compile().gradient([0.7], 0.3, [2.0])          # rewrites the entry
    os.replace(path, elsewhere)
    _plant_wrong_but_valid(elsewhere)
    os.symlink(elsewhere, path)
    with pytest.warns(compiled.CompileCacheWarning, match="cannot be opened"):
        assert _compile().gradient([0.7], 0.3, [2.0])[0] != 42.0


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to chown to another user")
def test_directory_owned_by_someone_else_is_ignored(cache):
    _compile().gradient([0.7], 0.3, [2.0])
    _plant_wrong_but_valid(_entry_file(cache))
    os.chown(cache, 12345, -1)
    with pytest.warns(compiled.CompileCacheWarning, match="owned by uid 12345"):
        assert _compile().gradient([0.7], 0.3, [2.0])[0] != 42.0


def test_default_location_follows_platformdirs(monkeypatch, tmp_path):
    monkeypatch.delenv("COPYHEAD_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    if os.name == "posix" and not __import__("sys").platform == "darwin":
        assert compiled.cache_dir() == tmp_path / "copyhead"
    monkeypatch.setenv("COPYHEAD_CACHE", str(tmp_path / "mine"))
    assert compiled.cache_dir() == tmp_path / "mine"


def test_blocks_are_generated_lazily(cache, monkeypatch):
    requested = []
    real = codegen.derivative_block

    def spy(name, *args, **kwargs):
        requested.append(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(compiled, "derivative_block", spy)
    fe = _compile()
    fe.value([0.5], 0.1, [1.0])
    fe.gradient([0.5], 0.1, [1.0])
    assert set(requested) == {"value", "gradient"}
    assert set(fe.numpy_fns) == {"value", "gradient"} and not fe.mpmath_fns
    assert set(json.loads(_entry_file(cache).read_text())["blocks"]) == {"numpy:value", "numpy:gradient"}
    third = fe.block("third", [0.5], 0.1, [1.0])
    assert np.isclose(float(np.ravel(third)[0]), 24 * 1.0 * 0.5 - 6, rtol=1e-14)
    assert "third" in requested


def test_shipped_sources_are_current():
    """The sources in the wheel were generated from the current theory; else regenerate them."""
    data = json.loads(compiled.BUILTIN_SOURCES.read_text())
    assert data["fingerprint"] == codegen.fingerprint(), (
        "numerics/builtin_sources.json is stale: run `python -m copyhead.numerics.compiled --write-builtin`")
    assert set(data["entries"]) == set(compiled.builtin_provenances())
    for entry in data["entries"].values():
        for source in entry["blocks"].values():
            codegen.check_source(source)


@pytest.mark.slow
def test_shipped_sources_equal_a_fresh_generation():
    from importlib.metadata import version

    shipped = json.loads(compiled.BUILTIN_SOURCES.read_text())
    fresh = compiled.generate_builtin_sources()
    assert fresh["fingerprint"] == shipped["fingerprint"]
    if fresh["sympy"] == shipped["sympy"] == version("sympy"):
        assert fresh["entries"] == shipped["entries"]
    else:       # another SymPy may print differently: compare the functions instead
        for provenance, entry in fresh["entries"].items():
            for block, source in entry["blocks"].items():
                if block.startswith("numpy:"):
                    args = [1.1] * source.split("\n", 1)[0].count("_a")
                    got = codegen.load_source(shipped["entries"][provenance]["blocks"][block])(*args)
                    assert np.allclose(got, codegen.load_source(source)(*args), rtol=1e-13)


# ------------------------------------------------------------------ generated code against the old lambdify path

def _lambdify_reference(args, expr, module):
    return sp.lambdify(args, expr, modules=[module] if module == "mpmath" else ["numpy"], cse=True, dummify=True)


def _compare_with_lambdify(expr, order_params, control, params, point, blocks, rtol=1e-14):
    args = list(order_params) + [control] + list(params)
    memo = {}
    for name in blocks:
        block = codegen.doit(codegen.derivative_block(name, expr, order_params, control, memo))
        ours = codegen.load_source(codegen.generate_source(args, block, "numpy"))(*point)
        ref = _lambdify_reference(args, block, "numpy")(*point)
        ours, ref = np.asarray(ours, float), np.asarray(ref, float)
        scale = max(1.0, float(np.max(np.abs(ref))))
        assert np.all(np.abs(ours - ref) <= rtol * scale), (name, ours, ref)
    import mpmath as mp
    with mp.workdps(30):
        block = codegen.doit(codegen.derivative_block("hessian", expr, order_params, control, memo))
        ours = codegen.load_source(codegen.generate_source(args, block, "mpmath"))(*map(mp.mpf, point))
        ref = _lambdify_reference(args, block, "mpmath")(*map(mp.mpf, point))
        assert np.allclose(np.array(ours, float), np.array(ref, float), rtol=1e-25, atol=1e-25)


@pytest.mark.parametrize("family", [("softmax", "centred", "bilinear"), ("linear", "onehot", "gaussian-logit")],
                         ids="-".join)
def test_generated_code_equals_lambdify_on_families(family):
    rm = reduced_model(*family)
    point = [0.9] * len(rm.order_params) + [2.7] + PARAMS
    _compare_with_lambdify(rm.free_energy, rm.order_params, symbols.alpha, symbols.MODEL_PARAMS, point,
                           ("value", "gradient", "hessian", "d_control"))


@pytest.mark.slow
@pytest.mark.parametrize("family", all_families(), ids="-".join)
def test_generated_code_equals_lambdify_on_every_family_and_block(family):
    rm = reduced_model(*family)
    rng = np.random.default_rng(5)
    for _ in range(3):
        point = list(rng.uniform(-2, 2, len(rm.order_params))) + [rng.uniform(0.5, 12)] + PARAMS
        _compare_with_lambdify(rm.free_energy, rm.order_params, symbols.alpha, symbols.MODEL_PARAMS, point,
                               compiled.BLOCKS)


@pytest.mark.parametrize("entry", CATALOGUE, ids=lambda e: e["id"])
def test_generated_code_equals_lambdify_on_user_expressions(entry):
    from copyhead.numerics.transitions.expression import parse_free_energy

    parsed = parse_free_energy(entry["expr"], entry["order_params"], entry["control"], list(entry["params"]))
    lo, hi = entry["range"]
    point = [0.3] * len(parsed.order_params) + [lo + 0.37 * (hi - lo)] + [v or 0.05 for v in entry["params"].values()]
    _compare_with_lambdify(parsed.expr, parsed.order_params, parsed.control, parsed.params, point, compiled.BLOCKS)


def test_check_source_accepts_printer_output_for_whitelisted_functions():
    from copyhead.numerics.transitions.expression import FUNCTIONS

    x = sp.Symbol("x", real=True)
    for name, fn in FUNCTIONS.items():
        for module in codegen.MODULES:
            codegen.check_source(codegen.generate_source([x], fn(x) + sp.Rational(1, 3) + sp.pi, module))
