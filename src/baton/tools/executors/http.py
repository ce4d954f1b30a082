"""One HTTP request with a JSON body, refused by default when it targets a private network.

Runbook URLs are rendered from templates that may carry alert or ticket text, so the
executor is a server-side request forgery risk: by default it refuses any destination that
resolves to loopback, link-local (cloud metadata), private, multicast or reserved space.
`BATON_HTTP_ALLOW_PRIVATE=true` lifts that for deployments whose targets are internal.

Redirects are never followed: a 3xx is reported as is, so an allowed host cannot bounce the
request to a refused one. Proxies from the environment are ignored for the same reason: the
address check must be about the host we actually connect to.

Known gap: the host is resolved once for the check and again by the connection, so a DNS
answer that changes in between (rebinding) is not caught.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from pydantic import BaseModel

from baton.domain.envelope import ActionResult, ResultStatus
from baton.domain.params import HttpParams, url_problem
from baton.tools.executors.base import (
    REDACTED,
    ExecutionContext,
    is_secret_name,
    one_line,
    require_params,
    truncate,
)

DEFAULT_TIMEOUT = 30.0
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
KEPT_RESPONSE_HEADERS = ("content-type", "location", "retry-after")

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def redact_headers(headers: httpx.Headers) -> dict[str, str]:
    return {k: REDACTED if is_secret_name(k) else v for k, v in headers.items()}


def redact_url(url: str) -> str:
    """Hide a password in the userinfo and the values of secret-looking query parameters."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = f"{parts.username}:{REDACTED}@{netloc.rpartition('@')[2]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(is_secret_name(k) for k, _ in pairs):
            query = urlencode([(k, REDACTED if is_secret_name(k) else v) for k, v in pairs])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def blocked_reason(address: IpAddress) -> str | None:
    """Why an address is off limits without `allow_private`, or None for a public one."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            inner = blocked_reason(embedded)
            return f"IPv4-mapped {inner}" if inner else None
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        # Shared (CGNAT), documentation and other special ranges are not "private" but are
        # not the public internet either.
        ("non-global", not address.is_global),
    )
    return next((label for label, hit in checks if hit), None)


def _resolve(host: str, port: int) -> list[IpAddress]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    # IPv6 link-local answers carry a zone ("fe80::1%eth0"), which ip_address rejects.
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


class _Refused(Exception):
    """Internal: the target fails the pre-flight check; carries the result to return."""

    def __init__(self, status: ResultStatus, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


class HttpExecutor:
    """Executor `http`: one request, address-checked, no redirects, idempotency key sent."""

    name = "http"
    params_model: type[BaseModel] = HttpParams

    def __init__(
        self,
        allow_private: bool,
        output_limit_bytes: int,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._allow_private = allow_private
        self._limit = output_limit_bytes
        self._transport = transport

    def is_idempotent(self, params: BaseModel) -> bool:
        """Safe methods only; PUT and DELETE are idempotent in theory, not in every API."""
        return require_params(params, HttpParams).method in IDEMPOTENT_METHODS

    def describe(self, params: BaseModel) -> dict[str, Any]:
        p = require_params(params, HttpParams)
        return {
            "method": p.method,
            "url": redact_url(p.url),
            "headers": redact_headers(httpx.Headers(p.headers)),
            "json": p.json_body,
            "expect_status": p.expect_status,
        }

    def execute(self, params: BaseModel, ctx: ExecutionContext) -> ActionResult:
        p = require_params(params, HttpParams)
        timeout = ctx.timeout or DEFAULT_TIMEOUT
        # Sent by default so a remote that supports it drops a repeat after a crash;
        # the runbook's own headers win, case-insensitively.
        headers = httpx.Headers({"Idempotency-Key": ctx.idempotency_key})
        headers.update(p.headers)
        invocation: dict[str, Any] = {
            "method": p.method,
            "url": redact_url(p.url),
            "headers": redact_headers(headers),
            "json": p.json_body,
            "timeout": timeout,
        }

        def result(status: ResultStatus, error: str | None = None, **data: Any) -> ActionResult:
            return ActionResult(status=status, error=error, data=data, invocation=invocation)

        try:
            host = self._check_target(p.url)
        except _Refused as refused:
            return result(refused.status, refused.error)

        try:
            with (
                httpx.Client(
                    transport=self._transport,
                    follow_redirects=False,
                    timeout=timeout,
                    trust_env=False,
                ) as client,
                client.stream(
                    p.method,
                    p.url,
                    headers=headers,
                    json=p.json_body,
                ) as response,
            ):
                body = self._read_body(response)
        except httpx.TimeoutException as exc:
            return result(
                ResultStatus.TIMEOUT,
                one_line(f"timed out after {timeout:g}s talking to {host} ({_describe(exc)})"),
            )
        except httpx.ConnectError as exc:
            return result(
                ResultStatus.FAILED, one_line(f"cannot connect to {host}: {_describe(exc)}")
            )
        except httpx.HTTPError as exc:  # protocol errors, a dropped connection, a bad URL
            return result(
                ResultStatus.FAILED, one_line(f"request to {host} failed: {_describe(exc)}")
            )

        code = response.status_code
        kept = {k: response.headers[k] for k in KEPT_RESPONSE_HEADERS if k in response.headers}
        data = {"status_code": code, "headers": kept, "body": body}
        expected = code in p.expect_status if p.expect_status else 200 <= code < 300
        if expected:
            return result(ResultStatus.SUCCEEDED, **data)
        error = f"HTTP {code} from {host}"
        if response.is_redirect:
            error += f" (redirect to {response.headers.get('location', '?')} not followed)"
        return result(ResultStatus.FAILED, one_line(error), **data)

    def _check_target(self, url: str) -> str:
        """Validate scheme and host, and refuse private destinations; returns the host."""
        if problem := url_problem(url):
            kind, why = problem
            status = ResultStatus.DENIED if kind == "denied" else ResultStatus.FAILED
            raise _Refused(status, one_line(why))
        parts = urlsplit(url)
        host, port = parts.hostname or "", parts.port
        if self._allow_private:
            return host
        try:
            addresses = _resolve(host, port or (443 if parts.scheme == "https" else 80))
        except (OSError, UnicodeError) as exc:
            raise _Refused(
                ResultStatus.FAILED, one_line(f"cannot resolve host {host}: {exc}")
            ) from None
        for address in addresses:
            reason = blocked_reason(address)
            if reason is not None:
                raise _Refused(
                    ResultStatus.DENIED,
                    f"refused {host}: it resolves to {reason} address {address}; "
                    "set BATON_HTTP_ALLOW_PRIVATE=true to permit private targets",
                )
        return host

    def _read_body(self, response: httpx.Response) -> Any:
        """Read the whole body but keep only the limit; JSON is parsed when complete."""
        head = bytearray()
        total = 0
        for chunk in response.iter_bytes():
            total += len(chunk)
            room = self._limit - len(head)
            if room > 0:
                head += chunk[:room]
        if total <= self._limit and "json" in response.headers.get("content-type", "").lower():
            try:
                return json.loads(bytes(head))
            except ValueError:
                pass  # declared JSON but is not: keep it as text
        return truncate(bytes(head), self._limit, total_bytes=total)


def _describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__
