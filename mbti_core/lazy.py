"""Lazy package exports (PEP 562): names are imported from their submodule on first use."""
from __future__ import annotations

import importlib


def lazy_exports(package: str, exports: dict[str, list[str]]):
    """A module ``__getattr__`` serving ``exports`` ({submodule: [names]}) of ``package``, and ``__all__``."""
    where = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str):
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(f"{package}.{where[name]}"), name)

    return __getattr__, list(where)
