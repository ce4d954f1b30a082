"""Runs, their incidents, pinned runbook versions, task states and timelines."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from baton.domain.status import RunStatus, TaskStatus
from baton.errors import NotFound
from baton.store.models import (
    IncidentRow,
    RunbookVersion,
    RunEventRow,
    RunRow,
    TaskExecutionRow,
    utcnow,
)


def save_runbook_version(
    session: Session, *, version: str, runbook_id: str, title: str, canonical: str, source: str
) -> None:
    if session.get(RunbookVersion, version) is None:
        session.add(
            RunbookVersion(
                version=version,
                runbook_id=runbook_id,
                title=title,
                canonical=canonical,
                source=source,
            )
        )


def get_runbook_canonical(session: Session, *, version: str) -> str:
    row = session.get(RunbookVersion, version)
    if row is None:
        raise NotFound(f"runbook version {version} is not stored")
    return row.canonical


def save_incident(session: Session, *, incident_id: str, body: dict[str, Any]) -> IncidentRow:
    row = session.get(IncidentRow, incident_id)
    if row is None:
        row = IncidentRow(
            id=incident_id,
            title=body["title"],
            severity=body["severity"],
            service=body.get("service"),
            body=body,
        )
        session.add(row)
    return row


def get_incident(session: Session, *, incident_id: str) -> IncidentRow:
    row = session.get(IncidentRow, incident_id)
    if row is None:
        raise NotFound(f"no incident {incident_id!r}")
    return row


def create_run(
    session: Session,
    *,
    run_id: str,
    runbook_id: str,
    runbook_version: str,
    incident_id: str,
    requested_by: str,
    inputs: dict[str, Any],
    task_types: dict[str, str],
) -> RunRow:
    """Insert the run with every task `pending`, and its first timeline event."""
    run = RunRow(
        id=run_id,
        runbook_id=runbook_id,
        runbook_version=runbook_version,
        incident_id=incident_id,
        status=RunStatus.RUNNING,
        requested_by=requested_by,
        inputs=inputs,
    )
    session.add(run)
    session.flush()
    for task_id, task_type in task_types.items():
        session.add(
            TaskExecutionRow(
                run_id=run_id, task_id=task_id, task_type=task_type, status=TaskStatus.PENDING
            )
        )
    session.add(
        RunEventRow(
            run_id=run_id,
            kind="run",
            status=RunStatus.RUNNING,
            actor=requested_by,
            detail={"event": "started", "runbook_version": runbook_version},
        )
    )
    return run


def get_run(session: Session, *, run_id: str) -> RunRow:
    run = session.get(RunRow, run_id)
    if run is None:
        raise NotFound(f"no run {run_id!r}")
    return run


def list_runs(session: Session, *, status: str | None = None, limit: int = 50) -> list[RunRow]:
    query = select(RunRow).order_by(RunRow.created_at.desc()).limit(limit)
    if status:
        query = query.where(RunRow.status == status)
    return list(session.scalars(query))


def set_run_status(
    session: Session,
    *,
    run_id: str,
    status: RunStatus,
    actor: str,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Move a run to `status`; records a timeline event only when it actually changes."""
    run = get_run(session, run_id=run_id)
    if run.status == status:
        return False
    run.status = status
    run.updated_at = utcnow()
    if status.terminal:
        run.finished_at = utcnow()
    session.add(
        RunEventRow(run_id=run_id, kind="run", status=status, actor=actor, detail=detail or {})
    )
    return True


def task_executions(session: Session, *, run_id: str) -> list[TaskExecutionRow]:
    query = select(TaskExecutionRow).where(TaskExecutionRow.run_id == run_id)
    return list(session.scalars(query))


def get_task(session: Session, *, run_id: str, task_id: str) -> TaskExecutionRow:
    row = session.get(TaskExecutionRow, (run_id, task_id))
    if row is None:
        raise NotFound(f"run {run_id} has no task {task_id!r}")
    return row


def transition_task(
    session: Session,
    *,
    run_id: str,
    task_id: str,
    status: TaskStatus,
    actor: str,
    output: dict[str, Any] | None = None,
    error: str | None = None,
    attempt: int | None = None,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Record a task's new status with time and actor. Idempotent: a repeat changes nothing.

    LangGraph re-runs nodes on resume, so the same transition may be asked for twice.
    """
    row = get_task(session, run_id=run_id, task_id=task_id)
    if row.status == status and (attempt is None or row.attempt == attempt):
        return False
    now = utcnow()
    row.status = status
    row.actor = actor
    row.updated_at = now
    if attempt is not None:
        row.attempt = attempt
    if status is TaskStatus.RUNNING and row.started_at is None:
        row.started_at = now
    if status.terminal:
        row.finished_at = now
        row.output = output
        row.error = error
    session.add(
        RunEventRow(
            run_id=run_id,
            task_id=task_id,
            kind="task",
            status=status,
            actor=actor,
            at=now,
            detail={**(detail or {}), **({"error": error} if error else {})},
        )
    )
    return True


def add_event(
    session: Session,
    *,
    run_id: str,
    kind: str,
    actor: str,
    task_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(
        RunEventRow(run_id=run_id, task_id=task_id, kind=kind, actor=actor, detail=detail or {})
    )


def timeline(session: Session, *, run_id: str) -> list[RunEventRow]:
    query = select(RunEventRow).where(RunEventRow.run_id == run_id).order_by(RunEventRow.id)
    return list(session.scalars(query))
