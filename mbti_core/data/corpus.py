"""Pretraining text: everything in the data directory a model may see, and nothing it may not."""
from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd

from mbti_core.data.text import is_usable, normalise_text


def read_corpus(data_dir: Path) -> pd.DataFrame:
    """The corpus/ folder: one document per line, every *.txt.gz file."""
    rows = []
    for path in sorted((data_dir / "corpus").glob("*.txt.gz")):
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as handle:
            source = "corpus/" + path.name.removesuffix(".txt.gz")
            rows.extend((line, source) for line in handle)
    frame = pd.DataFrame(rows, columns=["text", "source"])
    frame["text"] = frame["text"].map(normalise_text)
    return frame[frame["text"].map(is_usable)]


def build_pretraining_text(
    corpus: pd.DataFrame, reviews: pd.DataFrame, cafe: pd.DataFrame
) -> pd.DataFrame:
    """Corpus files + reviews of training movies (any rating) + cafe texts of training writers (masked).

    Any text that also occurs in a validation or test split (NSMC or cafe) is dropped, so no
    held-out text is ever seen in pretraining, even when a training writer said the same thing.
    """
    held_out = set(reviews.loc[reviews["split"] != "train", "text"]) | set(cafe.loc[cafe["split"] != "train", "text"])
    parts = [
        corpus,
        pd.DataFrame({"text": reviews.loc[reviews["split"] == "train", "text"], "source": "nsmc"}),
        pd.DataFrame({"text": cafe.loc[cafe["split"] == "train", "text"], "source": "cafe"}),
    ]
    frame = pd.concat(parts, ignore_index=True)
    frame = frame[~frame["text"].isin(held_out)].drop_duplicates("text")
    return frame.reset_index(drop=True)
