"""Cold vs warm derive time, and compiled (cse) vs plain-lambdify throughput, measured in one run.

    python benchmarks/bench_derive.py
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import numpy as np

FAMILIES_SNIPPET = ("from copyhead.numerics.compiled import compiled_model\n"
                    "from copyhead.theory.reduced import all_families\n"
                    "[compiled_model(*f) for f in all_families()]\n")
FAMILIES = [(a, t, p) for a in ("softmax", "linear") for t in ("centred", "onehot") for p in ("bilinear", "gaussian-logit")]


def timed_process(code: str, cache: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "COPYHEAD_CACHE": cache})
    return time.perf_counter() - start


def throughput(fn, args, repeats=20) -> float:
    fn(*args)
    start = time.perf_counter()
    for _ in range(repeats):
        fn(*args)
    return repeats / (time.perf_counter() - start)


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        cold = timed_process(FAMILIES_SNIPPET, cache)
        warm = timed_process(FAMILIES_SNIPPET, cache)
    print(f"derive + compile all 8 families: cold {cold:.2f} s, warm {warm:.2f} s (python start included); "
          f"cold/warm = {cold / warm:.1f}x")

    import sympy as sp

    from copyhead.numerics.compiled import _doit, compiled_model, derivative_blocks
    from copyhead.theory import symbols
    from copyhead.theory.reduced import reduced_model

    params = [16, 16, 1.0, 1.0, 1.0, 1.0, 1.0]
    xs = np.linspace(-2.0, 8.0, 100_000)
    print(f"throughput on {xs.size} points (calls/s, higher is better):")
    for family in (("softmax", "centred", "bilinear"), ("linear", "onehot", "bilinear")):
        rm = reduced_model(*family)
        fe = compiled_model(*family)
        blocks = derivative_blocks(rm.free_energy, rm.order_params, symbols.alpha)
        args = [*rm.order_params, symbols.alpha, *symbols.MODEL_PARAMS]
        point = [xs] * len(rm.order_params)
        for name in ("value", "gradient", "hessian"):
            plain = sp.lambdify(args, _doit(blocks[name]), "numpy", cse=False)
            raw = fe.numpy_fns[name]   # the generated function itself: a like-for-like comparison
            ours = throughput(lambda: raw(*point, 6.0, *params), ())
            baseline = throughput(lambda: plain(*point, 6.0, *params), ())
            scalar = [1.7] * len(rm.order_params)
            ours_s = throughput(lambda: raw(*scalar, 6.0, *params), (), repeats=5000)
            base_s = throughput(lambda: plain(*scalar, 6.0, *params), (), repeats=5000)
            wrapped = throughput(lambda: fe.block(name, scalar, 6.0, params), (), repeats=5000)
            print(f"  {'/'.join(family):28s} {name:9s} vector: cse {ours:7.1f} plain {baseline:7.1f} "
                  f"ratio {ours / baseline:4.2f}x | scalar: cse {ours_s:8.0f} plain {base_s:8.0f} "
                  f"ratio {ours_s / base_s:4.2f}x | scalar via CompiledFreeEnergy.block {wrapped:8.0f}")


if __name__ == "__main__":
    main()
