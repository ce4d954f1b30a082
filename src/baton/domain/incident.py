"""The incident a run works on, as given in an incident file or (later) built from alerts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["critical", "high", "medium", "low", "info"]


class Incident(BaseModel):
    """What is broken, where, and since when."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$",
        description="Stable id (letters, digits, '.', '_', ':', '-'); generated when absent.",
    )
    title: str = Field(min_length=1)
    severity: Severity = "high"
    service: str | None = None
    environment: str | None = None
    team: str | None = Field(
        default=None, description="Owning team (API scoping); default: the runbook's owner."
    )
    cis: list[str] = Field(default_factory=list, description="Affected configuration items.")
    labels: dict[str, str] = Field(default_factory=dict)
    description: str | None = None
    detected_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    data: dict[str, Any] = Field(default_factory=dict, description="Free-form extra fields.")
