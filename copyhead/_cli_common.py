"""Shared command-line plumbing: model options, one-line errors, JSON output."""
from __future__ import annotations

import argparse
import json
import math
import sys

from .errors import InvalidParameterError
from .spec import ATTENTIONS, OPTION_NAMES, PRIORS, TOKENS, ModelSpec, option_name


class UsageError(Exception):
    """Bad command-line input: reported as one line on stderr, exit code 2."""


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """The MODEL-OPTIONS shared by every model command."""
    d = ModelSpec()
    g = parser.add_argument_group("model options")
    g.add_argument("--attention", default=d.attention, help=f"{' | '.join(ATTENTIONS)} (default {d.attention})")
    g.add_argument("--T", dest="T", default=str(d.T), help=f"context length, integer >= 2 (default {d.T})")
    g.add_argument("--V", dest="V", default=str(d.V), help=f"vocabulary size, integer >= 2 (default {d.V})")
    for name in ("gamma", "sigma_q", "sigma_k", "sigma_w", "sigma2"):
        g.add_argument(OPTION_NAMES[name], dest=name, default=str(getattr(d, name)),
                       help=f"positive finite number (default {getattr(d, name)})")
    g.add_argument("--tokens", default=d.tokens, help=f"{' | '.join(TOKENS)} (default {d.tokens})")
    g.add_argument("--prior", default=d.prior, help=f"{' | '.join(PRIORS)} (default {d.prior})")


def parse_number(option: str, text: str, *, positive: bool = False) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise UsageError(f"{option}: expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise UsageError(f"{option}: must be finite, got {text!r}")
    if positive and value <= 0:
        raise UsageError(f"{option}: must be positive, got {text!r}")
    return value


def parse_int(option: str, text: str, *, minimum: int | None = None) -> int:
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise UsageError(f"{option}: expected an integer, got {text!r}") from None
    if minimum is not None and value < minimum:
        raise UsageError(f"{option}: must be an integer >= {minimum}, got {value}")
    return value


def option_for(parameter: str) -> str:
    """The command-line option of a library parameter name: the one place fields become options."""
    if parameter.startswith("--"):
        return parameter
    return OPTION_NAMES.get(parameter, option_name(parameter))


def usage_error(exc: InvalidParameterError, option: str | None = None) -> UsageError:
    """A library InvalidParameterError as a one-line UsageError naming the option (``option`` overrides)."""
    return UsageError(f"{option or option_for(exc.parameter)}: {exc.reason}")


def spec_from_args(args: argparse.Namespace) -> ModelSpec:
    """Build the ModelSpec; a bad value becomes a UsageError naming the option."""
    values = {"attention": args.attention, "tokens": args.tokens, "prior": args.prior,
              "T": parse_int("--T", args.T), "V": parse_int("--V", args.V)}
    for name in ("gamma", "sigma_q", "sigma_k", "sigma_w", "sigma2"):
        values[name] = parse_number(OPTION_NAMES[name], getattr(args, name))
    try:
        return ModelSpec(**values)
    except InvalidParameterError as exc:
        raise usage_error(exc) from None


def print_json(obj) -> None:
    """Exactly one JSON object on stdout (NaN is refused: it is never a valid answer)."""
    sys.stdout.write(json.dumps(obj, allow_nan=False, sort_keys=False) + "\n")


def progress(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def network_spec_from_args(args: argparse.Namespace) -> ModelSpec:
    """spec_from_args, restricted to what the finite network samples (the bilinear prior)."""
    from .numerics.network import require_bilinear

    spec = spec_from_args(args)
    try:
        require_bilinear(spec)
    except InvalidParameterError as exc:
        raise usage_error(exc) from None
    return spec


def refuse_existing(paths, force: bool, option: str = "--out") -> None:
    """Nothing overwrites a user's file unless asked."""
    import os

    existing = [path for path in paths if os.path.exists(path)]
    if existing and not force:
        raise UsageError(f"{option}: {existing[0]!r} already exists; pass --force to overwrite")


def check_plot_path(path: str, *, force: bool = False, option: str = "--plot") -> None:
    """Refuse a figure path before any computation: existing file (unless force), missing or read-only
    directory, or a format matplotlib cannot write."""
    import os

    if os.path.exists(path) and not force:
        raise UsageError(f"{option}: {path!r} already exists; pass --force to overwrite it or choose another file")
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise UsageError(f"{option}: directory {parent!r} does not exist")
    from matplotlib.backend_bases import FigureCanvasBase

    ext = os.path.splitext(path)[1].lstrip(".").lower()
    supported = FigureCanvasBase.get_supported_filetypes()
    if ext not in supported:
        raise UsageError(f"{option}: unknown figure format {ext!r}; use one of {', '.join(sorted(supported))}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{option}: directory {parent!r} is not writable")
    # Some formats need external tools (pgf: xelatex); try one before the computation, not after it.
    import io

    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(1, 1))
    ax.set_xlabel(r"$\alpha$")
    try:
        fig.savefig(io.BytesIO(), format=ext)
    except Exception as exc:  # noqa: BLE001  (any backend failure means this format cannot be written here)
        raise UsageError(f"{option}: cannot write {ext!r} figures here: {str(exc).splitlines()[0]}") from None
    finally:
        plt.close(fig)
