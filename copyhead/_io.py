"""Outputs users can trust: atomic writes that never clobber a file unasked."""
from __future__ import annotations

import os
import pathlib
import tempfile

from .errors import InvalidParameterError


def atomic_write_text(path, text: str, *, force: bool = False, parameter: str = "path") -> pathlib.Path:
    """Write text to path atomically; refuse to overwrite unless force."""
    path = pathlib.Path(path)
    if path.exists() and not force:
        raise InvalidParameterError(parameter, f"{path} exists; pass --force to overwrite it")
    if not path.parent.exists():
        raise InvalidParameterError(parameter, f"directory {path.parent} does not exist")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def git_commit(start=None) -> str | None:
    """The git commit of the source checkout, if there is one (None for an installed wheel)."""
    import subprocess

    here = pathlib.Path(start or __file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here, capture_output=True,
                           text=True, timeout=5).stdout.strip()
    return out.stdout.strip() + ("-dirty" if dirty else "")


def metadata(params: dict | None = None, *, seeds=None, timings: dict | None = None, command: str | None = None) -> dict:
    """What a result needs to be trusted later: parameters, versions, commit, seeds, timings."""
    import datetime
    import platform
    from importlib.metadata import PackageNotFoundError, version

    from . import __version__

    def _v(name):
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    return {"copyhead_version": __version__, "git_commit": git_commit(), "python": platform.python_version(),
            "numpy": _v("numpy"), "scipy": _v("scipy"), "sympy": _v("sympy"), "mpmath": _v("mpmath"),
            "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": command, "params": params or {}, "seeds": seeds, "timings": timings or {}}


def write_json(path, result, *, meta: dict, force: bool = False, parameter: str = "path") -> pathlib.Path:
    """{"meta": ..., "result": ...} written atomically; NaN is refused (it is never a valid result)."""
    import json

    return atomic_write_text(path, json.dumps({"meta": meta, "result": result}, indent=2, allow_nan=False) + "\n",
                             force=force, parameter=parameter)


def load_json(path) -> dict:
    """Load a file written by write_json: returns {"meta": ..., "result": ...}."""
    import json

    data = json.loads(pathlib.Path(path).read_text())
    if not isinstance(data, dict) or "meta" not in data or "result" not in data:
        raise InvalidParameterError(parameter="path", message=f"{path} is not a copyhead result file")
    return data
