"""Batch scoring: a CSV / JSONL / text file of messages -> one row per message with its type and axis probabilities.

Used by ``python -m mbti_core predict --input FILE --output preds.csv`` and the Streamlit page ``app_pages/batch.py``
(no UI here). The rules:

- Limits: at most ``MAX_FILE_MB`` MB and ``MAX_ROWS`` rows (a class demo on a shared CPU; the CLI can raise
  both). A file over a limit, a malformed CSV, text that is neither UTF-8 nor CP949 (the usual Korean Excel
  export), an unknown format or a missing column raises ``BatchInputError`` with a message saying what to do.
- Rows are never silently dropped: every data row of the file ends up either scored or in ``failed`` with its
  reason (empty, no words, not text, a JSONL line that is not a JSON object, ...). ``BatchResult.table()`` holds
  all rows in file order with the file's other columns (id, speaker, ...), an ``error`` column, and that is what
  gets written / downloaded.
- A ``.txt`` file that is a KakaoTalk export is read as one row per message with its ``speaker``.
- With a speaker or writer column, ``BatchResult.by_speaker`` pools each speaker's messages into one prediction
  (mean of the axis log-odds, as the Predict page's chat-log mode does).
- Speed: texts are sorted by length and scored ``batch_size`` at a time (little padding), with a progress
  callback after each batch.
"""
from __future__ import annotations

import csv
import io
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from mbti_core.types import AXES

MAX_FILE_MB = 20
MAX_ROWS = 50_000
ENCODINGS = ("utf-8", "cp949")  # tried in this order; a UTF-8 byte-order mark is dropped
FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".txt": "lines"}
TEXT_COLUMN_GUESSES = ("text", "message", "messages", "comment", "comments", "content", "body", "sentence", "메시지",
                       "내용", "댓글", "문장", "텍스트")
PROB_COLUMNS = tuple(f"P({axis[0]})" for axis in AXES)  # P(E), P(S), P(T), P(J)
RESULT_COLUMNS = ("row", "text", "type", *PROB_COLUMNS, "truncated", "error")
SPEAKER_COLUMN_GUESSES = ("speaker", "writer", "author", "user", "sender", "name", "nickname", "화자", "작성자",
                          "보낸사람", "보낸 사람", "이름", "닉네임")
ProgressCallback = Callable[[int, int], None]  # (rows done, rows to score)


class BatchInputError(ValueError):
    """The file cannot be read as a table of messages: the message says why and what to do."""


@dataclass
class InputTable:
    """A file read as a table: every column as text. ``bad_lines`` are JSONL lines that were not JSON objects
    (row number -> reason); they become failed rows when scored."""

    frame: pd.DataFrame
    format: str
    encoding: str
    name: str = ""
    bad_lines: dict[int, str] = field(default_factory=dict)

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]

    @property
    def n_rows(self) -> int:
        return len(self.frame) + len(self.bad_lines)

    def guess_speaker_column(self) -> str | None:
        """A column naming who wrote each message (a conventional name), else None."""
        lowered = {c.lower().strip(): c for c in self.columns}
        return next((lowered[name] for name in SPEAKER_COLUMN_GUESSES if name in lowered), None)

    def guess_text_column(self) -> str | None:
        """A likely text column: a conventional name, else the column with the longest texts on average."""
        lowered = {c.lower().strip(): c for c in self.columns}
        for name in TEXT_COLUMN_GUESSES:
            if name in lowered:
                return lowered[name]
        if not self.columns:
            return None
        lengths = {c: self.frame[c].astype(str).str.len().mean() for c in self.columns}
        return max(lengths, key=lambda c: (lengths[c], -self.columns.index(c)))


@dataclass
class BatchResult:
    scored: pd.DataFrame           # row, text, type, P(E), P(S), P(T), P(J), truncated
    failed: pd.DataFrame           # row, text, reason
    column: str
    seconds: float
    inputs: pd.DataFrame | None = None  # the file's columns, indexed by row (kept in the output beside the scores)
    logits: np.ndarray | None = None    # axis logits of the scored rows, in ``scored`` order (pooled per speaker)

    @property
    def n_rows(self) -> int:
        return len(self.scored) + len(self.failed)

    @property
    def messages_per_second(self) -> float:
        return len(self.scored) / self.seconds if self.seconds > 0 else float("inf")

    def input_columns(self) -> pd.DataFrame:
        """The file's other columns by row, renamed ``<name> (input)`` where a name is one of the result columns."""
        if self.inputs is None:
            return pd.DataFrame(index=pd.Index([], name="row"))
        other = self.inputs.drop(columns=[self.column], errors="ignore")
        return other.rename(columns={c: f"{c} (input)" for c in other.columns if c in RESULT_COLUMNS})

    def table(self) -> pd.DataFrame:
        """All rows in file order: ``row``, the file's other columns, then the scores; failed rows have no
        type/probabilities and their reason under ``error``."""
        failed = self.failed.rename(columns={"reason": "error"})
        scored = self.scored.assign(error="")
        frame = pd.concat([scored, failed], ignore_index=True) if len(failed) else scored
        frame = frame.sort_values("row", kind="stable").reset_index(drop=True).reindex(columns=list(RESULT_COLUMNS))
        inputs = self.input_columns()
        if inputs.shape[1] == 0:
            return frame
        merged = frame.join(inputs, on="row")
        return merged[["row", *inputs.columns, *RESULT_COLUMNS[1:]]]

    def by_speaker(self, speaker_column: str, predictor) -> pd.DataFrame:
        """One pooled prediction per speaker over their scored messages, as the chat-log mode makes it
        (``predictor.pooled_probabilities``: the mean axis logit, then the pooled calibration; the type is each
        axis' letter above 50%); most messages first."""
        from mbti_core.types import predicted_types

        if self.inputs is None or speaker_column not in self.inputs.columns:
            raise BatchInputError(f"no column {speaker_column!r} to pool by")
        if self.logits is None or len(self.logits) != len(self.scored):
            raise BatchInputError("this result holds no logits to pool (score it with score_table)")
        speakers = self.inputs[speaker_column].reindex(self.scored["row"]).fillna("").astype(str).str.strip().to_numpy()
        names = list(dict.fromkeys(name for name in speakers if name))  # first appearance order
        pooled = np.array([predictor.pooled_probabilities(self.logits[speakers == name]) for name in names])
        pooled = pooled.reshape(len(names), len(AXES))
        frame = pd.DataFrame(pooled, columns=list(PROB_COLUMNS))
        frame.insert(0, "speaker", names)
        frame.insert(1, "messages", [int((speakers == name).sum()) for name in names])
        frame.insert(2, "type", predicted_types(pooled) if len(frame) else [])
        return frame.sort_values(["messages", "speaker"], ascending=[False, True], kind="stable").reset_index(drop=True)

    def to_csv_bytes(self) -> bytes:
        """``table()`` as CSV in UTF-8 with a byte-order mark, so that Excel shows the Korean text correctly."""
        return self.table().to_csv(index=False).encode("utf-8-sig")


# -- reading --------------------------------------------------------------------------------------------------
_BINARY_CONTROLS = set(range(32)) - {9, 10, 11, 12, 13, 27}  # C0 controls other than whitespace and ESC


def looks_binary(data: bytes) -> bool:
    """True for bytes that are no text file: a NUL byte, or more than 1% control characters."""
    if b"\x00" in data:
        return True
    sample = data[:65536]
    return bool(sample) and sum(byte in _BINARY_CONTROLS for byte in sample) > 0.01 * len(sample)


def decode_text(data: bytes) -> tuple[str, str] | None:
    """(text, encoding) by the upload rule: UTF-8 (a byte-order mark dropped), else CP949; None for neither, or for
    binary data (which CP949 would otherwise often decode as nonsense)."""
    if looks_binary(data):
        return None
    for encoding in ENCODINGS:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return text.removeprefix("\ufeff"), encoding
    return None


def _decode(data: bytes, name: str) -> tuple[str, str]:
    decoded = decode_text(data)
    if decoded is None:
        binary = " (it looks binary)" if looks_binary(data) else ""
        raise BatchInputError(
            f"{name}: the file is neither UTF-8 nor CP949 (EUC-KR) text{binary}. Save it as 'CSV UTF-8' (in Excel: "
            "File > Save As > CSV UTF-8) or as UTF-8 text and try again.")
    return decoded


def _format_of(name: str) -> str:
    suffix = Path(name.lower().removesuffix(".gz")).suffix
    if suffix not in FORMATS:
        raise BatchInputError(
            f"{name}: unsupported file type {suffix or '(none)'!r}; use .csv, .tsv, .jsonl/.ndjson or .txt "
            "(one message per line)")
    return FORMATS[suffix]


def read_delimited(text: str, name: str, delimiter: str) -> pd.DataFrame:
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, sep=delimiter, engine="c")
    except pd.errors.EmptyDataError as error:
        raise BatchInputError(f"{name}: the file is empty (no header row)") from error
    except (pd.errors.ParserError, csv.Error) as error:
        detail = str(error).strip().splitlines()[-1]
        raise BatchInputError(
            f"{name}: malformed CSV ({detail}). Check for a stray delimiter or an unclosed quote on that line; "
            "texts containing commas or line breaks must be in double quotes.") from error
    if frame.columns.duplicated().any():
        raise BatchInputError(f"{name}: duplicate column names: {', '.join(frame.columns[frame.columns.duplicated()])}")
    return frame


def _read_jsonl(text: str) -> tuple[pd.DataFrame, dict[int, str]]:
    rows, bad, index = [], {}, 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        index += 1
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            bad[index] = f"line {number} is not JSON ({error.msg})"
            continue
        if not isinstance(value, dict):
            bad[index] = f"line {number} is not a JSON object ({type(value).__name__})"
            continue
        rows.append({"row": index, **{str(k): v for k, v in value.items()}})
    frame = pd.DataFrame(rows)
    return (frame.set_index("row") if len(frame) else frame), bad


def read_table(source: str | Path | bytes, name: str | None = None, max_mb: float = MAX_FILE_MB,
               max_rows: int = MAX_ROWS) -> InputTable:
    """Read a CSV / TSV / JSONL / text file (a path, or the bytes of an upload with its file ``name``)."""
    if isinstance(source, (bytes, bytearray)):
        data, name = bytes(source), name or "upload"
    else:
        path = Path(source)
        name = name or path.name
        if not path.is_file():
            raise FileNotFoundError(f"input file not found: {path}")
        size = path.stat().st_size
        if size > max_mb * 1e6:
            raise BatchInputError(f"{name}: the file is {size / 1e6:.1f} MB; the limit is {max_mb:g} MB. Split it "
                                  "into smaller files (or raise the limit with --max-mb on the command line).")
        data = path.read_bytes()
    if len(data) > max_mb * 1e6:
        raise BatchInputError(f"{name}: the file is {len(data) / 1e6:.1f} MB; the limit is {max_mb:g} MB. Split it "
                              "into smaller files.")
    file_format = _format_of(name)
    if name.lower().endswith(".gz"):
        import gzip

        try:
            data = gzip.decompress(data)
        except OSError as error:
            raise BatchInputError(f"{name}: not a valid gzip file ({error})") from error
    text, encoding = _decode(data, name)
    if not text.strip():
        raise BatchInputError(f"{name}: the file is empty")
    bad: dict[int, str] = {}
    if file_format in ("csv", "tsv"):
        frame = read_delimited(text, name, "," if file_format == "csv" else "\t")
        frame.index = pd.RangeIndex(1, len(frame) + 1, name="row")
    elif file_format == "jsonl":
        frame, bad = _read_jsonl(text)
    else:  # a KakaoTalk export (one row per message, with its speaker), else one message per non-blank line
        from mbti_core.app_support import parse_chat_log

        log = parse_chat_log(text, max_messages=max_rows + 1)
        if log.format == "kakaotalk":
            file_format = "kakaotalk"
            frame = pd.DataFrame({"speaker": [m.speaker for m in log.messages], "text": [m.text for m in log.messages]})
        else:
            frame = pd.DataFrame({"text": [line for line in text.splitlines() if line.strip()]})
        frame.index = pd.RangeIndex(1, len(frame) + 1, name="row")
    table = InputTable(frame, file_format, encoding, name, bad)
    if table.n_rows == 0:
        raise BatchInputError(f"{name}: the file has a header but no rows")
    if table.n_rows > max_rows:
        raise BatchInputError(f"{name}: {table.n_rows:,} rows; the limit is {max_rows:,}. Split the file "
                              "(or raise the limit with --max-rows on the command line).")
    return table


# -- scoring --------------------------------------------------------------------------------------------------
def row_problem(value) -> str | None:
    """Why a cell cannot be scored (None if it can). Same rules as the Predict page's input check."""
    from mbti_core.app_support import check_message
    from mbti_core.predictor_base import check_text, preprocess

    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "empty: no text in this row"
    if not isinstance(value, str):
        return f"not text ({type(value).__name__}: {str(value)[:40]})"
    checked = check_message(value)
    if not checked.ok:
        return checked.error
    try:  # the predictor's own check as well: a row that passes here cannot fail its batch in axis_logits
        check_text(value)
    except ValueError as error:
        return str(error)
    if not preprocess(value):
        return "nothing left to analyse after normalisation"
    return None


def score_table(predictor, table: InputTable, column: str | None = None, batch_size: int = 64,
                progress: ProgressCallback | None = None) -> BatchResult:
    """Score ``column`` of every row (default: the guessed text column); see the module docstring."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise BatchInputError(f"batch size must be a positive integer, got {batch_size!r}")
    started = time.perf_counter()
    column = column if column is not None else table.guess_text_column()
    if column not in table.frame.columns:
        raise BatchInputError(f"{table.name}: no column {column!r}; the columns are: "
                              f"{', '.join(map(str, table.frame.columns)) or '(none)'}")
    values = table.frame[column]
    failed = [{"row": row, "text": "", "reason": reason} for row, reason in table.bad_lines.items()]
    rows, texts = [], []
    for row, value in values.items():
        problem = row_problem(value)
        if problem:
            failed.append({"row": int(row), "text": "" if value is None else str(value), "reason": problem})
        else:
            rows.append(int(row))
            texts.append(value)
    # row_problem applies the predictor's own input checks first, so no batch can fail on one bad text.
    logits = np.zeros((len(texts), len(AXES)), dtype=np.float32)
    truncated = np.zeros(len(texts), dtype=bool)
    order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths together: less padding
    if progress:
        progress(0, len(texts))
    for start in range(0, len(texts), batch_size):
        index = order[start:start + batch_size]
        logits[index], truncated[index], _ = predictor.axis_logits([texts[i] for i in index], batch_size=batch_size)
        if progress:
            progress(min(start + batch_size, len(texts)), len(texts))
    probs = predictor.probabilities(logits) if len(texts) else np.zeros((0, len(AXES)))
    scored_rows = []
    for i, row in enumerate(rows):
        result = predictor._result(texts[i], probs[i])
        scored_rows.append({"row": row, "text": texts[i], "type": result["type"],
                            **{name: result["axes"][axis] for name, axis in zip(PROB_COLUMNS, AXES)},
                            "truncated": bool(truncated[i])})
    scored = pd.DataFrame(scored_rows, columns=[c for c in RESULT_COLUMNS if c != "error"])
    failed_frame = pd.DataFrame(sorted(failed, key=lambda r: r["row"]), columns=["row", "text", "reason"])
    by_row = np.argsort(rows, kind="stable")  # scored is sorted by row: logits follow
    return BatchResult(scored.sort_values("row").reset_index(drop=True), failed_frame, str(column),
                       time.perf_counter() - started, table.frame, logits[by_row].astype(np.float64))


def check_output_path(path: str | Path, source: str | Path | None = None) -> Path:
    """Before any scoring: can ``path`` be written (a file, not a folder; its folder creatable and writable; not the
    input file)? Creates missing parent folders; an existing file is left as it is (opened for appending, never
    truncated, until the result replaces it). Raises ``BatchInputError`` saying what to change."""
    path = Path(path)
    if path.is_dir():
        raise BatchInputError(f"--output {path} is a folder: give a file name, e.g. {path / 'preds.csv'}")
    if source is not None and path.exists() and Path(source).exists() and path.samefile(source):
        raise BatchInputError(f"--output {path} is the input file: writing it would destroy the input; give another name")
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if ancestor.exists() and not ancestor.is_dir():
        raise BatchInputError(f"cannot write --output {path}: {ancestor} is a file, not a folder")
    existed = path.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "ab"):
            pass
    except OSError as error:
        raise BatchInputError(f"cannot write --output {path}: {error.strerror or error}") from None
    if not existed:
        path.unlink()
    return path


def write_result(result: BatchResult, path: str | Path) -> Path:
    """``.jsonl`` -> one JSON object per row; anything else -> CSV (UTF-8 with BOM, for Excel)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        records = result.table().astype(object).where(result.table().notna(), None).to_dict("records")
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    else:
        path.write_bytes(result.to_csv_bytes())
    return path
