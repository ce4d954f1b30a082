"""Plain ASGI middleware (Starlette's `@app.middleware("http")` costs a task and a stream
per request, measured at 0.2-0.6 ms by bench/ingest.py): request ids, latency metrics, an
access log line when asked for, and a body-size bound enforced before any route reads.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from baton.api.errors import error_body
from baton.api.metrics import Metrics
from baton.domain.alert import SOURCES

log = logging.getLogger("baton.api")
WEBHOOKS = "/v1/webhooks/"
_PAGE_HEADERS = [
    # Pages load nothing from elsewhere and are never framed; they carry a CSRF token, so
    # no cache keeps them.
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class _TooLarge(Exception):
    pass


class Edge:
    """Every HTTP request passes here first: the outermost layer of the app."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, max_body: int, access_log: bool) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        headers = dict(scope.get("headers") or [])
        given = (headers.get(b"x-request-id") or b"").decode("latin-1")[:64]
        request_id = given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex[:16]
        status = {"code": 500}
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            await self._refuse(scope, send, request_id, status)
        else:
            seen = {"bytes": 0, "started": False}

            async def bounded() -> Message:
                message = await receive()
                if message["type"] == "http.request":
                    seen["bytes"] += len(message.get("body", b""))
                    if seen["bytes"] > self.max_body:
                        raise _TooLarge
                return message

            async def stamped(message: Message) -> None:
                if message["type"] == "http.response.start":
                    seen["started"] = True
                    status["code"] = message["status"]
                    headers = list(message.get("headers", []))
                    headers.append((b"x-request-id", request_id.encode("latin-1")))
                    if any(k == b"content-type" and v.startswith(b"text/html") for k, v in headers):
                        headers.extend(_PAGE_HEADERS)
                    message["headers"] = headers
                await send(message)

            try:
                await self.app(scope, bounded, stamped)
            except _TooLarge:
                if seen["started"]:
                    raise
                await self._refuse(scope, send, request_id, status)
        self._observe(scope, status["code"], time.perf_counter() - began, request_id)

    async def _refuse(
        self, scope: Scope, send: Send, request_id: str, status: dict[str, int]
    ) -> None:
        status["code"] = 413
        path = str(scope.get("path", ""))
        if path.startswith(WEBHOOKS):
            source = path.removeprefix(WEBHOOKS).strip("/")
            if source in SOURCES:  # known sources only: a label per path would be unbounded
                self.metrics.webhooks_rejected.labels(source, "too_large").inc()
        body = json.dumps(error_body("too_large", f"body larger than {self.max_body} bytes"))
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"x-request-id", request_id.encode("latin-1")),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body.encode()})

    def _observe(self, scope: Scope, code: int, seconds: float, request_id: str) -> None:
        route = getattr(scope.get("route"), "path", "(unmatched)")
        method = scope.get("method", "?")
        method = method if method in _METHODS else "other"  # a label per made-up method: unbounded
        self.metrics.requests.labels(method, route, str(code)).observe(seconds)
        if self.access_log or code >= 500:
            extra: dict[str, Any] = {
                "request_id": request_id,
                "method": method,
                "route": route,
                "status": code,
                "ms": round(seconds * 1000, 2),
            }
            log.log(logging.WARNING if code >= 500 else logging.INFO, "request", extra=extra)
