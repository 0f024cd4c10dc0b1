"""``SentimentPredictor``: the NSMC sentiment checkpoint -> ``[P(negative), P(positive)]`` per review.

A sentiment checkpoint is a plain Hugging Face ``AutoModelForSequenceClassification`` folder (config.json with
``id2label = {0: negative, 1: positive}``, fp16 safetensors shards <= 15 MiB, tokenizer files) plus
``sentiment.json`` (what it is, max length, how it was trained and scored). ``train.py nsmc --output-dir
checkpoints/sentiment`` writes one.

Inputs get the normalisation of training (``normalise_text``: NFC, no invisible characters, one space between
words, as ``mbti_core.data.nsmc.read_reviews`` applied to the reviews) and the same checks and truncation as the
MBTI ``Predictor``: empty text -> ValueError, long text cut to ``max_length`` tokens (flagged ``truncated``).

``SentimentBase`` holds all of that, torch-free; ``SentimentPredictor`` runs the torch model and
``onnx_predictor.OnnxSentimentPredictor`` the folder's ONNX export (``load_sentiment_predictor`` picks).

The ``evaluate --nsmc`` and ``predict`` paths for sentiment checkpoints live in ``mbti_core.commands``.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from mbti_core.data.text import normalise_text
from mbti_core.heads_config import SENTIMENT_CONFIG_NAME

LABELS = ("negative", "positive")
FORMAT_VERSION = 1


def save_sentiment_checkpoint(model, tokenizer, output_dir, *, max_length: int, metadata: dict | None = None) -> Path:
    """Ship a fine-tuned AutoModelForSequenceClassification: fp16 safetensors (<= 15 MiB per file), tokenizer,
    ``sentiment.json``. The caller's model is left as it was (fp32, same device)."""
    from mbti_core.encoder import save_fp16

    output_dir = Path(output_dir)
    model.config.id2label = dict(enumerate(LABELS))
    model.config.label2id = {label: index for index, label in enumerate(LABELS)}
    for stale in list(output_dir.glob("model*.safetensors")) + list(output_dir.glob("model.safetensors.index.json")):
        stale.unlink()  # a smaller re-save must not leave old shards beside the new ones
    save_fp16(model, output_dir, tokenizer)
    info = {"kind": "sentiment", "labels": list(LABELS), "max_length": int(max_length),
            "format_version": FORMAT_VERSION, **(metadata or {})}
    (output_dir / SENTIMENT_CONFIG_NAME).write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n",
                                                    encoding="utf-8")
    return output_dir


def _check_text(text, what: str) -> str:
    if not isinstance(text, str):
        raise ValueError(f"{what} must be a string, got {type(text).__name__}")
    if any("\ud800" <= ch <= "\udfff" for ch in text):  # no tokenizer encodes unpaired surrogates
        raise ValueError(f"{what} holds invalid characters (unpaired surrogates: bytes that were not UTF-8)")
    clean = normalise_text(text)
    if not clean:
        raise ValueError(f"{what} is empty (or only whitespace): give a review to analyse")
    return clean


def read_sentiment_info(path) -> dict:
    """A sentiment checkpoint folder's ``sentiment.json``, checked (FileNotFoundError / ValueError saying why)."""
    folder = Path(str(path)).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(
            f"sentiment checkpoint not found: {folder} (train one with "
            f"`python train.py nsmc --output-dir checkpoints/sentiment`)"
        )
    if not (folder / SENTIMENT_CONFIG_NAME).is_file():
        raise ValueError(f"not a sentiment checkpoint (no {SENTIMENT_CONFIG_NAME}): {folder}")
    try:
        info = json.loads((folder / SENTIMENT_CONFIG_NAME).read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{folder / SENTIMENT_CONFIG_NAME} is not valid JSON ({error.msg})") from error
    if info.get("format_version", 1) > FORMAT_VERSION:
        raise ValueError(f"{folder}: sentiment format_version {info['format_version']} is newer than this code")
    return info


class SentimentBase:
    """What both backends share (torch-free): checks, truncation, batching, softmax, the result formats.
    Subclasses set ``tokenizer``, ``max_length``, ``source``, ``info`` and implement ``_logits_batch``."""

    tokenizer = None
    max_length: int = 128
    source: str = ""
    info: dict = {}
    load_seconds: float | None = None

    def _logits_batch(self, prepared: list[str]) -> tuple[np.ndarray, list[bool]]:
        """Normalised texts -> (logits [n, 2], truncated flags)."""
        raise NotImplementedError

    def probabilities(self, texts, batch_size: int = 64) -> tuple[np.ndarray, list[bool]]:
        """[N, 2] probabilities (negative, positive) and truncation flags; raises ValueError on a bad text."""
        if isinstance(texts, str):
            texts = [texts]
        texts = list(texts)
        if not texts:
            raise ValueError("no texts given")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        prepared = [_check_text(t, f"text {i + 1}" if len(texts) > 1 else "text") for i, t in enumerate(texts)]
        probs = np.zeros((len(prepared), len(LABELS)), dtype=np.float64)
        truncated = [False] * len(prepared)
        order = np.argsort([len(t) for t in prepared], kind="stable")  # similar lengths batch together
        for start in range(0, len(prepared), batch_size):
            index = order[start:start + batch_size]
            logits, cut = self._logits_batch([prepared[i] for i in index])
            logits = logits.astype(np.float64)
            exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
            probs[index] = exp / exp.sum(axis=-1, keepdims=True)
            for i, flag in zip(index, cut):
                truncated[i] = flag
        return probs, truncated

    def predict(self, texts, batch_size: int = 64) -> list[list[float]]:
        """``[[P(negative), P(positive)], ...]``, one pair per text (a single string gives a list of one)."""
        probs, _ = self.probabilities(texts, batch_size)
        return probs.tolist()

    def predict_details(self, texts, batch_size: int = 64) -> list[dict]:
        """Per text ``{"text", "label", "probs": {"negative", "positive"}, "truncated"}`` (the CLI's JSON)."""
        if isinstance(texts, str):
            texts = [texts]
        probs, truncated = self.probabilities(texts, batch_size)
        return [{"text": text, "label": LABELS[int(row.argmax())],
                 "probs": {label: float(p) for label, p in zip(LABELS, row)}, "truncated": cut}
                for text, row, cut in zip(texts, probs, truncated)]


class SentimentPredictor(SentimentBase):
    """The torch backend (CPU or GPU)."""

    def __init__(self, model, tokenizer, device="cpu", max_length: int = 128, source: str = "", info: dict | None = None):
        import torch

        self.model = model.to(device).eval()
        self.tokenizer = tokenizer
        self.device = torch.device(device)
        self.max_length = int(max_length)
        self.source = source
        self.info = info or {}

    @classmethod
    def from_pretrained(cls, path, device: str | None = None) -> "SentimentPredictor":
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        from mbti_core.checkpoint_files import check_checkpoint

        started = time.perf_counter()
        info = read_sentiment_info(path)
        folder = check_checkpoint(Path(str(path)), "sentiment")  # CheckpointError before any weight is read
        try:
            model = AutoModelForSequenceClassification.from_pretrained(
                str(folder), local_files_only=True, use_safetensors=True, dtype=torch.float32)
            tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        except OSError as error:
            raise FileNotFoundError(f"incomplete sentiment checkpoint {folder}: {error}") from error
        if model.config.num_labels != len(LABELS):
            raise ValueError(f"{folder}: expected a 2-label classifier, found {model.config.num_labels} labels")
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        predictor = cls(model, tokenizer, device, info.get("max_length", 128), source=str(path), info=info)
        predictor.load_seconds = time.perf_counter() - started
        return predictor

    def _logits_batch(self, prepared: list[str]) -> tuple[np.ndarray, list[bool]]:
        import torch

        from mbti_core.modeling import encode_texts

        batch, truncated = encode_texts(self.tokenizer, prepared, self.max_length, self.device)
        with torch.inference_mode():
            logits = self.model(**batch).logits
        return logits.float().cpu().numpy(), truncated

