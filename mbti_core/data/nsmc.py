"""Naver movie reviews: the NSMC labelling rule, deduplication, movie-disjoint splits."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from mbti_core.data.text import is_usable, normalise_text

SPLIT_SHARES = {"train": 0.8, "validation": 0.1, "test": 0.1}


def label_from_rating(rating) -> int | None:
    """The original NSMC rule: 1-4 negative (0), 9-10 positive (1), 5-8 unused."""
    try:
        value = int(rating)
    except (TypeError, ValueError):
        return None
    if 1 <= value <= 4:
        return 0
    if 9 <= value <= 10:
        return 1
    return None


def split_of_movie(movie_id) -> str:
    bucket = int(hashlib.sha1(str(movie_id).encode("utf-8")).hexdigest()[:8], 16) / 0x1_0000_0000
    if bucket < SPLIT_SHARES["train"]:
        return "train"
    if bucket < SPLIT_SHARES["train"] + SPLIT_SHARES["validation"]:
        return "validation"
    return "test"


def read_reviews(path: Path) -> pd.DataFrame:
    """All reviews, any rating, cleaned, with their movie's split (pretraining uses the unlabelled ones too)."""
    raw = pd.read_json(path, lines=True, dtype={"review_id": str, "movie_id": str, "rating": str, "review": str})
    raw["text"] = raw["review"].map(normalise_text)
    raw = raw[raw["text"].map(is_usable)]
    raw["split"] = raw["movie_id"].map(split_of_movie)
    return raw[["review_id", "movie_id", "rating", "text", "split"]]


def prepare_nsmc(reviews: pd.DataFrame) -> pd.DataFrame:
    """Labelled, deduplicated reviews. A text is kept once (its first movie), so the same short review
    ("재밌어요") never sits in two splits; texts with both labels are dropped."""
    frame = reviews.copy()
    frame["label"] = frame["rating"].map(label_from_rating)
    frame = frame[frame["label"].notna()]
    frame["label"] = frame["label"].astype(int)
    conflicting = frame.groupby("text")["label"].nunique()
    frame = frame[~frame["text"].isin(conflicting[conflicting > 1].index)]
    frame = frame.drop_duplicates("text")
    return frame[["review_id", "movie_id", "text", "label", "split"]].reset_index(drop=True)


def nsmc_sample(frame: pd.DataFrame, split: str, n: int, seed: int = 0) -> pd.DataFrame:
    """A label-balanced random sample of n reviews from one split."""
    part = frame[frame["split"] == split]
    per_label = n // 2
    available = part["label"].value_counts()
    if len(available) < 2 or available.min() < per_label:
        raise ValueError(f"NSMC {split} split has {dict(available)} reviews per label; cannot sample {per_label} each")
    pieces = [part[part["label"] == label].sample(per_label, random_state=seed) for label in (0, 1)]
    return pd.concat(pieces).sample(frac=1, random_state=seed).reset_index(drop=True)
