"""Request bodies of the API. Strict: a field we do not take (`approver`, `status`,
`actor`…) is refused with 422 rather than ignored, so nobody believes it was used."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from baton.domain.incident import Incident


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DecisionIn(_Strict):
    """Approve or reject a gate. Who decides is the caller, never a field."""

    verdict: Literal["approve", "reject"]
    comment: str | None = Field(default=None, max_length=4000)
    params: dict[str, Any] = Field(
        default_factory=dict, description="Pattern parameters changed as you approve."
    )
    break_glass: bool = False
    reason: str | None = Field(default=None, max_length=4000, description="Why break-glass.")


class CompletionIn(_Strict):
    """Mark a human task (or a fallback, verification or review) done or failed."""

    status: Literal["done", "failed"] = "done"
    outputs: dict[str, Any] = Field(default_factory=dict)
    comment: str | None = Field(default=None, max_length=4000)


class ChoiceIn(_Strict):
    choice: str = Field(min_length=1, max_length=128)
    comment: str | None = Field(default=None, max_length=4000)


class ReasonIn(_Strict):
    reason: str = Field(min_length=1, max_length=4000)


class IncidentIn(_Strict):
    """Declare an incident by hand and start a runbook on it."""

    incident: Incident
    runbook: str = Field(min_length=1, description="Runbook id, from the routing directory.")
    inputs: dict[str, Any] = Field(default_factory=dict)
