"""``python -m mbti_core fill-mask --checkpoint DIR --text "…[MASK]…" --types ISTJ ENFP INTJ ESFP --top-k 5``

Prints {TYPE: [{"token", "prob"}, ...]}: the type-conditioned MLM's top-k fills of the one [MASK] for each
type (the encoder runs once; only the small head runs per type). A text cut to the model's maximum length
is noted on stderr.
"""
from __future__ import annotations

import sys

from mbti_core.commands import add_checkpoint_argument, emit, fail, load_predictor
from mbti_core.predictor_base import DEFAULT_FILL_TYPES


def add_arguments(parser) -> None:
    add_checkpoint_argument(parser)
    parser.add_argument("--text", required=True, help="a sentence with exactly one [MASK]")
    parser.add_argument("--types", nargs="+", default=list(DEFAULT_FILL_TYPES), help="MBTI types (default: %(default)s)")
    parser.add_argument("--top-k", type=int, default=5)


def main(args) -> int:
    try:
        predictor = load_predictor(args.checkpoint)
        result = predictor.fill_mask(args.text, args.types, args.top_k)
    except (FileNotFoundError, ValueError) as error:
        return fail(str(error))
    if result.truncated:
        print(f"note: the text was cut to {predictor.max_length} tokens around the [MASK]", file=sys.stderr)
    emit(dict(result))
    return 0
