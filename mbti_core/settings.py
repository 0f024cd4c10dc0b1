"""Where things live. Every location is a setting, read from the environment.

- ``MBTI_DATA_DIR``: the raw data (default ``../shared/data`` beside the project).
- ``MBTI_CACHE_DIR``: built datasets (default ``.cache/`` in the project, git-ignored).
- ``MBTI_CHECKPOINT_DIR``: the trained models (default ``checkpoints/``).
"""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class DataNotFoundError(FileNotFoundError):
    """The raw data directory is missing or incomplete."""


def data_dir(override: str | os.PathLike | None = None) -> Path:
    value = override or os.environ.get("MBTI_DATA_DIR") or PROJECT_ROOT.parent / "shared" / "data"
    path = Path(value).expanduser().resolve()
    if not path.is_dir():
        raise DataNotFoundError(
            f"data directory not found: {path}. Set MBTI_DATA_DIR or pass --data-dir "
            "(it should hold mbti_cafe/, nsmc/, corpus/ and mbti_types_ko.json)."
        )
    return path


def cache_dir(override: str | os.PathLike | None = None) -> Path:
    value = override or os.environ.get("MBTI_CACHE_DIR") or PROJECT_ROOT / ".cache"
    path = Path(value).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def checkpoint_dir(override: str | os.PathLike | None = None) -> Path:
    value = override or os.environ.get("MBTI_CHECKPOINT_DIR") or PROJECT_ROOT / "checkpoints"
    return Path(value).expanduser()


def reports_dir() -> Path:
    return PROJECT_ROOT / "reports"
