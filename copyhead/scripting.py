"""What a script or experiment needs to behave like the command line (public; experiments/ use only this).

Grouped by role:

* **arguments**: ``ArgumentParser`` (argparse with one-line errors), ``add_model_options`` and
  ``spec_from_args`` (the model options of every command), ``parse_and_prepare`` (parse, validate and
  refuse existing outputs without ``--force``), ``UsageError``.
* **outputs**: ``metadata`` (parameters, seeds, version, commit), ``write_json`` and ``atomic_write_text``
  (atomic; never overwrite unasked), ``load_json``, ``save_figure``, ``StagedDirectory`` (a whole output
  folder that appears only when complete).
"""
from __future__ import annotations

from ._cli_common import UsageError, add_model_options, spec_from_args
from ._dynamics_cli import parse_and_prepare, save_figure
from ._io import StagedDirectory, atomic_write_text, load_json, metadata, write_json
from .cli import _Parser as ArgumentParser

__all__ = ["ArgumentParser", "UsageError", "add_model_options", "spec_from_args", "parse_and_prepare",
           "metadata", "write_json", "atomic_write_text", "load_json", "save_figure", "StagedDirectory"]
