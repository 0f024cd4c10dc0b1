"""Phase-1 data: sentences of the 16 Korean type descriptions, each labelled with its type."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from mbti_core.data.mentions import mask_type_mentions
from mbti_core.data.text import normalise_text
from mbti_core.types import TYPES

PROSE_FIELDS = (
    "tagline", "summary", "core", "strengths", "cautions", "love", "signal",
    "work", "stress", "communication", "misconception",
)
# Korean prose ends sentences with . ! ? (often after 다/요); split after them.
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def split_sentences(text: str) -> list[str]:
    return [s for s in (normalise_text(part) for part in _SENTENCE_END.split(normalise_text(text))) if len(s) > 1]


def build_descriptions(data_dir: Path) -> pd.DataFrame:
    with open(data_dir / "mbti_types_ko.json", encoding="utf-8") as handle:
        content = json.load(handle)
    rows = []
    for mbti in TYPES:
        entry = content.get(mbti)
        if not isinstance(entry, dict):
            raise ValueError(f"mbti_types_ko.json has no description for {mbti}")
        for field in PROSE_FIELDS:
            value = entry.get(field) or []
            for paragraph in value if isinstance(value, list) else [value]:
                for sentence in split_sentences(str(paragraph)):
                    rows.append({"type": mbti, "field": field, "text": mask_type_mentions(sentence)})
    return pd.DataFrame(rows, columns=["type", "field", "text"]).drop_duplicates(["type", "text"]).reset_index(drop=True)
