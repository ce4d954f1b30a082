"""Prometheus Alertmanager's webhook payload (version "4") as a `Delivery`.

Shape: `notify/webhook/webhook.go` (`Message`: `template.Data` plus version, groupKey,
truncatedAlerts) and the `webhook_config` section of the Alertmanager configuration docs.
Grafana's webhook extends this shape, so `grafana` reuses these models and `to_alert`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from baton.alerts.vendors.shape import (
    AlertList,
    Labels,
    Text,
    Time,
    digest,
    fingerprint_key,
    group_key,
    name_of,
    require_object,
    text_or_none,
    validate,
)
from baton.domain.alert import Alert, Delivery, Source, severity_of

AlertStatus = Literal["firing", "resolved"]


class AmAlert(BaseModel):
    """One alert of the group (`template.Alert`)."""

    model_config = ConfigDict(extra="ignore")

    status: AlertStatus
    labels: Labels
    annotations: Labels = Field(default_factory=dict)
    startsAt: Time
    endsAt: Time | None = None
    generatorURL: Text = ""
    fingerprint: Text = ""


class GroupPayload(BaseModel):
    """The fields Alertmanager and Grafana share; vendors add fields over time: ignored."""

    model_config = ConfigDict(extra="ignore")

    groupKey: Text
    truncatedAlerts: int = Field(default=0, ge=0)  # older Alertmanagers omit it
    status: AlertStatus
    receiver: Text = ""
    groupLabels: Labels = Field(default_factory=dict)
    commonLabels: Labels = Field(default_factory=dict)
    commonAnnotations: Labels = Field(default_factory=dict)
    externalURL: Text = ""


class AmPayload(GroupPayload):
    """The whole POST body."""

    version: Literal["4"]
    alerts: Annotated[list[AmAlert], AlertList]


def parse(body: Any, received_at: datetime) -> Delivery:
    """An Alertmanager POST; `received_at` is unused (every alert carries `startsAt`)."""
    payload = validate(AmPayload, require_object(body))
    alerts = [to_alert("alertmanager", a, payload) for a in payload.alerts]
    return Delivery(
        source="alertmanager",
        alerts=alerts,
        truncated=payload.truncatedAlerts,
        receiver=text_or_none(payload.receiver),
    )


def to_alert(
    source: Source, alert: AmAlert, payload: GroupPayload, extra: dict[str, Any] | None = None
) -> Alert:
    """One `Alert`; `endsAt` counts only once resolved (while firing it is an expiry guess).

    Without a fingerprint (older Alertmanagers omit it) the alert is identified by its labels,
    which is what Alertmanager's own fingerprint hashes.
    """
    fingerprint = alert.fingerprint.strip() or digest(alert.labels)
    ends_at = alert.endsAt if alert.status == "resolved" else None
    if ends_at is not None and ends_at.year == 1:  # Go's zero time: "not set"
        ends_at = None
    raw: dict[str, Any] = {"receiver": payload.receiver, "externalURL": payload.externalURL}
    raw.update(extra or {})
    return Alert(
        source=source,
        status=alert.status,
        fingerprint=fingerprint_key(fingerprint),
        group_key=group_key(payload.groupKey.strip() or fingerprint),
        name=name_of(alert.labels.get("alertname"), f"alert {fingerprint[:16]}"),
        severity=severity_of(alert.labels.get("severity")),
        starts_at=alert.startsAt,
        ends_at=ends_at,
        labels=alert.labels,
        annotations=alert.annotations,
        summary=text_or_none(alert.annotations.get("summary")),
        description=text_or_none(alert.annotations.get("description")),
        url=text_or_none(alert.generatorURL),
        raw={k: v for k, v in raw.items() if v not in ("", None)},
    )
