"""Test support: tiny checkpoints and data, servers (Gradio, an OpenAI-compatible stub), AppTest and browser
helpers. Imported as ``tests.support.<module>``; the runnable ones also as ``python -m tests.support.<module>``."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

_BUILT: dict[tuple[str, str], dict[str, Path]] = {}


def built_once(tmp_path_factory, name: str, build: Callable[[Path], dict[str, Path]]) -> dict[str, Path]:
    """``build(folder)`` once per pytest process (under pytest's base temp), shared by every test module."""
    key = (str(tmp_path_factory.getbasetemp()), name)
    if key not in _BUILT:
        _BUILT[key] = build(tmp_path_factory.mktemp(name))
    return _BUILT[key]

