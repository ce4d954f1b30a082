"""Pydantic models of a runbook. `extra="forbid"` everywhere: a typo is an error, not a no-op.

A runbook is a DAG of tasks linked by `needs`. Task ids are identifiers (letters, digits,
underscore) because they become graph node names and template attributes
(`{{ tasks.diagnose.output.stdout }}`).
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from baton.domain.incident import Severity

TASK_ID = r"^[a-z][a-z0-9_]{0,63}$"
RUNBOOK_ID = r"^[a-z][a-z0-9_.-]{0,127}$"
_DURATION = re.compile(r"^\s*(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+(?:\.\d+)?)s)?\s*$")


def parse_duration(value: object) -> float:
    """Seconds from `90`, `"90s"`, `"5m"`, `"1h30m"` or `"2d"`."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like '5m' or '1h30m'")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)) and any(m.groups()):
        d, h, mi, s = m.groups()
        seconds = int(d or 0) * 86400 + int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0)
    else:
        raise ValueError(
            f"invalid duration {value!r}: use seconds or a string like '30s', '5m', '1h30m', '2d'"
        )
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds


Duration = Annotated[
    float,
    Field(gt=0),
    # Stored as seconds, but files may spell it "5m" or "1h30m": editors must accept both.
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0},
                {"type": "string", "pattern": _DURATION.pattern},
            ],
            "description": "Seconds, or a string like '30s', '5m', '1h30m', '2d'.",
        }
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Trigger(_Strict):
    """Which alerts start this runbook (used by the webhook API)."""

    source: Literal["alertmanager", "pagerduty", "datadog", "grafana", "generic"]
    match: dict[str, str] = Field(
        default_factory=dict, description="Label or field equality, all must hold."
    )
    severity: list[Severity] = Field(default_factory=list, description="Any of; empty = any.")


class InputSpec(_Strict):
    """A value the run needs besides the incident, given with `baton run --input k=v`."""

    type: Literal["string", "number", "boolean"] = "string"
    description: str | None = None
    required: bool = False
    default: str | float | bool | None = None

    @model_validator(mode="after")
    def _default_has_the_type(self) -> InputSpec:
        """A default is used as it is written, so it must already have the declared type."""
        d = self.default
        fits = {
            "string": isinstance(d, str),
            "number": isinstance(d, int | float) and not isinstance(d, bool),
            "boolean": isinstance(d, bool),
        }[self.type]
        if d is not None and not fits:
            raise ValueError(f"default {d!r} is not a {self.type}")
        return self


class OutputSpec(_Strict):
    """A field a person fills in when completing a human task."""

    type: Literal["string", "number", "boolean"] = "string"
    description: str | None = None
    required: bool = True


class _TaskBase(_Strict):
    id: str = Field(pattern=TASK_ID)
    title: str = Field(min_length=1)
    description: str | None = None
    needs: list[str] = Field(default_factory=list)
    when: str | None = Field(
        default=None, description="Template expression; false means the task is skipped."
    )
    timeout: Duration | None = None
    retries: int = Field(default=0, ge=0, le=10)
    on_failure: Literal["fail", "continue", "human"] = "fail"

    @field_validator("timeout", mode="before")
    @classmethod
    def _duration(cls, value: object) -> float | None:
        return None if value is None else parse_duration(value)


class GateOverride(_Strict):
    """A runbook's stricter gate for a pattern task: it can add or tighten, never remove."""

    approvers: list[str] | None = Field(
        default=None, description="Subset of the pattern's approver roles."
    )
    min_approvals: int | None = Field(default=None, ge=1, le=10)
    always: bool = Field(default=True, description="Gate even where the pattern is autonomous.")


class ActionTask(_TaskBase):
    """Does something to the world; every effect goes through the ledger.

    Either a catalog `pattern` (gated or autonomous by policy, measured towards promotion)
    or a raw `executor` for steps that are not recovery patterns (diagnostics, notes).
    """

    type: Literal["action"] = "action"
    executor: Literal["command", "http", "wait"] | None = None
    pattern: str | None = Field(default=None, description="Catalog pattern id.")
    params: dict[str, Any] = Field(default_factory=dict)
    idempotent: bool | None = Field(
        default=None,
        description="May this action safely run twice? Default: wait and GET/HEAD http only; "
        "a pattern's own declaration for pattern tasks.",
    )
    gate: GateOverride | None = Field(default=None, description="Pattern tasks only.")
    rationale: str | None = Field(
        default=None, description="Why this action (template); shown to the approver."
    )
    recommended_by: str | None = Field(
        default=None,
        description="An agent task this depends on: its recommendation for this pattern "
        "supplies parameters and rationale, and the agent is the requester (so it can never "
        "approve). Without such a recommendation the task is skipped.",
    )

    @model_validator(mode="after")
    def _one_kind(self) -> ActionTask:
        if (self.executor is None) == (self.pattern is None):
            raise ValueError("an action names exactly one of 'pattern' or 'executor'")
        if self.pattern is None and (self.gate is not None or self.recommended_by is not None):
            raise ValueError("'gate' and 'recommended_by' apply to pattern actions only")
        return self


class ApprovalTask(_TaskBase):
    """A gate: the run waits until `min_approvals` distinct people with a role approve."""

    type: Literal["approval"]
    approvers: list[str] = Field(min_length=1, description="Roles allowed to approve.")
    min_approvals: int = Field(default=1, ge=1, le=10)
    shows: list[str] = Field(
        default_factory=list, description="What the approver must see (templates)."
    )


class HumanTask(_TaskBase):
    """Work a person does outside Baton, then marks done with outputs and notes."""

    type: Literal["human"]
    assignee: str = Field(min_length=1, description="Role expected to do it.")
    instructions: str = Field(min_length=1)
    outputs: dict[str, OutputSpec] = Field(default_factory=dict)


class DecisionTask(_TaskBase):
    """Branches: `choose` picks an option from data; without it a person picks."""

    type: Literal["decision"]
    options: list[str] = Field(min_length=2)
    on: dict[str, list[str]] = Field(description="Option → the tasks it leads to.")
    choose: str | None = Field(default=None, description="Template expression → option name.")
    assignee: str | None = Field(default=None, description="Role that decides when no `choose`.")


class AgentBudgetSpec(_Strict):
    """Limits of one agent task; unset values come from settings (BATON_AGENT_*)."""

    max_tool_calls: int | None = Field(default=None, ge=1, le=100)
    max_tokens: int | None = Field(default=None, ge=1)
    timeout: Duration | None = None

    @field_validator("timeout", mode="before")
    @classmethod
    def _duration(cls, value: object) -> float | None:
        return None if value is None else parse_duration(value)


class AgentTask(_TaskBase):
    """An AI agent as a step: reads through read-only tools, reports a finding.

    It can never act or approve: its finding is data for later tasks and gates, and its
    recommendations reach the world only through a gated pattern task (`recommended_by`).
    When it cannot finish (budget, endpoint, invalid output) a person gets an
    "investigate manually" task with whatever evidence it gathered; the run goes on.
    """

    type: Literal["agent"]
    agent: Literal["itsm_change", "log_analysis"]
    window: Duration = Field(
        default=7200.0, description="How far before detection the incident window starts."
    )
    baseline: Duration | None = Field(
        default=None,
        description="Length of the 'normal' window just before the incident window "
        "(default: as long as the incident window).",
    )
    inputs: dict[str, Any] = Field(default_factory=dict)
    budget: AgentBudgetSpec = Field(default_factory=AgentBudgetSpec)
    assignee: str | None = Field(
        default=None, description="Role that investigates by hand if the agent cannot finish."
    )

    @field_validator("window", "baseline", mode="before")
    @classmethod
    def _windows(cls, value: object) -> float | None:
        return None if value is None else parse_duration(value)


AnyTask = ActionTask | ApprovalTask | HumanTask | DecisionTask | AgentTask
Task = Annotated[AnyTask, Field(discriminator="type")]


class Runbook(_Strict):
    """A versioned document of tasks; its version is the SHA-256 of its canonical content."""

    id: str = Field(pattern=RUNBOOK_ID)
    title: str = Field(min_length=1)
    description: str | None = None
    owner: str = Field(min_length=1)
    triggers: list[Trigger] = Field(default_factory=list)
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    on_start: list[ActionTask] = Field(
        default_factory=list,
        description="Pattern actions fired at run start: without a gate where the pattern is "
        "autonomous in the incident's context, as normal gated tasks elsewhere.",
    )
    tasks: list[Task] = Field(min_length=1)

    @cached_property
    def steps(self) -> list[AnyTask]:
        """Every task the run executes: `on_start` actions first, then `tasks`."""
        return [*self.on_start, *self.tasks]

    @cached_property
    def _by_id(self) -> dict[str, AnyTask]:
        return {t.id: t for t in self.steps}

    def task(self, task_id: str) -> AnyTask:
        """The task with this id (KeyError if none); nodes ask this on every step."""
        return self._by_id[task_id]
