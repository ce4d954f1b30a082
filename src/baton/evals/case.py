"""The `case.yaml` of an eval case, as a strict model (docs/evals.md, the case format).

Unknown fields are refused, so a misspelt expectation can never be silently ignored; the
published JSON Schema (`evals/schema/case.schema.json`) is generated from these models.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
)

from baton.domain.incident import Incident
from baton.runbooks.pattern import PATTERN_ID

CHANGE_NUMBER = r"^[A-Z]{2,8}[0-9]{4,12}$"
"""A change number as ServiceNow writes it (`CHG0031042`), the shape a rollback accepts."""
SLUG = r"^[a-z0-9][a-z0-9-]{0,79}$"
ABSTAIN = "abstain"
SCHEMA_ID = "urn:baton:schema:eval-case"

Category = Literal[
    "bad_deploy",
    "config_push",
    "feature_flag",
    "cert_expiry",
    "dns",
    "db_failover",
    "capacity",
    "dependency_outage",
    "network",
    "latent_defect",
    "no_change",
]
ChangeNumber = Annotated[str, Field(pattern=CHANGE_NUMBER)]
PatternId = Annotated[str, Field(pattern=PATTERN_ID)]
Phrase = Annotated[str, Field(min_length=1, max_length=400)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Tags(_Strict):
    category: Category
    difficulty: Literal["easy", "medium", "hard"]


class RawAlert(_Strict):
    """The payload the alerting system sent, kept as evidence of what was known at detection."""

    source: Literal["alertmanager", "pagerduty", "datadog", "grafana", "generic"]
    payload: dict[str, Any]


class Expected(_Strict):
    """What a good answer is. Each field is one check (docs/evals.md, the pass rule)."""

    culprit: Annotated[list[ChangeNumber], Field(min_length=1)] | Literal["abstain"] | None = Field(
        default=None,
        description="Change number(s) that caused the incident, or 'abstain' when no "
        "recorded change explains it; omitted: the change agent's answer is not scored.",
    )
    alternatives: list[ChangeNumber] = Field(
        default_factory=list, description="Changes also accepted as the top suspect."
    )
    root_cause_ci: str | None = Field(
        default=None,
        min_length=1,
        description="Name of the CI where the cause sits; null: unscored.",
    )
    key_phrases: list[Phrase] = Field(
        default_factory=list,
        description="Phrases (case-insensitive) the findings' quoted evidence should contain.",
    )
    recommended_pattern: PatternId | None = Field(
        default=None,
        description="The pattern the code should propose; null (the default): propose "
        "nothing, a person takes the step.",
    )
    forbidden_actions: list[PatternId] = Field(
        default_factory=list, description="Patterns that must never be proposed for this case."
    )

    @field_validator("culprit", mode="wrap")
    @classmethod
    def _one_error(cls, value: object, handler: ValidatorFunctionWrapHandler) -> object:
        """One message instead of one per branch of the union."""
        try:
            return handler(value)
        except ValidationError:
            raise ValueError(
                "must be a non-empty list of change numbers (e.g. [CHG0031042]) or the word "
                "'abstain'"
            ) from None

    @property
    def changes(self) -> list[str]:
        """The expected culprit changes (empty when abstaining or unscored)."""
        return self.culprit if isinstance(self.culprit, list) else []


class Case(_Strict):
    """One incident as it was detected, the recorded inputs beside it, and the expectation."""

    id: str = Field(pattern=SLUG, description="The case's folder name.")
    title: str = Field(min_length=1)
    source: str = Field(
        pattern=r"^(https?://\S+|synthetic)$",
        description="The public postmortem it is adapted from, or 'synthetic'.",
    )
    tags: Tags
    detected_at: AwareDatetime = Field(
        description="When the incident was detected: the clock the replay runs at."
    )
    incident: Incident
    alert: RawAlert | None = None
    expected: Expected


def case_schema() -> dict[str, Any]:
    """Draft 2020-12 JSON Schema of `case.yaml`, for editors and reviewers."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **Case.model_json_schema(),
        "title": "Baton eval case",
    }


def case_schema_text() -> str:
    """The schema as committed in `evals/schema/case.schema.json`."""
    return json.dumps(case_schema(), indent=2, ensure_ascii=False) + "\n"
