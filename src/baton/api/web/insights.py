"""The metrics page's figures: MTTA, MTTM, MTTR and automation rate per day."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from baton.store import incidents as incident_store
from baton.store.db import Database
from baton.store.incidents import Clocks


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} days"


def ago(iso: str | None) -> str:
    """How long ago an ISO time was, in words ("4 min ago"); "" when there is none."""
    if not iso:
        return ""
    then = datetime.fromisoformat(iso)
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    return f"{duration(max(0.0, (datetime.now(UTC) - then).total_seconds()))} ago"


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


@dataclass
class Day:
    label: str
    clocks: list[Clocks] = field(default_factory=list)

    def minutes(self, which: str) -> float | None:
        found = [v for c in self.clocks if (v := getattr(c, which)) is not None]
        mean = _mean(found)
        return None if mean is None else mean / 60

    @property
    def automation(self) -> float | None:
        mitigated = [c for c in self.clocks if c.mitigated_at is not None]
        if not mitigated:
            return None
        return 100 * sum(c.human_actions == 0 for c in mitigated) / len(mitigated)


@dataclass
class Summary:
    days: list[Day]
    incidents: int
    tta: float | None
    ttm: float | None
    ttr: float | None
    automation: float | None

    def series(self, which: str) -> list[tuple[str, float | None]]:
        if which == "automation":
            return [(d.label, d.automation) for d in self.days]
        return [(d.label, d.minutes(which)) for d in self.days]


def summarise(db: Database, teams: frozenset[str] | None, *, days: int) -> Summary:
    """Incidents detected in the last `days` days (the caller's teams), grouped by day."""
    today = datetime.now(UTC).date()
    buckets = [Day((today - timedelta(days=n)).strftime("%m-%d")) for n in reversed(range(days))]
    index = {d.label: d for d in buckets}
    every: list[Clocks] = []
    since = datetime.now(UTC) - timedelta(days=days)
    with db.read() as session:
        rows = incident_store.list_incidents(session, teams=teams, limit=5000)
        for incident, state in rows:
            if state.detected_at < since:
                continue
            clocks = incident_store.clocks(session, incident_id=incident.id)
            every.append(clocks)
            day = index.get(state.detected_at.strftime("%m-%d"))
            if day is not None:
                day.clocks.append(clocks)
    whole = Day("all", every)
    return Summary(
        buckets,
        len(every),
        _mean([c.tta for c in every if c.tta is not None]),
        _mean([c.ttm for c in every if c.ttm is not None]),
        _mean([c.ttr for c in every if c.ttr is not None]),
        whole.automation,
    )
