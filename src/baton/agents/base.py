"""The contract between agent tasks, the tool-calling loop and the reasoners behind it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, Field

from baton.domain.finding import AgentName, Finding
from baton.domain.incident import Incident
from baton.tools.readers.base import ToolResult


class AgentBrief(BaseModel):
    """What an agent task is asked: the incident, the windows to look at, runbook inputs."""

    agent: AgentName
    incident: Incident
    window_start: datetime = Field(description="Start of the incident window (before onset).")
    window_end: datetime = Field(description="End of the incident window (usually 'now').")
    baseline_start: datetime = Field(description="Start of the 'normal' comparison window.")
    baseline_end: datetime
    inputs: dict[str, Any] = Field(default_factory=dict, description="Runbook task inputs.")


ToolCaller = Callable[[str, dict[str, Any]], ToolResult]
"""Call a read-only tool by its dotted name (`itsm.recent_changes`) with JSON arguments.

The loop supplies it: it checks the agent's allow-list, validates the arguments against the
tool's schema, counts the call against the budget and audits it. A refused or invalid call
comes back as a `ToolResult` with `ok=False`, never as an exception.
"""


class OfflineReasoner(Protocol):
    """A deterministic stand-in for the model: fixed tool plan, algorithmic findings."""

    agent: AgentName
    tools: tuple[str, ...]
    """The allow-list: dotted names of the read-only tools this agent may call."""

    def reason(self, brief: AgentBrief, call: ToolCaller) -> Finding: ...
