"""The copyhead command line. Every command validates its input and fails with one line and exit code 2."""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from . import __version__
from ._cli_common import (UsageError, add_model_options, network_spec_from_args, parse_number, print_json, progress,
                          refuse_existing, spec_from_args)
from .errors import CopyheadError, InvalidParameterError

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but errors are one line (no usage dump) and exit code 2."""

    def error(self, message):
        raise UsageError(message)


# (command, module, configure, run, help): commands contributed by other modules, imported on use.
_PLUGINS = (
    ("transition", "copyhead._transition_cli", "configure_transition", "run_transition",
     "locate and classify phase transitions"),
    ("phase-diagram", "copyhead._transition_cli", "configure_phase_diagram", "run_phase_diagram",
     "transition lines and special points in two parameters"),
    ("verify", "copyhead._verify_cli", "configure", "run", "confront theory with the finite network (Langevin, MALA, Adam)"),
    ("dynamics", "copyhead._dynamics_cli", "configure", "run", "training-time overlap ODEs: when the copy head emerges"),
    ("finite-n", "copyhead._finite_n_cli", "configure", "run", "one-loop finite-N corrections: means, jump shift, onset"),
)


def _cmd_derive(args) -> int:
    from ._cli_common import parse_int
    from .derivations import SECTIONS, all_steps, default_workers, run_checks

    if args.section is not None and args.section not in SECTIONS:
        raise UsageError(f"--section: must be one of {', '.join(SECTIONS)}; got {args.section!r}")
    if args.section is None:
        steps = None    # built inside the worker processes (building a step derives it)
    else:
        from importlib import import_module

        steps = import_module(f"{__package__}.derivations.{args.section}").steps()
    if args.latex is None and not args.check and not args.json:
        for step in all_steps() if steps is None else steps:
            sys.stdout.write(f"{step.key:16s} {step.title}\n")
        return 0
    if args.latex is not None and os.path.exists(args.latex) and not args.force:
        raise UsageError(f"--latex: {args.latex} exists; pass --force to overwrite it")
    workers = default_workers() if args.workers is None else parse_int("--workers", args.workers, minimum=1)
    tier_name = "thorough" if args.thorough else "fast"
    progress(f"deriving and checking ({tier_name} tier, {workers} process{'es' if workers > 1 else ''}) ...")
    from ._progress import progress_bar, wanted

    bar = progress_bar(None if steps is None else len(steps), "derive", enabled=not args.check and wanted(json_mode=args.json))

    def show(report):
        bar.update()
        if args.check and not args.json:
            verdict = "PASS" if report.passed else "FAIL"
            sys.stdout.write(f"{verdict}  {report.step.key:16s} {report.step.title}  "
                             f"[{', '.join(report.kinds)}]  ({report.seconds:.2f} s)\n")
            if not report.passed:
                for result in report.results:
                    if not result.passed:
                        sys.stdout.write(f"      failed {result.kind}: {result.detail}\n")
            sys.stdout.flush()

    with bar:
        # the whole derivation runs its independent sections in parallel processes; one section runs here
        reports = run_checks(steps, on_report=show, thorough=args.thorough,
                             workers=workers, with_latex=args.latex is not None)
    passed = sum(r.passed for r in reports)
    if args.latex is not None:
        from ._io import atomic_write_text
        from .derivations.latex import render_document

        try:
            atomic_write_text(args.latex, render_document(reports, version=__version__), force=args.force,
                              parameter="--latex")
        except InvalidParameterError as exc:
            raise UsageError(str(exc)) from None
        progress(f"wrote {args.latex}")
    if args.json:
        print_json({"version": __version__, "tier": tier_name, "verified": passed, "steps": len(reports),
                    "results": [{"key": r.step.key, "title": r.step.title, "passed": r.passed, "seconds": r.seconds,
                                 "checks": [{"kind": c.kind, "passed": c.passed, "detail": c.detail} for c in r.results]}
                                for r in reports]})
    elif args.check:
        sys.stdout.write(f"{passed}/{len(reports)} steps verified ({tier_name} tier"
                         f"{'' if args.thorough else '; --thorough runs the full set'})\n")
    return 0 if passed == len(reports) else 1


def _cmd_free_energy(args) -> int:
    from .numerics.dynamics import test_error_at
    from .numerics.free_energy import local_minima

    spec = spec_from_args(args)
    alpha = parse_number("--alpha", args.alpha, positive=True)
    minima = local_minima(spec, alpha)
    if args.json:
        print_json({"model": spec.to_dict(), "alpha": alpha, "version": __version__,
                    "minima": [{**mn.to_dict(), "test_error": test_error_at(spec, alpha, mn.order_parameters)}
                               for mn in minima]})
        return 0
    names = list(minima[0].order_parameters)
    sys.stdout.write(f"local minima of the reduced free energy at alpha = {alpha:g} ({spec.attention}, T={spec.T}, "
                     f"V={spec.V}, {spec.tokens}, {spec.prior} prior)\n")
    sys.stdout.write("  ".join(f"{n:>14s}" for n in names) + f"  {'m':>12s}  {'f':>20s}  global\n")
    for mn in minima:
        sys.stdout.write("  ".join(f"{v:14.8f}" for v in mn.order_parameters.values())
                         + f"  {mn.m:12.8f}  {mn.f:20.12f}  {'yes' if mn.is_global else 'no'}\n")
    return 0


def _cmd_report(args) -> int:
    from ._cli_common import parse_int
    from .report import build_report

    seed = parse_int("--seed", args.seed, minimum=0)
    if not args.out.strip():
        raise UsageError("--out: must be a directory path")
    started = __import__("time").perf_counter()
    build_report(args.out, quick=args.quick, force=args.force, seed=seed, progress=progress)
    progress(f"report written to {args.out} in {__import__('time').perf_counter() - started:.0f} s")
    sys.stdout.write(os.path.join(args.out, "summary.md") + "\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="copyhead", description="Bayesian theory of copy-head emergence in attention.")
    parser.add_argument("--version", action="version", version=f"copyhead {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    derive = sub.add_parser("derive", help="derive the theory and check every step")
    derive.add_argument("--check", action="store_true", help="run every step's checks; exit 1 if any fails")
    derive.add_argument("--latex", metavar="FILE", help="write a standalone LaTeX document of the derivation")
    derive.add_argument("--section", metavar="NAME", help="only this section (the derivation module's name, "
                                                         "e.g. ldp; `copyhead derive` lists the steps)")
    derive.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    derive.add_argument("--json", action="store_true", help="run the checks and print one JSON object")
    derive.add_argument("--thorough", action="store_true",
                        help="the full set of checks (all multi-start cases, full Monte Carlo samples); "
                             "the default fast tier runs every check at reduced size")
    derive.add_argument("--workers", metavar="N", help="processes for the independent sections "
                                                      "(default: the cores available)")
    derive.set_defaults(handler=_cmd_derive)

    report = sub.add_parser("report", help="the main job: derivation, transitions, figures and a summary")
    report.add_argument("--out", required=True, metavar="DIR", help="output directory (must be empty unless --force)")
    report.add_argument("--quick", action="store_true", help="smaller grids and shorter chains (about 3 minutes)")
    report.add_argument("--force", action="store_true", help="write into a non-empty DIR")
    report.add_argument("--seed", default="0", help="seed of the sampling checks (integer >= 0)")
    report.set_defaults(handler=_cmd_report)

    fe = sub.add_parser("free-energy", help="local minima of the reduced free energy at one alpha")
    add_model_options(fe)
    fe.add_argument("--alpha", required=True, help="amount of data n/N (positive)")
    fe.add_argument("--json", action="store_true", help="print one JSON object")
    fe.set_defaults(handler=_cmd_free_energy)

    for name, module, configure, run, help_ in _PLUGINS:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        cmd = sub.add_parser(name, help=help_)
        add_model_options(cmd)
        getattr(mod, configure)(cmd)
        cmd.set_defaults(handler=getattr(mod, run))
    return parser


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    return f"copyhead: warning: {message}\n"


def main(argv=None) -> int:
    import warnings

    warnings.formatwarning = _one_line_warning    # users see one line per warning, not our source lines
    # Our matrices are small (T x T, T x N): BLAS threads only contend with our worker processes and with
    # each other (7x slower L-BFGS in `derive` on a loaded 2-core machine). Set before numpy is imported.
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    # the entry point, never the library, chooses matplotlib's backend: files only, no window
    os.environ.setdefault("MPLBACKEND", "Agg")
    from . import _signals

    try:
        with _signals.handled(program=argv is None):
            parser = build_parser()
            args = parser.parse_args(argv)
            if getattr(args, "handler", None) is None:
                parser.print_help(sys.stderr)
                return EXIT_USAGE
            code = int(args.handler(args) or 0)
            _signals.check()   # an interrupt dropped on its way never ends as success
            return code
    except (KeyboardInterrupt, _signals.Terminated) as exc:
        sys.stderr.write(f"copyhead: {'terminated' if isinstance(exc, _signals.Terminated) else 'interrupted'}\n")
        return _signals.exit_code(exc)
    except UsageError as exc:
        sys.stderr.write(f"copyhead: error: {exc}\n")
        return EXIT_USAGE
    except InvalidParameterError as exc:
        from ._cli_common import usage_error

        sys.stderr.write(f"copyhead: error: {usage_error(exc)}\n")
        return EXIT_USAGE
    except CopyheadError as exc:
        sys.stderr.write(f"copyhead: error: {type(exc).__name__}: {exc}\n")
        return 1
    except Exception as exc:  # never a traceback for users; COPYHEAD_DEBUG=1 shows it
        if os.environ.get("COPYHEAD_DEBUG"):
            raise
        sys.stderr.write(f"copyhead: internal error: {type(exc).__name__}: {exc} "
                         "(rerun with COPYHEAD_DEBUG=1 for a traceback, and please report it)\n")
        return 1


#: what scripts (experiments/) build their command lines from
__all__ = ["main", "build_parser", "UsageError", "add_model_options", "spec_from_args", "network_spec_from_args",
           "refuse_existing", "print_json"]


if __name__ == "__main__":
    raise SystemExit(main())
