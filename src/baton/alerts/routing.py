"""Which runbook an alert starts: the runbooks' own `triggers` (source, matchers, severity).

Runbooks are read once from a directory (`BATON_RUNBOOKS_DIR`) when the server starts; a
runbook that does not validate routes nothing and is reported, never half-used. The first
runbook by file name whose trigger holds wins.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from baton.domain.alert import Alert
from baton.errors import BatonError
from baton.runbooks.catalog import Catalog
from baton.runbooks.loader import LoadedRunbook, load_runbook
from baton.runbooks.model import Trigger


def alert_fields(alert: Alert) -> dict[str, str]:
    """What a trigger's `match` can name: the alert's labels, its name and its severity."""
    return {
        **alert.labels,
        "alertname": alert.labels.get("alertname", alert.name),
        "name": alert.name,
        "severity": alert.severity,
    }


def holds(trigger: Trigger, alert: Alert) -> bool:
    if trigger.source != alert.source:
        return False
    if trigger.severity and alert.severity not in trigger.severity:
        return False
    fields = alert_fields(alert)
    return all(fields.get(key) == value for key, value in trigger.match.items())


@dataclass(frozen=True)
class Routes:
    all: list[LoadedRunbook] = field(default_factory=list)
    """Every runbook that loaded (a person may start any of them by hand)."""
    problems: list[str] = field(default_factory=list)
    """Runbooks that could not be loaded, one line each (shown by /readyz and the log)."""

    def route(self, alert: Alert) -> LoadedRunbook | None:
        for loaded in self.all:
            if any(holds(t, alert) for t in loaded.runbook.triggers):
                return loaded
        return None


def load_routes(directory: Path, catalog: Catalog) -> Routes:
    files = sorted(directory.glob("*.yaml")) + sorted(directory.glob("*.yml"))
    runbooks: list[LoadedRunbook] = []
    problems: list[str] = []
    for file in files:
        try:
            loaded = load_runbook(file, catalog)
        except BatonError as exc:
            problems.append(f"{file}: {exc.message.splitlines()[0]}")
            continue
        runbooks.append(loaded)
    return Routes(runbooks, problems)
