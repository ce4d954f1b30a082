"""The one result envelope every executor returns."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class ResultStatus(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMEOUT = "timeout"
    DENIED = "denied"


class ActionResult(BaseModel):
    """What an action did: status, data, error and the exact invocation that produced them."""

    status: ResultStatus
    data: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    invocation: dict[str, Any] = Field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status is ResultStatus.SUCCEEDED
