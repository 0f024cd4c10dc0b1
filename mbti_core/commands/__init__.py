"""CLI subcommands built on the predictors (ONNX when a checkpoint is exported, else torch): predict, fill-mask,
evaluate, bench, export-onnx.

Each module exposes ``add_arguments(parser)`` and ``main(args) -> int`` (registered in ``mbti_core.cli``).
Results go to stdout as JSON. Problems raise (``fail``, or any ``ValueError`` / ``OSError``) and ``cli.main``, the one
error handler, prints them as one ``COMMAND: error: ...`` line on stderr with exit status 2.
"""
from __future__ import annotations

import json
import os
import sys

from mbti_core import settings



class CommandError(ValueError):
    """Bad input a command has found itself: ``cli.main`` prints the message as one line (exit 2)."""


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
    """Stop the command with ``message`` (one line, exit 2, printed by ``cli.main``). Typed ``-> int`` so that
    ``return fail(...)`` reads as the command's exit."""
    raise CommandError(message)


def emit(payload) -> None:
    print(json.dumps(payload, ensure_ascii=False))


def emit_in_place(texts: list, problems: list, score) -> int:
    """One JSON line per text, in input order: the texts without a problem scored together (``score(list) ->
    list``), ``{"text", "error"}`` in place of each one with a problem. Exit status 1 if any had a problem."""
    good = [text for text, problem in zip(texts, problems) if problem is None]
    results = iter(score(good) if good else [])
    for text, problem in zip(texts, problems):
        emit(next(results) if problem is None else {"text": text, "error": problem})
    return 0 if all(problem is None for problem in problems) else 1


def require_positive(args, *names: str) -> None:
    """ValueError (one line through ``cli.main``) for an option among ``names`` that is set and not > 0: a batch size
    of -1 or 0, ``--limit 0``, ... would otherwise score nothing, or everything, without a word."""
    for name in names:
        value = getattr(args, name, None)
        if value is not None and not value > 0:
            kind = "integer" if isinstance(value, int) else "number"
            raise ValueError(f"--{name.replace('_', '-')} must be a positive {kind}, got {value:g}")


def text_argument(value: str, option: str = "--text") -> str:
    """A text given on the command line, as its writer meant it. Bytes that are not UTF-8 reach Python as lone
    surrogates (no tokenizer takes them); they are decoded by the upload rule (``batch.decode_text``: UTF-8, then
    CP949), else ValueError."""
    if not any("\ud800" <= ch <= "\udfff" for ch in value):
        return value
    from mbti_core.batch import decode_text

    try:
        decoded = decode_text(os.fsencode(value))
    except UnicodeError:  # surrogates that were never bytes
        decoded = None
    if decoded is None:
        raise ValueError(f"{option} is neither UTF-8 nor CP949 text: set the terminal to UTF-8, or put the text in a "
                         "UTF-8 file and pass it with --input")
    return decoded[0]


def checked_message(value: str, option: str = "--text") -> str:
    """``text_argument``, then the fronts' input check (``app_support.check_message``: empty, emoji or symbols only,
    invalid characters -> ValueError with the fronts' message). The text is kept whole (the model cuts long texts
    itself and flags them ``truncated``); the fronts' notices go to stderr."""
    from mbti_core.app_support import check_message

    text = text_argument(value, option)
    checked = check_message(text, limit=len(text) + 1)
    if not checked.ok:
        raise ValueError(checked.error)
    for notice in checked.notices:
        print(f"note: {notice}", file=sys.stderr)
    return text
