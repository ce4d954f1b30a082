"""What the loop tells the audit trail, and what it hands back to the agent task.

Every model call (each retry attempt included) and every tool call, executed or refused,
becomes one `AgentEvent`; the integrator's `record` callback appends it to the audit trail.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from baton.domain.finding import AgentName, Finding, Quote


def agent_actor(agent: AgentName, model: str) -> str:
    """The audit actor of an agent: `agent:<name>@<model>` (`@offline` for the reasoner)."""
    return f"agent:{agent.value}@{model}"


def _now() -> datetime:
    return datetime.now(UTC)


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    actor: str
    agent: AgentName
    at: datetime = Field(default_factory=_now)


class LlmCallEvent(_Event):
    """One HTTP request to the model, failed attempts included."""

    kind: Literal["llm_call"] = "llm_call"
    model: str
    iteration: int = Field(description="Which model call of the task (1-based).")
    attempt: int = Field(description="Which try of this call (1 = first, 2 = first retry).")
    prompt_digest: str = Field(description="sha256 of the exact request messages, canonical.")
    messages: int
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float
    tool_calls: list[str] = Field(
        default_factory=list, description="Tools the model asked for (dotted names when known)."
    )
    error: str | None = Field(default=None, description="Why the attempt failed, if it did.")


class ToolCallEvent(_Event):
    """A read-only tool that ran, with what it was asked and a digest of what it said."""

    kind: Literal["tool_call"] = "tool_call"
    tool: str
    call_id: str | None = None
    args: dict[str, Any]
    ok: bool
    error: str | None = None
    result_digest: str
    truncated: bool
    latency_ms: float


class RefusedToolCallEvent(_Event):
    """A tool call that was not executed: off the allow-list, bad arguments, or over budget."""

    kind: Literal["refused_tool_call"] = "refused_tool_call"
    tool: str = Field(description="The name as requested, cut to 100 characters.")
    call_id: str | None = None
    args: str = Field(description="The arguments as requested, JSON, cut to 400 characters.")
    reason: str


AgentEvent = Annotated[
    LlmCallEvent | ToolCallEvent | RefusedToolCallEvent, Field(discriminator="kind")
]
AgentRecorder = Callable[[AgentEvent], None]
"""Receives every event as it happens; the integrator wires it to the audit trail."""


class ToolEvidence(BaseModel):
    """One executed tool call, summarised: what a person picks up when the agent fails."""

    model_config = ConfigDict(frozen=True)

    tool: str
    args: dict[str, Any]
    ok: bool
    error: str | None = None
    truncated: bool = False
    result_digest: str
    preview: Quote | None = Field(
        default=None, description="The start of the result data, quoted as hostile text."
    )


class AgentOutcome(BaseModel):
    """The result of one agent task. `failed` means: hand it to a person, with `partial`."""

    agent: AgentName
    actor: str
    produced_by: str = Field(description="'offline' or '<provider>:<model>'.")
    finding: Finding | None = None
    failed: bool = False
    reason: str | None = Field(default=None, description="Why it failed, for the human task.")
    events: int = 0
    llm_calls: int = Field(default=0, description="HTTP requests to the model, retries included.")
    tool_calls: int = Field(default=0, description="Executed and refused, as budgeted.")
    refused_tool_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    elapsed_ms: float = 0.0
    partial: list[ToolEvidence] = Field(
        default_factory=list, description="Every executed tool call so far, in order."
    )
