"""The running account of one agent task: time, tokens, calls and events against its budget."""

from __future__ import annotations

import time

from baton.agents.budget import AgentBudget
from baton.agents.events import AgentEvent, AgentRecorder, LlmCallEvent, RefusedToolCallEvent
from baton.errors import BatonError


class RecordFailed(BatonError):
    """The `record` callback raised: the step could not be audited, so the task stops."""

    code = "agent_record_failed"
    status = 503


class Meter:
    """Counts what a task spent and forwards every event to the recorder, in order.

    A recorder that raises (the audit trail could not be written) stops the task: an
    agent step that cannot be audited must not go on.
    """

    def __init__(self, budget: AgentBudget, record: AgentRecorder) -> None:
        self.budget = budget
        self._record = record
        self.started = time.monotonic()
        self.deadline = self.started + budget.timeout_seconds
        self.events = 0
        self.llm_calls = 0
        self.tool_calls = 0
        self.refused = 0
        self.input_tokens = 0
        self.output_tokens = 0

    def record(self, event: AgentEvent) -> None:
        try:
            self._record(event)
        except Exception as exc:
            raise RecordFailed(
                f"could not record {event.kind} of agent {event.agent.value}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        self.events += 1
        if isinstance(event, LlmCallEvent):
            self.llm_calls += 1
            self.input_tokens += event.input_tokens
            self.output_tokens += event.output_tokens
        elif isinstance(event, RefusedToolCallEvent):
            self.refused += 1

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def remaining_seconds(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def out_of_time(self) -> bool:
        return time.monotonic() >= self.deadline

    def out_of_tokens(self) -> bool:
        return self.tokens >= self.budget.max_tokens

    def out_of_tool_calls(self) -> bool:
        return self.tool_calls >= self.budget.max_tool_calls

    def elapsed_ms(self) -> float:
        return (time.monotonic() - self.started) * 1000
