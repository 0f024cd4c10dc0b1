"""A real HTTP server on 127.0.0.1 that speaks the OpenAI chat-completions API, scripted per sentence.

It answers ``POST /v1/chat/completions`` with the JSON shape of the real API (id, object, created, model,
choices[].message, usage). The sentence is read from the last "문장: " line of the user message (the
masker's prompt format); answers for a sentence are taken in order from its script, then the default
answer (the sentence's first word as ``{"token": ...}``). Script entries (dicts):

    {"token": "word"}                 200 with content {"token": "word"}
    {"content": "not json"}           200 with this raw content
    {"status": 429, "retry_after": 0} an error with that status (Retry-After header when given)
    {"delay": 2.0, ...}               wait first (past the client's timeout: a timeout for the client)

Generation prompts (``python -m mbti_core generate``: lines "MBTI: TYPE ..." and "개수: N" in the user message)
are scripted under the key ``"generate:TYPE"`` (also the recorded "sentence"); their default answer is
``{"items": [...]}`` with N unique two-sentence items, and ``{"items": [...]}`` in a script is sent as it is
(``content``, ``status`` and ``delay`` work as above).

Every request is recorded (sentence, status sent, Authorization header, JSON body) for assertions.
Run standalone for manual tests: ``python tests/support/openai_stub_server.py --port 8011 --delay 0.2``.
"""
from __future__ import annotations

from contextlib import contextmanager

import argparse
import itertools
import json
import re
import sys
import threading
import time
from collections import defaultdict, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PROMPT_TOKENS = 50  # fixed usage per answered request, so tests can assert exact totals
COMPLETION_TOKENS = 7


def sentence_of(body: dict) -> str:
    user = [m for m in body.get("messages", []) if m.get("role") == "user"]
    content = user[-1]["content"] if user else ""
    return content.rsplit("문장: ", 1)[-1]


GENERATION_TYPE = re.compile(r"^MBTI: ([A-Za-z]{4})\b", re.MULTILINE)
GENERATION_COUNT = re.compile(r"^개수: (\d+)\s*$", re.MULTILINE)


def generation_request(body: dict) -> tuple[str, int] | None:
    """(type, count) when the request is a generation prompt, else None (a masker prompt)."""
    user = [m for m in body.get("messages", []) if m.get("role") == "user"]
    content = user[-1]["content"] if user else ""
    mbti, count = GENERATION_TYPE.search(content), GENERATION_COUNT.search(content)
    return (mbti.group(1).upper(), int(count.group(1))) if mbti and count else None


def first_word(sentence: str) -> str:
    words = sentence.split()
    return words[0].strip(".,!?~") if words else ""


class StubOpenAIServer:
    def __init__(self, *, api_key: str | None = None, default_delay: float = 0.0):
        self.api_key = api_key  # when set, other keys get 401
        self.default_delay = default_delay
        self.scripts: dict[str, deque] = defaultdict(deque)
        self.requests: list[dict] = []
        self.server_errors: list[BaseException] = []
        self.in_flight = 0  # requests being answered now, and the most at once (checks bounded concurrency)
        self.max_in_flight = 0
        self.lock = threading.Lock()
        self._serial = itertools.count(1)  # numbers the default generated items, so they never repeat
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def script(self, sentence: str, *answers: dict) -> None:
        with self.lock:
            self.scripts[sentence].extend(answers)

    def count(self, sentence: str) -> int:
        with self.lock:
            return sum(1 for r in self.requests if r["sentence"] == sentence)

    def default_items(self, count: int) -> list[list[str]]:
        with self.lock:
            numbers = [next(self._serial) for _ in range(count)]
        return [[f"오늘은 {n}번째 계획을 세워 봤어.", "생각보다 재밌더라."] for n in numbers]

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self, port: int = 0) -> "StubOpenAIServer":
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):
                with stub.lock:
                    stub.in_flight += 1
                    stub.max_in_flight = max(stub.max_in_flight, stub.in_flight)
                try:
                    self._answer()
                finally:
                    with stub.lock:
                        stub.in_flight -= 1

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError:
                    return self._send(400, {"error": {"message": "invalid JSON body", "type": "invalid_request_error"}})
                if self.path.rstrip("/") != "/v1/chat/completions":
                    return self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                generation = generation_request(body)
                sentence = f"generate:{generation[0]}" if generation else sentence_of(body)
                with stub.lock:
                    queue = stub.scripts.get(sentence)
                    answer = queue.popleft() if queue else {"delay": stub.default_delay}
                    record = {"sentence": sentence, "body": body, "answer": answer,
                              "authorization": self.headers.get("Authorization")}
                    stub.requests.append(record)
                if stub.api_key is not None and self.headers.get("Authorization") != f"Bearer {stub.api_key}":
                    return self._send(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                                                      "code": "invalid_api_key"}})
                if answer.get("delay"):
                    time.sleep(answer["delay"])
                status = answer.get("status", 200)
                if status != 200:
                    headers = {"Retry-After": str(answer["retry_after"])} if "retry_after" in answer else {}
                    kind = "rate_limit_exceeded" if status == 429 else "server_error"
                    return self._send(status, {"error": {"message": f"scripted {status}", "type": kind}}, headers)
                if "content" in answer:
                    content = answer["content"]
                elif generation:
                    items = answer["items"] if "items" in answer else stub.default_items(generation[1])
                    content = json.dumps({"items": items}, ensure_ascii=False)
                else:
                    content = json.dumps({"token": answer.get("token", first_word(sentence))}, ensure_ascii=False)
                self._send(200, {
                    "id": f"chatcmpl-stub{len(stub.requests)}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": body.get("model", "stub"),
                    "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                                 "message": {"role": "assistant", "content": content, "refusal": None}}],
                    "usage": {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS,
                              "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS},
                })

            def _send(self, status: int, payload: dict, headers: dict | None = None):
                data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in (headers or {}).items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout) before the slow answer came

        class QuietServer(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                # A client that gave up (timeout, cancelled run) resets the connection: record it, print
                # nothing (a traceback on stderr would end up in the output the tests check).
                stub.server_errors.append(sys.exc_info()[1])

        self._server = QuietServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8011)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    options = parser.parse_args()
    server = StubOpenAIServer(default_delay=options.delay).start(options.port)
    print(f"serving on {server.base_url} (Ctrl-C to stop)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


@contextmanager
def stub_environment(monkeypatch, api_key: str):
    """A started stub with OPENAI_API_KEY / OPENAI_BASE_URL pointing at it and no proxy in the way (a test's
    monkeypatch undoes the environment); stopped afterwards."""
    server = StubOpenAIServer(api_key=api_key).start()
    monkeypatch.setenv("OPENAI_API_KEY", api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    try:
        yield server
    finally:
        server.stop()
