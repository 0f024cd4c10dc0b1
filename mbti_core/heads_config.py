"""``mbti_heads.json``: what an MBTI checkpoint holds besides the encoder's own ``config.json``; and how to
tell a sentiment checkpoint (``sentiment.json``) from an MBTI one.

Torch-free, so the ONNX serving path (``mbti_core.onnx_predictor``) and the CLI read them without importing torch.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mbti_core.types import AXES, TYPES

HEADS_CONFIG_NAME = "mbti_heads.json"
SENTIMENT_CONFIG_NAME = "sentiment.json"
FORMAT_VERSION = 1


def is_sentiment_checkpoint(path) -> bool:
    """True for a local folder written by ``sentiment.save_sentiment_checkpoint`` (it holds ``sentiment.json``)."""
    folder = Path(str(path)).expanduser()
    return folder.is_dir() and (folder / SENTIMENT_CONFIG_NAME).is_file()


@dataclass
class HeadsConfig:
    """Head sizes, which heads exist, max length, calibration and research thresholds of one checkpoint."""

    classifier_sizes: list[int] = field(default_factory=lambda: [512, 256, 128])
    classifier_dropout: float = 0.1
    type_embedding_dim: int = 128
    type_vocab_bias: bool = False   # the type MLM head's per-type vocabulary bias (MFT on the study's data)
    num_types: int = len(TYPES)
    max_length: int = 128
    # Per-axis thresholds on the raw P(first letter) that maximise validation macro-F1: research metrics only
    # (``evaluate`` reports them beside the served decision); the app decides at 50% of the calibrated probability.
    thresholds: list[float] = field(default_factory=lambda: [0.5, 0.5, 0.5, 0.5])
    # Platt scaling per axis, [[scale, bias]] * 4 on the axis logit (``evaluation.fit_calibration``): what the
    # fronts show and decide at 50%. ``writer_calibration``, [[a, c, d, b]] * 4, is for the mean logit m of n
    # messages of one writer: a*m + c*m*ln(n) + d*ln(n) + b (``evaluation.fit_writer_calibration``).
    # None: the model's own sigmoid (of the mean logit).
    calibration: list[list[float]] | None = None
    writer_calibration: list[list[float]] | None = None
    has_classifier: bool = True
    has_type_mlm: bool = False
    axes: list[str] = field(default_factory=lambda: list(AXES))
    types: list[str] = field(default_factory=lambda: list(TYPES))
    base_model: str | None = None
    format_version: int = FORMAT_VERSION

    def save(self, directory: str | Path) -> None:
        path = Path(directory) / HEADS_CONFIG_NAME
        path.write_text(json.dumps(asdict(self), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: str | Path) -> "HeadsConfig":
        path = Path(directory) / HEADS_CONFIG_NAME
        if not path.is_file():
            raise FileNotFoundError(f"not an MBTI checkpoint (no {HEADS_CONFIG_NAME}): {Path(directory)}")
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format_version", 1) > FORMAT_VERSION:
            raise ValueError(f"{path}: format_version {data['format_version']} is newer than this code understands")
        if data.get("types", list(TYPES)) != list(TYPES):
            raise ValueError(f"{path}: type order differs from mbti_core.types.TYPES")
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})
