"""Incidents as the API and inbox see them: team, lifecycle and the MTTA/MTTM/MTTR clocks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baton.domain.status import RunStatus
from baton.errors import Conflict, NotFound
from baton.store import audit, sql
from baton.store.models import (
    DecisionRow,
    IncidentRow,
    IncidentStateRow,
    PatternRunRow,
    PendingItemRow,
    RunRow,
    utcnow,
)


def save_state(
    session: sql.Tx,
    *,
    incident_id: str,
    team: str | None,
    source: str | None,
    detected_at: datetime,
) -> None:
    """The incident's lifecycle row, written once with the incident (a second run reuses it)."""
    conn = sql.connection(session)
    sql.execute(
        conn,
        "INSERT INTO incident_states (incident_id, team, source, status, detected_at, opened_at)"
        " VALUES (:id, :team, :source, 'open', :detected, :now) ON CONFLICT (incident_id)"
        " DO NOTHING",
        {
            "id": incident_id,
            "team": team,
            "source": source,
            "detected": sql.when(conn, detected_at),
            "now": sql.when(conn, utcnow()),
        },
    )


def team_of_run(session: Session, *, run_id: str) -> str | None:
    query = (
        select(IncidentStateRow.team)
        .join(RunRow, RunRow.incident_id == IncidentStateRow.incident_id)
        .where(RunRow.id == run_id)
    )
    return session.scalar(query)


def team_of_incident(session: Session, *, incident_id: str) -> str | None:
    return session.scalar(
        select(IncidentStateRow.team).where(IncidentStateRow.incident_id == incident_id)
    )


def _scoped(query: object, teams: frozenset[str] | None) -> object:
    if teams is None:
        return query
    return query.where(IncidentStateRow.team.in_(sorted(teams)))  # type: ignore[attr-defined]


def list_incidents(
    session: Session,
    *,
    teams: frozenset[str] | None,
    status: str | None = None,
    before: str | None = None,
    limit: int = 50,
) -> list[tuple[IncidentRow, IncidentStateRow]]:
    """Newest first; `before` is the id of the last incident of the previous page."""
    query = (
        select(IncidentRow, IncidentStateRow)
        .join(IncidentStateRow, IncidentStateRow.incident_id == IncidentRow.id)
        .order_by(IncidentRow.created_at.desc(), IncidentRow.id.desc())
        .limit(limit)
    )
    query = _scoped(query, teams)  # type: ignore[assignment]
    if status:
        query = query.where(IncidentStateRow.status == status)
    if before:
        anchor = session.get(IncidentRow, before)
        if anchor is None:
            raise NotFound(f"no incident {before!r} to page from")
        query = query.where(
            (IncidentRow.created_at < anchor.created_at)
            | ((IncidentRow.created_at == anchor.created_at) & (IncidentRow.id < anchor.id))
        )
    return [(row[0], row[1]) for row in session.execute(query)]


def get(session: Session, *, incident_id: str) -> tuple[IncidentRow, IncidentStateRow]:
    incident = session.get(IncidentRow, incident_id)
    state = session.get(IncidentStateRow, incident_id)
    if incident is None or state is None:
        raise NotFound(f"no incident {incident_id!r}")
    return incident, state


def runs_of(session: Session, *, incident_id: str) -> list[RunRow]:
    query = select(RunRow).where(RunRow.incident_id == incident_id).order_by(RunRow.created_at)
    return list(session.scalars(query))


def resolve(session: Session, *, incident_id: str, by: str, reason: str) -> None:
    """Mark the incident resolved (audited); resolving twice is a conflict."""
    _, state = get(session, incident_id=incident_id)
    if state.status == "resolved":
        raise Conflict(f"incident {incident_id} is already resolved")
    state.status = "resolved"
    state.resolved_at = utcnow()
    state.resolved_by = by
    audit.append(
        session,
        actor=by,
        kind="incident_resolved",
        payload={"reason": reason},
        incident=incident_id,
    )


@dataclass(frozen=True)
class Clocks:
    """Seconds from detection to the first human answer, to mitigation, to resolution."""

    detected_at: datetime
    acknowledged_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    human_actions: int

    def since(self, at: datetime | None) -> float | None:
        return None if at is None else max(0.0, (at - self.detected_at).total_seconds())

    @property
    def tta(self) -> float | None:
        return self.since(self.acknowledged_at)

    @property
    def ttm(self) -> float | None:
        return self.since(self.mitigated_at)

    @property
    def ttr(self) -> float | None:
        return self.since(self.resolved_at)


def clocks(session: Session, *, incident_id: str) -> Clocks:
    """Acknowledged: a person's first answer on any of its runs. Mitigated: the first pattern
    action that ran and verified clean, else the first run that succeeded. Resolved: the
    incident's own resolution (alerts resolved, or a person)."""
    _, state = get(session, incident_id=incident_id)
    run_ids = select(RunRow.id).where(RunRow.incident_id == incident_id)
    item_ids = select(PendingItemRow.id).where(PendingItemRow.run_id.in_(run_ids))
    first_answer, answers = session.execute(
        select(func.min(DecisionRow.at), func.count(DecisionRow.id)).where(
            DecisionRow.item_id.in_(item_ids)
        )
    ).one()
    mitigated = session.scalar(
        select(func.min(PatternRunRow.at)).where(
            PatternRunRow.incident_id == incident_id, PatternRunRow.outcome == "clean"
        )
    ) or session.scalar(
        select(func.min(RunRow.finished_at)).where(
            RunRow.incident_id == incident_id, RunRow.status == RunStatus.SUCCEEDED.value
        )
    )
    return Clocks(
        detected_at=state.detected_at,
        acknowledged_at=first_answer,
        mitigated_at=mitigated,
        resolved_at=state.resolved_at,
        human_actions=int(answers or 0),
    )
