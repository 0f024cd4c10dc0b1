"""``python -m mbti_core evaluate --checkpoint DIR --cafe-comments FILE.csv.gz``

Scores a checkpoint on a raw crawl file in the format of ``mbti_cafe/comments.csv.gz``: the project's own
pipeline (``mbti_core.data.cafe.read_comments_file``) labels the rows from nicknames, cleans them, masks
type mentions and deduplicates; every labelled row is used as test data. Prints the metrics JSON of
``mbti_core.evaluation`` (comment level, and writer level under "writer_level") at the checkpoint's
thresholds, plus the counts.

``python -m mbti_core evaluate --checkpoint checkpoints/sentiment --nsmc FILE.jsonl.gz`` scores a sentiment
checkpoint on a raw file in the format of ``nsmc/reviews.jsonl.gz`` (labelled by the project's NSMC rule):
accuracy, F1, loss, n (``mbti_core.sentiment.evaluate_nsmc``).
"""
from __future__ import annotations

import numpy as np

from mbti_core.commands import add_checkpoint_argument, emit, fail, load_predictor, require_positive


def add_arguments(parser) -> None:
    add_checkpoint_argument(parser)
    data = parser.add_mutually_exclusive_group(required=True)
    data.add_argument("--cafe-comments", help="raw comments CSV(.gz): columns comments, comments_writer")
    data.add_argument("--nsmc", help="raw NSMC reviews JSONL(.gz) (review_id, movie_id, rating, review); "
                                     "for a sentiment checkpoint")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--limit", type=int, default=None, help="score only the first N labelled texts (quick checks)")


def main(args) -> int:
    from mbti_core.heads_config import is_sentiment_checkpoint

    require_positive(args, "batch_size", "limit")  # --limit 0 would otherwise mean "every row"
    if args.nsmc is not None or is_sentiment_checkpoint(args.checkpoint):
        from mbti_core import sentiment  # torch: only for this kind of checkpoint

        if args.nsmc is None:
            return fail(f"{args.checkpoint} is a sentiment checkpoint: evaluate it with --nsmc FILE.jsonl.gz")
        try:
            emit(sentiment.evaluate_nsmc(args.checkpoint, args.nsmc, batch_size=args.batch_size, limit=args.limit))
        except (FileNotFoundError, ValueError) as error:
            return fail(str(error))
        return 0
    from mbti_core.data.cafe import MalformedDataError, read_comments_file
    from mbti_core.training.phases import classification_metrics

    try:
        table = read_comments_file(args.cafe_comments)
    except FileNotFoundError as error:
        return fail(f"comments file not found: {args.cafe_comments} ({error})")
    except MalformedDataError as error:
        return fail(str(error))
    rows = table[table["type"].notna()].reset_index(drop=True)
    if args.limit:
        rows = rows.head(args.limit)
    if rows.empty:
        return fail(f"no labelled rows in {args.cafe_comments} (no writer nickname names a type)")
    try:
        predictor = load_predictor(args.checkpoint)
    except (FileNotFoundError, ValueError) as error:
        return fail(str(error))
    logits, truncated, _ = predictor.axis_logits(rows["text"].tolist(), batch_size=args.batch_size)
    probs = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
    emit({
        "checkpoint": args.checkpoint, "file": args.cafe_comments,
        "rows_after_cleaning": int(len(table)), "labelled_rows": int(len(rows)),
        "writers": int(rows["writer"].nunique()), "truncated_texts": int(sum(truncated)),
        "metrics": classification_metrics(rows, probs, thresholds=predictor.thresholds),
    })
    return 0
