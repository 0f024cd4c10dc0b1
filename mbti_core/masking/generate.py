"""``python -m mbti_core generate``: the study's LLM data step. An OpenAI-compatible model (GPT-4o in the
study; vLLM, Ollama, llama.cpp work too) writes first-person Korean chat sentences in each MBTI type's
persona, two sentences per item; the next step (``python -m mbti_core mask --masker openai``) masks one
type-characteristic token in each.

    python -m mbti_core generate --per-type 900 --model gpt-4o --output runs/generated.jsonl
    python -m mbti_core mask --masker openai --input runs/generated.jsonl --output runs/phase2_generated.jsonl

Output, chosen by the extension of ``--output`` (``.gz`` compresses either):

- ``.jsonl`` / ``.jsonl.gz``: one ``{"text": ..., "type": "ISTJ", "model": ...}`` object per line. This is
  what ``mask --input`` reads (a ``text`` and a ``type`` per row), so use it for the pipeline above.
- ``.csv`` / ``.csv.gz``: the study's phase-2 file, columns ``MBTI,original_sentence,masked_sentence`` with
  ``masked_sentence`` empty at this step. ``mask --input`` can NOT read it (it needs a ``text`` column):
  write ``.jsonl`` when the next step is ``mask``.

The key and server come from the environment only, exactly as for ``mask --masker openai`` (the client is
the OpenAI masker's own): ``OPENAI_API_KEY`` (required, never printed or logged) and ``OPENAI_BASE_URL``
(optional, e.g. http://127.0.0.1:11434/v1 for Ollama).

Each request asks for ``--batch`` items of one type as strict JSON ``{"items": [["문장1", "문장2"], ...]}``.
An item is kept only if it is exactly two sentences of Korean text, mentions no MBTI type (English letters,
Korean nicknames such as 인프피, or the word MBTI; see :func:`mbti_core.data.mentions.has_type_mention`) and
is not already in the file (ignoring spaces, punctuation and case; the whole file counts, rows from an
earlier run included). Everything else is counted by reason, never fatal.

Resume: rows are appended (and flushed) one by one; rerunning the same command keeps the rows already
written, cuts off a torn last line left by a kill, and asks only for what each type still lacks.
A type that gets no new row in ``--patience`` requests in a row is left short (exit status 1).

Faults: 429, 5xx, timeouts and connection errors are retried with exponential backoff (our own retries,
counted). A request that still fails counts as ``api_error``; ``--max-api-failures`` such requests in a row,
a rejected key (401/403), an unknown model (404) or an unreachable server stop the run with one line
(exit status 2); the rows written before are kept.

Prints a progress bar (stderr, on a terminal) and one JSON summary (stdout).
Exit status: 0 every type complete, 1 some type left short (rerun to continue), 2 bad settings or stopped.
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import gzip
import io
import json
import os
import re
import sys
import zlib
from collections import Counter, defaultdict, deque
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mbti_core.types import TYPES, normalise_type

HELP = "write first-person Korean chat sentences in each MBTI type's persona with an OpenAI-compatible LLM"

CSV_COLUMNS = ("MBTI", "original_sentence", "masked_sentence")  # the study's phase-2 file
REJECT_REASONS = ("duplicate", "malformed_answer", "not_two_sentences", "not_korean", "type_mention", "api_error")

# What each letter means, in the words a Korean chat user would know (for the persona).
_AXIS_KO = {
    "E": "외향(E): 사람들과 어울리며 에너지를 얻음", "I": "내향(I): 혼자만의 시간에서 에너지를 얻음",
    "S": "감각(S): 현실적이고 구체적인 경험을 중시함", "N": "직관(N): 상상과 가능성, 의미를 중시함",
    "T": "사고(T): 논리와 원칙으로 판단함", "F": "감정(F): 사람의 마음과 관계를 먼저 생각함",
    "J": "판단(J): 계획적이고 정리된 것을 좋아함", "P": "인식(P): 즉흥적이고 유연한 것을 좋아함",
}
# Rotated per request so that a type's items are not all about the same thing (fewer duplicates).
TOPICS = (
    "주말 계획", "회사나 학교에서 있었던 일", "친구와의 약속", "여행", "연애", "취미", "시험 공부", "돈 관리",
    "맛집과 음식", "운동", "집안일과 정리", "쇼핑", "영화나 드라마", "게임", "가족", "친구의 고민 상담",
    "새로운 사람을 만난 일", "갑자기 바뀐 일정", "팀 프로젝트", "생일 파티", "이사", "아르바이트", "날씨",
    "반려동물", "단톡방 대화", "휴가", "새해 목표", "늦잠 잔 날",
)
SYSTEM_PROMPT = (
    "너는 한국어 온라인 커뮤니티 채팅을 실감 나게 쓰는 작가야. 주어진 MBTI 유형의 사람이 되어, "
    "그 사람의 성격이 말투와 내용에 자연스럽게 드러나는 1인칭 채팅 말을 써. 답은 JSON 객체 하나로만 해."
)
GENERATION_SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "chat_items",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"items": {"type": "array", "items": {"type": "array", "items": {"type": "string"}}}},
            "required": ["items"],
            "additionalProperties": False,
        },
    },
}
_INNER_BREAK = re.compile(r"[.!?…。]+[\s\"'”’)\]]*\s+\S")  # a sentence end followed by more text
_HANGUL = re.compile(r"[가-힣]")
_MBTI_WORD = re.compile(r"mbti|엠비티아이", re.IGNORECASE)
_NOT_WORD = re.compile(r"[\W_]+")


class GenerationStopped(ValueError):
    """The run stopped (persistent API error, rejected key, unreachable server). One line, safe to print;
    :attr:`summary` holds the counts so far (rows written before the stop are kept)."""

    def __init__(self, message: str, summary: "GenerationSummary | None" = None):
        super().__init__(message)
        self.summary = summary


# ---------------------------------------------------------------- prompt and answers

def persona(mbti: str) -> str:
    """'ISTJ' -> 'ISTJ (내향(I): …, 감각(S): …, …)'."""
    return f"{mbti} ({', '.join(_AXIS_KO[letter] for letter in mbti)})"


def build_messages(mbti: str, count: int, topic: str, avoid=()) -> list[dict]:
    """The chat messages asking for ``count`` items of type ``mbti`` about ``topic``; ``avoid`` lists a few
    items of this type already written (the model is asked not to repeat them)."""
    lines = [
        f"아래 MBTI 유형의 사람이 되어, 친구들과 채팅할 때 할 법한 말을 {count}개 써 줘.",
        "조건:",
        "- 그 유형의 성격이 말투와 내용에 자연스럽게 드러나게 써.",
        "- '나'의 입장에서 1인칭으로, 친구에게 하듯 반말 구어체로 써.",
        "- 말 하나는 정확히 두 문장이야. 두 문장을 각각 따로 써.",
        "- MBTI 유형 이름(예: INFP), 알파벳 한 글자(예: I, J), 한국어 별명(예: 인프피, 엔팁), "
        "'MBTI'라는 말은 절대 쓰지 마.",
        "- 말끼리 내용과 표현이 겹치지 않게 써. 해시태그, 이모지, 번호, 따옴표는 쓰지 마.",
        '- 답은 JSON으로만: {"items": [["첫째 문장", "둘째 문장"], ...]}',
    ]
    avoid = [text for text in avoid if text]
    if avoid:
        lines.append("이미 쓴 말(이것들과 다르게 써):")
        lines.extend(f"- {text}" for text in avoid)
    lines += ["", f"MBTI: {persona(mbti)}", f"개수: {count}", f"주제: {topic}"]
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": "\n".join(lines)}]


def parse_items(content: str | None) -> list | None:
    """The list under "items" of a JSON answer (a code fence around it is allowed), else None."""
    if not content or not content.strip():
        return None
    from mbti_core.masking.openai_masker import json_answer

    answer = json_answer(content)
    if answer is None or not isinstance(answer.get("items"), list):
        return None
    return answer["items"]


def check_item(item) -> tuple[str | None, str | None]:
    """(text, None) for a usable item (its two sentences joined by a space, normalised like the training
    data), else (None, reason) with reason in {"malformed_answer", "not_two_sentences", "not_korean",
    "type_mention"}. Duplicates are the caller's to find (they depend on the file)."""
    from mbti_core.data.mentions import has_type_mention
    from mbti_core.data.text import normalise_text

    if not isinstance(item, list) or not all(isinstance(part, str) for part in item):
        return None, "malformed_answer"
    parts = [part.strip() for part in item]
    if len(parts) != 2 or not all(parts) or any("\n" in part or _INNER_BREAK.search(part) for part in parts):
        return None, "not_two_sentences"
    text = normalise_text(" ".join(parts))
    if not _HANGUL.search(text):
        return None, "not_korean"
    if has_type_mention(text) or _MBTI_WORD.search(text):
        return None, "type_mention"
    return text, None


def dedup_key(text: str) -> str:
    """Texts equal up to spaces, punctuation and case are duplicates."""
    return _NOT_WORD.sub("", text).casefold()


# ---------------------------------------------------------------- the output file

class GeneratedFile:
    """The appendable, resumable output: study CSV or JSONL by extension, ``.gz`` for either.

    On open, a torn last line (the process died mid-write) is cut off: a plain file is truncated after its
    last newline, like :class:`mbti_core.masking.format.JsonlAppender`; a ``.gz`` file, whose every row is
    its own gzip member, is rewritten from its complete lines. The rows found are counted per type and
    their texts remembered, so a rerun only adds what is missing and never repeats a text.
    """

    def __init__(self, path, model: str = ""):
        self.path = Path(path)
        self.model = model
        name = self.path.name.lower()
        self.compressed = name.endswith(".gz")
        base = name.removesuffix(".gz")
        if base.endswith(".csv"):
            self.kind = "csv"
        elif base.endswith((".jsonl", ".ndjson")):
            self.kind = "jsonl"
        else:
            raise ValueError(f"--output must end in .csv, .csv.gz, .jsonl or .jsonl.gz, not {self.path.name!r}")
        self.counts: Counter = Counter()
        self.keys: set[str] = set()
        self.recent: dict[str, deque] = defaultdict(lambda: deque(maxlen=3))
        self.torn_bytes_removed = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lines = self._recover() if self.path.exists() else []
        self._load(lines)
        self._handle = open(self.path, "ab")
        if self.kind == "csv" and not lines:
            self._append(",".join(CSV_COLUMNS) + "\n")

    # reading back what an earlier run wrote
    def _recover(self) -> list[str]:
        if self.compressed:
            data, torn = self._read_gzip()
        else:
            data, torn = self.path.read_bytes(), False
        keep = data.rfind(b"\n") + 1  # everything up to and including the last newline
        if keep < len(data) or torn:
            self.torn_bytes_removed = len(data) - keep
            if self.compressed:  # rewrite the complete lines as one member; later rows append after it
                temporary = self.path.with_name(self.path.name + ".tmp")
                temporary.write_bytes(gzip.compress(data[:keep], mtime=0) if keep else b"")
                os.replace(temporary, self.path)
            else:
                with open(self.path, "r+b") as handle:
                    handle.truncate(keep)
        try:
            text = data[:keep].decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ValueError(f"{self.path} exists and is not UTF-8 text (byte {error.start}); "
                             "choose another --output") from None
        return [line for line in text.splitlines() if line.strip()]

    def _read_gzip(self) -> tuple[bytes, bool]:
        """(decompressed bytes, torn): reads member after member until the data ends, cleanly or not."""
        chunks, torn = [], False
        try:
            with gzip.open(self.path, "rb") as handle:
                while chunk := handle.read1(1 << 16):  # read1: data before a torn end is not lost
                    chunks.append(chunk)
        except EOFError:  # the last member was cut short
            torn = True
        except (gzip.BadGzipFile, zlib.error, OSError) as error:
            if not chunks and self.path.stat().st_size == 0:
                return b"", False
            raise ValueError(f"{self.path} exists and is not a readable gzip file ({error}); "
                             "choose another --output") from None
        return b"".join(chunks), torn

    def _load(self, lines: list[str]) -> None:
        def bad(where: str, why: str) -> ValueError:
            return ValueError(f"{self.path} {where}: {why}; is it a file written by generate? "
                              "choose another --output")

        if self.kind == "csv":
            records = list(csv.reader(lines))
            if records and tuple(records[0]) != CSV_COLUMNS:
                raise bad("line 1", f"expected the header {','.join(CSV_COLUMNS)}, found {','.join(records[0])[:80]!r}")
            rows = []
            for number, record in enumerate(records[1:], start=2):
                if len(record) != len(CSV_COLUMNS):
                    raise bad(f"line {number}", f"expected {len(CSV_COLUMNS)} fields, found {len(record)}")
                rows.append((number, record[0], record[1]))
        else:
            rows = []
            for number, line in enumerate(lines, start=1):
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as error:
                    raise bad(f"line {number}", f"invalid JSON ({error.msg})") from None
                if not (isinstance(row, dict) and isinstance(row.get("text"), str) and isinstance(row.get("type"), str)):
                    raise bad(f"line {number}", "expected an object with a string 'text' and 'type'")
                rows.append((number, row["type"], row["text"]))
        for number, mbti, text in rows:
            try:
                mbti = normalise_type(mbti)
            except ValueError:
                raise bad(f"line {number}", f"not an MBTI type: {mbti[:20]!r}") from None
            self._remember(mbti, text)

    def _remember(self, mbti: str, text: str) -> None:
        self.counts[mbti] += 1
        self.keys.add(dedup_key(text))
        self.recent[mbti].append(text)

    # writing
    def _append(self, line: str) -> None:
        data = line.encode("utf-8")
        self._handle.write(gzip.compress(data, mtime=0) if self.compressed else data)  # one member per row
        self._handle.flush()

    def is_duplicate(self, text: str) -> bool:
        return dedup_key(text) in self.keys

    def write(self, mbti: str, text: str) -> None:
        if self.kind == "csv":
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="\n").writerow([mbti, text, ""])
            line = buffer.getvalue()
        else:
            line = json.dumps({"text": text, "type": mbti, "model": self.model}, ensure_ascii=False) + "\n"
        self._append(line)
        self._remember(mbti, text)

    def sync(self) -> None:
        """fsync: an API answer is expensive to redo, so its rows are made durable before the next request."""
        self._handle.flush()
        os.fsync(self._handle.fileno())

    def close(self) -> None:
        if not self._handle.closed:
            self.sync()
            self._handle.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---------------------------------------------------------------- running

@dataclass
class GenerateSettings:
    per_type: int
    types: tuple[str, ...] = TYPES
    batch: int = 5  # items asked for per request
    concurrency: int = 4  # types filled at once (one request in flight per type)
    patience: int = 5  # requests in a row without a new row before a type is left short
    max_api_failures: int = 3  # requests in a row that fail after their retries before the run stops
    openai: object = None  # OpenAISettings (model, temperature, timeout, retries, backoff, response format)


@dataclass
class GenerationSummary:
    model: str
    output: str
    format: str
    requested: int = 0  # per_type x types
    per_type_requested: int = 0
    written: int = 0  # rows written in this run
    already_written: int = 0  # rows of the requested types found in the output before this run
    total: int = 0  # rows of the requested types in the output now
    per_type: dict = field(default_factory=dict)  # type -> rows in the output now
    per_type_written: dict = field(default_factory=dict)  # type -> rows written in this run
    short: dict = field(default_factory=dict)  # type -> rows still missing (left short after --patience)
    rejected: dict = field(default_factory=lambda: dict.fromkeys(REJECT_REASONS, 0))
    rejected_total: int = 0
    requests: int = 0  # requests sent, retries included
    retries: int = 0
    unused_items: int = 0  # valid items beyond what a type still needed
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    estimated_cost_usd: float | None = None
    cost_note: str = ""
    torn_bytes_removed: int = 0

    def reject(self, reason: str, n: int = 1) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + n
        self.rejected_total += n

    def to_dict(self) -> dict:
        return asdict(self)


class _Run:
    def __init__(self, settings: GenerateSettings, out: GeneratedFile, summary: GenerationSummary, connection, bar):
        self.settings = settings
        self.out = out
        self.summary = summary
        self.connection = connection  # an OpenAIMasker: the key check, base URL, client and backoff
        self.bar = bar
        self.failures_in_a_row = 0

    def _safe(self, message: str) -> str:
        """One line, without the key (a server may echo what it was sent)."""
        key = getattr(self.connection, "_api_key", "")
        message = " ".join(str(message).split())[:200]
        return message.replace(key, "***") if key else message

    async def request(self, client, messages: list[dict]) -> str | None:
        """The answer's content, or None after the retries (counted as api_error). Raises GenerationStopped
        for errors that would fail every request."""
        import openai

        from mbti_core.masking.openai_masker import _retry_after

        options = self.settings.openai
        response_format = GENERATION_SCHEMA if options.response_format == "json_schema" else {"type": "json_object"}
        base_url = self.connection.base_url
        reason = "unknown"
        for attempt in range(options.max_retries + 1):
            retry_after = None
            self.summary.requests += 1
            try:
                response = await client.chat.completions.create(
                    model=options.model, messages=messages, response_format=response_format,
                    temperature=options.temperature, max_tokens=options.max_tokens,
                )
            except openai.AuthenticationError as error:
                raise GenerationStopped(
                    f"the server at {base_url} rejected OPENAI_API_KEY (HTTP {error.status_code})") from None
            except openai.PermissionDeniedError as error:
                raise GenerationStopped(
                    f"the server at {base_url} denied access to model {options.model!r} "
                    f"(HTTP {error.status_code})") from None
            except openai.NotFoundError:
                raise GenerationStopped(
                    f"model {options.model!r} or /chat/completions not found at {base_url} (HTTP 404)") from None
            except openai.RateLimitError as error:
                reason, retry_after = "HTTP 429", _retry_after(error.response)
            except openai.APIStatusError as error:
                reason = f"HTTP {error.status_code}: {self._safe(error.message)}"
                if error.status_code < 500:  # other 4xx: this request is wrong, asking again will not help
                    break
            except openai.APITimeoutError:
                reason = f"timeout after {options.timeout:g} s"
            except openai.APIConnectionError as error:
                if attempt == options.max_retries:
                    cause = error.__cause__ or error
                    raise GenerationStopped(
                        f"cannot reach the OpenAI-compatible server at {base_url} ({type(cause).__name__}: "
                        f"{self._safe(cause)[:120]}); check OPENAI_BASE_URL and that it is running") from None
                reason = "connection error"
            else:
                self.failures_in_a_row = 0
                usage = response.usage
                if usage is not None:
                    self.summary.prompt_tokens += usage.prompt_tokens or 0
                    self.summary.completion_tokens += usage.completion_tokens or 0
                message = response.choices[0].message if response.choices else None
                if message is None or getattr(message, "refusal", None):
                    return ""  # counted as a malformed answer
                return message.content or ""
            if attempt < options.max_retries:
                self.summary.retries += 1
                await asyncio.sleep(self.connection._backoff(attempt, retry_after))
        self.summary.reject("api_error")
        self.failures_in_a_row += 1
        if self.failures_in_a_row >= self.settings.max_api_failures:
            raise GenerationStopped(
                f"{self.failures_in_a_row} requests in a row failed after {options.max_retries} retries each "
                f"(last: {reason}) at {base_url}"
                + (" (try --response-format json_object)" if reason.startswith(("HTTP 400", "HTTP 422")) else ""))
        return None

    async def fill(self, client, mbti: str) -> None:
        settings, out, summary = self.settings, self.out, self.summary
        stalls, asked = 0, 0
        while out.counts[mbti] < settings.per_type and stalls < settings.patience:
            need = settings.per_type - out.counts[mbti]
            count = min(settings.batch, need)
            topic = TOPICS[(TYPES.index(mbti) * 7 + out.counts[mbti] + asked) % len(TOPICS)]
            asked += 1
            content = await self.request(client, build_messages(mbti, count, topic, list(out.recent[mbti])))
            if content is None:  # api_error, already counted; also a stall, so one bad type cannot loop forever
                stalls += 1
                continue
            items = parse_items(content)
            new = 0
            if items is None:
                summary.reject("malformed_answer")
            else:
                for item in items:
                    text, reason = check_item(item)
                    if reason is None and out.is_duplicate(text):
                        reason = "duplicate"
                    if reason is not None:
                        summary.reject(reason)
                    elif out.counts[mbti] >= settings.per_type:
                        summary.unused_items += 1
                    else:
                        out.write(mbti, text)
                        summary.written += 1
                        summary.per_type_written[mbti] += 1
                        new += 1
                        self.bar.update(1)
                if new:
                    out.sync()
            stalls = 0 if new else stalls + 1
            self.bar.set_postfix(written=summary.written, rejected=summary.rejected_total, refresh=False)

    async def run(self) -> None:
        types = iter([t for t in self.settings.types if self.out.counts[t] < self.settings.per_type])

        async def worker(client):
            for mbti in types:  # shared iterator: each worker takes the next type
                await self.fill(client, mbti)

        async with self.connection.client() as client:
            try:
                async with asyncio.TaskGroup() as group:
                    for _ in range(max(1, self.settings.concurrency)):
                        group.create_task(worker(client))
            except BaseExceptionGroup as group_error:
                stopped = [e for e in group_error.exceptions if isinstance(e, GenerationStopped)]
                raise (stopped[0] if stopped else group_error.exceptions[0]) from None


def run_generation(output, settings: GenerateSettings, *, progress: bool = False,
                   prices: tuple[float, float] | None = None) -> GenerationSummary:
    """Fill ``output`` up to ``settings.per_type`` rows for each of ``settings.types`` and return the counts.

    Raises MaskerFatalError when OPENAI_API_KEY is missing, GenerationStopped (a ValueError, with
    ``.summary``) when the server keeps failing; the rows written before are kept either way.
    """
    from tqdm.auto import tqdm

    from mbti_core.masking.openai_masker import OpenAIMasker, OpenAISettings, estimate_cost, price_for

    options = settings.openai or OpenAISettings()
    settings.openai = options
    connection = OpenAIMasker(options)  # the masker's client: same key check, base URL and client settings
    types = tuple(dict.fromkeys(normalise_type(t) for t in settings.types))
    settings.types = types
    with GeneratedFile(output, model=options.model) as out:
        summary = GenerationSummary(model=options.model, output=str(output),
                                    format=out.kind + (".gz" if out.compressed else ""),
                                    requested=settings.per_type * len(types), per_type_requested=settings.per_type,
                                    torn_bytes_removed=out.torn_bytes_removed)
        summary.already_written = sum(out.counts[t] for t in types)
        summary.per_type_written = dict.fromkeys(types, 0)
        missing = sum(max(0, settings.per_type - out.counts[t]) for t in types)
        bar = tqdm(total=missing, disable=not progress, unit="row", desc=f"generate ({options.model})",
                   file=sys.stderr)
        try:
            asyncio.run(_Run(settings, out, summary, connection, bar).run())
        except GenerationStopped as error:
            error.summary = summary
            raise
        finally:
            bar.close()
            summary.per_type = {t: out.counts[t] for t in types}
            summary.total = sum(summary.per_type.values())
            summary.short = {t: settings.per_type - n for t, n in summary.per_type.items() if n < settings.per_type}
            summary.total_tokens = summary.prompt_tokens + summary.completion_tokens
            summary.estimated_cost_usd = estimate_cost(options.model, summary.prompt_tokens,
                                                       summary.completion_tokens, prices)
            summary.cost_note = (
                f"ESTIMATE from list prices per 1M tokens (input, output) = {prices or price_for(options.model)} USD"
                if summary.estimated_cost_usd is not None
                else f"no price known for model {options.model!r} (local server?): cost not estimated"
            )
    return summary


# ---------------------------------------------------------------- the command

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--per-type", type=int, required=True, metavar="N",
                        help="rows per type in the output (rows already there count: a rerun adds what is missing)")
    parser.add_argument("--model", required=True, help="model name on the server, e.g. gpt-4o or qwen2.5:7b")
    parser.add_argument("--output", required=True,
                        help=".jsonl (what `mask --input` reads: text, type) or .csv (the study's columns "
                             "MBTI,original_sentence,masked_sentence); .gz compresses; appended to and resumed")
    parser.add_argument("--types", nargs="+", default=None, metavar="TYPE", help="only these types (default: all 16)")
    parser.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (default 1.0)")
    parser.add_argument("--batch", type=int, default=5, metavar="K", help="items asked for per request (default 5)")
    parser.add_argument("--concurrency", type=int, default=4, help="types filled at once (default 4)")
    parser.add_argument("--patience", type=int, default=5,
                        help="leave a type short after this many requests in a row without a new row (default 5)")
    parser.add_argument("--max-api-failures", type=int, default=3,
                        help="stop after this many requests in a row fail after their retries (default 3)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    llm = parser.add_argument_group("server (key: OPENAI_API_KEY, server: OPENAI_BASE_URL)")
    from mbti_core.masking.command import add_server_arguments

    add_server_arguments(llm, timeout=120.0, per="request")


def main(args) -> int:
    from mbti_core.masking.openai_masker import MaskerFatalError, OpenAISettings

    checks = [(args.per_type >= 1, "--per-type must be >= 1"), (1 <= args.batch <= 50, "--batch must be 1..50"),
              (args.concurrency >= 1, "--concurrency must be >= 1"), (args.patience >= 1, "--patience must be >= 1"),
              (args.max_api_failures >= 1, "--max-api-failures must be >= 1"),
              (args.max_retries >= 0, "--max-retries must be >= 0"), (args.timeout > 0, "--timeout must be > 0"),
              (0.0 <= args.temperature <= 2.0, "--temperature must be 0..2")]
    for ok, message in checks:
        if not ok:
            raise ValueError(message)
    types = tuple(normalise_type(t) for t in args.types) if args.types else TYPES
    settings = GenerateSettings(
        per_type=args.per_type, types=types, batch=args.batch, concurrency=args.concurrency, patience=args.patience,
        max_api_failures=args.max_api_failures,
        openai=OpenAISettings(model=args.model, timeout=args.timeout, max_retries=args.max_retries,
                              backoff_base=args.backoff_base, backoff_max=args.backoff_max,
                              response_format=args.response_format, temperature=args.temperature,
                              max_tokens=60 + 150 * args.batch),
    )
    progress = not args.no_progress and sys.stderr.isatty()
    try:
        summary = run_generation(args.output, settings, progress=progress,
                                 prices=tuple(args.price) if args.price else None)
    except MaskerFatalError as error:  # no key: one line through the CLI's handler
        raise ValueError(str(error)) from None
    except GenerationStopped as error:
        partial = error.summary
        if partial is not None:
            print(json.dumps(partial.to_dict(), ensure_ascii=False))
            kept = partial.total
            raise ValueError(f"{error} ({kept} rows of the requested types are in {args.output}, "
                             f"{partial.written} written by this run; rerun to resume)") from None
        raise
    except KeyboardInterrupt:
        print(f"generate: interrupted; the rows written are kept in {args.output} (rerun to resume)", file=sys.stderr)
        return 130
    except OSError as error:
        raise ValueError(f"cannot write {args.output}: {error.strerror or error}") from None
    print(json.dumps(summary.to_dict(), ensure_ascii=False))
    return 1 if summary.short else 0

