"""Every setting read from the environment, in one place (README's settings table lists the same).

- ``MBTI_DATA_DIR``: the raw data (default ``../shared/data`` beside the project).
- ``MBTI_CACHE_DIR``: built datasets (default ``.cache/`` in the project, git-ignored).
- ``MBTI_CHECKPOINT_DIR``: the trained models (default ``checkpoints/``).
- ``MBTI_MFT_CHECKPOINT``, ``MBTI_FT_CHECKPOINT``, ``MBTI_SENTIMENT_CHECKPOINT``: one model's folder or Hub id,
  overriding ``<MBTI_CHECKPOINT_DIR>/<name>``.
- ``MBTI_REPORTS_DIR``: the measured reports, read by the app and written by training (default ``reports/``).
- ``OPENAI_API_KEY``, ``OPENAI_BASE_URL``: the OpenAI-compatible server of ``mask --masker openai`` and
  ``generate`` (the key is never logged).
- ``HF_HUB_OFFLINE``: Hugging Face's own switch; when set, a Hub id is looked up in the local cache only.
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


def model_checkpoint(name: str) -> str:
    """A model's folder or Hub id: ``MBTI_<NAME>_CHECKPOINT`` if set, else ``<MBTI_CHECKPOINT_DIR>/<name>``."""
    override = os.environ.get(f"MBTI_{name.upper()}_CHECKPOINT", "").strip()
    return override or str(checkpoint_dir() / name)


def reports_dir() -> Path:
    """``MBTI_REPORTS_DIR`` if set (tests, other runs), else the project's ``reports/``."""
    value = os.environ.get("MBTI_REPORTS_DIR", "").strip()
    return Path(value).expanduser() if value else PROJECT_ROOT / "reports"


def openai_api_key() -> str:
    return os.environ.get("OPENAI_API_KEY", "").strip()


def openai_base_url() -> str:
    return os.environ.get("OPENAI_BASE_URL", "").strip() or "https://api.openai.com/v1"


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes")


def project_relative(source) -> str:
    """A path as a report records it: inside the project, relative to it (the report then matches the same folder
    on any machine the project is copied to, a Space included); inside the data directory, as
    ``$MBTI_DATA_DIR/...``; anything else (a hub id, another folder) as given."""
    path = Path(source).expanduser()
    if not (path.is_absolute() or path.exists()):  # a hub id such as "klue/bert-base", not a folder here
        return str(source)
    path = path.resolve()
    if path.is_relative_to(PROJECT_ROOT):
        return path.relative_to(PROJECT_ROOT).as_posix()
    try:
        return "$MBTI_DATA_DIR/" + path.relative_to(data_dir()).as_posix()
    except (ValueError, DataNotFoundError):
        return str(source)
