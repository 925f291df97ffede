"""Lazy facades: a package lists its public names grouped by role and imports each on first use."""
from __future__ import annotations

import importlib


def lazy_facade(package: str, groups: dict):
    """(__getattr__, __dir__, __all__) for a package whose public names are {role: {name: submodule}}."""
    where = {name: module for names in groups.values() for name, module in names.items()}

    def __getattr__(name):
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{where[name]}"), name)

    def __dir__():
        return sorted(where)

    return __getattr__, __dir__, list(where)
