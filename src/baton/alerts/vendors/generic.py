"""Baton's own alert JSON, for senders without a vendor format (scripts, CI, other tools).

Either one alert object or `{"alerts": [...]}`. An alert object:

    title        required
    status       "firing" (default) or "resolved"
    fingerprint  default: SHA-256 of the title and the (final, sorted) labels
    group        default: the fingerprint
    severity     a severity word (critical, high, medium, low, info, p1..p5, warning, ...)
    service, environment   copied into labels (they win over labels of the same name)
    labels, annotations    {string: string}
    description, url
    starts_at    RFC 3339; default: when Baton received it

It is our format, so it is strict: an unknown field is an error, not silently ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from baton.alerts.vendors.shape import (
    AlertList,
    Labels,
    Text,
    Time,
    describe,
    digest,
    name_of,
    require_object,
    validate,
)
from baton.domain.alert import Alert, Delivery, severity_of


class GenericAlert(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Text = Field(min_length=1)
    status: Literal["firing", "resolved"] = "firing"
    fingerprint: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    group: Annotated[str, StringConstraints(min_length=1, max_length=1024)] | None = None
    severity: Text | None = None
    service: Text | None = None
    environment: Text | None = None
    labels: Labels = Field(default_factory=dict)
    annotations: Labels = Field(default_factory=dict)
    description: Text | None = None
    starts_at: Time | None = None
    url: Text | None = None

    @field_validator("severity")
    @classmethod
    def _known_severity(cls, word: str | None) -> str | None:
        """Our own format: a typo like "critcal" is an error, not a silent "high"."""
        if word is not None and severity_of(word, "info") != severity_of(word, "critical"):
            raise ValueError(
                "expected a severity word such as critical, high, medium, low or info, "
                f"got {describe(word)}"
            )
        return word


class GenericBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    alerts: Annotated[list[GenericAlert], AlertList]


def parse(body: Any, received_at: datetime) -> Delivery:
    """One alert object or a batch; `received_at` is the default start time."""
    data = require_object(body)
    if "alerts" in data:
        alerts = validate(GenericBatch, data).alerts
    else:
        alerts = [validate(GenericAlert, data)]
    return Delivery(source="generic", alerts=[_alert(a, received_at) for a in alerts])


def _alert(a: GenericAlert, received_at: datetime) -> Alert:
    labels = dict(a.labels)
    if a.service:
        labels["service"] = a.service
    if a.environment:
        labels["environment"] = a.environment
    fingerprint = a.fingerprint or digest(a.title, labels)
    return Alert(
        source="generic",
        status=a.status,
        fingerprint=fingerprint,
        group_key=a.group or fingerprint,
        name=name_of(a.title, "alert"),
        severity=severity_of(a.severity or labels.get("severity")),
        starts_at=a.starts_at or received_at,
        labels=labels,
        annotations=a.annotations,
        summary=a.annotations.get("summary"),
        description=a.description,
        url=a.url,
    )
