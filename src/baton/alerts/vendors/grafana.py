"""Grafana unified alerting's webhook payload (version "1") as a `Delivery`.

Shape: the webhook notifier docs ("Example JSON body") and grafana/alerting
`receivers/webhook/v1/webhook.go` (`webhookMessage`: `ExtendedData` plus version, groupKey,
truncatedAlerts, orgId, title, state, message). It is Alertmanager's shape with more fields,
so the Alertmanager models are extended rather than copied.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from baton.alerts.vendors.alertmanager import AmAlert, GroupPayload, to_alert
from baton.alerts.vendors.shape import AlertList, Text, require_object, text_or_none, validate
from baton.domain.alert import Delivery

_MAX_VALUES_KEPT = 16


class GrafanaAlert(AmAlert):
    """`ExtendedAlert`: the query values and links to the silence, dashboard and panel."""

    silenceURL: Text = ""
    dashboardURL: Text = ""
    panelURL: Text = ""
    imageURL: Text = ""
    ruleUID: Text = ""
    values: dict[Annotated[str, Field(max_length=256)], float | None] | None = None
    valueString: Text = ""


class GrafanaPayload(GroupPayload):
    """The whole POST body: Alertmanager's group fields plus Grafana's own."""

    version: Literal["1"]
    orgId: int | None = None
    title: Text = ""
    state: Text = ""  # "alerting" or "ok"
    message: Text = ""
    alerts: Annotated[list[GrafanaAlert], AlertList]


def parse(body: Any, received_at: datetime) -> Delivery:
    """A Grafana POST; `received_at` is unused (every alert carries `startsAt`)."""
    payload = validate(GrafanaPayload, require_object(body))
    alerts = [to_alert("grafana", a, payload, _extra(a, payload)) for a in payload.alerts]
    return Delivery(
        source="grafana",
        alerts=alerts,
        truncated=payload.truncatedAlerts,
        receiver=text_or_none(payload.receiver),
    )


def _extra(alert: GrafanaAlert, payload: GrafanaPayload) -> dict[str, Any]:
    """The Grafana fields worth keeping beside the alert: where to look, and what it measured."""
    extra: dict[str, Any] = {
        "orgId": payload.orgId,
        "ruleUID": alert.ruleUID,
        "dashboardURL": alert.dashboardURL,
        "panelURL": alert.panelURL,
        "silenceURL": alert.silenceURL,
        "imageURL": alert.imageURL,
    }
    if alert.values and len(alert.values) <= _MAX_VALUES_KEPT:
        extra["values"] = alert.values
    return extra
