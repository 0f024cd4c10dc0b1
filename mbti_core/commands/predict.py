"""``python -m mbti_core predict --checkpoint DIR (--text TEXT | --input FILE [--output OUT] [--column C]) [--person]``

Without ``--output``: one JSON object per text, one per line: {"text", "type", "axes": {"EI": P(E), "SN": P(S),
"TF": P(T), "JP": P(J)}, "types": {16 types}, "truncated"}. FILE: one text per line (blank lines skipped), or
.csv/.tsv/.jsonl (also .gz) with a ``text`` column/key (``--column`` names another), decoded as the batch scorer
decodes uploads (UTF-8, then CP949; a binary file or a malformed CSV is an error). Every text gets the app's input
check (``batch.row_problem``: empty, emoji or symbols only, invalid characters): one that fails it gets
{"text", "error"} in its place and the exit status is 1; the others are still printed. ``--text`` gets the same
check (one ``error:`` line, exit 2; bytes that are not UTF-8 are decoded as CP949 or refused). ``--person`` prints
one aggregated prediction for all the usable texts (one writer's messages) instead.

With ``--output OUT`` (batch scoring, ``mbti_core.batch``): OUT is checked first (a folder, an unwritable place or
the input file itself is refused before anything is scored); FILE is read as CSV/TSV/JSONL/text (UTF-8 or CP949,
limits ``--max-mb`` / ``--max-rows``), scored in batches with a progress bar on stderr, and OUT gets one row per
input row: row, text, type, P(E), P(S), P(T), P(J), truncated, error (CSV in UTF-8 with BOM, or JSON lines for
.jsonl). Failed rows keep their place with the reason under ``error``; a summary goes to stderr and the exit
status is 1 when any row failed, 2 when the file cannot be read.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from mbti_core.commands import (
    add_checkpoint_argument, checked_message, emit, emit_in_place, fail, load_predictor, require_positive,
)


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
    parser.add_argument("--by-speaker", nargs="?", const="", default=None, metavar="COLUMN",
                        help="batch scoring: also write OUTPUT's name + '.speakers.csv', one pooled prediction per "
                             "speaker (COLUMN, default: a speaker/writer/name column, or a KakaoTalk export's speakers)")


def read_texts(path: str, column: str = "text") -> list:
    """Texts of an input file; raises ValueError/FileNotFoundError with a clear message. Bytes are decoded by the
    upload rule of ``mbti_core.batch`` (UTF-8, then CP949; a binary file is refused) and CSV/TSV is parsed as
    there (a malformed file, e.g. an unclosed quote, is an error, never merged rows)."""
    import gzip

    from mbti_core import batch

    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"input file not found: {file}")
    name = file.name.lower()
    data = file.read_bytes()
    if name.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as error:
            raise ValueError(f"{file}: not a valid gzip file ({error})") from None
        name = name.removesuffix(".gz")
    decoded = batch.decode_text(data)
    if decoded is None:
        raise ValueError(f"{file}: the file is neither UTF-8 nor CP949 (EUC-KR) text"
                         f"{' (it looks binary)' if batch.looks_binary(data) else ''}; save it as UTF-8 text")
    text, _ = decoded
    if name.endswith((".csv", ".tsv")):
        frame = batch.read_delimited(text, file.name, "\t" if name.endswith(".tsv") else ",")
        if column not in frame.columns:
            raise ValueError(f"{file} has no {column!r} column (columns: {', '.join(frame.columns)})")
        return frame[column].tolist()
    lines = text.splitlines()
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
    speakers_path = None
    if args.by_speaker is not None:
        speakers_path = Path(args.output).with_name(Path(args.output).stem + ".speakers.csv")
        batch.check_output_path(speakers_path, args.input)
    # Bad input (BatchInputError, CheckpointError: ValueErrors) goes to cli.main's one handler.
    batch.check_output_path(args.output, args.input)  # before minutes of scoring, not after
    table = batch.read_table(args.input, **limits)
    predictor = load_predictor(args.checkpoint)
    with tqdm(total=None, unit="msg", desc="scoring", file=sys.stderr, disable=None) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        result = batch.score_table(predictor, table, args.column, args.batch_size, progress)
    speaker_column = None
    if speakers_path is not None:
        speaker_column = args.by_speaker or table.guess_speaker_column()
        if speaker_column is None:
            return fail(f"--by-speaker: no speaker column in {args.input} (columns: {', '.join(table.columns)}); name it, "
                        "e.g. --by-speaker writer")
    try:
        batch.write_result(result, args.output)
    except OSError as error:  # the disk filled up, the folder went away, ...: say so, and keep the work
        rescue = Path(tempfile.gettempdir()) / f"mbti-preds-{os.getpid()}{Path(args.output).suffix or '.csv'}"
        try:
            batch.write_result(result, rescue)
        except OSError:
            return fail(f"cannot write {args.output} ({error.strerror or error}); the results are lost")
        return fail(f"cannot write {args.output} ({error.strerror or error}); the results were saved to {rescue}")
    print(f"scored {len(result.scored):,} of {result.n_rows:,} rows (column {result.column!r}, {table.encoding}) "
          f"in {result.seconds:.1f} s ({result.messages_per_second:.0f} messages/s) -> {args.output}", file=sys.stderr)
    if speaker_column is not None:
        pooled = result.by_speaker(speaker_column, predictor)
        pooled.to_csv(speakers_path, index=False, encoding="utf-8-sig")
        print(f"{len(pooled):,} speakers pooled (column {speaker_column!r}) -> {speakers_path}", file=sys.stderr)
    if len(result.failed):
        print(f"{len(result.failed):,} rows failed; their reasons are in the 'error' column of {args.output}, e.g. "
              f"row {result.failed.iloc[0]['row']}: {result.failed.iloc[0]['reason']}", file=sys.stderr)
        return 1
    return 0


def main(args) -> int:
    require_positive(args, "batch_size", "max_mb", "max_rows")
    if args.output:
        if args.input is None:
            return fail("--output needs --input FILE (batch scoring of a file)")
        return batch_main(args)
    from mbti_core.batch import row_problem

    from mbti_core.heads_config import is_sentiment_checkpoint

    # --text gets the fronts' check (empty, emoji only, invalid bytes: one line, exit 2); the rows of --input
    # get it row by row (batch.row_problem, as the batch scorer), a failed row keeping its place.
    texts = [checked_message(args.text)] if args.text is not None else read_texts(args.input, args.column or "text")
    if not texts:
        return fail(f"no texts in {args.input}")
    if is_sentiment_checkpoint(args.checkpoint):  # [P(negative), P(positive)] per text instead
        return predict_sentiment(args, texts)
    problems = [row_problem(text) for text in texts]
    good = [text for text, problem in zip(texts, problems) if problem is None]
    predictor = load_predictor(args.checkpoint)
    if args.person:
        if not good:
            return fail(f"no messages to analyse in {args.input} ({problems[0]})")
        person = predictor.predict_person(good, batch_size=args.batch_size)
        person["skipped_messages"] += len(texts) - len(good)
        emit(person)
        return 0
    if args.text is not None:
        emit(predictor.predict(texts, batch_size=args.batch_size)[0])
        return 0
    return emit_in_place(texts, problems, lambda batch: predictor.predict(batch, batch_size=args.batch_size))


def predict_sentiment(args, texts: list) -> int:
    """``predict --checkpoint <sentiment checkpoint>``: one JSON line per text
    ``{"text", "label", "probs": {"negative", "positive"}, "truncated"}``, or ``{"text", "error"}`` in its place
    (the Sentiment page's check: empty, emoji only, invalid); exit 1 if a text could not be scored."""
    from mbti_core.app_support import check_message
    from mbti_core.onnx_predictor import load_sentiment_predictor

    if getattr(args, "person", False):
        return fail("--person pools one writer's MBTI evidence; it does not apply to a sentiment checkpoint")
    predictor = load_sentiment_predictor(args.checkpoint)
    problems = [check_message(t if isinstance(t, str) else None).error for t in texts]
    return emit_in_place(texts, problems, lambda batch: predictor.predict_details(batch, batch_size=args.batch_size))
