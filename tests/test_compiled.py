"""Generated numpy functions agree with 50-digit evaluation of the same SymPy expressions."""
import numpy as np
import pytest
import sympy as sp

from copyhead.numerics import compiled
from copyhead.theory import symbols
from copyhead.theory.reduced import all_families, reduced_model

PARAMS = {symbols.T: 7, symbols.V: 5, symbols.gamma: 1.3, symbols.sigma_q: 0.9, symbols.sigma_k: 1.1,
          symbols.sigma_w: 0.8, symbols.sigma2: 0.6}


def _reference(expr, point):
    """Direct evalf of the SymPy expression (no lambdify) at 50 digits."""
    return float(sp.N(expr.doit().subs(point), 50))


@pytest.mark.parametrize("family", all_families(), ids=lambda f: "-".join(f))
def test_numpy_blocks_match_50_digit_sympy(family):
    rm = reduced_model(*family)
    fe = compiled.compiled_model(*family)
    rng = np.random.default_rng(hash(family) % 2**32)
    x = rng.normal(size=len(rm.order_params)) * 1.5
    alpha = 2.7
    point = {**PARAMS, symbols.alpha: alpha, **dict(zip(rm.order_params, map(sp.Float, x)))}
    params = [PARAMS[p] for p in symbols.MODEL_PARAMS]
    blocks = compiled.derivative_blocks(rm.free_energy, rm.order_params, symbols.alpha)
    assert np.isclose(fe.value(list(x), alpha, params), _reference(blocks["value"], point), rtol=1e-13, atol=0)
    grad = fe.gradient(list(x), alpha, params)
    hess = fe.hessian(list(x), alpha, params)
    for i in range(len(x)):
        assert np.isclose(grad[i], _reference(blocks["gradient"][i], point), rtol=1e-10, atol=1e-11)
        for j in range(len(x)):
            assert np.isclose(hess[i][j], _reference(blocks["hessian"][i][j], point), rtol=1e-9, atol=1e-10)
    assert np.isclose(fe.d_control(list(x), alpha, params), _reference(blocks["d_control"], point), rtol=1e-12)


def test_mpmath_block_agrees_to_40_digits():
    import mpmath as mp

    rm = reduced_model("softmax", "centred", "bilinear")
    fe = compiled.compiled_model("softmax", "centred", "bilinear")
    # exact decimal inputs on both sides (a binary float would differ at the 17th digit)
    params = [str(PARAMS[p]) for p in symbols.MODEL_PARAMS]
    exact = {p: sp.Rational(str(PARAMS[p])) for p in symbols.MODEL_PARAMS}
    with mp.workdps(50):
        got = fe.mp_block("hessian", ["1.3"], "2.7", params)[0][0]
        ref = sp.N(sp.diff(rm.free_energy, symbols.delta, 2).doit().subs(
            {**exact, symbols.alpha: sp.Rational(27, 10), symbols.delta: sp.Rational(13, 10)}), 50)
        assert abs(got - mp.mpf(str(ref))) < mp.mpf(10) ** -40 * abs(got)


def test_disk_cache_round_trip(tmp_path, monkeypatch):
    """A cold compile writes the cache; a warm load gives bit-identical values."""
    monkeypatch.setenv("COPYHEAD_CACHE", str(tmp_path))
    monkeypatch.setattr(compiled, "_shipped", lambda: {})     # built-in families ship their sources
    compiled.compiled_model.cache_clear()
    cold = compiled.compiled_model("linear", "centred", "bilinear")
    xs = np.linspace(-2, 2, 9)
    params = [PARAMS[p] for p in symbols.MODEL_PARAMS]
    cold_values = cold.value([xs], 1.5, params)      # blocks are generated (and cached) on first use
    assert list(tmp_path.glob("compiled-*.json"))
    compiled.compiled_model.cache_clear()
    warm = compiled.compiled_model("linear", "centred", "bilinear")
    assert np.array_equal(cold_values, warm.value([xs], 1.5, params))
    compiled.compiled_model.cache_clear()


def test_cse_and_plain_lambdify_agree():
    rm = reduced_model("softmax", "onehot", "gaussian-logit")
    args = (rm.order_params, symbols.alpha, list(symbols.MODEL_PARAMS))
    with_cse = compiled.compile_free_energy(rm.free_energy, *args, cse=True)
    without = compiled.compile_free_energy(rm.free_energy, *args, cse=False)
    xs = np.linspace(-1, 4, 11)
    params = [PARAMS[p] for p in symbols.MODEL_PARAMS]
    assert np.allclose(with_cse.hessian([xs], 3.0, params), without.hessian([xs], 3.0, params), rtol=1e-12)


def test_vectorised_evaluation_matches_scalar():
    fe = compiled.compiled_model("softmax", "centred", "bilinear")
    params = [PARAMS[p] for p in symbols.MODEL_PARAMS]
    xs = np.linspace(-3, 6, 7)
    vec = fe.gradient([xs], 4.0, params)[0]
    assert np.allclose(vec, [fe.gradient([v], 4.0, params)[0] for v in xs], rtol=0, atol=0)


def test_large_logits_stay_finite():
    """gamma*delta up to 1e3: values and derivatives must not overflow to NaN."""
    fe = compiled.compiled_model("softmax", "centred", "bilinear")
    params = [16, 16, 1.0, 1.0, 1.0, 1.0, 1.0]
    xs = np.array([-1000.0, -300.0, 300.0, 1000.0])
    for block in ("value", "gradient", "hessian", "third", "d_control"):
        assert np.all(np.isfinite(fe.block(block, [xs], 5.0, params)))
        assert np.isfinite(fe.block(block, [-1000.0], 5.0, params)).all()


def test_overflow_fallback_matches_mpmath():
    """Where double precision overflows, the value equals the 30-digit mpmath evaluation."""
    import mpmath as mp

    fe = compiled.compiled_model("softmax", "centred", "bilinear")
    params = [16, 16, 1.0, 1.0, 1.0, 1.0, 1.0]
    got = fe.gradient([-800.0], 5.0, params)[0]
    with mp.workdps(40):
        ref = float(fe.mp_block("gradient", [-800], 5, params)[0])
    assert got == pytest.approx(ref, rel=1e-14)


@pytest.mark.parametrize("args,name", [(("relu", "centred", "bilinear"), "attention"),
                                       (("softmax", "bits", "bilinear"), "tokens"),
                                       (("softmax", "centred", "laplace"), "prior")])
def test_unknown_family_names_are_errors(args, name):
    from copyhead import InvalidParameterError
    from copyhead.theory.reduced import reduced_model

    for call in (compiled.compiled_model, reduced_model):
        with pytest.raises(InvalidParameterError, match=f"^{name}"):
            call(*args)


def test_unknown_control_is_an_error():
    from copyhead import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="^control"):
        compiled.compiled_model("softmax", "centred", "bilinear", control="beta")


def test_python_float_overflow_is_retried_in_numpy():
    """Scalar calls run on Python floats for speed; where Python raises (gamma**2 at 1e308), the call is
    retried with numpy scalars and the overflow repaired or reported, never raised."""
    fe = compiled.compiled_model("softmax", "centred", "bilinear")
    out = fe.block("hessian", [0.5], 3.0, [16, 16, 1e308, 1.0, 1.0, 1.0, 1.0])
    assert out.shape == (1, 1)
