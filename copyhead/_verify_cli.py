"""``copyhead verify``: measure m(alpha) on the finite network and set it against theory.

The model options are added by ``copyhead.cli`` (``add_model_options``); this
module adds the rest (:func:`configure`) and runs the command (:func:`run`).
"""
from __future__ import annotations

import argparse
import os
import time

from ._cli_common import (UsageError, check_plot_path, network_spec_from_args, parse_int, parse_number, print_json,
                          progress, usage_error)
from .errors import InvalidParameterError

#: Default sweep: below and above the softmax jump of the default model.
DEFAULT_N = ("64",)
DEFAULT_ALPHAS = ("2", "12")


def configure(parser: argparse.ArgumentParser) -> None:
    """Every option of ``copyhead verify`` except the model options."""
    g = parser.add_argument_group("verify options")
    g.add_argument("--N", dest="N_list", nargs="+", default=list(DEFAULT_N), metavar="N",
                   help="network widths, integers >= 2 (default 64)")
    g.add_argument("--alphas", nargs="+", default=list(DEFAULT_ALPHAS), metavar="A",
                   help="data ratios alpha = n/N, positive (default 2 12)")
    g.add_argument("--sampler", default="mala",
                   help="langevin (unadjusted) | mala (exact) | adam (MAP training); default mala")
    g.add_argument("--posterior", default="marginal",
                   help="marginal (W integrated out) | full (Q, K, W); default marginal")
    g.add_argument("--inits", nargs="+", default=["uniform", "copy"], metavar="INIT",
                   help="initial states: uniform and/or copy (default both)")
    g.add_argument("--chains", default="2", help="chains (or Adam runs) per point, integer >= 1 (default 2)")
    g.add_argument("--steps", default=None,
                   help="steps per chain, integer >= 1 (default 30000 for langevin/mala, 3000 for adam)")
    g.add_argument("--step", default=None,
                   help="dimensionless step: ULA h, initial MALA h (adapted in burn-in), Adam learning "
                        "rate; positive (defaults 0.02, 0.1, 0.01)")
    g.add_argument("--seed", default="0", help="root seed, integer >= 0 (default 0)")
    g.add_argument("--json", action="store_true", help="print one JSON object to stdout")
    g.add_argument("--plot", default=None, metavar="FILE", help="write the m(alpha) figure (never overwrites)")
    g.add_argument("--csv", default=None, metavar="FILE",
                   help="write the sampled points with their errors and the theory's m as CSV (never overwrites)")
    g.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="dask.distributed scheduler address (needs copyhead[dask]); default: local processes")
    g.add_argument("--workers", default=None,
                   help="local worker processes, integer >= 1 (default: min(tasks, CPU count); 1 = in-process); "
                        "capped at the number of tasks and, unless --oversubscribe, at the CPU count")
    g.add_argument("--oversubscribe", action="store_true",
                   help="allow --workers above the CPU count (never above the number of tasks)")
    g.add_argument("--scheduler-timeout", default="10", metavar="SECONDS",
                   help="seconds allowed to reach the --scheduler, handshake included (default 10)")


def _validate(args):
    from copyhead.numerics.network import INITS
    from copyhead.numerics.sampling import POSTERIORS, SAMPLERS

    Ns = []
    for text in args.N_list:
        N = parse_int("--N", text)
        if N < 2:
            raise UsageError(f"--N: must be an integer >= 2, got {N}")
        Ns.append(N)
    alphas = []
    for text in args.alphas:
        a = parse_number("--alphas", text)
        if a <= 0:
            raise UsageError(f"--alphas: must be positive, got {text!r}")
        alphas.append(a)
    if args.sampler not in SAMPLERS:
        raise UsageError(f"--sampler: must be one of {', '.join(SAMPLERS)}; got {args.sampler!r}")
    if args.posterior not in POSTERIORS:
        raise UsageError(f"--posterior: must be one of {', '.join(POSTERIORS)}; got {args.posterior!r}")
    for init in args.inits:
        if init not in INITS:
            raise UsageError(f"--inits: must be among {', '.join(INITS)}; got {init!r}")
    inits = [i for i in INITS if i in args.inits]
    chains = parse_int("--chains", args.chains, minimum=1)
    steps = None if args.steps is None else parse_int("--steps", args.steps, minimum=1)
    step = None if args.step is None else parse_number("--step", args.step, positive=True)
    seed = parse_int("--seed", args.seed, minimum=0)
    workers = None if args.workers is None else parse_int("--workers", args.workers, minimum=1)
    if args.plot is not None:
        check_plot_path(args.plot)
    if args.csv is not None and os.path.exists(args.csv):
        raise UsageError(f"--csv: {args.csv!r} already exists; choose another file (it is never overwritten)")
    if args.scheduler is not None and not args.scheduler.strip():
        raise UsageError("--scheduler: empty address")
    return Ns, alphas, inits, chains, steps, step, seed, workers


def available_memory_bytes() -> int:
    """Memory this job may use: MemAvailable (Linux), else physical memory; capped by RLIMIT_AS."""
    available = None
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    if available is None:
        try:
            available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            available = 8 << 30
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY:
            available = min(available, soft)
    except (ImportError, OSError, ValueError):
        pass
    return int(available)


#: Bytes of one Python worker process before it holds any data (interpreter, numpy, scipy).
WORKER_BASE_BYTES = 150 << 20


def memory_estimate(spec, Ns, alphas, n_tasks: int, steps: int, workers: int, posterior: str) -> tuple[int, str]:
    """(peak bytes, options of the dominant term) of a verify job, counted from the arrays it allocates: per
    chain the one-hot data (n x T x V, three copies while built), the T^2 x V^2 sufficient statistics, parameter
    vectors, and the m/log-p traces (about 48 bytes a step); in the parent every chain's m trace (8 bytes a
    step, twice while summarised, and about 4 KiB for its task)."""
    from copyhead.numerics.sampling import sample_size

    T, V = spec.T, spec.V
    data = max(3 * 8 * sample_size(N, a) * T * V for N in Ns for a in alphas)
    stats = 2 * 8 * T * T * V * V
    params = max(10 * 8 * (2 * T * N + (V * V if posterior == "full" else 0)) for N in Ns)
    trace = 48 * steps
    parent = n_tasks * (2 * 8 * steps + 4096)   # each chain's m trace (twice while summarised), its task and seeds
    terms = {"--N/--alphas (n = alpha N sequences of T x V tokens)": workers * data,
             "--T/--V (T^2 V^2 sufficient statistics)": workers * stats, "--N (parameters 2 T N)": workers * params,
             "--steps (traces kept per chain)": workers * trace,
             "--steps/--chains (every chain's m trace, kept until the end; chains = --chains x --N x --alphas x "
             "--inits)": parent}
    total = workers * WORKER_BASE_BYTES + sum(terms.values())
    return total, max(terms, key=terms.get)


def _gib(n: float) -> str:
    return f"{n / (1 << 30):.3g} GiB"


def theory_minima(spec, alphas) -> dict:
    """Local minima of the large-N free energy at each alpha (CopyHeadModel.minima_record)."""
    from copyhead.model import CopyHeadModel

    return CopyHeadModel(spec).minima_record(alphas)


def map_theory(spec, alphas) -> dict:
    """Local minima of the reduced MAP objective (Adam with weight decay) at each alpha."""
    from copyhead.model import CopyHeadModel

    return CopyHeadModel(spec).map_minima_record(alphas)


def finite_n_predictions(spec, points) -> dict:
    """The one-loop <m>_N = m* + c/N beside each measured point (numerics.finite_n), with its flag."""
    from copyhead.numerics.finite_n import predictions_for_measurements

    return predictions_for_measurements(spec, [(p.N, p.alpha, p.m_mean) for p in points])


def _one_loop_cell(finite, index: int) -> str:
    row = None if not finite else finite["rows"][index]
    if row is None:
        return "-"
    return f"{row['m_N']:.4f}" + ("" if row["flag"] == "ok" else "!")


def plot_m_of_alpha(points, theory: dict, path: str, title: str = "", landmarks: dict | None = None) -> None:
    """Write plotting.sampled_m_of_alpha to path (never overwriting)."""
    import matplotlib.pyplot as plt

    from copyhead import plotting

    fig = plotting.sampled_m_of_alpha(points, theory, title=title, landmarks=landmarks)
    fig.tight_layout()
    import io

    from copyhead._io import atomic_write_bytes

    buffer = io.BytesIO()
    fig.savefig(buffer, format=os.path.splitext(path)[1].lstrip(".").lower() or None)
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue(), parameter="--plot")   # whole or absent; never overwrites


def run(args) -> int:
    from copyhead import __version__
    from copyhead.numerics.executors import open_executor
    from copyhead.numerics.sampling import default_steps, m_of_alpha

    spec = network_spec_from_args(args)
    Ns, alphas, inits, chains, steps, step, seed, workers = _validate(args)
    from copyhead.numerics.executors import choose_workers

    steps = default_steps(args.sampler) if steps is None else steps
    connect_timeout = parse_number("--scheduler-timeout", args.scheduler_timeout, positive=True)
    n_tasks = len(Ns) * len(alphas) * len(inits) * chains
    if args.scheduler is None:
        try:
            workers, choice = choose_workers(workers, n_tasks, oversubscribe=args.oversubscribe)
        except InvalidParameterError as exc:
            raise usage_error(exc) from None
    else:
        choice = f"scheduler {args.scheduler}"
    needed, dominant = memory_estimate(spec, Ns, alphas, n_tasks, steps, 1 if args.scheduler else workers,
                                       args.posterior)
    available = available_memory_bytes()
    if needed > 0.8 * available:
        option = dominant.split(" ", 1)[0]
        raise UsageError(f"{option}: this job needs about {_gib(needed)} of memory, more than 80% of the "
                         f"{_gib(available)} available; reduce {dominant}")
    t0 = time.perf_counter()
    progress(f"verify: {n_tasks} chains ({args.sampler}, {args.posterior} posterior, {steps} steps) "
             f"on {choice}; estimated peak memory {_gib(needed)}")

    from ._progress import progress_bar, wanted

    show_bar = wanted(json_mode=args.json)
    bar = progress_bar(n_tasks, "verify: chains", enabled=show_bar)

    def on_progress(done, total, o):
        t = o.task
        line = (f"[{done}/{total}] N={t.N} alpha={t.alpha:g} init={t.init} chain={t.chain} "
                f"final m={o.final_m:.4f} ({time.perf_counter() - t0:.1f}s)")
        if show_bar:  # a person is watching: one bar instead of a line per chain
            bar.set_postfix_str(line.split("] ", 1)[1])
            bar.update()
        else:
            progress(line)

    try:
        with bar, open_executor(args.scheduler, workers, connect_timeout=connect_timeout) as ex:
            points = m_of_alpha(spec, Ns, alphas, sampler=args.sampler, chains=chains, steps=steps, seed=seed,
                                inits=inits, posterior=args.posterior, step=step, executor=ex,
                                on_progress=on_progress)
    except InvalidParameterError as exc:
        raise usage_error(exc) from None
    wall = time.perf_counter() - t0
    theory = theory_minima(spec, sorted(set(alphas)))
    if args.sampler == "adam":
        theory["map"] = map_theory(spec, sorted(set(alphas)))
        finite = None   # MAP training is not a posterior average: no finite-N posterior prediction
    else:
        finite = finite_n_predictions(spec, points)
    if args.csv is not None:
        from copyhead._io import atomic_write_text
        from copyhead.curves import sampling_table

        theory_m = {e["alpha"]: next(mn["m"] for mn in e["minima"] if mn["is_global"])
                    for e in theory.get("alphas", []) if e.get("minima")}
        table = sampling_table(points, theory_m, {"model": spec.to_dict(), "seed": seed, "version": __version__})
        try:
            atomic_write_text(args.csv, table.to_csv_text(), parameter="--csv")
        except InvalidParameterError as exc:
            raise usage_error(exc) from None
        progress(f"verify: wrote {args.csv}")
    if args.plot is not None:
        grid_theory = theory
        if theory:
            hi = max(alphas) * 1.25
            grid = sorted(set(alphas) | {hi * k / 40 for k in range(1, 41)})
            progress(f"verify: theory on {len(grid)} alphas for the figure")
            grid_theory = theory_minima(spec, grid)
        plot_m_of_alpha(points, grid_theory, args.plot,
                        title=f"{spec.attention}, T={spec.T}, V={spec.V}, gamma={spec.gamma:g}, seed={seed}")
        progress(f"verify: wrote {args.plot}")
    meta = {"version": __version__, "params": {**spec.to_dict(), "N": Ns, "alphas": alphas,
                                               "sampler": args.sampler, "posterior": args.posterior,
                                               "inits": inits, "chains": chains, "steps": steps,
                                               "step": step}, "seed": seed, "wall_time_s": wall}
    if args.json:
        print_json({"points": [p.to_json() for p in points], "theory": theory, "finite_n": finite, "meta": meta})
    else:
        print(f"{'N':>5} {'alpha':>8} {'init':>8} {'m_mean':>9} {'m_err':>9} {'rhat':>7} {'ess':>8}  "
              f"{'one-loop m_N':>14}  theory m")
        by_alpha = {e["alpha"]: e.get("minima", []) for e in theory.get("alphas", [])}
        for index, p in enumerate(points):
            th = ", ".join(f"{mn['m']:.4f}{'*' if mn['is_global'] else ''}" for mn in by_alpha.get(p.alpha, []))
            rhat, ess = p.diagnostics.get("rhat"), p.diagnostics.get("ess")
            rhat = "-" if rhat is None else format(rhat, ".3f")
            ess = "-" if ess is None else format(ess, ".0f")
            print(f"{p.N:>5} {p.alpha:>8g} {p.init:>8} {p.m_mean:>9.4f} {p.m_err:>9.4f} "
                  f"{rhat:>7} {ess:>8}  {_one_loop_cell(finite, index):>14}  {th or '-'}")
        if args.sampler == "adam" and theory["map"].get("alphas"):
            for e in theory["map"]["alphas"]:
                mins = ", ".join(f"{mn['m']:.4f}{'*' if mn['is_global'] else ''} ({mn['kind']})" for mn in e["minima"])
                print(f"MAP theory alpha={e['alpha']:g}: {mins}")
        print(f"wall time {wall:.1f}s; * = global minimum; one-loop m_N = m* + c/N of the nearest branch "
              "(copyhead finite-n), ! = flagged unreliable")
        if finite and finite.get("error"):
            print(f"one-loop prediction not available: {finite['error']}")
    return 0
