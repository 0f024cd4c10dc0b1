"""``python -m mbti_core evaluate --checkpoint DIR --cafe-comments FILE.csv.gz``

Scores a checkpoint on a raw crawl file in the format of ``mbti_cafe/comments.csv.gz``: the project's own
pipeline (``mbti_core.data.cafe.read_comments_file``) labels the rows from nicknames, cleans them, masks
type mentions and deduplicates; every labelled row is used as test data. Prints the metrics JSON of
``mbti_core.evaluation`` for what the app shows (calibrated probabilities, each letter above 50%; comment level,
and writer level under "writer_level" with each writer's messages pooled), the same at the checkpoint's
research thresholds on the uncalibrated probabilities ("metrics_tuned_thresholds"), the expected calibration
error per axis before and after calibration ("calibration"), plus the counts.

``python -m mbti_core evaluate --checkpoint checkpoints/sentiment --nsmc FILE.jsonl.gz`` scores a sentiment
checkpoint on a raw file in the format of ``nsmc/reviews.jsonl.gz`` (labelled by the project's NSMC rule):
accuracy, F1, loss, n (``evaluate_nsmc``).
"""
from __future__ import annotations

from pathlib import Path

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
        if args.nsmc is None:
            return fail(f"{args.checkpoint} is a sentiment checkpoint: evaluate it with --nsmc FILE.jsonl.gz")
        emit(evaluate_nsmc(args.checkpoint, args.nsmc, batch_size=args.batch_size, limit=args.limit))
        return 0
    from mbti_core.data.cafe import read_comments_file
    from mbti_core.evaluation import calibration_errors, classification_metrics, served_metrics, sigmoid

    try:
        table = read_comments_file(args.cafe_comments)
    except FileNotFoundError as error:
        return fail(f"comments file not found: {args.cafe_comments} ({error})")
    rows = table[table["type"].notna()].reset_index(drop=True)
    if args.limit:
        rows = rows.head(args.limit)
    if rows.empty:
        return fail(f"no labelled rows in {args.cafe_comments} (no writer nickname names a type)")
    predictor = load_predictor(args.checkpoint)
    logits, truncated, _ = predictor.axis_logits(rows["text"].tolist(), batch_size=args.batch_size)
    emit({
        "checkpoint": args.checkpoint, "file": args.cafe_comments,
        "rows_after_cleaning": int(len(table)), "labelled_rows": int(len(rows)),
        "writers": int(rows["writer"].nunique()), "truncated_texts": int(sum(truncated)),
        "metrics": served_metrics(rows, logits, predictor.calibration, predictor.writer_calibration),
        "metrics_tuned_thresholds": classification_metrics(rows, sigmoid(logits), thresholds=predictor.thresholds),
        "calibration": calibration_errors(rows, logits, predictor.calibration, predictor.writer_calibration),
    })
    return 0


def read_nsmc_file(path):
    """Labelled reviews (a DataFrame) of a raw file in the format of ``nsmc/reviews.jsonl.gz`` (review_id, movie_id,
    rating, review), by the project's own NSMC rule (1-4 negative, 9-10 positive, 5-8 dropped, deduplicated)."""
    from mbti_core.data.nsmc import prepare_nsmc, read_reviews

    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"NSMC file not found: {file}")
    try:
        reviews = read_reviews(file)
    except KeyError as error:
        raise ValueError(f"{file}: missing field {error} (expected review_id, movie_id, rating, review)") from error
    except (ValueError, EOFError, OSError) as error:
        raise ValueError(f"{file} is not a JSON-lines reviews file ({type(error).__name__}: {error})") from error
    return prepare_nsmc(reviews)


def evaluate_nsmc(checkpoint, nsmc_file, batch_size: int = 64, limit: int | None = None, predictor=None) -> dict:
    """accuracy, F1 (positive class), loss, n of a sentiment checkpoint on a raw NSMC file."""
    from mbti_core.evaluation import binary_metrics

    rows = read_nsmc_file(nsmc_file)
    if limit:
        rows = rows.head(limit)
    if rows.empty:
        raise ValueError(f"no labelled reviews in {nsmc_file} (ratings 1-4 or 9-10 with usable text)")
    if predictor is None:
        from mbti_core.onnx_predictor import load_sentiment_predictor

        predictor = load_sentiment_predictor(checkpoint)
    probs, truncated = predictor.probabilities(rows["text"].tolist(), batch_size=batch_size)
    metrics = binary_metrics(rows["label"].to_numpy(), probs[:, 1])
    return {"checkpoint": str(checkpoint), "file": str(nsmc_file), **metrics,
            "negative": int((rows["label"] == 0).sum()), "positive": int((rows["label"] == 1).sum()),
            "truncated_texts": int(sum(truncated))}
