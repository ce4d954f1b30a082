"""One alert, whatever sent it: the shape every webhook payload is normalised to.

A delivery (one POST) carries one or more alerts. Each has a `fingerprint` (the same alert
across deliveries), a `group_key` (alerts the sender groups into one notification: they
become one incident) and an `instance` (one firing episode of the alert: its fingerprint
and start time), which is what makes a redelivery recognisable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from baton.domain.incident import Severity

Source = Literal["alertmanager", "pagerduty", "datadog", "grafana", "generic"]
SOURCES: tuple[Source, ...] = ("alertmanager", "pagerduty", "datadog", "grafana", "generic")
AlertStatus = Literal["firing", "resolved"]

_SEVERITY_WORDS: dict[str, Severity] = {
    "critical": "critical",
    "crit": "critical",
    "page": "critical",
    "fatal": "critical",
    "emergency": "critical",
    "p1": "critical",
    "sev1": "critical",
    "sev-1": "critical",
    "high": "high",
    "error": "high",
    "major": "high",
    "p2": "high",
    "sev2": "high",
    "sev-2": "high",
    "medium": "medium",
    "warning": "medium",
    "warn": "medium",
    "minor": "medium",
    "p3": "medium",
    "sev3": "medium",
    "sev-3": "medium",
    "low": "low",
    "p4": "low",
    "sev4": "low",
    "sev-4": "low",
    "info": "info",
    "informational": "info",
    "none": "info",
    "ok": "info",
    "p5": "info",
    "sev5": "info",
}
SEVERITY_RANK: dict[str, int] = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}


def severity_of(word: str | None, default: Severity = "high") -> Severity:
    """A vendor's severity or priority word as one of ours; unknown or absent → `default`."""
    if not word:
        return default
    return _SEVERITY_WORDS.get(word.strip().lower(), default)


class Alert(BaseModel):
    """One alert of one delivery, normalised. Text fields are the sender's, i.e. hostile."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Source
    status: AlertStatus
    fingerprint: str = Field(min_length=1, max_length=256)
    group_key: str = Field(min_length=1, max_length=1024)
    name: str = Field(min_length=1, max_length=512, description="alertname or title")
    severity: Severity
    starts_at: datetime
    ends_at: datetime | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    summary: str | None = None
    description: str | None = None
    url: str | None = Field(default=None, description="generatorURL / html_url / link")
    event_id: str | None = Field(default=None, description="The sender's id of this event.")
    raw: dict[str, Any] = Field(
        default_factory=dict, description="The vendor fields worth keeping (small, as sent)."
    )

    @property
    def instance(self) -> str:
        """One firing episode: a redelivery of it has the same instance, a new one does not."""
        return f"{self.fingerprint}@{self.starts_at.isoformat()}"


class Delivery(BaseModel):
    """What one webhook POST carried, after parsing; `truncated` alerts were not sent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Source
    alerts: list[Alert]
    truncated: int = 0
    receiver: str | None = None
