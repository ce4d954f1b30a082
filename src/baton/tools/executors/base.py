"""The executor seam: what every action executor receives, promises and returns.

An executor performs exactly one side effect and reports it as an `ActionResult`. Expected
failures (a non-zero exit, an HTTP error, a timeout, a refused target) are results, not
exceptions, so the ledger can record them and the runbook can branch on them; only
programming errors raise.
"""

from __future__ import annotations

import codecs
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, field_validator

from baton.domain.envelope import ActionResult

ParamsT = TypeVar("ParamsT", bound=BaseModel)

REDACTED = "***"
_SECRET_NAMES = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
_SECRET_PARTS = ("token", "secret", "password", "passwd", "api-key", "apikey", "api_key", "auth")


def is_secret_name(name: str) -> bool:
    """Header, query or variable names whose values must not reach the ledger or audit."""
    lowered = name.lower()
    return lowered in _SECRET_NAMES or any(part in lowered for part in _SECRET_PARTS)


ERROR_LINE_LIMIT = 300
"""Characters kept of a one-line error: enough to read, short enough for a list view."""


def now_utc() -> datetime:
    """The current time, timezone-aware in UTC (the only kind of datetime we store)."""
    return datetime.now(UTC)


class ExecutionContext(BaseModel):
    """Who asks for the effect and under which ledger entry.

    `idempotency_key` and `intent_at` come from the action ledger, so a re-run after a crash
    sees the same values as the first attempt: the key lets a remote service drop the
    duplicate, and the intent time lets a wait resume where it stopped.
    """

    run_id: str
    task_id: str
    attempt: int
    idempotency_key: str
    intent_at: datetime
    timeout: float | None = None
    """Seconds the effect may take; None means no limit."""

    @field_validator("intent_at")
    @classmethod
    def _aware_utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("intent_at must be timezone-aware")
        return value.astimezone(UTC)

    @field_validator("timeout")
    @classmethod
    def _positive(cls, value: float | None) -> float | None:
        if value is not None and value <= 0:
            raise ValueError("timeout must be positive seconds or None")
        return value


class Executor(Protocol):
    """One kind of action (`command`, `http`, `wait`), registered where the runtime is built."""

    name: str
    params_model: type[BaseModel]

    def is_idempotent(self, params: BaseModel) -> bool:
        """Whether repeating these params is safe; the declared default a runbook may override.

        The ledger consults it for an in-doubt intent (recorded, no result): idempotent
        actions are re-run, others become a human task.
        """
        ...

    def describe(self, params: BaseModel) -> dict[str, Any]:
        """The invocation as the ledger and audit trail record it before it runs: exact,
        except that secret values (credentials in headers, URLs, env) are redacted."""
        ...

    def execute(self, params: BaseModel, ctx: ExecutionContext) -> ActionResult:
        """Perform the effect once and describe it; never raise for an expected failure."""
        ...


def require_params(params: BaseModel, model: type[ParamsT]) -> ParamsT:
    """Narrow `params` to the executor's model; a mismatch is a wiring bug, so it raises."""
    if not isinstance(params, model):
        raise TypeError(f"expected {model.__name__}, got {type(params).__name__}")
    return params


def truncation_marker(dropped: int) -> str:
    return f"…[truncated {dropped} bytes]"


def truncate(data: str | bytes, limit: int, *, total_bytes: int | None = None) -> str:
    """Keep the first `limit` bytes of `data` as text and say how many bytes were dropped.

    `total_bytes` is the size of the whole output when `data` is already only its head (a
    capture that stopped storing at the limit). The cut never splits a UTF-8 character, and
    undecodable bytes become U+FFFD, so the result is always valid text for the ledger.
    """
    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
    total = len(raw) if total_bytes is None else max(total_bytes, len(raw))
    if total <= limit:
        return raw.decode("utf-8", "replace")
    head = raw[: max(limit, 0)]
    # A non-final incremental decode holds back a character split by the cut instead of
    # emitting U+FFFD for it; invalid bytes elsewhere are still replaced.
    decoder = codecs.getincrementaldecoder("utf-8")("replace")
    text = decoder.decode(head, final=False)
    held_back = len(decoder.getstate()[0])
    return text + truncation_marker(total - len(head) + held_back)


def one_line(text: str, limit: int = ERROR_LINE_LIMIT) -> str:
    """Collapse whitespace so an error fits one line of a table, capped at `limit` chars."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
