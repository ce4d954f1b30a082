"""A real local HTTP server that speaks OpenAI's `POST /v1/chat/completions`, scripted per test.

The real `openai` client (inside langchain-openai's `ChatOpenAI`) talks to it over HTTP, so
the tests exercise the wire format, status codes and headers the loop will meet in
production. Each test queues the responses it wants, in order, and afterwards reads every
request the server got (body and headers) to assert what the model was sent.

Response shapes follow the documented chat completion object: `id`, `object`
("chat.completion"), `created`, `model`, `choices[].message` (`role`, `content`,
`tool_calls[]` of `{id, type: "function", function: {name, arguments}}`),
`choices[].finish_reason` and `usage` (`prompt_tokens`, `completion_tokens`, `total_tokens`).
Errors use the `{"error": {"message", "type", "param", "code"}}` body.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from typing import Any

_ids = count(1)


@dataclass(frozen=True)
class Reply:
    """One scripted HTTP answer."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False
    """Hold the connection without answering until the server stops (a client timeout)."""


@dataclass(frozen=True)
class Received:
    """One request the server got."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    raw: str
    at: float


def _completion(message: dict[str, Any], finish: str, usage: tuple[int, int]) -> dict[str, Any]:
    n = next(_ids)
    return {
        "id": f"chatcmpl-{n}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "scripted-model",
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": {
            "prompt_tokens": usage[0],
            "completion_tokens": usage[1],
            "total_tokens": usage[0] + usage[1],
        },
    }


def tool_calls(
    *calls: tuple[str, dict[str, Any] | str], usage: tuple[int, int] = (50, 10)
) -> Reply:
    """The assistant asks for tool calls; arguments given as a string are sent verbatim."""
    items = []
    for name, args in calls:
        arguments = args if isinstance(args, str) else json.dumps(args)
        items.append(
            {
                "id": f"call_{next(_ids)}",
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
        )
    message = {"role": "assistant", "content": None, "tool_calls": items}
    return Reply(200, _completion(message, "tool_calls", usage))


def final(content: str | dict[str, Any], usage: tuple[int, int] = (80, 40)) -> Reply:
    """The assistant answers with text (a dict is sent as its JSON)."""
    text = content if isinstance(content, str) else json.dumps(content)
    message = {"role": "assistant", "content": text}
    return Reply(200, _completion(message, "stop", usage))


def hang() -> Reply:
    """Never answer: the client's read timeout is what ends the request."""
    return Reply(200, {}, hang=True)


def error(status: int, message: str, *, code: str | None = None, **headers: str) -> Reply:
    """An API error with OpenAI's error body; headers as keywords (`retry_after="1"`)."""
    body = {"error": {"message": message, "type": "error", "param": None, "code": code}}
    return Reply(status, body, {k.replace("_", "-"): v for k, v in headers.items()})


class OpenAIServer:
    """Scripted chat-completions endpoint on 127.0.0.1, one server thread per connection."""

    def __init__(self) -> None:
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.requests: list[Received] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    @property
    def remaining(self) -> int:
        with self._lock:
            return len(self._script)

    def bodies(self) -> list[dict[str, Any]]:
        return [r.body for r in self.requests]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def _next(self, received: Received) -> Reply:
        with self._lock:
            self.requests.append(received)
            if not self._script:
                return error(500, "openai_server: script exhausted (test queued too few replies)")
            return self._script.popleft()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length).decode()
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(error(404, f"unknown path {self.path}"))
                    return
                received = Received(
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=json.loads(raw),
                    raw=raw,
                    at=time.monotonic(),
                )
                reply = server._next(received)
                if reply.hang:
                    server._stopping.wait(timeout=60)
                    return
                self._send(reply)

            def _send(self, reply: Reply) -> None:
                payload = json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: pytest shows failures, not access logs."""

        return Handler


@contextmanager
def running() -> Iterator[OpenAIServer]:
    server = OpenAIServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
