"""Tokenisation for inference and for phase 2, shared by the torch and the ONNX predictors (torch-free).

``tokenizer`` is anything with the Hugging Face call convention ``tokenizer(text_or_texts,
add_special_tokens=True, truncation=False)["input_ids"]`` and ``pad_token_id`` / ``mask_token`` /
``mask_token_id``: a transformers tokenizer or ``mbti_core.fast_tokenizer.FastTokenizer``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mbti_core.masking.format import MASK

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
