"""``python -m mbti_core mask``: choose one type-characteristic token per sentence and write the
masked-sentence JSONL file that phase 2 (``train.py mft --masked FILE``) reads.

    python -m mbti_core mask --masker logodds --from-cafe --output runs/phase2_logodds.jsonl --max-rows 14400
    python -m mbti_core mask --masker openai --input sentences.csv --output masked.jsonl --concurrency 8

Prints a progress bar (stderr), then one summary line (stderr) and the summary as JSON (stdout).
Exit status: 0 ok, 1 some rows failed (rerun to retry them), 2 bad input or settings.
"""
from __future__ import annotations

import argparse
import json
import sys

HELP = "mask one type-characteristic token per sentence (logodds, random or an OpenAI-compatible LLM)"


def add_server_arguments(group, timeout: float, per: str) -> None:
    """The OpenAI-compatible server options shared by ``mask --masker openai`` and ``generate``."""
    group.add_argument("--timeout", type=float, default=timeout, help=f"seconds per request (default {timeout:g})")
    group.add_argument("--max-retries", type=int, default=5, help=f"retries per {per} on 429/5xx/timeouts (default 5)")
    group.add_argument("--backoff-base", type=float, default=1.0, help="first backoff in seconds, doubling (default 1)")
    group.add_argument("--backoff-max", type=float, default=30.0, help="longest backoff in seconds (default 30)")
    group.add_argument("--response-format", choices=("json_schema", "json_object"), default="json_schema",
                       help="structured output mode; json_object for servers without JSON-schema support")
    group.add_argument("--price", type=float, nargs=2, metavar=("IN", "OUT"), default=None,
                       help="USD per 1M input/output tokens for the cost estimate (default: built-in list prices)")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--masker", choices=("logodds", "random", "openai"), default="logodds",
                        help="who picks the token (default: logodds)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--input", help="sentences: a .txt (one per line), or .csv/.jsonl with 'text' and optional "
                                        "'type'; .gz allowed")
    source.add_argument("--from-cafe", action="store_true",
                        help="use the labelled TRAINING-split cafe texts (split into sentences): the phase-2 default")
    parser.add_argument("--output", required=True, help="masked-sentence JSONL; appended to and resumed on rerun")
    parser.add_argument("--limit", type=int, default=None, help="use only the first N input rows")
    parser.add_argument("--max-rows", type=int, default=None, help="with --from-cafe: sample at most N sentences")
    parser.add_argument("--max-per-writer", type=int, default=None, help="with --from-cafe: at most N per writer")
    parser.add_argument("--max-chars", type=int, default=2000, help="skip longer texts (default 2000)")
    parser.add_argument("--data-dir", default=None, help="raw data directory (default: MBTI_DATA_DIR)")
    parser.add_argument("--seed", type=int, default=0, help="random masker and --from-cafe sampling seed")
    parser.add_argument("--fit-file", default=None,
                        help="logodds: fit on this labelled .csv/.jsonl (text, type) instead of the cafe training split")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    llm = parser.add_argument_group("openai masker (key: OPENAI_API_KEY, server: OPENAI_BASE_URL)")
    llm.add_argument("--model", default="gpt-4o")
    llm.add_argument("--concurrency", type=int, default=8, help="requests in flight (default 8)")
    add_server_arguments(llm, timeout=60.0, per="row")


def _fail(message: str) -> int:
    print(f"mask: error: {message}", file=sys.stderr)
    return 2


def _build_masker(args, train=None):
    from mbti_core.masking.offline import LogOddsMasker, RandomMasker
    from mbti_core.masking.run import fit_logodds_on_cafe, read_input_rows

    if args.masker == "random":
        return RandomMasker(args.seed)
    if args.masker == "openai":
        from mbti_core.masking.openai_masker import OpenAIMasker, OpenAISettings

        return OpenAIMasker(OpenAISettings(
            model=args.model, timeout=args.timeout, max_retries=args.max_retries, backoff_base=args.backoff_base,
            backoff_max=args.backoff_max, response_format=args.response_format,
        ))
    if args.fit_file:
        fit_rows = [row for row in read_input_rows(args.fit_file) if row.type is not None and row.text]
        if not fit_rows:
            raise ValueError(f"--fit-file {args.fit_file} has no rows with both text and type")
        return LogOddsMasker().fit([r.text for r in fit_rows], [r.type for r in fit_rows])
    print("mask: fitting log-odds on the cafe training split …", file=sys.stderr)
    return fit_logodds_on_cafe(args.data_dir, train=train)


def main(args) -> int:
    from mbti_core.masking.openai_masker import MaskerFatalError
    from mbti_core.masking.run import InputError, cafe_training_rows, read_input_rows, run_masking
    from mbti_core.settings import DataNotFoundError

    if args.limit is not None and args.limit < 0 or args.concurrency < 1:
        return _fail("--limit must be >= 0 and --concurrency >= 1")
    try:
        train = None
        if args.from_cafe:
            rows, train = cafe_training_rows(args.data_dir, max_rows=args.max_rows, seed=args.seed,
                                             max_per_writer=args.max_per_writer)
        else:
            rows = read_input_rows(args.input)
        if args.limit is not None:
            rows = rows[: args.limit]
        masker = _build_masker(args, train=train)
        summary = run_masking(rows, masker, args.output, concurrency=args.concurrency, max_chars=args.max_chars,
                              progress=not args.no_progress, prices=tuple(args.price) if args.price else None)
    except (InputError, DataNotFoundError, MaskerFatalError, ValueError, OSError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        partial = getattr(error, "summary", None)
        if partial is not None and partial.done:
            message += f" ({partial.done} rows written before the stop are kept in {args.output}; rerun to resume)"
        return _fail(message)
    print(summary.line(), file=sys.stderr)
    print(json.dumps(summary.to_dict(), ensure_ascii=False))
    return 1 if summary.failed else 0


def run_cli(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mbti_core mask", description=HELP)
    add_arguments(parser)
    return main(parser.parse_args(argv))
