"""What the embedding-map and probing studies share: which encoders, which examples, frozen hidden states.

- ``default_encoders()``: base, MFT, FT and sentiment checkpoints under ``MBTI_CHECKPOINT_DIR``. Each is a
  Hugging Face folder whose encoder ``AutoModel`` loads (an MBTI checkpoint's encoder is saved with
  ``save_pretrained``; a sentiment checkpoint's task model loads into the bare encoder by its prefix).
- ``sentiment_examples`` / ``mbti_examples``: label-balanced NSMC reviews of one movie-disjoint split, and
  labelled cafe texts of one writer-disjoint split (at most ``per_writer`` per writer, so a few prolific
  writers do not make up the sample), both as they are after the project's cleaning and mention masking.
- ``layer_features``: per layer (embeddings output = layer 0 .. last layer), the mean-pooled hidden states
  over real tokens, plus the last layer's ``[CLS]`` state; no gradients, batches sorted by length.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from mbti_core import settings
from mbti_core.types import AXES

ENCODER_NAMES = ("base", "mft", "ft", "sentiment")
TASKS = ("sentiment",) + tuple(AXES)


def default_encoders(checkpoint_dir=None) -> dict[str, str]:
    root = settings.checkpoint_dir(checkpoint_dir)
    return {name: str(root / name) for name in ENCODER_NAMES}


def parse_encoders(values: list[str] | None) -> dict[str, str]:
    """``["base=checkpoints/base", "mft=/x/mft"]`` -> {name: path}; None -> the default four."""
    if not values:
        return default_encoders()
    encoders = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not name or not path:
            raise ValueError(f"--encoders takes NAME=PATH pairs (e.g. mft=checkpoints/mft), got {value!r}")
        encoders[name] = path
    return encoders


def available_encoders(encoders: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(present, missing with the reason): a study runs on what exists and says what it skipped."""
    present, missing = {}, {}
    for name, path in encoders.items():
        folder = Path(path).expanduser()
        if folder.is_dir() and (folder / "config.json").is_file():
            present[name] = str(folder)
        else:
            missing[name] = f"no model folder at {folder}"
    return present, missing


def sentiment_examples(reviews: pd.DataFrame, split: str, n: int, seed: int = 0) -> pd.DataFrame:
    """text, label (0 negative / 1 positive): a balanced sample of one movie-disjoint split (or all, if fewer)."""
    from mbti_core.data import nsmc_sample

    part = reviews[reviews["split"] == split]
    n = min(n, 2 * int(part["label"].value_counts().min() if part["label"].nunique() == 2 else 0))
    if n < 2:
        raise ValueError(f"NSMC {split} split has no reviews of both labels")
    return nsmc_sample(reviews, split, n, seed=seed)[["text", "label"]]


def mbti_examples(cafe: pd.DataFrame, split: str, n: int, seed: int = 0, per_writer: int = 5) -> pd.DataFrame:
    """writer, type, text: labelled cafe texts of one writer-disjoint split, <= per_writer texts per writer."""
    from mbti_core.data import labelled

    rows = labelled(cafe, split)
    if rows.empty:
        raise ValueError(f"no labelled cafe texts in the {split} split")
    rows = rows.sample(frac=1, random_state=seed).groupby("writer", sort=False).head(per_writer)
    return rows.head(n)[["writer", "type", "text"]].reset_index(drop=True)


def axis_labels(types) -> dict[str, list[str]]:
    """{"EI": ["E", "I", ...], ...}: each text's letter on each axis."""
    types = list(types)
    return {axis: [t[i] for t in types] for i, axis in enumerate(AXES)}


def load_encoder_for_features(path: str, device: str):
    from mbti_core.encoder import load_encoder

    tokenizer, model = load_encoder(path, dtype=torch.float32)
    return tokenizer, model.to(device).eval()


@torch.inference_mode()
def layer_features(model, tokenizer, texts, *, max_length: int = 128, batch_size: int = 64,
                   device: str | torch.device = "cpu") -> dict[str, np.ndarray]:
    """{"mean": [layers + 1, N, hidden] mean-pooled states per layer, "cls": [N, hidden] last-layer [CLS]}."""
    texts = [str(t) for t in texts]
    if not texts:
        raise ValueError("no texts to encode")
    order = np.argsort([len(t) for t in texts], kind="stable")
    means, cls = None, None
    for start in range(0, len(texts), batch_size):
        index = order[start:start + batch_size]
        batch = tokenizer([texts[i] for i in index], truncation=True, max_length=max_length, padding=True,
                          return_tensors="pt").to(device)
        batch.pop("token_type_ids", None)
        states = model(**batch, output_hidden_states=True).hidden_states  # (layers + 1) x [B, T, H]
        mask = batch["attention_mask"].unsqueeze(-1).float()
        pooled = torch.stack([(h.float() * mask).sum(1) / mask.sum(1).clamp_min(1) for h in states])
        if means is None:
            means = np.zeros((pooled.shape[0], len(texts), pooled.shape[-1]), dtype=np.float32)
            cls = np.zeros((len(texts), pooled.shape[-1]), dtype=np.float32)
        means[:, index] = pooled.cpu().numpy()
        cls[index] = states[-1][:, 0].float().cpu().numpy()
    return {"mean": means, "cls": cls}


def device_name(device: str | None) -> str:
    return device or ("cuda" if torch.cuda.is_available() else "cpu")
