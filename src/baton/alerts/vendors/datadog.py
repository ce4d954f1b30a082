"""Datadog's webhook payload (the default template, plus common variables) as a `Delivery`.

Datadog's payload is whatever template the user wrote. We build to the default template
(`body`, `last_updated`, `event_type`, `title`, `date`, `org {id, name}`, `id`) and use these
variables when the template adds them under these names: `alert_id`, `alert_transition`,
`aggreg_key`, `alert_type`, `alert_priority`, `priority`, `tags`, `hostname` / `host_name`,
`alert_scope`, `alert_status`, `alert_metric`, `link`. Variables are listed in the Datadog
Webhooks integration docs; `$DATE` is epoch milliseconds (e.g. 1406662672000).

One POST is one alert. Rules:
- status: `alert_transition` decides when present (`Recovered` is resolved, anything else --
  Triggered, Re-Triggered, Warn, No Data, Renotify -- is firing); without it, a title that
  starts with `[Recovered]` or `[Recovered on {...}]` is resolved.
- fingerprint: `aggreg_key`; else the monitor (`alert_id`) and scope; else the org, the title
  without its status prefix, and the scope. group_key: the monitor, else the fingerprint.
- starts_at is `date`, the event time: Datadog does not send when the episode began.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from baton.alerts.vendors.shape import (
    MAX_KEY,
    EpochMillis,
    Id,
    Text,
    digest,
    fingerprint_key,
    group_key,
    name_of,
    require_object,
    text_or_none,
    validate,
)
from baton.domain.alert import Alert, Delivery, severity_of
from baton.domain.incident import Severity
from baton.errors import PayloadInvalid


class Org(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: Id | None = None
    name: Text | None = None


class DatadogPayload(BaseModel):
    """The default template's fields, then the optional variables we use."""

    model_config = ConfigDict(extra="ignore")

    body: Text | None = None
    event_type: Text | None = None
    title: Text
    date: EpochMillis
    org: Org | None = None
    id: Id | None = None
    alert_id: Id | None = None
    alert_transition: Text | None = None
    aggreg_key: Id | None = None
    alert_type: Text | None = None
    alert_priority: Text | None = None
    priority: Text | None = None
    alert_title: Text | None = None
    alert_status: Text | None = None
    alert_metric: Text | None = None
    alert_scope: Text | None = None
    tags: Text | None = None
    hostname: Text | None = None
    host_name: Text | None = None
    link: Text | None = None


_PREFIX = re.compile(r"\[([^\[\]]{1,1000})\]\s*")
_TRANSITION = re.compile(
    r"(?:Re-)?(Triggered|Recovered|Warn|No Data|Renotify)(?: on (\{.*\}))?", re.IGNORECASE
)
_PRIORITY = re.compile(r"P[1-5]", re.IGNORECASE)


def parse(body: Any, received_at: datetime) -> Delivery:
    """A Datadog POST; `received_at` is unused (`date` says when the event happened)."""
    p = validate(DatadogPayload, require_object(body))
    transition, title_priority, title_scope, name = _split_title(p.alert_title or p.title)
    given = text_or_none(p.alert_transition)
    resolved = given.lower() == "recovered" if given else transition == "recovered"
    scope = text_or_none(p.alert_scope) or title_scope or ""
    monitor = text_or_none(p.alert_id)
    org_id = p.org.id if p.org else None
    fingerprint = text_or_none(p.aggreg_key) or (
        digest("datadog", monitor, scope) if monitor else digest("datadog", org_id, name, scope)
    )
    labels = _tags(p.tags, "tags") | _tags(p.alert_scope, "alert_scope")
    host = text_or_none(p.hostname) or text_or_none(p.host_name)
    if host:
        labels.setdefault("host", host)
    annotations = {"alert_status": p.alert_status, "alert_metric": p.alert_metric}
    raw = {
        "event_type": p.event_type,
        "alert_transition": given,
        "alert_id": monitor,
        "aggreg_key": p.aggreg_key,
        "org_id": org_id,
    }
    alert = Alert(
        source="datadog",
        status="resolved" if resolved else "firing",
        fingerprint=fingerprint_key(fingerprint),
        group_key=group_key(monitor or fingerprint),
        name=name_of(name, "Datadog alert"),
        severity=_severity(p, title_priority, given or transition),
        starts_at=p.date,
        ends_at=p.date if resolved else None,
        labels=labels,
        annotations={k: v for k, v in annotations.items() if v and v.strip()},
        summary=text_or_none(p.alert_status),
        description=text_or_none(p.body),
        url=text_or_none(p.link),
        event_id=text_or_none(p.id),
        raw={k: v for k, v in raw.items() if text_or_none(v)},
    )
    return Delivery(source="datadog", alerts=[alert])


def _split_title(title: str) -> tuple[str | None, str | None, str | None, str]:
    """`[P1] [Triggered on {host:a}] Disk full` -> ("triggered", "P1", "{host:a}", "Disk full")."""
    transition = priority = scope = None
    rest = title.strip()
    for _ in range(3):
        match = _PREFIX.match(rest)
        if match is None:
            break
        inner = match.group(1).strip()
        if _PRIORITY.fullmatch(inner):
            priority = inner.upper()
        elif found := _TRANSITION.fullmatch(inner):
            transition, scope = found.group(1).lower(), found.group(2)
        else:
            break
        rest = rest[match.end() :]
    return transition, priority, scope, rest.strip() or title.strip()


def _tags(text: str | None, field: str) -> dict[str, str]:
    """`"env:prod, role:db, canary"` -> labels; a repeated key keeps every value, comma-joined."""
    labels: dict[str, str] = {}
    for tag in (text or "").split(","):
        key, _, value = tag.strip().partition(":")
        key = key.strip()
        if not key:
            continue
        if len(key) > MAX_KEY:
            raise PayloadInvalid(field, f"expected tag names of at most {MAX_KEY} characters")
        labels[key] = f"{labels[key]},{value}" if key in labels else value
    return labels


def _severity(p: DatadogPayload, title_priority: str | None, transition: str | None) -> Severity:
    """Monitor priority (P1-P5) first, then the alert type; a Warn is medium; default high."""
    priority = p.priority if p.priority and _PRIORITY.fullmatch(p.priority.strip()) else None
    for word in (p.alert_priority, priority, title_priority, p.alert_type):
        if word and severity_of(word, "info") == severity_of(word, "critical"):
            return severity_of(word)
    if transition and transition.lower().endswith("warn"):
        return "medium"
    return "high"
