"""CLI subcommands built on the predictors (ONNX when a checkpoint is exported, else torch): predict, fill-mask,
evaluate, bench, export-onnx.

Each module exposes ``add_arguments(parser)`` and ``main(args) -> int`` (registered in ``mbti_core.cli``).
Results go to stdout as JSON; problems go to stderr as one ``error: ...`` line with exit status 2.
"""
from __future__ import annotations

import json
import sys

from mbti_core import settings

EXIT_BAD_INPUT = 2


def add_checkpoint_argument(parser) -> None:
    parser.add_argument(
        "--checkpoint", default=str(settings.checkpoint_dir() / "mft"),
        help="checkpoint folder or Hugging Face hub id (default: $MBTI_CHECKPOINT_DIR/mft or checkpoints/mft)",
    )


def quiet_transformers() -> None:
    """transformers' loading bars and notices off stderr (where the CLI reports errors)."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def load_predictor(path: str):
    """The checkpoint's predictor: ONNX when the folder has an export (no torch import), else torch."""
    from mbti_core.onnx_predictor import load_predictor as load

    return load(path, before_torch=quiet_transformers)


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def emit(payload) -> None:
    print(json.dumps(payload, ensure_ascii=False))
