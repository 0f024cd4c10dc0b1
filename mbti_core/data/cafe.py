"""The MBTI cafe crawl: labels from nicknames, cleaning, mention masking, writer-disjoint splits."""
from __future__ import annotations

import ast
import hashlib
import re
import unicodedata
from pathlib import Path

import pandas as pd

from mbti_core.data.mentions import has_type_mention, label_from_nickname, mask_type_mentions
from mbti_core.data.text import is_usable, normalise_text

SPLITS = ("train", "validation", "test")
# Shares of writers per split. Test is large because few writers post most texts: 20% of
# writers keeps the test estimate from hanging on a handful of heavy posters.
SPLIT_SHARES = {"train": 0.7, "validation": 0.1, "test": 0.2}

COLUMNS = ["writer", "type", "text", "source", "split", "had_mention"]


class MalformedDataError(ValueError):
    """A raw file lacks the columns the pipeline needs."""


def writer_key(nickname) -> str:
    """The normalised nickname that identifies a writer: NFKC, case-folded, single spaces."""
    text = unicodedata.normalize("NFKC", str(nickname or ""))
    return re.sub(r"\s+", " ", text).strip().casefold()


def split_of_writer(key: str) -> str:
    """A stable split from the nickname's hash: the same writer always lands in the same split."""
    bucket = int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:8], 16) / 0x1_0000_0000
    if bucket < SPLIT_SHARES["train"]:
        return "train"
    if bucket < SPLIT_SHARES["train"] + SPLIT_SHARES["validation"]:
        return "validation"
    return "test"


def parse_post_contents(contents) -> str:
    """Post bodies are stored as a Python list literal of lines; never eval them."""
    if contents is None or (isinstance(contents, float) and contents != contents):
        return ""
    try:
        lines = ast.literal_eval(str(contents))
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return str(contents)  # not a list literal: keep the raw text rather than lose it
    if isinstance(lines, str):
        return lines
    if isinstance(lines, (list, tuple)):
        return "\n".join(str(line) for line in lines)
    return ""


def none_for_missing(values: pd.Series) -> pd.Series:
    """Unlabelled rows hold None (not NaN), so `row.type is None` reads as it says."""
    values = values.astype(object)
    return values.where(values.notna(), None)


def _require(frame: pd.DataFrame, columns: list[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MalformedDataError(f"{name}: missing column(s) {missing}; found {list(frame.columns)}")


def prepare_comments(raw: pd.DataFrame) -> pd.DataFrame:
    """Raw comment rows (columns comments, comments_writer) -> the cleaned, labelled, masked table."""
    _require(raw, ["comments", "comments_writer"], "comments file")
    frame = pd.DataFrame({"nickname": raw["comments_writer"], "raw_text": raw["comments"], "source": "comment"})
    return _prepare(frame)


def prepare_posts(raw: pd.DataFrame) -> pd.DataFrame:
    """Raw post rows (columns title, contents, author) -> the same table; title and body are one text."""
    _require(raw, ["title", "contents", "author"], "posts file")
    bodies = raw["contents"].map(parse_post_contents)
    titles = raw["title"].fillna("").astype(str)
    frame = pd.DataFrame({"nickname": raw["author"], "raw_text": titles + "\n" + bodies, "source": "post"})
    return _prepare(frame)


def _prepare(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame["clean"] = frame["raw_text"].map(normalise_text)
    frame = frame[frame["clean"].map(is_usable) & frame["nickname"].notna()]
    frame["writer"] = frame["nickname"].map(writer_key)
    # The crawl overlaps (pages crawled twice): one row per writer and text.
    frame = frame.drop_duplicates(["writer", "clean"])
    labels = {key: label_from_nickname(nick) for key, nick in zip(frame["writer"], frame["nickname"])}
    frame["type"] = none_for_missing(frame["writer"].map(labels))
    frame["had_mention"] = frame["clean"].map(has_type_mention)
    frame["text"] = frame["clean"].map(mask_type_mentions)
    frame = frame[frame["text"].map(is_usable)]
    frame["split"] = frame["writer"].map(split_of_writer)
    return frame[COLUMNS].reset_index(drop=True)


def read_comments_file(path: str | Path) -> pd.DataFrame:
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, UnicodeDecodeError, OSError) as err:
        raise MalformedDataError(f"cannot read comments file {path}: {err}") from err
    return prepare_comments(raw)


def build_cafe(data_dir: Path) -> pd.DataFrame:
    """Comments and posts of the cafe, one row per (writer, text); the board name is never kept."""
    comments = read_comments_file(data_dir / "mbti_cafe" / "comments.csv.gz")
    raw_posts = pd.read_csv(data_dir / "mbti_cafe" / "posts.csv.gz", dtype=str, keep_default_na=False, na_values=[""])
    posts = prepare_posts(raw_posts)
    # A post can repeat a comment of the same writer; keep the first.
    table = pd.concat([comments, posts], ignore_index=True).drop_duplicates(["writer", "text"])
    return table.reset_index(drop=True)
