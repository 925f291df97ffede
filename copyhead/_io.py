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
