"""The student study's own phase-1 and phase-2 data (``seed_study/`` in the data directory).

- Phase 1, ``official_documents.csv.gz`` (``MBTI``, ``Article``): paragraphs of machine-translated type
  descriptions. Split into two-sentence chunks, as the study did, with type mentions masked ("ENFJ",
  "enfjs", "INTJ의" -> ``[TYPE]``), or the classifier learns to read type names.
- Phase 2, ``masked_sentences.csv.gz`` (``MBTI``, ``original_sentence``, ``masked_sentence``): LLM-written
  persona sentences with one type-characteristic word replaced by ``[MASK]``. Cleaned into the project's
  masked-sentence rows (``masking.format``): the swapped columns put back, the masked span found by aligning
  the two texts around ``[MASK]`` (it may be a word part, or the masked text may carry another particle:
  ``[MASK]를`` for ``편리함을``), unusable rows dropped with a counted reason, duplicates removed, and a
  validation part split by a hash of the sentence, so a sentence and its repeats never straddle the split.

Bad rows never raise: every row is either kept or counted under one reason in ``counts``.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mbti_core import settings
from mbti_core.data.descriptions import split_sentences
from mbti_core.data.mentions import MENTION_PLACEHOLDER, mask_type_mentions
from mbti_core.data.text import normalise_text
from mbti_core.encoding import MASK
from mbti_core.types import normalise_type

SEED_STUDY_DIR = "seed_study"
DOCUMENTS_FILE = "official_documents.csv.gz"
MASKED_SENTENCES_FILE = "masked_sentences.csv.gz"
STUDY_COLUMNS = ("MBTI", "original_sentence", "masked_sentence")
STUDY_MASKER = "study:gpt-4o"
VALIDATION_PERCENT = 10       # of distinct sentences, by hash
MAX_SPAN_CHARS = 12           # a longer "difference" is two sentences that disagree, not one masked word
MAX_SPAN_WORDS = 2


def study_file(name: str, data_dir=None) -> Path:
    path = settings.data_dir(data_dir) / SEED_STUDY_DIR / name
    if not path.is_file():
        raise settings.DataNotFoundError(f"missing data file: {path} (the study's data lives in {SEED_STUDY_DIR}/)")
    return path


def _read_csv(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """A study CSV (plain or gzipped) as strings; a file that is not such a CSV gives one clear ValueError."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, on_bad_lines="error")
    except (pd.errors.ParserError, UnicodeDecodeError, EOFError, OSError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise ValueError(f"{path}: not a readable CSV file ({type(error).__name__}: {error})") from error
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)} (expected {', '.join(columns)})")
    return frame


# -- phase 1 ------------------------------------------------------------------------------------------------
def two_sentence_chunks(paragraph: str) -> list[str]:
    """A paragraph as consecutive pairs of sentences (the last chunk may hold one)."""
    sentences = split_sentences(paragraph)
    return [" ".join(sentences[i:i + 2]) for i in range(0, len(sentences), 2)]


def load_study_documents(data_dir=None, path=None) -> pd.DataFrame:
    """Phase-1 rows ``type``, ``text`` (two-sentence chunks, type mentions masked), ``paragraph`` (row index)."""
    frame = _read_csv(Path(path) if path else study_file(DOCUMENTS_FILE, data_dir), ("MBTI", "Article"))
    rows = []
    for index, (mbti, article) in enumerate(zip(frame["MBTI"], frame["Article"])):
        try:
            mbti = normalise_type(mbti)
        except ValueError:
            continue
        for chunk in two_sentence_chunks(article):
            text = mask_type_mentions(chunk)
            if text.replace(MENTION_PLACEHOLDER, "").strip():
                rows.append({"type": mbti, "text": text, "paragraph": index})
    return pd.DataFrame(rows, columns=["type", "text", "paragraph"]).drop_duplicates(["type", "text"]).reset_index(drop=True)


# -- phase 2 ------------------------------------------------------------------------------------------------
@dataclass
class StudyMaskedData:
    """Clean phase-2 rows (masked-file format) split into train / validation, and what happened to each row."""

    train: list[dict]
    validation: list[dict]
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> list[dict]:
        return self.train + self.validation


def align_masked(original: str, masked: str) -> tuple[int, int, int, int] | None:
    """Where ``masked``'s one [MASK] sits in ``original``: (span start, span end) in ``original`` and how many
    characters of ``masked`` before / after the mask matched. None when the texts share no frame."""
    before, after = masked.split(MASK)
    prefix = 0
    while prefix < min(len(before), len(original)) and before[prefix] == original[prefix]:
        prefix += 1
    suffix = 0
    while (suffix < len(after) and suffix < len(original) - prefix
           and after[len(after) - 1 - suffix] == original[len(original) - 1 - suffix]):
        suffix += 1
    return prefix, len(original) - suffix, prefix, suffix


def clean_row(mbti, original, masked) -> tuple[dict | None, list[str]]:
    """One study row -> (masked-file row or None, the reasons/notes counted for it)."""
    notes: list[str] = []
    try:
        mbti = normalise_type(mbti)
    except (ValueError, TypeError, AttributeError):
        return None, ["dropped_bad_type"]
    original, masked = normalise_text(original or ""), normalise_text(masked or "")
    if not original or not masked:
        return None, ["dropped_empty_text"]
    if MASK in original and MASK in masked:
        return None, ["dropped_mask_in_both"]
    if MASK not in original and MASK not in masked:
        return None, ["dropped_no_mask"]
    if MASK in original:
        original, masked = masked, original
        notes.append("fixed_swapped_columns")
    if masked.count(MASK) != 1:
        return None, ["dropped_several_masks"]
    start, end, matched_before, matched_after = align_masked(original, masked)
    before, after = masked.split(MASK)
    span = original[start:end]
    if not span.strip():
        return None, ["dropped_nothing_masked"]  # a [MASK] inserted between words, no word removed
    if len(span.strip()) > MAX_SPAN_CHARS or len(span.split()) > MAX_SPAN_WORDS:
        return None, ["dropped_unaligned"]
    if matched_before != len(before) or matched_after != len(after):
        notes.append("fixed_realigned_span")  # e.g. "[MASK]를" for "편리함을": the particle joins the span
    # Leading/trailing spaces belong to the frame, not the word.
    start += len(span) - len(span.lstrip())
    end -= len(span) - len(span.rstrip())
    span = original[start:end]
    left, right = mask_type_mentions(original[:start]), mask_type_mentions(original[end:])
    if mask_type_mentions(span) != span:
        return None, ["dropped_span_is_type_mention"]
    if (start > 0 and not original[start - 1].isspace()) or (end < len(original) and not original[end].isspace()):
        notes.append("word_part")
    row = {"text": left + span + right, "masked": left + MASK + right, "token": span, "type": mbti,
           "masker": STUDY_MASKER}
    return row, notes


def sentence_bucket(text: str) -> int:
    """0-99 from a hash of the sentence: the split never depends on row order or on the type."""
    return int(hashlib.sha1(text.encode("utf-8")).hexdigest()[:8], 16) % 100


def split_by_sentence(rows: list[dict], validation_percent: int = VALIDATION_PERCENT) -> tuple[list[dict], list[dict]]:
    """(train, validation) by a hash of each row's sentence."""
    train = [r for r in rows if sentence_bucket(r["text"]) >= validation_percent]
    return train, [r for r in rows if sentence_bucket(r["text"]) < validation_percent]


def clean_study_masked(frame: pd.DataFrame, validation_percent: int = VALIDATION_PERCENT) -> StudyMaskedData:
    counts: dict[str, int] = {"rows_read": int(len(frame))}
    kept: list[dict] = []
    seen: set[tuple[str, str, str]] = set()
    for mbti, original, masked in zip(frame["MBTI"], frame["original_sentence"], frame["masked_sentence"]):
        row, notes = clean_row(mbti, original, masked)
        for note in notes:
            counts[note] = counts.get(note, 0) + 1
        if row is None:
            continue
        key = (row["type"], row["text"], row["masked"])
        if key in seen:
            counts["dropped_duplicate"] = counts.get("dropped_duplicate", 0) + 1
            continue
        seen.add(key)
        row["id"] = hashlib.sha1("\t".join(key).encode("utf-8")).hexdigest()[:12]
        kept.append(row)
    train, validation = split_by_sentence(kept, validation_percent)
    counts.update(kept=len(kept), train=len(train), validation=len(validation))
    return StudyMaskedData(train=train, validation=validation, counts=dict(sorted(counts.items())))


def load_study_masked(path=None, data_dir=None, validation_percent: int = VALIDATION_PERCENT) -> StudyMaskedData:
    """Any file in the study's phase-2 format (default: the study's own), cleaned and split."""
    path = Path(path) if path else study_file(MASKED_SENTENCES_FILE, data_dir)
    if not path.is_file():
        raise FileNotFoundError(f"masked-sentence file not found: {path}")
    return clean_study_masked(_read_csv(path, STUDY_COLUMNS), validation_percent)
