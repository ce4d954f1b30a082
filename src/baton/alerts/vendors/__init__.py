"""One parser per alert source, listed here and nowhere else.

Each parser is pure: `parse(body, received_at) -> Delivery`, where `body` is the decoded
JSON and `received_at` is when Baton received it. A payload that is not the source's
documented shape raises `PayloadInvalid` naming the field.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from baton.alerts.vendors import alertmanager, datadog, generic, grafana, pagerduty
from baton.domain.alert import Delivery, Source

Parser = Callable[[Any, datetime], Delivery]

PARSERS: dict[Source, Parser] = {
    "alertmanager": alertmanager.parse,
    "pagerduty": pagerduty.parse,
    "datadog": datadog.parse,
    "grafana": grafana.parse,
    "generic": generic.parse,
}


def parse(source: Source, body: Any, received_at: datetime) -> Delivery:
    """The delivery `body` carries, read as `source`'s payload."""
    return PARSERS[source](body, received_at)
