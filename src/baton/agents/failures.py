"""Reading model-endpoint errors: which are transient, how long the server asks us to wait.

Duck-typed on the attributes the openai client (and the langchain-core error classes that
wrap it) expose, so the loop does not import a provider SDK.
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from typing import Any

from baton.errors import BatonError

_TRANSIENT_STATUS = frozenset({408, 409, 429})
_MESSAGE_LIMIT = 300


def status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def upstream_message(exc: BaseException) -> str:
    """The endpoint's own error message when it sent one, else the exception text."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner: Any = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else None
        if isinstance(message, str) and message:
            return message[:_MESSAGE_LIMIT]
    text = str(exc) or type(exc).__name__
    return text[:_MESSAGE_LIMIT]


def is_transient(exc: BaseException) -> bool:
    """429, 408, 409, 5xx, timeouts and dropped connections: worth another try."""
    if isinstance(exc, BatonError):  # ours (e.g. the audit record failed), never the endpoint's
        return False
    status = status_of(exc)
    if status is not None:
        return status in _TRANSIENT_STATUS or status >= 500
    if getattr(exc, "is_retryable", False) is True:
        return True
    return isinstance(exc, TimeoutError | ConnectionError) or type(exc).__name__ in {
        "APIConnectionError",
        "APITimeoutError",
    }


def retry_after_seconds(exc: BaseException) -> float | None:
    """The wait the server asked for (`retry-after-ms`, `Retry-After` seconds or date)."""
    headers = getattr(getattr(exc, "response", None), "headers", None)
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def describe(exc: BaseException) -> str:
    """One line for the audit trail and the human task: status and the endpoint's message."""
    status = status_of(exc)
    prefix = f"HTTP {status}" if status is not None else type(exc).__name__
    return f"{prefix}: {upstream_message(exc)}"
