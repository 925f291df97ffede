"""Start-up, code generation and check times, each as a ratio against a baseline measured in the same run.

    python benchmarks/bench_derive.py [--repeats 3] [--skip-report] [--skip-codegen] [--skip-thorough]
    python benchmarks/bench_derive.py --sections [--thorough]    (CPU time per derivation section)

1. cold / warm `copyhead transition`: an empty compile cache against a warm one (goal <= 1.5).
2. code generation for user free energies: sp.cse + printers (numerics/codegen.py) against the old
   lambdify path (sp.lambdify(..., cse=True, dummify=True), source read back), every block of the
   catalogue's expressions and of two model families (goal >= 4x), with the outputs compared.
3. `derive --check` against a warm `transition` process (goal <= 12x); `derive --check --thorough` too.
4. `report --quick` against a warm `transition` process (goal <= 40x).
Processes are timed whole (Python start included); each time is the best of --repeats runs.
--sections prints each section's CPU time in a fresh worker forked after the imports (what orders
derivations._HEAVY_FIRST, the load balance of the parallel checks).
"""
from __future__ import annotations

import argparse
import inspect
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")      # as the CLI does (--sections runs the derivation in this process)

import numpy as np  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Timing:
    """Best wall time and best CPU time (user + sys of the process and its workers) over the repeats.
    On a shared machine the CPU times are the steadier measure; the goals are stated in wall time."""

    def __init__(self, wall: float, cpu: float):
        self.wall, self.cpu = wall, cpu

    def over(self, other: "Timing") -> str:
        return f"{self.wall / other.wall:.1f}x wall, {self.cpu / other.cpu:.1f}x CPU"

    def __str__(self):
        return f"{self.wall:.2f} s wall ({self.cpu:.2f} s CPU)"


def timed_process(args, cache: str, repeats: int, fresh_cache: bool = False) -> Timing:
    wall = cpu = float("inf")
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as empty, tempfile.TemporaryDirectory() as out:
            env = {**os.environ, "COPYHEAD_CACHE": empty if fresh_cache else cache}
            start, cpu0 = time.perf_counter(), _children_cpu()
            subprocess.run([sys.executable, "-m", "copyhead", *[a.replace("{out}", out + "/r") for a in args]],
                           check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wall, cpu = min(wall, time.perf_counter() - start), min(cpu, _children_cpu() - cpu0)
    return Timing(wall, cpu)


def lambdify_source(args, expr, module):
    """The old path: lambdify with cse and dummify, source read back (what the cache stored)."""
    import sympy as sp

    return inspect.getsource(sp.lambdify(args, expr, modules=[module] if module == "mpmath" else ["numpy"],
                                         cse=True, dummify=True))


def codegen_ratio() -> None:
    import sympy as sp

    sys.path.insert(0, str(ROOT / "tests"))
    from catalogue import CATALOGUE

    from copyhead.numerics import codegen
    from copyhead.numerics.compiled import BLOCKS
    from copyhead.numerics.transitions.expression import parse_free_energy
    from copyhead.theory import symbols
    from copyhead.theory.reduced import reduced_model

    cases = []
    for entry in CATALOGUE:
        parsed = parse_free_energy(entry["expr"], entry["order_params"], entry["control"], list(entry["params"]))
        cases.append((entry["id"], parsed.expr, list(parsed.order_params), parsed.control, list(parsed.params)))
    for family in (("softmax", "centred", "bilinear"), ("linear", "onehot", "bilinear")):
        rm = reduced_model(*family)
        cases.append(("/".join(family), rm.free_energy, list(rm.order_params), symbols.alpha,
                      list(symbols.MODEL_PARAMS)))
    print("code generation, every block (numpy and mpmath), derivatives taken once outside the timing:")
    total_old = total_new = 0.0
    worst = 0.0
    for name, expr, xs, control, params in cases:
        args = xs + [control] + params
        memo: dict = {}
        blocks = {b: codegen.doit(codegen.derivative_block(b, expr, xs, control, memo)) for b in BLOCKS}
        t0 = time.perf_counter()
        old = {(m, b): lambdify_source(args, blocks[b], m) for b in BLOCKS for m in codegen.MODULES}
        t1 = time.perf_counter()
        new = {(m, b): codegen.generate_source(args, blocks[b], m) for b in BLOCKS for m in codegen.MODULES}
        t2 = time.perf_counter()
        total_old, total_new = total_old + t1 - t0, total_new + t2 - t1
        point = [0.3] * len(xs) + [0.45] + [0.7 + 0.1 * i for i in range(len(params))]
        for b in BLOCKS:
            ref = np.asarray(sp.lambdify(args, blocks[b], "numpy", cse=True)(*point), dtype=float)
            got = np.asarray(codegen.load_source(new["numpy", b])(*point), dtype=float)
            worst = max(worst, float(np.max(np.abs(got - ref)) / max(1.0, float(np.max(np.abs(ref))))))
        print(f"  {name:28s} lambdify {t1 - t0:6.3f} s  cse+printers {t2 - t1:6.3f} s  ratio {(t1 - t0) / (t2 - t1):5.1f}x")
    print(f"  total: lambdify {total_old:.2f} s, cse+printers {total_new:.2f} s: {total_old / total_new:.1f}x faster "
          f"(goal >= 4x); max relative difference of the numpy outputs {worst:.1e} (goal <= 1e-14)")


def section_times(tier_name: str) -> None:
    """CPU time of each section's build and checks, each in a child forked after every import."""
    from importlib import import_module

    from copyhead.derivations import SECTIONS
    from copyhead.derivations._core import _run_section

    modules = [f"copyhead.derivations.{name}" for name in SECTIONS]
    for module in modules:
        import_module(module)
    times = {}
    for name, module in zip(SECTIONS, modules):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:       # child: run the section, send its CPU time back
            start = time.process_time()
            _run_section(module, tier_name, True)
            os.write(write, repr(time.process_time() - start).encode())
            os._exit(0)
        os.close(write)
        os.waitpid(pid, 0)
        with os.fdopen(read) as f:
            times[name] = float(f.read())
    print(f"{tier_name} tier, CPU seconds per section (each in a fresh worker), longest first:")
    for name, seconds in sorted(times.items(), key=lambda kv: -kv[1]):
        print(f"  {name:14s} {seconds:6.2f}")
    print(f"  {'sum':14s} {sum(times.values()):6.2f}")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--skip-report", action="store_true", help="skip the report --quick timing (about a minute)")
    p.add_argument("--skip-codegen", action="store_true", help="skip the code generation ratio")
    p.add_argument("--skip-thorough", action="store_true", help="skip the derive --check --thorough timing")
    p.add_argument("--sections", action="store_true", help="only the CPU time per derivation section")
    p.add_argument("--thorough", action="store_true", help="with --sections: the thorough tier")
    args = p.parse_args(argv)
    if args.sections:
        section_times("thorough" if args.thorough else "fast")
        return 0
    with tempfile.TemporaryDirectory() as cache:
        warm_args = ["transition", "--json"]
        timed_process(warm_args, cache, 1)                       # fill the cache
        warm = timed_process(warm_args, cache, args.repeats)
        cold = timed_process(warm_args, cache, args.repeats, fresh_cache=True)
        print(f"load average at start {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(f"copyhead transition: cold {cold}, warm {warm}: cold/warm = {cold.over(warm)} (goal <= 1.5)")
        if not args.skip_codegen:
            codegen_ratio()
        derive = timed_process(["derive", "--check"], cache, args.repeats)
        print(f"derive --check (fast tier, 2 processes): {derive} = {derive.over(warm)} a warm transition "
              f"(goal <= 12x)")
        if not args.skip_thorough:
            thorough = timed_process(["derive", "--check", "--thorough"], cache, 1)
            print(f"derive --check --thorough: {thorough} = {thorough.over(warm)} a warm transition")
        if not args.skip_report:
            report = timed_process(["report", "--quick", "--out", "{out}"], cache, 1)
            print(f"report --quick: {report} = {report.over(warm)} a warm transition (goal <= 40x)")
        print(f"load average at end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
