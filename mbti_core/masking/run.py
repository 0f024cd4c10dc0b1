"""Run a masker over input rows into a resumable masked-sentence file, and build the default phase-2 file.

Resume: every input row has a stable id (its position and a hash of its text). Output rows carry that id;
on a rerun, rows whose id is already in the output are skipped (``already_done``), a torn last line left by
a kill is cut off first, and rejected or failed rows (never written) are tried again.
"""
from __future__ import annotations

import asyncio
import csv
import gzip
import hashlib
import io
import json
import re
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mbti_core.masking.format import JsonlAppender, make_row, row_id
from mbti_core.types import normalise_type


class InputError(ValueError):
    """An input file that cannot be read as sentences; the message says where and why."""


@dataclass(frozen=True)
class InputRow:
    id: str
    text: str
    type: str | None = None


# ---------------------------------------------------------------- input files

def _open_text(path: Path):
    raw = gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def _clean_type(value, where: str, errors: list[str]) -> str | None:
    if value is None or (isinstance(value, float) and value != value) or str(value).strip() in ("", "null", "None"):
        return None
    try:
        return normalise_type(str(value))
    except ValueError:
        errors.append(f"{where}: not an MBTI type: {value!r}")
        return None


def _raise_if(errors: list[str], path: Path) -> None:
    if errors:
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise InputError(f"{path}: " + "; ".join(errors[:5]) + more)


def read_input_rows(path) -> list[InputRow]:
    """Sentences from a text file (one per line), a CSV with a ``text`` column, or JSONL objects with a
    ``text`` key; an optional ``type`` column/key gives the writer's type. ``.gz`` is read transparently.
    Texts are normalised (NFC, one space between words) like the training data. Blank texts are kept as
    empty rows (the runner counts them as skipped) so ids stay tied to positions."""
    from mbti_core.data.text import normalise_text

    path = Path(path)
    if not path.is_file():
        raise InputError(f"input file not found: {path}")
    name = path.name.lower().removesuffix(".gz")
    errors: list[str] = []
    rows: list[InputRow] = []
    try:
        with _open_text(path) as handle:
            if name.endswith((".jsonl", ".ndjson")):
                for index, line in enumerate(handle):
                    if not line.strip():
                        continue
                    try:
                        obj = json.loads(line)
                    except json.JSONDecodeError as error:
                        errors.append(f"line {index + 1}: invalid JSON ({error.msg})")
                        continue
                    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
                        errors.append(f"line {index + 1}: expected an object with a string 'text'")
                        continue
                    mbti = _clean_type(obj.get("type"), f"line {index + 1}", errors)
                    text = normalise_text(obj["text"])
                    rows.append(InputRow(row_id(index, text), text, mbti))
            elif name.endswith(".csv"):
                # strict: an unclosed quote is an error (non-strict csv would merge every later row into one text)
                reader = csv.DictReader(handle, strict=True)
                if reader.fieldnames is None or "text" not in reader.fieldnames:
                    raise InputError(f"{path}: CSV needs a 'text' column; found columns {reader.fieldnames}")
                for index, record in enumerate(reader):
                    if None in record:  # more fields than the header: a broken row, not a sentence
                        errors.append(f"row {index + 2}: more fields than the header")
                        continue
                    mbti = _clean_type(record.get("type"), f"row {index + 2}", errors)
                    text = normalise_text(record["text"])
                    rows.append(InputRow(row_id(index, text), text, mbti))
            else:  # plain text: one sentence per line
                for index, line in enumerate(handle):
                    text = normalise_text(line)
                    rows.append(InputRow(row_id(index, text), text, None))
    except UnicodeDecodeError as error:
        raise InputError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except csv.Error as error:
        raise InputError(f"{path}: malformed CSV in the record starting on line {reader.line_num + 1} ({error}). Check "
                         "for an unclosed quote there; texts containing commas or line breaks must be in double "
                         "quotes.") from None
    except (gzip.BadGzipFile, EOFError) as error:
        raise InputError(f"{path}: cannot read: {error}") from None
    _raise_if(errors, path)
    return rows


# ---------------------------------------------------------------- running

@dataclass
class MaskingSummary:
    masker: str
    output: str
    input_rows: int = 0
    done: int = 0  # written in this run
    already_done: int = 0  # found in the output from an earlier run
    skipped: int = 0
    skipped_reasons: dict = field(default_factory=dict)
    rejected: int = 0
    rejected_reasons: dict = field(default_factory=dict)
    failed: int = 0
    failed_reasons: dict = field(default_factory=dict)
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    estimated_cost_usd: float | None = None
    cost_note: str = ""
    torn_bytes_removed: int = 0

    def count(self, kind: str, reason: str) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        reasons = getattr(self, f"{kind}_reasons")
        reasons[reason] = reasons.get(reason, 0) + 1

    def to_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        cost = "" if self.estimated_cost_usd is None else f", estimated cost ${self.estimated_cost_usd:.4f}"
        return (
            f"{self.masker}: {self.done} done, {self.already_done} already done, {self.skipped} skipped, "
            f"{self.rejected} rejected, {self.failed} failed, {self.retries} retries, "
            f"{self.total_tokens} tokens{cost} -> {self.output}"
        )


def run_masking(rows, masker, output, *, concurrency: int = 8, max_chars: int = 2000, progress: bool = True,
                prices: tuple[float, float] | None = None) -> MaskingSummary:
    """Mask every row not yet in ``output``; append each result as one JSONL line.

    ``masker`` is a LogOddsMasker / RandomMasker (``choose``) or an OpenAIMasker (``mask``, async,
    ``concurrency`` requests in flight). Rows that are empty, longer than ``max_chars``, without a word to
    mask, or (for maskers that need it) without a type are skipped and counted.
    Raises MaskerFatalError (OpenAI: bad key, unreachable server...) after keeping what was written.
    """
    from tqdm.auto import tqdm

    rows = list(rows)
    is_llm = hasattr(masker, "mask")
    label = masker.label if is_llm else masker.name
    summary = MaskingSummary(masker=label, output=str(output), input_rows=len(rows))
    # fsync each row only when a row is expensive to redo (an API call); a flush already survives a kill.
    with JsonlAppender(output, fsync=is_llm) as out:
        summary.torn_bytes_removed = out.truncated_bytes
        todo = []
        for row in rows:
            if row.id in out.done_ids:
                summary.already_done += 1
            elif not row.text:
                summary.count("skipped", "empty_text")
            elif len(row.text) > max_chars:
                summary.count("skipped", "too_long")
            elif masker.requires_type and row.type is None:
                summary.count("skipped", "no_type")
            else:
                todo.append(row)
        bar = tqdm(total=len(todo), disable=not progress, unit="row", desc=f"mask ({label})", file=sys.stderr)
        try:
            if is_llm:
                try:
                    asyncio.run(_run_llm(todo, masker, out, summary, bar, concurrency))
                except Exception as error:  # keep the counts for the caller's message (rows written are kept)
                    error.summary = summary
                    raise
            else:
                for row in todo:
                    choice = masker.choose(row.text, row.type, key=row.id)
                    if choice is None:
                        summary.count("skipped", "no_maskable_word")
                    else:
                        extra = {} if choice.score is None else {"score": choice.score}
                        out.write(make_row(row.text, choice.start, choice.end, row.type,
                                           masker=label, id=row.id, **extra))
                        summary.done += 1
                    bar.update(1)
        finally:
            bar.close()
            if is_llm:
                from mbti_core.masking.openai_masker import estimate_cost, price_for

                summary.total_tokens = summary.prompt_tokens + summary.completion_tokens
                summary.estimated_cost_usd = estimate_cost(masker.settings.model, summary.prompt_tokens,
                                                           summary.completion_tokens, prices)
                summary.cost_note = (
                    "ESTIMATE from list prices per 1M tokens (input, output) = "
                    f"{prices or price_for(masker.settings.model)} USD"
                    if summary.estimated_cost_usd is not None
                    else f"no price known for model {masker.settings.model!r} (local server?): cost not estimated"
                )
    return summary


async def _run_llm(todo, masker, out, summary: MaskingSummary, bar, concurrency: int) -> None:
    from mbti_core.masking.openai_masker import MaskerFatalError

    rows = iter(todo)

    async def worker(client):
        for row in rows:  # the iterator is shared: each worker takes the next row (bounded in-flight requests)
            outcome = await masker.mask(client, row.text, row.type)
            summary.retries += outcome.retries
            summary.prompt_tokens += outcome.prompt_tokens
            summary.completion_tokens += outcome.completion_tokens
            if outcome.status == "done":
                out.write(make_row(row.text, outcome.choice.start, outcome.choice.end, row.type,
                                   masker=masker.label, id=row.id))
                summary.done += 1
            else:
                summary.count(outcome.status, outcome.reason or "unknown")
            bar.update(1)
            bar.set_postfix(done=summary.done, rejected=summary.rejected, failed=summary.failed,
                            retries=summary.retries, refresh=False)

    async with masker.client() as client:
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(max(1, concurrency)):
                    group.create_task(worker(client))
        except BaseExceptionGroup as group_error:
            fatal = [e for e in group_error.exceptions if isinstance(e, MaskerFatalError)]
            raise (fatal[0] if fatal else group_error.exceptions[0]) from None


# ---------------------------------------------------------------- the default phase-2 file

_SENTENCE_END = re.compile(r"(?<=[.!?…。])\s+")


def split_sentences(text: str, *, min_words: int = 2) -> list[str]:
    """Split a comment after . ! ? … and keep pieces of at least ``min_words`` words. Informal Korean
    often has no final punctuation; such a comment stays one piece."""
    return [piece for piece in _SENTENCE_END.split(text) if len(piece.split()) >= min_words]


def cafe_training_rows(data_dir=None, *, max_rows: int | None = None, seed: int = 0,
                       sentences: bool = True, max_per_writer: int | None = None):
    """(rows, frame): labelled TRAINING-split cafe texts (mention-masked) as InputRows, optionally split into
    sentences, shuffled by ``seed``, at most ``max_per_writer`` per writer and ``max_rows`` in all. Ids hash
    the writer and the sentence, so they do not depend on the order of the cafe table."""
    from mbti_core.data import load_cafe

    frame = load_cafe(data_dir)
    train = frame[frame["type"].notna() & (frame["split"] == "train")]
    items = []
    for writer, mbti, text in zip(train["writer"], train["type"], train["text"]):
        pieces = split_sentences(text) if sentences else [text]
        for index, piece in enumerate(pieces):
            digest = hashlib.sha1(f"{writer}\0{text}\0{index}".encode("utf-8")).hexdigest()[:16]
            items.append((f"cafe:{digest}", writer, piece, mbti))
    order = sorted(items, key=lambda item: hashlib.sha1(f"{seed}:{item[0]}".encode()).hexdigest())
    rows, per_writer, seen = [], Counter(), set()
    for item_id, writer, piece, mbti in order:
        if item_id in seen or (max_per_writer is not None and per_writer[writer] >= max_per_writer):
            continue
        seen.add(item_id)
        per_writer[writer] += 1
        rows.append(InputRow(item_id, piece, mbti))
        if max_rows is not None and len(rows) >= max_rows:
            break
    return rows, train


def fit_logodds_on_cafe(data_dir=None, train=None, **kwargs):
    """A LogOddsMasker fitted on the labelled TRAINING split of the cafe (counts once per writer)."""
    from mbti_core.masking.offline import LogOddsMasker

    if train is None:
        from mbti_core.data import load_cafe

        frame = load_cafe(data_dir)
        train = frame[frame["type"].notna() & (frame["split"] == "train")]
    return LogOddsMasker(**kwargs).fit(train["text"], train["type"], writers=train["writer"])


def build_phase2_file(output, data_dir=None, *, masker: str = "logodds", max_rows: int | None = None,
                      seed: int = 0, sentences: bool = True, max_per_writer: int | None = None,
                      progress: bool = True, openai_settings=None, concurrency: int = 8) -> MaskingSummary:
    """Write (or resume) the default phase-2 file: cafe training-split sentences of labelled writers, one
    type-characteristic word masked by ``masker`` ("logodds" | "random" | "openai")."""
    rows, train = cafe_training_rows(data_dir, max_rows=max_rows, seed=seed, sentences=sentences,
                                     max_per_writer=max_per_writer)
    if masker == "logodds":
        chosen = fit_logodds_on_cafe(train=train)
    elif masker == "random":
        from mbti_core.masking.offline import RandomMasker

        chosen = RandomMasker(seed)
    elif masker == "openai":
        from mbti_core.masking.openai_masker import OpenAIMasker

        chosen = OpenAIMasker(openai_settings)
    else:
        raise ValueError(f"unknown masker {masker!r} (logodds, random or openai)")
    return run_masking(rows, chosen, output, concurrency=concurrency, progress=progress)
