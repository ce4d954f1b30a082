"""The http executor against a real local server: statuses, body, key, refusal, redaction."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from baton.domain.envelope import ActionResult, ResultStatus
from baton.domain.params import HttpParams
from baton.tools.executors.base import ExecutionContext
from baton.tools.executors.http import HttpExecutor, redact_url


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Server:
    port: int
    requests: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def make_handler(server: Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            pass

        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            server.requests.append(
                Received(self.command, self.path, dict(self.headers.items()), body)
            )

        def _send(self, code: int, body: bytes, ctype: str, **headers: str) -> None:
            try:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name.replace("_", "-"), value)
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (the timeout test)

        def do_GET(self) -> None:
            self._record()
            if self.path == "/json":
                self._send(200, b'{"ok": true, "items": [1, 2]}', "application/json")
            elif self.path == "/unavailable":
                self._send(503, b"down for maintenance", "text/plain", Retry_After="7")
            elif self.path == "/redirect":
                self._send(302, b"", "text/plain", Location="/json")
            elif self.path == "/big":
                self._send(200, b"x" * 5000, "text/plain")
            elif self.path == "/slow":
                server.release.wait(timeout=30)
                self._send(200, b"late", "text/plain")
            else:
                self._send(404, b"no such path", "text/plain")

        def do_POST(self) -> None:
            self._record()
            self._send(201, b'{"created": true}', "application/json; charset=utf-8")

    return Handler


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server(port=0)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    httpd.daemon_threads = True
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def ctx(timeout: float | None = 5.0) -> ExecutionContext:
    return ExecutionContext(
        run_id="run-1",
        task_id="notify",
        attempt=2,
        idempotency_key="run-1:notify:2",
        intent_at=datetime(2025, 1, 1, tzinfo=UTC),
        timeout=timeout,
    )


def call(
    params: dict[str, Any],
    *,
    allow_private: bool = True,
    limit: int = 65536,
    timeout: float | None = 5.0,
    transport: httpx.BaseTransport | None = None,
) -> ActionResult:
    executor = HttpExecutor(
        allow_private=allow_private, output_limit_bytes=limit, transport=transport
    )
    return executor.execute(HttpParams.model_validate(params), ctx(timeout))


def test_get_json_is_parsed(server: Server) -> None:
    result = call({"url": server.url("/json")})

    assert result.status is ResultStatus.SUCCEEDED
    assert result.error is None
    assert result.data == {
        "status_code": 200,
        "headers": {"content-type": "application/json"},
        "body": {"ok": True, "items": [1, 2]},
    }
    assert result.invocation["method"] == "GET"
    assert result.invocation["url"] == server.url("/json")


def test_post_json_body_arrives_exactly(server: Server) -> None:
    payload = {"service": "checkout", "replicas": 3, "note": "rollback → v41", "tags": None}

    result = call({"method": "POST", "url": server.url("/items"), "json": payload})

    assert result.status is ResultStatus.SUCCEEDED
    assert result.data["status_code"] == 201
    assert result.data["body"] == {"created": True}
    (received,) = server.requests
    assert received.method == "POST"
    assert received.headers["Content-Type"] == "application/json"
    assert json.loads(received.body) == payload
    assert result.invocation["json"] == payload


def test_idempotency_key_is_sent(server: Server) -> None:
    call({"method": "POST", "url": server.url("/items"), "json": {}})

    assert server.requests[0].headers["Idempotency-Key"] == "run-1:notify:2"


def test_runbook_header_overrides_idempotency_key(server: Server) -> None:
    call({"url": server.url("/json"), "headers": {"idempotency-key": "mine"}})

    keys = [v for k, v in server.requests[0].headers.items() if k.lower() == "idempotency-key"]
    assert keys == ["mine"]


def test_server_error_fails_with_status_and_host(server: Server) -> None:
    result = call({"url": server.url("/unavailable")})

    assert result.status is ResultStatus.FAILED
    assert result.error == "HTTP 503 from 127.0.0.1"
    assert result.data["status_code"] == 503
    assert result.data["headers"]["retry-after"] == "7"
    assert result.data["body"] == "down for maintenance"


def test_expected_status_list_is_honoured(server: Server) -> None:
    result = call({"url": server.url("/missing"), "expect_status": [404]})

    assert result.status is ResultStatus.SUCCEEDED


def test_slow_endpoint_times_out(server: Server) -> None:
    started = time.monotonic()
    result = call({"url": server.url("/slow")}, timeout=0.3)
    elapsed = time.monotonic() - started
    server.release.set()

    assert result.status is ResultStatus.TIMEOUT
    assert result.error is not None
    assert result.error.startswith("timed out after 0.3s talking to 127.0.0.1")
    assert elapsed < 5


def test_redirect_is_not_followed(server: Server) -> None:
    result = call({"url": server.url("/redirect")})

    assert result.status is ResultStatus.FAILED
    assert result.error == "HTTP 302 from 127.0.0.1 (redirect to /json not followed)"
    assert result.data["headers"]["location"] == "/json"
    assert [r.path for r in server.requests] == ["/redirect"]


def test_expected_redirect_succeeds(server: Server) -> None:
    result = call({"url": server.url("/redirect"), "expect_status": [302]})

    assert result.status is ResultStatus.SUCCEEDED
    assert [r.path for r in server.requests] == ["/redirect"]


def test_body_is_truncated_to_the_limit(server: Server) -> None:
    result = call({"url": server.url("/big")}, limit=100)

    assert result.data["body"] == "x" * 100 + "…[truncated 4900 bytes]"


def test_connection_refused_is_a_clear_failure() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port now.

    result = call({"url": f"http://127.0.0.1:{port}/"})

    assert result.status is ResultStatus.FAILED
    assert result.error is not None
    assert result.error.startswith("cannot connect to 127.0.0.1:")


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://127.0.0.1:{port}/json", "127.0.0.1"),
        ("http://localhost:{port}/json", "loopback address"),
        ("http://10.0.0.1/", "10.0.0.1"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://[::1]:{port}/json", "::1"),
        ("http://[::ffff:127.0.0.1]:{port}/json", "IPv4-mapped loopback"),
        ("http://0.0.0.0:{port}/json", "0.0.0.0"),
    ],
)
def test_private_targets_are_refused_and_never_reached(
    server: Server, url: str, address: str
) -> None:
    result = call({"url": url.format(port=server.port)}, allow_private=False)

    assert result.status is ResultStatus.DENIED
    assert result.error is not None
    assert address in result.error
    assert "BATON_HTTP_ALLOW_PRIVATE=true" in result.error
    assert server.requests == []


def test_non_http_scheme_is_refused() -> None:
    result = call({"url": "file:///etc/passwd"}, allow_private=False)

    assert result.status is ResultStatus.DENIED
    assert result.error == "scheme 'file' refused: only http and https are allowed"


def test_public_address_passes_the_check_and_secrets_are_redacted() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    result = call(
        {
            "url": "https://93.184.216.34/hook?token=abc&team=sre",
            "headers": {
                "Authorization": "Bearer s3cret",
                "X-Api-Key": "k3y",
                "X-Session-Token": "t0k",
                "Accept": "application/json",
            },
        },
        allow_private=False,
        transport=httpx.MockTransport(handler),
    )

    assert result.status is ResultStatus.SUCCEEDED
    assert seen[0].headers["Authorization"] == "Bearer s3cret"  # the real value is sent
    headers = result.invocation["headers"]
    assert headers["authorization"] == "***"
    assert headers["x-api-key"] == "***"
    assert headers["x-session-token"] == "***"
    assert headers["accept"] == "application/json"
    assert headers["idempotency-key"] == "run-1:notify:2"
    assert result.invocation["url"] == "https://93.184.216.34/hook?token=%2A%2A%2A&team=sre"
    assert "s3cret" not in json.dumps(result.model_dump())


def test_password_in_url_is_redacted() -> None:
    assert (
        redact_url("https://bot:hunter2@hooks.example.com/x")
        == "https://bot:***@hooks.example.com/x"
    )


def test_declared_idempotent_only_for_safe_methods() -> None:
    executor = HttpExecutor(allow_private=False, output_limit_bytes=1024)

    for method, expected in [("GET", True), ("HEAD", True), ("OPTIONS", True), ("POST", False)]:
        params = HttpParams.model_validate({"method": method, "url": "https://example.com"})
        assert executor.is_idempotent(params) is expected
    assert executor.is_idempotent(HttpParams.model_validate({"method": "PUT", "url": "x"})) is False
