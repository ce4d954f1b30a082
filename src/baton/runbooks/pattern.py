"""Patterns: reusable recovery actions from the catalog (`runbooks/patterns/*.yaml`).

A pattern says what an action does (executor + invocation template), what it risks, how its
success is checked, and under which conditions its evidence counts towards removing the gate.
Its version is the hash of its canonical content, so any change that alters behaviour resets
the evidence (a new version starts gated with an empty streak).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from baton.runbooks.model import Duration, parse_duration

PATTERN_ID = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$"
"""Dotted, namespaced ids: `k8s.rollout_restart`, `change.rollback`."""


class Risk(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {Risk.LOW: 0, Risk.MEDIUM: 1, Risk.HIGH: 2, Risk.CRITICAL: 3}
NEVER_AUTONOMOUS = frozenset({Risk.HIGH, Risk.CRITICAL})
"""Risks whose gate no amount of evidence removes."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ParamSpec(_Strict):
    """One parameter of a pattern: type and the constraints a value must meet."""

    type: Literal["string", "integer", "number", "boolean"] = "string"
    description: str | None = None
    required: bool = True
    default: str | int | float | bool | None = None
    enum: list[str | int | float] | None = None
    pattern: str | None = Field(default=None, description="Regex a string must match fully.")
    minimum: float | None = None
    maximum: float | None = None

    @field_validator("pattern")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regex: {exc}") from None
        return value


class Verify(_Strict):
    """How success is checked after the action ran.

    - `command` / `http`: an executor invocation (templated with `params`) that must succeed;
    - `metric`: a Prometheus instant query whose first sample must satisfy `expect`;
    - `human`: a person confirms, following `instructions`.
    """

    kind: Literal["command", "http", "metric", "human"]
    invocation: dict[str, Any] = Field(default_factory=dict)
    prometheus_url: str | None = Field(default=None, description="metric: base URL.")
    query: str | None = Field(default=None, description="metric: PromQL, templated.")
    expect: str | None = Field(
        default=None, description="metric: comparison such as '< 0.05' or '>= 1'."
    )
    instructions: str | None = Field(default=None, description="human: what to check.")
    assignee: str | None = Field(default=None, description="human: role that confirms.")
    timeout: Duration | None = None

    @field_validator("timeout", mode="before")
    @classmethod
    def _duration(cls, value: object) -> float | None:
        return None if value is None else parse_duration(value)

    @model_validator(mode="after")
    def _complete(self) -> Verify:
        needed = {
            "command": ("invocation",),
            "http": ("invocation",),
            "metric": ("prometheus_url", "query", "expect"),
            "human": ("instructions",),
        }[self.kind]
        missing = [name for name in needed if not getattr(self, name)]
        if missing:
            raise ValueError(f"verify of kind {self.kind} needs {', '.join(missing)}")
        if self.kind == "metric" and not EXPECT.match(self.expect or ""):
            raise ValueError("expect must be a comparison such as '< 0.05', '>= 1' or '== 0'")
        return self


EXPECT = re.compile(r"^\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*$")


class Promotion(_Strict):
    """When the gate may be removed for a context: the evidence a regulator can examine."""

    threshold: int = Field(default=50, ge=1, description="Clean approved runs in a row.")
    max_risk: Risk = Field(default=Risk.MEDIUM, description="Highest risk that may be promoted.")
    eval: list[str] | None = Field(
        default=None,
        description="argv of an eval suite that must pass for this pattern version first.",
    )
    signoff_role: str | None = Field(
        default=None, description="Role whose holder must sign the promotion off."
    )


class Pattern(_Strict):
    """A recovery action that can be gated, measured and, with evidence, promoted."""

    id: str = Field(pattern=PATTERN_ID)
    title: str = Field(min_length=1)
    description: str | None = None
    risk: Risk
    blast_radius: str = Field(min_length=1, description="e.g. one pod, one service, one region.")
    idempotent: bool
    executor: Literal["command", "http", "wait"]
    invocation: dict[str, Any] = Field(description="Executor params, templated with `params`.")
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    timeout: Duration | None = None
    verify: Verify
    conditions: list[str] = Field(
        default_factory=list,
        description="Incident fields (environment, service, labels.tier, ...) whose values "
        "define the context in which evidence counts.",
    )
    approvers: list[str] = Field(min_length=1, description="Roles that may approve a run.")
    min_approvals: int = Field(default=1, ge=1, le=10)
    promotion: Promotion = Field(default_factory=Promotion)

    @field_validator("timeout", mode="before")
    @classmethod
    def _duration(cls, value: object) -> float | None:
        return None if value is None else parse_duration(value)

    @field_validator("conditions")
    @classmethod
    def _known_fields(cls, value: list[str]) -> list[str]:
        for name in value:
            head = name.split(".", 1)[0]
            if head not in CONDITION_FIELDS:
                known = ", ".join(sorted(CONDITION_FIELDS))
                raise ValueError(f"unknown condition field {name!r}; use one of {known}")
        return value

    @property
    def autonomy_possible(self) -> bool:
        return self.risk not in NEVER_AUTONOMOUS and self.risk.rank <= self.promotion.max_risk.rank


CONDITION_FIELDS = frozenset({"environment", "service", "severity", "cis", "labels", "data"})
"""Incident fields a condition may name (`labels.<key>` and `data.<key>` reach inside)."""
