"""Text normalisation shared by every source (and by inference, so inputs match training)."""
from __future__ import annotations

import re
import unicodedata

_INVISIBLE = re.compile(r"[\u200b-\u200f\u2060\ufeff\u00ad]")
_WHITESPACE = re.compile(r"\s+")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_ONLY_PUNCT = re.compile(r"^[\W_]*$")


def normalise_text(text) -> str:
    """NFC (so Hangul is composed the same way everywhere), no invisible characters, one space between words."""
    if text is None or (isinstance(text, float) and text != text):  # None or NaN from pandas
        return ""
    text = unicodedata.normalize("NFC", str(text))
    text = _INVISIBLE.sub("", text)
    return _WHITESPACE.sub(" ", text).strip()


def is_url_only(text: str) -> bool:
    """True when nothing but URLs and punctuation is left, e.g. a bare shared link."""
    return bool(_URL.search(text)) and bool(_ONLY_PUNCT.match(_URL.sub("", text)))


def is_usable(text: str) -> bool:
    return bool(text) and not is_url_only(text)
