"""The masked-sentence file: what every masker writes and what phase 2 (MBTI-conditioned MLM) reads.

Format: JSON Lines, UTF-8, one object per sentence::

    {"text": "할 일은 미리미리 해야 마음이 편하지",      # the original sentence
     "masked": "할 일은 [MASK] 해야 마음이 편하지",    # text with exactly one "[MASK]" where the token was
     "token": "미리미리",                             # the masked string; a non-empty substring of text
     "type": "ISTJ",                                  # the writer's MBTI type, or null when unknown
     "masker": "logodds",                             # optional: who chose the token (logodds | random | openai:MODEL)
     "id": "12:3f2a9c01d4e5"}                         # optional: stable id of the input row (used to resume)

Rules checked by :func:`read_masked_file`:
- ``masked`` holds "[MASK]" exactly once, and putting ``token`` back in its place gives ``text`` exactly
  (so the token is replaced at one occurrence, the one the masker chose, not necessarily the first).
- ``token`` is a non-empty string without "[MASK]"; ``type`` is one of the 16 types (any case, returned in
  upper case) or null. Other keys (e.g. ``score``) are allowed and kept.

A bad row does not stop the reader: it is reported with its line number and left out, so a trainer can say
"3 of 14,400 rows skipped (line 17: ...)". Writers append one row at a time (see :class:`JsonlAppender`), so
a run killed mid-write can leave a torn last line; the reader reports it like any other bad line and the
appender cuts it off before resuming.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from mbti_core.encoding import MASK  # noqa: F401  (re-exported: the masking files' own literal)
from mbti_core.types import normalise_type

REQUIRED_KEYS = ("text", "masked", "token", "type")


class MaskedFileError(ValueError):
    """A masked-sentence file that cannot be used (missing, or bad rows when strict)."""


def row_id(index: int, text: str) -> str:
    """Stable id of an input row: its position and a hash of its text, so a changed input file is noticed."""
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:12]
    return f"{index}:{digest}"


def make_row(text: str, start: int, end: int, type_: str | None, **extra) -> dict:
    """The output row for masking ``text[start:end]``."""
    if not 0 <= start < end <= len(text):
        raise ValueError(f"bad span {start}:{end} for a text of {len(text)} characters")
    return {
        "text": text,
        "masked": text[:start] + MASK + text[end:],
        "token": text[start:end],
        "type": type_,
        **extra,
    }


def validate_row(row) -> str | None:
    """None if ``row`` follows the format, else a short reason."""
    if not isinstance(row, dict):
        return f"expected a JSON object, got {type(row).__name__}"
    missing = [key for key in REQUIRED_KEYS if key not in row]
    if missing:
        return f"missing key(s): {', '.join(missing)}"
    text, masked, token, type_ = (row[key] for key in REQUIRED_KEYS)
    for key, value in (("text", text), ("masked", masked), ("token", token)):
        if not isinstance(value, str):
            return f"{key!r} must be a string, got {type(value).__name__}"
    if not token.strip():
        return "empty token"
    if MASK in token:
        return f"token contains {MASK}"
    if masked.count(MASK) != 1:
        return f"'masked' must contain {MASK} exactly once, found {masked.count(MASK)}"
    before, after = masked.split(MASK)
    if before + token + after != text:
        return "'masked' with the token put back is not 'text'"
    if type_ is not None:
        try:
            normalise_type(type_)
        except ValueError:
            return f"not an MBTI type: {type_!r}"
    return None


@dataclass
class MaskedFile:
    rows: list[dict]
    errors: list[tuple[int, str]] = field(default_factory=list)  # (1-based line number, reason)
    path: str = ""

    def error_summary(self, limit: int = 5) -> str:
        if not self.errors:
            return f"{self.path}: {len(self.rows)} rows, no bad rows"
        shown = "; ".join(f"line {line}: {reason}" for line, reason in self.errors[:limit])
        more = f"; … {len(self.errors) - limit} more" if len(self.errors) > limit else ""
        return f"{self.path}: {len(self.errors)} bad row(s) skipped, {len(self.rows)} kept ({shown}{more})"


def read_masked_file(path, *, strict: bool = False) -> MaskedFile:
    """Read and check a masked-sentence JSONL file.

    Returns the valid rows (types upper-cased) and the bad lines as (line number, reason). Blank lines are
    ignored. With ``strict=True`` any bad row raises :class:`MaskedFileError` instead.
    """
    path = Path(path)
    if not path.is_file():
        raise MaskedFileError(f"masked-sentence file not found: {path}")
    rows: list[dict] = []
    errors: list[tuple[int, str]] = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                torn = "" if line.endswith("\n") else " (torn last line?)"
                errors.append((line_number, f"invalid JSON: {error.msg}{torn}"))
                continue
            reason = validate_row(row)
            if reason:
                errors.append((line_number, reason))
                continue
            if row["type"] is not None:
                row["type"] = normalise_type(row["type"])
            rows.append(row)
    result = MaskedFile(rows=rows, errors=errors, path=str(path))
    if strict and errors:
        raise MaskedFileError(result.error_summary())
    return result


class JsonlAppender:
    """Append-only JSONL output that survives being killed at any moment.

    On open, a torn last line (no final newline: the process died mid-write) is cut off, and the ids of the
    complete rows are collected in :attr:`done_ids` so a rerun skips them. Each row is written as one line
    and flushed (and fsync'ed when ``fsync``), so everything written before a kill is kept, exactly once.
    """

    def __init__(self, path, *, fsync: bool = True):
        self.path = Path(path)
        self.fsync = fsync
        self.done_ids: set[str] = set()
        self.truncated_bytes = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            self._repair_and_scan()
        self._handle = open(self.path, "a", encoding="utf-8")

    def _repair_and_scan(self) -> None:
        data = self.path.read_bytes()
        keep = data.rfind(b"\n") + 1  # everything up to and including the last newline
        if keep < len(data):
            self.truncated_bytes = len(data) - keep
            with open(self.path, "r+b") as handle:
                handle.truncate(keep)
        for line in data[:keep].decode("utf-8", errors="replace").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and row.get("id") is not None:
                self.done_ids.add(str(row["id"]))

    def write(self, row: dict) -> None:
        self._handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._handle.flush()
        if self.fsync:
            os.fsync(self._handle.fileno())
        if row.get("id") is not None:
            self.done_ids.add(str(row["id"]))

    def close(self) -> None:
        if not self._handle.closed:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
