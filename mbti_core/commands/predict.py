"""``python -m mbti_core predict --checkpoint DIR (--text TEXT | --input FILE [--output OUT] [--column C]) [--person]``

Without ``--output``: one JSON object per text, one per line: {"text", "type", "axes": {"EI": P(E), "SN": P(S),
"TF": P(T), "JP": P(J)}, "types": {16 types}, "truncated"}. FILE: one text per line (blank lines skipped), or
.csv/.csv.gz/.jsonl with a ``text`` column/key (``--column`` names another). A text that cannot be scored
(empty) gets {"text", "error"} in its place and the exit status is 1; the others are still printed.
``--person`` prints one aggregated prediction for all the texts (one writer's messages) instead.

With ``--output OUT`` (batch scoring, ``mbti_core.batch``): FILE is read as CSV/TSV/JSONL/text (UTF-8 or CP949,
limits ``--max-mb`` / ``--max-rows``), scored in batches with a progress bar on stderr, and OUT gets one row per
input row: row, text, type, P(E), P(S), P(T), P(J), truncated, error (CSV in UTF-8 with BOM, or JSON lines for
.jsonl). Failed rows keep their place with the reason under ``error``; a summary goes to stderr and the exit
status is 1 when any row failed, 2 when the file cannot be read.
"""
from __future__ import annotations

import json
from pathlib import Path

from mbti_core.commands import add_checkpoint_argument, emit, fail, load_predictor


def add_arguments(parser) -> None:
    add_checkpoint_argument(parser)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="one message")
    source.add_argument("--input", help="file: one text per line, or CSV/JSONL with a 'text' column")
    parser.add_argument("--person", action="store_true", help="one aggregated prediction for all texts (one writer)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--output", help="batch scoring: write one row per input row to this CSV (or .jsonl)")
    parser.add_argument("--column", default=None,
                        help="the text column of a CSV/JSONL input (default: 'text'; with --output, a guess)")
    parser.add_argument("--max-mb", type=float, default=None, help="batch scoring: file size limit in MB")
    parser.add_argument("--max-rows", type=int, default=None, help="batch scoring: row limit")


def read_texts(path: str, column: str = "text") -> list[str]:
    """Texts of an input file; raises ValueError/FileNotFoundError with a clear message."""
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"input file not found: {file}")
    name = file.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        import pandas as pd

        try:
            frame = pd.read_csv(file, dtype=str, keep_default_na=False)
        except Exception as error:
            raise ValueError(f"cannot read CSV {file}: {error}") from error
        if column not in frame.columns:
            raise ValueError(f"{file} has no {column!r} column (columns: {', '.join(frame.columns)})")
        return frame[column].tolist()
    lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
    if name.endswith((".jsonl", ".ndjson")):
        texts = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{file} line {number}: not JSON ({error.msg})") from error
            if not isinstance(row, dict) or column not in row:
                raise ValueError(f"{file} line {number}: expected an object with a {column!r} key")
            texts.append(row[column] if isinstance(row[column], str) else "")
        return texts
    return [line for line in lines if line.strip()]


def batch_main(args) -> int:
    """--input FILE --output OUT: mbti_core.batch with a tqdm bar; see the module docstring."""
    import sys

    from tqdm.auto import tqdm

    from mbti_core import batch

    if args.person:
        return fail("--person and --output do not go together: --person prints one prediction as JSON")
    limits = {"max_mb": args.max_mb or batch.MAX_FILE_MB, "max_rows": args.max_rows or batch.MAX_ROWS}
    try:
        table = batch.read_table(args.input, **limits)
        predictor = load_predictor(args.checkpoint)
        with tqdm(total=None, unit="msg", desc="scoring", file=sys.stderr, disable=None) as bar:
            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            result = batch.score_table(predictor, table, args.column, args.batch_size, progress)
        batch.write_result(result, args.output)
    except (FileNotFoundError, ValueError) as error:  # BatchInputError is a ValueError
        return fail(str(error))
    print(f"scored {len(result.scored):,} of {result.n_rows:,} rows (column {result.column!r}, {table.encoding}) "
          f"in {result.seconds:.1f} s ({result.messages_per_second:.0f} messages/s) -> {args.output}", file=sys.stderr)
    if len(result.failed):
        print(f"{len(result.failed):,} rows failed; their reasons are in the 'error' column of {args.output}, e.g. "
              f"row {result.failed.iloc[0]['row']}: {result.failed.iloc[0]['reason']}", file=sys.stderr)
        return 1
    return 0


def main(args) -> int:
    if args.output:
        if args.input is None:
            return fail("--output needs --input FILE (batch scoring of a file)")
        return batch_main(args)
    try:
        texts = [args.text] if args.text is not None else read_texts(args.input, args.column or "text")
        if not texts:
            return fail(f"no texts in {args.input}")
        from mbti_core.heads_config import is_sentiment_checkpoint

        if is_sentiment_checkpoint(args.checkpoint):  # [P(negative), P(positive)] per text instead
            from mbti_core import sentiment  # torch: only for this kind of checkpoint

            return sentiment.predict_command(args, texts)
        predictor = load_predictor(args.checkpoint)
        if args.person:
            emit(predictor.predict_person(texts, batch_size=args.batch_size))
            return 0
        if len(texts) == 1:
            emit(predictor.predict(texts, batch_size=args.batch_size)[0])
            return 0
    except (FileNotFoundError, ValueError) as error:
        return fail(str(error))
    # Several texts: score the good ones together, report the bad ones in place.
    from mbti_core.predictor_base import check_text, preprocess

    usable = []
    for text in texts:
        try:
            usable.append(bool(preprocess(check_text(text))))
        except ValueError:
            usable.append(False)
    good = [text for text, ok in zip(texts, usable) if ok]
    results = iter(predictor.predict(good, batch_size=args.batch_size) if good else [])
    for text, ok in zip(texts, usable):
        emit(next(results) if ok else {"text": text, "error": "empty text (or only whitespace): nothing to analyse"})
    return 0 if all(usable) else 1
