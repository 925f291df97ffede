"""What a script or experiment needs to behave like the command line (public; experiments/ use only this).

Grouped by role:

* **arguments**: ``ArgumentParser`` (argparse with one-line errors), ``add_model_options`` and
  ``spec_from_args`` (the model options of every command), ``parse_and_prepare`` (parse, validate and
  refuse existing outputs without ``--force``), ``UsageError``.
* **runs**: ``add_run_options`` (``--seed``, ``--out``, ``--force``, ``--quick``, as every experiment has them),
  ``network_spec`` (the model options as a network spec, refusing an attention the experiment is not about).
* **outputs**: ``metadata`` (parameters, seeds, version, commit), ``write_json`` and ``atomic_write_text``
  (atomic; never overwrite unasked), ``load_json``, ``save_figure``, ``StagedDirectory`` (a whole output
  folder that appears only when complete), ``write_json_and_csv`` (an experiment's document and its rows,
  each written atomically).
* **progress**: ``progress_bar`` (tqdm, quiet when stderr is not a terminal or stdout carries JSON) and
  ``progress_wanted`` (whether a bar would show).
"""
from __future__ import annotations

from ._cli_common import UsageError, add_model_options, network_spec_from_args, spec_from_args
from ._dynamics_cli import parse_and_prepare, save_figure
from ._io import StagedDirectory, atomic_write_text, load_json, metadata, write_json
from ._progress import progress_bar, wanted as progress_wanted
from .cli import _Parser as ArgumentParser

__all__ = ["ArgumentParser", "UsageError", "add_model_options", "spec_from_args", "add_run_options", "network_spec",
           "parse_and_prepare",
           "metadata", "write_json", "atomic_write_text", "load_json", "save_figure", "StagedDirectory",
           "progress_bar", "progress_wanted", "write_json_and_csv"]


def add_run_options(parser, *, out: str, quick: str, seed: int = 0) -> None:
    """--seed, --out (default ``out``), --force and --quick (help ``quick``: what the quick run does)."""
    parser.add_argument("--seed", type=int, default=seed)
    parser.add_argument("--out", default=out)
    parser.add_argument("--force", action="store_true", help="overwrite existing outputs")
    parser.add_argument("--quick", action="store_true", help=quick)


def network_spec(args, *, attention: str | None = None, about: str = ""):
    """The network ModelSpec of parsed model options; UsageError naming --attention if it is not ``attention``."""
    spec = network_spec_from_args(args)
    if attention is not None and spec.attention != attention:
        raise UsageError(f"--attention: this experiment is about {about or attention + ' attention'}")
    return spec


def write_json_and_csv(json_path, doc: dict, csv_path, rows, *, force: bool = False) -> None:
    """An experiment's JSON document and its rows (dicts with the same keys) as CSV, each written atomically:
    an interrupted run leaves the previous files whole."""
    import csv
    import io
    import json

    atomic_write_text(json_path, json.dumps(doc, indent=1, allow_nan=False), force=force, parameter="--out")
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(csv_path, buffer.getvalue(), force=force, parameter="--out")
