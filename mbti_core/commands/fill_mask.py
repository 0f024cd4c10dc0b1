"""``python -m mbti_core fill-mask --checkpoint DIR --text "…[MASK]…" --types ISTJ ENFP INTJ ESFP --top-k 5``

Prints {TYPE: [{"token", "prob"}, ...]}: the type-conditioned MLM's top-k fills of the one [MASK] for each
type (the encoder runs once; only the small head runs per type). A text cut to the model's maximum length
is noted on stderr.
"""
from __future__ import annotations

import sys

from mbti_core.commands import (
    add_checkpoint_argument, emit, fail, load_predictor, require_positive, text_argument,
)
from mbti_core.predictor_base import DEFAULT_FILL_TYPES


def add_arguments(parser) -> None:
    add_checkpoint_argument(parser)
    parser.add_argument("--text", required=True, help="a sentence with exactly one [MASK]")
    parser.add_argument("--types", nargs="+", default=list(DEFAULT_FILL_TYPES), help="MBTI types (default: %(default)s)")
    parser.add_argument("--top-k", type=int, default=5)


def main(args) -> int:
    from mbti_core.app_support import check_masked
    from mbti_core.predictor_base import check_text, preprocess_masked

    require_positive(args, "top_k")
    text = text_argument(args.text)
    preprocess_masked(check_text(text))  # empty, or not exactly one [MASK]: the Predictor's own words
    checked = check_masked(text, limit=len(text) + 1)  # the fronts' check: words around the [MASK], ...
    if not checked.ok:
        return fail(checked.error)
    for notice in checked.notices:
        print(f"note: {notice}", file=sys.stderr)
    predictor = load_predictor(args.checkpoint)
    result = predictor.fill_mask(text, args.types, args.top_k)
    if result.truncated:
        print(f"note: the text was cut to {predictor.max_length} tokens around the [MASK]", file=sys.stderr)
    emit(dict(result))
    return 0
