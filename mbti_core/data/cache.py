"""Raw files in the data directory -> cleaned tables, built once into a Parquet cache.

Every loader takes ``data_dir`` (default: the ``MBTI_DATA_DIR`` setting). The cache key holds the
sizes and times of the raw files and the source of this package, so editing either rebuilds.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Callable

import pandas as pd

from mbti_core import settings
from mbti_core.data.cafe import build_cafe, none_for_missing
from mbti_core.data.corpus import build_pretraining_text, read_corpus
from mbti_core.data.descriptions import build_descriptions
from mbti_core.data.nsmc import prepare_nsmc, read_reviews

_INPUTS = {
    "cafe": ["mbti_cafe/comments.csv.gz", "mbti_cafe/posts.csv.gz"],
    "descriptions": ["mbti_types_ko.json"],
    "nsmc_reviews": ["nsmc/reviews.jsonl.gz"],
    "nsmc": ["nsmc/reviews.jsonl.gz"],
    "corpus": ["corpus"],
    "pretraining": ["mbti_cafe/comments.csv.gz", "mbti_cafe/posts.csv.gz", "nsmc/reviews.jsonl.gz", "corpus"],
}


def _fingerprint(name: str, data_dir: Path) -> str:
    digest = hashlib.sha1(name.encode())
    for relative in _INPUTS[name]:
        path = data_dir / relative
        files = sorted(path.glob("*")) if path.is_dir() else [path]
        for file in files:
            if not file.exists():
                raise settings.DataNotFoundError(f"missing data file: {file}")
            stat = file.stat()
            digest.update(f"{file.name}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    for source in sorted(Path(__file__).parent.glob("*.py")) + [Path(__file__).parent.parent / "types.py"]:
        digest.update(source.read_bytes())
    return digest.hexdigest()[:12]


def _cached(name: str, data_dir, build: Callable[[Path], pd.DataFrame]) -> pd.DataFrame:
    root = settings.data_dir(data_dir)
    path = settings.cache_dir() / f"{name}-{_fingerprint(name, root)}.parquet"
    if path.exists():
        return pd.read_parquet(path)
    frame = build(root)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    frame.to_parquet(partial, index=False)
    partial.replace(path)  # atomic: a killed build never leaves a half-written cache
    return frame


def load_cafe(data_dir=None) -> pd.DataFrame:
    """One row per (writer, text): writer, type (None when unlabelled), text (masked), source, split, had_mention."""
    frame = _cached("cafe", data_dir, build_cafe)
    frame["type"] = none_for_missing(frame["type"])
    return frame


def labelled(frame: pd.DataFrame, split: str | None = None) -> pd.DataFrame:
    """The labelled rows of a cafe table, optionally of one split."""
    rows = frame[frame["type"].notna()]
    return rows if split is None else rows[rows["split"] == split]


def load_descriptions(data_dir=None) -> pd.DataFrame:
    return _cached("descriptions", data_dir, build_descriptions)


def load_nsmc_reviews(data_dir=None) -> pd.DataFrame:
    """Every review with its rating and movie split, before the NSMC labelling rule."""
    return _cached("nsmc_reviews", data_dir, lambda root: read_reviews(root / "nsmc" / "reviews.jsonl.gz"))


def load_nsmc(data_dir=None) -> pd.DataFrame:
    """NSMC-labelled reviews: review_id, movie_id, text, label (0/1), split (movie-disjoint)."""
    return _cached("nsmc", data_dir, lambda root: prepare_nsmc(load_nsmc_reviews(root)))


def load_pretraining_text(data_dir=None) -> pd.DataFrame:
    """text, source: every text a model may be pretrained on (no validation or test text)."""
    return _cached(
        "pretraining",
        data_dir,
        lambda root: build_pretraining_text(
            _cached("corpus", root, read_corpus), load_nsmc_reviews(root), load_cafe(root)
        ),
    )
