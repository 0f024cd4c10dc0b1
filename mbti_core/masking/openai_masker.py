"""The study's masker: an LLM (GPT-4o, or any OpenAI-compatible server) picks the type-characteristic token.

Settings come from the environment only: ``OPENAI_API_KEY`` (required; never printed or logged) and
``OPENAI_BASE_URL`` (optional: a local vLLM / Ollama / llama.cpp server, e.g. http://127.0.0.1:8000/v1).
The model is asked for structured JSON ``{"token": "..."}``; an answer is accepted only if the token really
occurs in the sentence, else it counts as *rejected* (never retried: a rerun asks again).

Faults: the client's own retries are off (``max_retries=0``) so every retry is ours and counted. 429, 5xx,
timeouts and connection errors are retried with exponential backoff (honouring Retry-After, capped). A
401/403/404 stops the run (every row would fail the same way); so does a server that stays unreachable.
Each row that still fails after the retries counts as *failed*; a rerun tries it again.
"""
from __future__ import annotations

import asyncio
import json
import random
import re
import unicodedata
from dataclasses import dataclass

from mbti_core import settings as app_settings  # "settings" is the masker's own OpenAISettings here
from mbti_core.masking.offline import MaskChoice
from mbti_core.types import normalise_type

STUDY_PROMPT = "MBTI의 특성에 맞는 가장 중요한 토큰 1개를 [MASK] 해 줘"
SYSTEM_PROMPT = (
    "너는 한국어 문장에서 글쓴이의 MBTI 성향이 가장 잘 드러나는 토큰을 고르는 언어 분석가야. "
    "답은 JSON 객체 하나로만 해."
)
TOKEN_SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "masked_token",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"token": {"type": "string"}},
            "required": ["token"],
            "additionalProperties": False,
        },
    },
}

# USD per 1M (input, output) tokens: public list prices of the OpenAI API, for a cost ESTIMATE only.
# Check your provider's current pricing; a local server costs nothing here (unknown model -> no estimate).
PRICES_PER_MILLION = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
}
_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


class MaskerFatalError(RuntimeError):
    """A problem that would fail every row (no key, bad key, unknown model, server unreachable).
    Its message is one line, safe to print (never holds the key)."""


def price_for(model: str) -> tuple[float, float] | None:
    """(input, output) USD per 1M tokens; dated snapshots ("gpt-4o-2024-08-06") use their family's price."""
    matches = [name for name in PRICES_PER_MILLION if model == name or model.startswith(name + "-")]
    return PRICES_PER_MILLION[max(matches, key=len)] if matches else None


def estimate_cost(model: str, prompt_tokens: int, completion_tokens: int, prices=None) -> float | None:
    prices = prices or price_for(model)
    if prices is None:
        return None
    return round((prompt_tokens * prices[0] + completion_tokens * prices[1]) / 1_000_000, 6)


def build_messages(text: str, mbti: str | None) -> list[dict]:
    user = (
        f"{STUDY_PROMPT}.\n"
        '문장에 그대로 나오는 토큰 하나를 골라 JSON {"token": "..."} 으로만 답해 줘. '
        "문장을 고치지 말고, [TYPE]은 고르지 마.\n"
        f"MBTI: {mbti or '알 수 없음'}\n"
        f"문장: {text}"
    )
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def json_answer(content: str) -> dict | None:
    """The JSON object of an LLM answer (a code fence around it is allowed), else None."""
    content = content.strip()
    fenced = _FENCE.match(content)  # local models like to wrap JSON in a code fence
    if fenced:
        content = fenced.group(1)
    try:
        answer = json.loads(content)
    except json.JSONDecodeError:
        return None
    return answer if isinstance(answer, dict) else None


def parse_answer(content: str | None, text: str) -> tuple[MaskChoice | None, str | None]:
    """(choice, None) for a usable answer, else (None, reason) with reason in
    {"empty_answer", "malformed_json", "empty_token", "token_not_in_text"}."""
    if not content or not content.strip():
        return None, "empty_answer"
    answer = json_answer(content)
    if answer is None or not isinstance(answer.get("token"), str):
        return None, "malformed_json"
    token = unicodedata.normalize("NFC", answer["token"]).strip()  # texts are NFC (normalise_text)
    if not token or "[MASK]" in token:
        return None, "empty_token"
    start = text.find(token)
    if start < 0:
        return None, "token_not_in_text"
    return MaskChoice(start, start + len(token)), None


@dataclass
class OpenAISettings:
    model: str = "gpt-4o"
    timeout: float = 60.0  # seconds per request
    max_retries: int = 5  # per row, for 429 / 5xx / timeouts / connection errors
    backoff_base: float = 1.0  # first wait in seconds; doubles each retry
    backoff_max: float = 30.0
    response_format: str = "json_schema"  # or "json_object" for servers without structured outputs
    temperature: float = 0.0
    max_tokens: int = 64


@dataclass
class Outcome:
    status: str  # "done" | "rejected" | "failed"
    choice: MaskChoice | None = None
    reason: str | None = None
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


class OpenAIMasker:
    name = "openai"
    requires_type = False

    def __init__(self, settings: OpenAISettings | None = None):
        self.settings = settings or OpenAISettings()
        self._api_key = app_settings.openai_api_key()
        if not self._api_key:
            raise MaskerFatalError(
                "OPENAI_API_KEY is not set: export it (for a local OpenAI-compatible server any non-empty "
                "value works, e.g. OPENAI_API_KEY=local, with OPENAI_BASE_URL=http://127.0.0.1:8000/v1)"
            )
        self.base_url = app_settings.openai_base_url()
        if self.settings.response_format not in ("json_schema", "json_object"):
            raise ValueError(f"response_format must be json_schema or json_object, not {self.settings.response_format!r}")

    @property
    def label(self) -> str:
        return f"openai:{self.settings.model}"

    def client(self):
        from openai import AsyncOpenAI

        return AsyncOpenAI(
            api_key=self._api_key, base_url=self.base_url, timeout=self.settings.timeout, max_retries=0
        )

    def _backoff(self, retry: int, retry_after: float | None) -> float:
        wait = self.settings.backoff_base * (2**retry) * (0.5 + random.random() / 2)  # jitter spreads a burst
        if retry_after is not None:
            wait = max(wait, retry_after)
        return min(wait, self.settings.backoff_max)

    async def mask(self, client, text: str, mbti: str | None) -> Outcome:
        """Ask for the token of one sentence, retrying transient errors. Raises MaskerFatalError."""
        import openai

        settings = self.settings
        response_format = TOKEN_SCHEMA if settings.response_format == "json_schema" else {"type": "json_object"}
        messages = build_messages(text, normalise_type(mbti) if mbti else None)
        outcome = Outcome(status="failed")
        for attempt in range(settings.max_retries + 1):
            retry_after = None
            try:
                response = await client.chat.completions.create(
                    model=settings.model,
                    messages=messages,
                    response_format=response_format,
                    temperature=settings.temperature,
                    max_tokens=settings.max_tokens,
                )
            except openai.AuthenticationError as error:
                raise MaskerFatalError(
                    f"the server at {self.base_url} rejected OPENAI_API_KEY (HTTP {error.status_code})"
                ) from None
            except openai.PermissionDeniedError as error:
                raise MaskerFatalError(
                    f"the server at {self.base_url} denied access to model {settings.model!r} (HTTP {error.status_code})"
                ) from None
            except openai.NotFoundError:
                raise MaskerFatalError(
                    f"model {settings.model!r} or /chat/completions not found at {self.base_url} (HTTP 404)"
                ) from None
            except openai.RateLimitError as error:
                outcome.reason = "http_429"
                retry_after = _retry_after(error.response)
            except openai.APIStatusError as error:
                if error.status_code < 500:  # other 4xx: this request is wrong, asking again will not help
                    outcome.reason = f"http_{error.status_code}"
                    return outcome
                outcome.reason = f"http_{error.status_code}"
            except openai.APITimeoutError:
                outcome.reason = "timeout"
            except openai.APIConnectionError as error:
                outcome.reason = "connection"
                if attempt == settings.max_retries:
                    cause = error.__cause__ or error
                    raise MaskerFatalError(
                        f"cannot reach the OpenAI-compatible server at {self.base_url} "
                        f"({type(cause).__name__}: {str(cause)[:120]}); check OPENAI_BASE_URL and that it is running"
                    ) from None
            else:
                usage = response.usage
                if usage is not None:
                    outcome.prompt_tokens += usage.prompt_tokens or 0
                    outcome.completion_tokens += usage.completion_tokens or 0
                message = response.choices[0].message if response.choices else None
                if message is not None and getattr(message, "refusal", None):
                    outcome.status, outcome.reason = "rejected", "refusal"
                    return outcome
                choice, reason = parse_answer(message.content if message else None, text)
                outcome.status, outcome.choice, outcome.reason = ("done", choice, None) if choice else ("rejected", None, reason)
                return outcome
            if attempt < settings.max_retries:
                outcome.retries += 1
                await asyncio.sleep(self._backoff(attempt, retry_after))
        return outcome  # failed after the last retry; outcome.reason says why


def _retry_after(response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("retry-after")))
    except (TypeError, ValueError, AttributeError):
        return None
