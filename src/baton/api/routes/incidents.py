"""Incidents: list, one incident with its runs, alerts and clocks, declare, resolve."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from baton.api.deps import (
    CallerDep,
    Resolver,
    Services,
    ServicesDep,
    Starter,
    visible_incident,
)
from baton.api.schemas import IncidentIn, ReasonIn
from baton.errors import Conflict, Forbidden, InputError, NotFound
from baton.store import incidents as incident_store
from baton.store import runs as run_store
from baton.store.models import AlertInstanceRow, IncidentRow, IncidentStateRow
from baton.store.shapes import iso, run_json

router = APIRouter(prefix="/v1/incidents", tags=["incidents"])


def incident_json(row: IncidentRow, state: IncidentStateRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "title": row.title,
        "severity": row.severity,
        "service": row.service,
        "team": state.team,
        "source": state.source,
        "status": state.status,
        "detected_at": iso(state.detected_at),
        "opened_at": iso(state.opened_at),
        "resolved_at": iso(state.resolved_at),
        "resolved_by": state.resolved_by,
        "body": row.body,
    }


def incident_detail(svc: Services, incident_id: str) -> dict[str, Any]:
    with svc.runtime.db.read() as session:
        row, state = incident_store.get(session, incident_id=incident_id)
        clocks = incident_store.clocks(session, incident_id=incident_id)
        runs = incident_store.runs_of(session, incident_id=incident_id)
        alerts = session.scalars(
            select(AlertInstanceRow)
            .where(AlertInstanceRow.incident_id == incident_id)
            .order_by(AlertInstanceRow.first_seen)
        ).all()
        return incident_json(row, state) | {
            "runs": [run_json(r) for r in runs],
            "alerts": [
                {
                    "source": a.source,
                    "name": a.name,
                    "fingerprint": a.fingerprint,
                    "status": a.status,
                    "severity": a.severity,
                    "outcome": a.outcome,
                    "deliveries": a.deliveries,
                    "first_seen": iso(a.first_seen),
                    "resolved_at": iso(a.resolved_at),
                }
                for a in alerts
            ],
            "clocks": {
                "acknowledged_at": iso(clocks.acknowledged_at),
                "mitigated_at": iso(clocks.mitigated_at),
                "time_to_acknowledge_seconds": clocks.tta,
                "time_to_mitigate_seconds": clocks.ttm,
                "time_to_resolve_seconds": clocks.ttr,
                "human_actions": clocks.human_actions,
            },
        }


@router.get("", summary="Incidents, newest first (cursor pagination)")
def list_incidents(
    svc: ServicesDep,
    who: CallerDep,
    status: str | None = Query(None, description="open or resolved"),
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=500),
) -> dict[str, Any]:
    if status is not None and status not in ("open", "resolved"):
        raise InputError("status: use open or resolved")
    if cursor:  # another team's incident is no anchor either (the same 404 as an unknown id)
        try:
            visible_incident(svc, who, cursor)
        except NotFound:
            raise NotFound(f"cursor: no incident {cursor!r}") from None
    with svc.runtime.db.read() as session:
        rows = incident_store.list_incidents(
            session, teams=who.teams, status=status, before=cursor, limit=limit + 1
        )
    page = rows[:limit]
    return {
        "items": [incident_json(r, s) for r, s in page],
        "next_cursor": page[-1][0].id if len(rows) > limit and page else None,
    }


@router.get("/{incident_id}", summary="One incident: runs, alerts, MTTA/MTTM/MTTR clocks")
def get_incident(incident_id: str, svc: ServicesDep, who: CallerDep) -> dict[str, Any]:
    visible_incident(svc, who, incident_id)
    return incident_detail(svc, incident_id)


@router.post("", status_code=201, summary="Declare an incident and start a runbook on it")
def declare(body: IncidentIn, svc: ServicesDep, who: Starter) -> dict[str, Any]:
    routes = svc.intake.routes
    loaded = next((r for r in routes.all if r.runbook.id == body.runbook), None)
    if loaded is None:
        raise NotFound(f"runbook: no runbook {body.runbook!r} in the routing directory")
    incident = body.incident
    team: str | None = incident.team or loaded.runbook.owner
    if incident.id is not None:
        with svc.runtime.db.read() as session:
            existing = session.get(IncidentStateRow, incident.id)
        if existing is not None:  # a second run on it: the incident's own team decides
            if not who.sees(existing.team):
                raise Conflict(f"incident id {incident.id!r} is taken; leave `id` out")
            team = existing.team
    if not who.sees(team):
        raise Forbidden(f"{who.user} cannot open incidents for team {team}")
    run_id = svc.runtime.runner.create(loaded, incident, requested_by=who.actor, inputs=body.inputs)
    svc.worker.submit(run_id)
    with svc.runtime.db.read() as session:
        run = run_store.get_run(session, run_id=run_id)
    return {"incident_id": run.incident_id, "run_id": run_id}


@router.post("/{incident_id}/resolve", summary="Mark the incident resolved")
def resolve(
    incident_id: str,
    body: ReasonIn,
    svc: ServicesDep,
    who: Resolver,
) -> dict[str, Any]:
    visible_incident(svc, who, incident_id)
    with svc.runtime.db.write() as session:
        incident_store.resolve(session, incident_id=incident_id, by=who.actor, reason=body.reason)
    return {"incident_id": incident_id, "status": "resolved"}
