"""Tokenisation for inference and for phase 2, shared by the torch and the ONNX predictors (torch-free).

``tokenizer`` is anything with the Hugging Face call convention ``tokenizer(text_or_texts,
add_special_tokens=True, truncation=False)["input_ids"]`` and ``pad_token_id`` / ``mask_token`` /
``mask_token_id``: a transformers tokenizer or ``mbti_core.fast_tokenizer.FastTokenizer``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MASK = "[MASK]"  # the literal a masked sentence holds (files, pages, CLI); each tokenizer maps it to its own
MAX_CHARS_PER_TOKEN = 20  # inference cuts absurdly long input to max_length * this many characters first


@dataclass
class MaskedEncoding:
    input_ids: list[int]
    mask_positions: list[int]
    truncated: bool


def encode_masked_text(tokenizer, masked_text: str, n_masks: int = 1, max_length: int = 128) -> MaskedEncoding:
    """Tokenise a text holding one literal "[MASK]", as ``n_masks`` mask tokens of this tokenizer.

    The literal is replaced by the tokenizer's own mask token (``<mask>`` for RoBERTa). A text longer than
    ``max_length`` keeps a window of tokens around the masks (and the special tokens at both ends), so the
    mask is never cut off.
    """
    if masked_text.count(MASK) != 1:
        raise ValueError(f"expected exactly one {MASK} in the text, found {masked_text.count(MASK)}")
    before, after = masked_text.split(MASK)
    # Spaces around the mask as in the text; RoBERTa's <mask> strips the space on its left by itself.
    text = before + tokenizer.mask_token * n_masks + after
    ids = tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"]
    positions = [i for i, token_id in enumerate(ids) if token_id == tokenizer.mask_token_id]
    truncated = False
    if len(ids) > max_length:
        truncated = True
        inner = max_length - 2
        centre = (positions[0] + positions[-1]) // 2 if positions else 1
        start = min(max(1, centre - inner // 2), len(ids) - 1 - inner)
        ids = [ids[0]] + ids[start:start + inner] + [ids[-1]]
        positions = [i for i, token_id in enumerate(ids) if token_id == tokenizer.mask_token_id]
    if len(positions) != n_masks:
        raise ValueError(f"the mask did not survive tokenisation of {masked_text[:80]!r}")
    return MaskedEncoding(ids, positions, truncated)


MAX_PIECES_PER_MASK = 4  # a masked word longer than this many subword pieces is left out of phase 2


def token_pieces(tokenizer, token: str) -> list[int]:
    """The vocabulary ids of a masked word, as the tokenizer splits a word on its own."""
    return tokenizer(token.strip(), add_special_tokens=False)["input_ids"]


@dataclass
class MaskedExample:
    """One masked-sentence row ready for the type-conditioned MLM: ids with one mask token per piece of the
    masked word, the pieces (the targets, in order), and the row's type index."""

    input_ids: list[int]
    mask_positions: list[int]
    targets: list[int]
    type_index: int


def encode_masked_rows(rows, tokenizer, max_length: int = 128) -> tuple[list[MaskedExample], list[int], dict[str, int]]:
    """Masked-file rows -> (examples, index of each example's row, skipped counts). Rows without a type, or
    whose word the tokenizer cannot spell in at most ``MAX_PIECES_PER_MASK`` known pieces, are left out."""
    from mbti_core.types import TYPE_INDEX, normalise_type

    examples: list[MaskedExample] = []
    kept: list[int] = []
    skipped = {"no_type": 0, "unknown_token": 0, "too_many_pieces": 0, "mask_lost": 0}
    for index, row in enumerate(rows):
        if not row.get("type"):
            skipped["no_type"] += 1
            continue
        pieces = token_pieces(tokenizer, row["token"])
        if not pieces or tokenizer.unk_token_id in pieces:
            skipped["unknown_token"] += 1
            continue
        if len(pieces) > MAX_PIECES_PER_MASK:
            skipped["too_many_pieces"] += 1
            continue
        try:
            encoding = encode_masked_text(tokenizer, row["masked"], len(pieces), max_length)
        except ValueError:
            skipped["mask_lost"] += 1
            continue
        examples.append(MaskedExample(encoding.input_ids, encoding.mask_positions, pieces,
                                      TYPE_INDEX[normalise_type(row["type"])]))
        kept.append(index)
    return examples, kept, skipped


def encode_batch(tokenizer, texts: list[str], max_length: int) -> tuple[np.ndarray, np.ndarray, list[bool]]:
    """Tokenise for inference, cut to ``max_length`` keeping the final [SEP], pad to the longest; returns
    ``input_ids`` and ``attention_mask`` (int64 [batch, width]) and which texts were truncated. Tokenising
    without truncation first tells us exactly which were cut."""
    cut = [t[: max_length * MAX_CHARS_PER_TOKEN] for t in texts]
    ids = tokenizer(cut, add_special_tokens=True, truncation=False)["input_ids"]
    truncated = [len(c) < len(t) or len(i) > max_length for c, t, i in zip(cut, texts, ids)]
    ids = [i if len(i) <= max_length else i[: max_length - 1] + i[-1:] for i in ids]
    width = max(len(i) for i in ids)
    input_ids = np.full((len(ids), width), tokenizer.pad_token_id, dtype=np.int64)
    attention = np.zeros((len(ids), width), dtype=np.int64)
    for row, sequence in enumerate(ids):
        input_ids[row, : len(sequence)] = sequence
        attention[row, : len(sequence)] = 1
    return input_ids, attention, truncated
