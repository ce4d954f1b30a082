"""Parameter schemas of the built-in executors.

They live here, below both `runbooks` (which validates a runbook's `params` against them)
and `tools` (whose executors receive them), so both layers agree on one definition.
String fields may hold templates; they are rendered before an executor sees them.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator


class CommandParams(BaseModel):
    """Run a program with an argv list: no shell, so no quoting or injection surprises."""

    model_config = ConfigDict(extra="forbid")

    argv: list[str] = Field(min_length=1, description="Program and arguments; no shell.")
    cwd: str | None = None
    env: dict[str, str] = Field(default_factory=dict, description="Added to a minimal env.")
    expect_exit: list[int] = Field(default_factory=lambda: [0])

    @field_validator("argv", mode="before")
    @classmethod
    def _numbers_as_text(cls, value: Any) -> Any:
        """`{{ params.port }}` renders to its native number; an argv word is its text."""
        if isinstance(value, list):
            return [
                str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v
                for v in value
            ]
        return value


class HttpParams(BaseModel):
    """One HTTP request with a JSON body."""

    model_config = ConfigDict(extra="forbid")

    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] = "GET"
    url: str = Field(min_length=1)
    headers: dict[str, str] = Field(default_factory=dict)
    json_body: Any = Field(default=None, alias="json")
    expect_status: list[int] = Field(
        default_factory=list, description="Accepted statuses; default any 2xx."
    )


def url_problem(url: str) -> tuple[str, str] | None:
    """Why `url` cannot be requested, as (kind, reason), or None: checked when a runbook
    loads (a literal URL) and again by the executor (a rendered one).

    `kind` is "denied" for a scheme we refuse on principle, "invalid" for a malformed URL.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError as exc:
        return "invalid", f"invalid URL: {exc}"
    if parts.scheme not in {"http", "https"}:
        return "denied", (
            f"scheme {parts.scheme or '(none)'!r} refused: only http and https are allowed"
        )
    if not parts.hostname:
        return "invalid", "invalid URL: no host"
    return None


class WaitParams(BaseModel):
    """A durable delay: the due time is fixed when the wait first starts."""

    model_config = ConfigDict(extra="forbid")

    seconds: float = Field(ge=0, le=7 * 24 * 3600)


EXECUTOR_PARAMS: dict[str, type[BaseModel]] = {
    "command": CommandParams,
    "http": HttpParams,
    "wait": WaitParams,
}
"""Executors a runbook may name, with the schema of their `params`."""
