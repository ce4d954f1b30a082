"""Runs: list, one run with its tasks and timeline, cancel."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from sqlalchemy import select

from baton.api.deps import CallerDep, Canceller, ServicesDep, visible_run
from baton.api.schemas import ReasonIn
from baton.domain.status import RunStatus
from baton.errors import InputError, NotFound
from baton.store import incidents as incident_store
from baton.store import runs as run_store
from baton.store.models import IncidentStateRow, RunRow
from baton.store.shapes import event_json, run_json, task_json

router = APIRouter(prefix="/v1/runs", tags=["runs"])


@router.get("", summary="Runs, newest first (cursor pagination)")
def list_runs(
    svc: ServicesDep,
    who: CallerDep,
    status: str | None = None,
    cursor: str | None = Query(None, description="`next_cursor` of the previous page"),
    limit: int = Query(50, ge=1, le=500),
) -> dict[str, Any]:
    if status is not None and status not in set(RunStatus):
        raise InputError(f"status: use one of {', '.join(RunStatus)}")
    query = (
        select(RunRow)
        .outerjoin(IncidentStateRow, IncidentStateRow.incident_id == RunRow.incident_id)
        .order_by(RunRow.created_at.desc(), RunRow.id.desc())
        .limit(limit + 1)
    )
    if who.teams is not None:
        query = query.where(IncidentStateRow.team.in_(sorted(who.teams)))
    if status:
        query = query.where(RunRow.status == status)
    with svc.runtime.db.read() as session:
        if cursor:
            anchor = session.get(RunRow, cursor)
            # another team's run is no anchor either: it does not exist for this caller
            if anchor is None or not who.sees(incident_store.team_of_run(session, run_id=cursor)):
                raise NotFound(f"cursor: no run {cursor!r}")
            query = query.where(
                (RunRow.created_at < anchor.created_at)
                | ((RunRow.created_at == anchor.created_at) & (RunRow.id < anchor.id))
            )
        rows = list(session.scalars(query))
    page = rows[:limit]
    more = len(rows) > limit
    return {
        "items": [run_json(r) for r in page],
        "next_cursor": page[-1].id if more and page else None,
    }


@router.get("/{run_id}", summary="One run and its tasks")
def get_run(run_id: str, svc: ServicesDep, who: CallerDep) -> dict[str, Any]:
    visible_run(svc, who, run_id)
    with svc.runtime.db.read() as session:
        run = run_store.get_run(session, run_id=run_id)
        tasks = run_store.task_executions(session, run_id=run_id)
        return {"run": run_json(run), "tasks": [task_json(t) for t in tasks]}


@router.get("/{run_id}/timeline", summary="Every event of the run, in order")
def timeline(run_id: str, svc: ServicesDep, who: CallerDep) -> dict[str, Any]:
    visible_run(svc, who, run_id)
    with svc.runtime.db.read() as session:
        return {"events": [event_json(e) for e in run_store.timeline(session, run_id=run_id)]}


@router.post("/{run_id}/cancel", summary="Cancel a run: its open items are withdrawn")
def cancel(run_id: str, body: ReasonIn, svc: ServicesDep, who: Canceller) -> dict[str, Any]:
    visible_run(svc, who, run_id)
    status = svc.runtime.runner.cancel(run_id, by=who.actor, reason=body.reason)
    return {"run_id": run_id, "status": status.value}
