"""Runs, their incidents, pinned runbook versions, task states and timelines."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from baton.domain.status import RunStatus, TaskStatus
from baton.errors import NotFound
from baton.store import sql
from baton.store.models import (
    IncidentRow,
    RunbookVersion,
    RunEventRow,
    RunRow,
    TaskExecutionRow,
    utcnow,
)

_TASKS = cast(Table, TaskExecutionRow.__table__)
_EVENTS = cast(Table, RunEventRow.__table__)


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
    now = utcnow()
    session.connection().execute(
        insert(_TASKS),
        [
            {
                "run_id": run_id,
                "task_id": task_id,
                "task_type": task_type,
                "status": TaskStatus.PENDING.value,
                "attempt": 0,
                "updated_at": now,
            }
            for task_id, task_type in task_types.items()
        ],
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


def unfinished_tasks(session: Session, *, run_id: str) -> list[str]:
    """Ids of the run's tasks that are not in a terminal state."""
    terminal = [s.value for s in TaskStatus if s.terminal]
    query = select(_TASKS.c.task_id).where(
        _TASKS.c.run_id == run_id, _TASKS.c.status.not_in(terminal)
    )
    return list(session.execute(query).scalars())


def get_task(session: Session, *, run_id: str, task_id: str) -> TaskExecutionRow:
    row = session.get(TaskExecutionRow, (run_id, task_id))
    if row is None:
        raise NotFound(f"run {run_id} has no task {task_id!r}")
    return row


_MOVE = (
    "UPDATE task_executions SET status = :status, actor = :actor, updated_at = :now,"
    " attempt = COALESCE(:attempt, attempt),"
    " started_at = CASE WHEN :running AND started_at IS NULL THEN :now ELSE started_at END"
    " WHERE run_id = :run_id AND task_id = :task_id"
    " AND NOT (status = :status AND attempt = COALESCE(:attempt, attempt))"
)
_FINISH = (
    "UPDATE task_executions SET status = :status, actor = :actor, updated_at = :now,"
    " attempt = COALESCE(:attempt, attempt), finished_at = :now, output = :output,"
    " error = :error WHERE run_id = :run_id AND task_id = :task_id"
    " AND NOT (status = :status AND attempt = COALESCE(:attempt, attempt))"
)
_EVENT = (
    "INSERT INTO run_events (run_id, task_id, kind, status, actor, at, detail)"
    " VALUES (:run_id, :task_id, 'task', :status, :actor, :now, :detail)"
)


def transition_task(
    session: Session | sql.Conn,
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

    LangGraph may run a node again after a crash, so the same transition may be asked for
    twice. On every action's hot path, hence literal SQL (`store.sql`).
    """
    conn = sql.connection(session)
    params: dict[str, Any] = {
        "run_id": run_id,
        "task_id": task_id,
        "now": sql.when(conn, utcnow()),
        "status": status.value,
        "actor": actor,
        "attempt": attempt,
        "running": status is TaskStatus.RUNNING,
    }
    if status.terminal:
        params |= {"output": sql.document(conn, output), "error": error}
    moved = sql.execute(conn, _FINISH if status.terminal else _MOVE, params)
    if moved.rowcount == 0:
        if (
            sql.first(
                conn,
                "SELECT 1 FROM task_executions WHERE run_id = :r AND task_id = :t",
                {"r": run_id, "t": task_id},
            )
            is None
        ):
            raise NotFound(f"run {run_id} has no task {task_id!r}")
        return False
    details = {**(detail or {}), **({"error": error} if error else {})}
    sql.execute(conn, _EVENT, params | {"detail": sql.document(conn, details)})
    return True


def add_event(
    session: Session | sql.Conn,
    *,
    run_id: str,
    kind: str,
    actor: str,
    task_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    conn = sql.connection(session)
    sql.execute(
        conn,
        "INSERT INTO run_events (run_id, task_id, kind, status, actor, at, detail)"
        " VALUES (:run_id, :task_id, :kind, NULL, :actor, :at, :detail)",
        {
            "run_id": run_id,
            "task_id": task_id,
            "kind": kind,
            "actor": actor,
            "at": sql.when(conn, utcnow()),
            "detail": sql.document(conn, detail or {}),
        },
    )


def timeline(session: Session, *, run_id: str) -> list[RunEventRow]:
    query = select(RunEventRow).where(RunEventRow.run_id == run_id).order_by(RunEventRow.id)
    return list(session.scalars(query))
