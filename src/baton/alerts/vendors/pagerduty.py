"""PagerDuty Webhooks v3 payloads as a `Delivery`.

Shape: PagerDuty developer docs, "Webhooks v3 Overview" (`{"event": {id, event_type,
resource_type, occurred_at, agent, client, data}}`, `data` an `incident` for incident events).
One payload is one event about one incident. Only events that move the incident between
open and resolved make an alert; every other event type (notes, escalations, responders,
priority changes, services, pings) is a valid delivery with no alerts.

- `incident.triggered`: firing, from the incident's `created_at`.
- `incident.acknowledged` / `incident.unacknowledged`: firing, same `created_at`, so the same
  instance: a person acknowledging does not end the problem, and it is not a new episode.
- `incident.reopened`: firing from `occurred_at`: a new episode of a resolved incident.
- `incident.resolved`: resolved, ending at `occurred_at`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from baton.alerts.vendors.shape import (
    Id,
    Text,
    Time,
    fingerprint_key,
    group_key,
    name_of,
    require_object,
    text_or_none,
    validate,
)
from baton.domain.alert import Alert, AlertStatus, Delivery, severity_of

_STATUS: dict[str, AlertStatus] = {
    "incident.triggered": "firing",
    "incident.reopened": "firing",
    "incident.acknowledged": "firing",
    "incident.unacknowledged": "firing",
    "incident.resolved": "resolved",
}


class Ref(BaseModel):
    """A `*_reference` object (service, team, priority, escalation policy, user)."""

    model_config = ConfigDict(extra="ignore")

    id: Id
    summary: Text | None = None


class Incident(BaseModel):
    """`event.data` when `data.type` is `incident`."""

    model_config = ConfigDict(extra="ignore")

    id: Id = Field(min_length=1)
    type: Literal["incident"]
    html_url: Text | None = None
    number: int | None = None
    status: Text = ""
    incident_key: Text | None = None
    created_at: Time
    title: Text
    service: Ref | None = None
    escalation_policy: Ref | None = None
    teams: list[Ref] = Field(default_factory=list, max_length=100)
    priority: Ref | None = None
    urgency: Text | None = None


class Event(BaseModel):
    """`event`: what happened; `data` is checked only once the event type is known."""

    model_config = ConfigDict(extra="ignore")

    id: Id = Field(min_length=1)
    event_type: Text
    resource_type: Text
    occurred_at: Time
    data: Any = None


class Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore")

    event: Event


def parse(body: Any, received_at: datetime) -> Delivery:
    """A PagerDuty v3 POST; `received_at` is unused (events carry `occurred_at`)."""
    event = validate(Envelope, require_object(body)).event
    status = _STATUS.get(event.event_type)
    if status is None or event.resource_type != "incident":
        return Delivery(source="pagerduty", alerts=[])
    incident = validate(Incident, event.data, where="event.data")
    return Delivery(source="pagerduty", alerts=[_alert(event, incident, status)])


def _alert(event: Event, incident: Incident, status: AlertStatus) -> Alert:
    priority = incident.priority.summary if incident.priority else None
    labels = {
        "service": incident.service.summary if incident.service else None,
        "service_id": incident.service.id if incident.service else None,
        "urgency": incident.urgency,
        "priority": priority,
        "escalation_policy": (
            incident.escalation_policy.summary if incident.escalation_policy else None
        ),
        "teams": ",".join(t.summary or t.id for t in incident.teams) or None,
        "pd_status": incident.status,
    }
    reopened = event.event_type == "incident.reopened"
    return Alert(
        source="pagerduty",
        status=status,
        fingerprint=fingerprint_key(incident.id),
        group_key=group_key(text_or_none(incident.incident_key) or incident.id),
        name=name_of(incident.title, f"PagerDuty incident {incident.id}"),
        severity=severity_of(priority, default=severity_of(incident.urgency)),
        starts_at=event.occurred_at if reopened else incident.created_at,
        ends_at=event.occurred_at if status == "resolved" else None,
        labels={k: v for k, v in labels.items() if v},
        summary=text_or_none(incident.title),
        url=text_or_none(incident.html_url),
        event_id=event.id,
        raw={
            k: v
            for k, v in {
                "event_type": event.event_type,
                "incident_number": incident.number,
                "incident_key": incident.incident_key,
            }.items()
            if v is not None
        },
    )
