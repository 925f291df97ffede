"""The `copyhead transition` and `copyhead phase-diagram` subcommands.

Two modes, chosen by --free-energy:
  model mode    MODEL-OPTIONS (copy head; control alpha, observable m)
  generic mode  --free-energy EXPR --order-params ... --control NAME --range LO HI [--param NAME=VALUE ...]
Model options are given the default None here, so an explicitly passed model
option can be told apart from its default; passing one in generic mode is a
usage error (and so is a generic-only option in model mode).
"""
from __future__ import annotations

import argparse
import os
import re
import sys

from ._cli_common import UsageError, parse_number, print_json, progress, spec_from_args, usage_error
from .errors import InvalidParameterError
from .spec import FIELD_NAMES, NUMERIC_FIELDS, OPTION_NAMES

# the model options come from the one vocabulary in spec.py
_MODEL_DESTS = FIELD_NAMES
_MODEL_OPTION = OPTION_NAMES
_VARY = NUMERIC_FIELDS


# argparse takes only -1 and -1.5 for negative numbers; '--range -1e-3 1' would read -1e-3 as an option
_NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def _mark_model_defaults(parser: argparse.ArgumentParser) -> None:
    present = {a.dest for a in parser._actions}
    parser.set_defaults(**{d: None for d in _MODEL_DESTS if d in present})
    if hasattr(parser, "_negative_number_matcher"):
        parser._negative_number_matcher = _NEGATIVE_NUMBER


def _generic_options(parser, second: bool):
    g = parser.add_argument_group("generic free energy (instead of MODEL-OPTIONS)")
    g.add_argument("--free-energy", metavar="EXPR",
                   help="free energy typed as a formula, e.g. 't*x^2 + x^4' (functions: exp log sqrt cosh sinh tanh "
                        "abs ...)")
    g.add_argument("--order-params", nargs="+", metavar="NAME", help="order parameters of EXPR")
    g.add_argument("--control", metavar="NAME", help="control parameter of EXPR")
    g.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="fixed parameter (repeatable)")
    if second:
        g.add_argument("--second-control", metavar="NAME", help="second parameter (one of the --param names)")
        g.add_argument("--second-range", nargs=2, metavar=("LO", "HI"), help="range of the second parameter")


def configure_transition(parser: argparse.ArgumentParser) -> None:
    _mark_model_defaults(parser)
    _generic_options(parser, second=False)
    parser.add_argument("--range", nargs=2, metavar=("LO", "HI"), help="control range (generic mode)")
    parser.add_argument("--alpha-range", nargs=2, metavar=("LO", "HI"),
                        help="alpha range (model mode; default: found automatically)")
    parser.add_argument("--digits", metavar="D", help="refine critical values to D significant digits with mpmath")
    parser.add_argument("--grid", metavar="N", default="49", help="control grid points of the global scan (default 49)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--csv", metavar="FILE", help="also write the transitions as CSV with named columns")


def configure_phase_diagram(parser: argparse.ArgumentParser) -> None:
    _mark_model_defaults(parser)
    _generic_options(parser, second=True)
    parser.add_argument("--vary", metavar="NAME", help=f"model parameter on the second axis ({', '.join(_VARY)})")
    parser.add_argument("--range", nargs=2, metavar=("LO", "HI"),
                        help="model mode: range of --vary; generic mode: range of --control")
    parser.add_argument("--alpha-range", nargs=2, metavar=("LO", "HI"),
                        help="alpha range (model mode; default: found automatically at each coarse point)")
    parser.add_argument("--points", metavar="N", default="41", help="points per transition line (default 41)")
    parser.add_argument("--coarse", metavar="N", default="7", help="full analyses along the second axis (default 7)")
    parser.add_argument("--digits", metavar="D", help="refine special points to D significant digits with mpmath")
    parser.add_argument("--plot", metavar="FILE", help="draw the diagram to FILE (refuses to overwrite)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--csv", metavar="FILE", help="also write the transition lines as CSV (kind, second, control)")


# ------------------------------------------------------------------ parsing helpers

def _range(option, values):
    lo, hi = (parse_number(option, v) for v in values)
    if not hi > lo:
        raise UsageError(f"{option}: need LO < HI, got {values[0]} {values[1]}")
    return lo, hi


def _int(option, text, lo, hi):
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise UsageError(f"{option}: expected an integer, got {text!r}") from None
    if not lo <= value <= hi:
        raise UsageError(f"{option}: must be between {lo} and {hi}, got {value}")
    return value


def _explicit_model_options(args):
    return [_MODEL_OPTION[d] for d in _MODEL_DESTS if getattr(args, d, None) is not None]


def _spec(args):
    from .spec import ModelSpec

    defaults = ModelSpec()
    for d in _MODEL_DESTS:
        if getattr(args, d, None) is None:
            setattr(args, d, str(getattr(defaults, d)))
    return spec_from_args(args)


def _params(args):
    from copyhead.numerics.transitions.expression import parse_assignment

    out = {}
    for text in args.param or []:
        try:
            name, value = parse_assignment(text)
        except InvalidParameterError as exc:
            raise usage_error(exc, "--param") from None
        if name in out:
            raise UsageError(f"--param: {name} given twice")
        out[name] = value
    return out


def _generic_problem(args, need_range=True):
    from copyhead.numerics.transitions import expression_problem
    from copyhead.numerics.transitions.expression import parse_free_energy

    explicit = _explicit_model_options(args)
    if explicit:
        raise UsageError(f"{explicit[0]}: model options cannot be combined with --free-energy")
    if getattr(args, "alpha_range", None):
        raise UsageError("--alpha-range: only for the copy-head model; use --range with --free-energy")
    if getattr(args, "vary", None):
        raise UsageError("--vary: only for the copy-head model; use --second-control with --free-energy")
    if not args.order_params:
        raise UsageError("--order-params: required with --free-energy")
    if not args.control:
        raise UsageError("--control: required with --free-energy")
    if need_range and not args.range:
        raise UsageError("--range: required with --free-energy")
    params = _params(args)
    try:
        # parsed with the parameter values first, so that e.g. log(a) at a = -1 is refused naming the term
        parse_free_energy(args.free_energy, args.order_params, args.control, list(params), param_values=params)
        problem = expression_problem(args.free_energy, args.order_params, args.control, params)
    except InvalidParameterError as exc:
        option = {"order-params": "--order-params", "control": "--control", "param": "--param"}.get(
            exc.parameter, "--free-energy")
        raise usage_error(exc, option) from None
    return problem


def _model_only(args, generic_options):
    for opt in generic_options:
        value = getattr(args, opt, None)
        if value:
            raise UsageError(f"--{opt.replace('_', '-')}: only with --free-energy (generic mode)")


# ------------------------------------------------------------------ transition

def _refuse_csv(path):
    if os.path.exists(path):
        raise UsageError(f"--csv: {path} exists; refusing to overwrite")


def _write_csv(table, path, meta):
    from ._io import atomic_write_text

    table = type(table)(table.name, table.columns, table.rows, table.descriptions, {**table.meta, **meta})
    try:
        atomic_write_text(path, table.to_csv_text(), parameter="--csv")
    except InvalidParameterError as exc:
        raise usage_error(exc) from None
    progress(f"wrote {path}")


def _csv_meta(args) -> dict:
    from . import __version__

    return {"command": "copyhead " + " ".join(sys.argv[1:]) if sys.argv[1:] else "copyhead", "version": __version__}


def run_transition(args) -> int:
    from copyhead.model import CopyHeadModel
    from copyhead.numerics.transitions import auto_range, find_transitions

    if args.csv:
        _refuse_csv(args.csv)
    digits = _int("--digits", args.digits, 1, 200) if args.digits is not None else None
    n_grid = _int("--grid", args.grid, 9, 2001)
    if args.free_energy is not None:
        if args.range:
            lo, hi = _range("--range", args.range)
        problem = _generic_problem(args)
        source = "user"
        extra = {"free_energy": args.free_energy, "order_params": list(args.order_params)}
    else:
        _model_only(args, ("order_params", "control", "param", "range"))
        spec = _spec(args)
        problem = CopyHeadModel(spec).problem()
        extra = {"model": spec.to_dict()}
        if args.alpha_range:
            lo, hi = _range("--alpha-range", args.alpha_range)
            if lo <= 0:
                raise UsageError("--alpha-range: alpha must be positive")
            source = "user"
        else:
            found = auto_range(problem)
            if found is None:
                from copyhead.numerics.transitions._analysis import WIDE_RANGE

                progress(f"no change of the minimum found for alpha in [{WIDE_RANGE[0]:g}, {WIDE_RANGE[1]:g}]; "
                         "reporting no transitions")
                found = (1e-3, 1e5)
            lo, hi = found
            source = "auto"
            progress(f"alpha range found automatically: [{lo:.6g}, {hi:.6g}]")
    try:
        report = find_transitions(problem, lo, hi, digits=digits, n_grid=n_grid, range_source=source)
    except InvalidParameterError as exc:
        raise usage_error(exc, "--range") from None
    for w in report.warnings:
        progress(f"warning: {w}")
    if args.csv:
        from .curves import transitions_table

        _write_csv(transitions_table(report), args.csv, {**extra, **_csv_meta(args)})
    out = report.to_dict()
    out.update(extra)
    if args.free_energy is None:
        _add_test_errors(spec, out)
    if args.json:
        print_json(out)
    else:
        _print_transitions(report)
    return 0


def _add_test_errors(spec, out: dict) -> None:
    """The Bayes test error (noise-free labels, posterior-mean readout) on each side of every transition and at
    each minimum of its evidence, at the transition's alpha: what the jump means for generalisation."""
    from .numerics.dynamics import test_error_at

    for tr in out["transitions"]:
        alpha = tr["critical_value"]
        if alpha is None:
            continue
        sides = tr.get("order_parameters") or {}
        tr["test_error"] = {side: test_error_at(spec, alpha, values) for side, values in sides.items()}
        for mn in tr.get("evidence", {}).get("minima", []):
            mn["test_error"] = test_error_at(spec, alpha, mn["x"])


def _print_transitions(report):
    lines = [f"control {report.control} in [{report.range[0]:.6g}, {report.range[1]:.6g}] ({report.range_source}); "
             f"order parameter {report.order_parameter}"]
    if not report.transitions:
        lines.append("  no transition of the global minimum in this range")
    for t in report.transitions:
        value = t.critical_value_digits or f"{t.critical_value:.12g}"
        line = f"  {t.kind:13s} at {report.control} = {value}"
        if t.spinodals:
            line += f"  spinodals [{t.spinodals[0]:.10g}, {t.spinodals[1]:.10g}]"
        if t.kind == "first-order":
            line += (f"  {report.order_parameter}: {t.order_parameter['before']:.6g} -> "
                     f"{t.order_parameter['after']:.6g}  d f/d {report.control} jump {t.df_dcontrol_jump:.6g}")
        if t.kind == "second-order":
            e = t.evidence.get("exponent") or {}
            lan = t.evidence.get("landau") or {}
            if e:
                line += f"  beta = {e['beta']:.6f}"
            if lan.get("a4_effective") is not None:
                line += f"  a4_eff = {lan['a4_effective']:.6g}"
        if t.flag != "ok":
            line += f"  [{t.flag}]"
        lines.append(line)
    sys.stdout.write("\n".join(lines) + "\n")


# ------------------------------------------------------------------ phase diagram

def run_phase_diagram(args) -> int:
    from copyhead.model import CopyHeadModel
    from copyhead.numerics.transitions import phase_diagram

    n_points = _int("--points", args.points, 2, 10000)
    n_coarse = _int("--coarse", args.coarse, 2, 200)
    digits = _int("--digits", args.digits, 1, 200) if getattr(args, "digits", None) is not None else None
    if args.plot and os.path.exists(args.plot):
        raise UsageError(f"--plot: {args.plot} exists; refusing to overwrite")
    if args.csv:
        _refuse_csv(args.csv)
    notes = []
    if args.free_energy is not None:
        if args.range:
            control_range = _range("--range", args.range)
        if args.second_range:
            second_range = _range("--second-range", args.second_range)
        problem = _generic_problem(args)
        if not args.second_control:
            raise UsageError("--second-control: required with --free-energy")
        if not args.second_range:
            raise UsageError("--second-range: required with --free-energy")
        if args.second_control not in problem.param_values:
            raise UsageError(f"--second-control: {args.second_control} must be one of the --param names "
                             f"({', '.join(problem.param_values) or 'none given'})")
        second = args.second_control
        extra = {"free_energy": args.free_energy}
    else:
        _model_only(args, ("order_params", "control", "param", "second_control", "second_range"))
        if not args.vary:
            raise UsageError("--vary: required (the model parameter on the second axis)")
        if args.vary not in _VARY:
            raise UsageError(f"--vary: must be one of {', '.join(_VARY)}, got {args.vary!r}")
        if not args.range:
            raise UsageError("--range: required (range of --vary)")
        second = args.vary
        second_range = _range("--range", args.range)
        if second in ("T", "V") and second_range[0] < 2:
            raise UsageError(f"--range: {second} must be >= 2")
        if second not in ("T", "V") and second_range[0] <= 0:
            raise UsageError(f"--range: {second} must be positive")
        if getattr(args, second) is not None:
            raise UsageError(f"{_MODEL_OPTION[second]}: is varied by --vary; do not fix it")
        spec = _spec(args)
        problem = CopyHeadModel(spec).problem()
        control_range = None
        if args.alpha_range:
            control_range = _range("--alpha-range", args.alpha_range)
            if control_range[0] <= 0:
                raise UsageError("--alpha-range: alpha must be positive")
        extra = {"model": {k: v for k, v in spec.to_dict().items() if k != second}}
        if second in ("T", "V"):
            notes.append(f"{second} is an integer in the model; the reduced free energy is continued to real {second}, "
                         f"so values between integers (e.g. a critical end point) are an interpolation")
    for note in notes:
        progress(f"note: {note}")
    try:
        diagram = phase_diagram(problem, second, second_range, control_range, n_coarse=n_coarse,
                                n_points=n_points, log=lambda m: progress(m), digits=digits)
    except InvalidParameterError as exc:
        raise usage_error(exc, "--range") from None
    for w in diagram.warnings:
        progress(f"warning: {w}")
    if args.plot:
        _plot(diagram, args.plot)
        progress(f"wrote {args.plot}")
    if args.csv:
        from .curves import phase_diagram_table

        _write_csv(phase_diagram_table(diagram), args.csv, {**extra, **_csv_meta(args)})
    out = diagram.to_dict()
    out.update(extra)
    out["notes"] = notes
    if args.json:
        print_json(out)
    else:
        lines = [f"phase diagram in ({diagram.control}, {diagram.second_control})"]
        for b in diagram.boundaries:
            if b.points:
                lines.append(f"  {b.kind:13s} line: {len(b.points)} points, from ({b.points[0][0]:.6g}, "
                             f"{b.points[0][1]:.6g}) to ({b.points[-1][0]:.6g}, {b.points[-1][1]:.6g})")
        for sp in diagram.special_points:
            shown = sp.values_digits or {k: f"{v:.10g}" for k, v in sp.values.items()}
            vals = ", ".join(f"{k} = {v}" for k, v in shown.items())
            lines.append(f"  {sp.kind}: {vals}" + ("" if sp.converged else "  [not converged]"))
        sys.stdout.write("\n".join(lines) + "\n")
    return 0


def _plot(diagram, path):
    from . import plotting

    plotting.save_as(plotting.phase_diagram(diagram), path)
