"""Random valid and invalid command lines: never a traceback, never NaN, exit codes 0/1/2 only."""
import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copyhead.cli import main

numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32).map(repr),
                    st.sampled_from(["0", "-1", "1e308", "1e-300", "abc", "", "2", "0.5", "16"]))
options = st.fixed_dictionaries({}, optional={
    "--T": st.one_of(st.integers(-3, 64).map(str), st.sampled_from(["2.5", "x", "1e9"])),
    "--V": st.one_of(st.integers(-3, 64).map(str), st.sampled_from(["2.5", "x"])),
    "--gamma": numbers, "--sigma-q": numbers, "--sigma-k": numbers, "--sigma-w": numbers, "--sigma2": numbers,
    "--attention": st.sampled_from(["softmax", "linear", "relu", ""]),
    "--tokens": st.sampled_from(["centred", "onehot", "binary"]),
    "--prior": st.sampled_from(["bilinear", "gaussian-logit", "laplace"]),
    "--alpha": numbers})


def _finite(obj):
    if isinstance(obj, dict):
        return all(_finite(v) for v in obj.values())
    if isinstance(obj, list):
        return all(_finite(v) for v in obj)
    return not isinstance(obj, float) or math.isfinite(obj)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(opts=options)
def test_free_energy_never_crashes(opts, capsys):
    argv = ["free-energy", "--json"] + [tok for k, v in opts.items() for tok in (k, v)]
    if "--alpha" not in opts:
        argv += ["--alpha", "3"]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code in (0, 1, 2), (argv, err)
    assert "Traceback" not in err and "internal error" not in err, (argv, err)
    if code == 0:
        data = json.loads(out)
        assert data["minima"] and _finite(data)
    else:
        assert err.count("\n") == 1 and out == ""
