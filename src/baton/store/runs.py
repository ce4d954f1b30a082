"""Runs, their incidents, pinned runbook versions, task states and timelines."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    Integer,
    Table,
    and_,
    bindparam,
    case,
    func,
    insert,
    not_,
    select,
    update,
)
from sqlalchemy.orm import Session

from baton.domain.status import RunStatus, TaskStatus
from baton.errors import NotFound
from baton.store.models import (
    IncidentRow,
    RunbookVersion,
    RunEventRow,
    RunRow,
    TaskExecutionRow,
    UTCDateTime,
    utcnow,
)

_TASKS = cast(Table, TaskExecutionRow.__table__)
_EVENTS = cast(Table, RunEventRow.__table__)
# Built once: transitions are on every task's hot path.
_TASK_KEY = (_TASKS.c.run_id == bindparam("r"), _TASKS.c.task_id == bindparam("t"))
_INSERT_EVENT = insert(_EVENTS)


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


def _move_statement(*, terminal: bool) -> Any:
    """UPDATE that applies a transition unless the task is already in that state."""
    now = bindparam("now", type_=UTCDateTime())
    attempt = func.coalesce(bindparam("new_attempt", type_=Integer()), _TASKS.c.attempt)
    values: dict[str, Any] = {
        "status": bindparam("new_status"),
        "actor": bindparam("new_actor"),
        "updated_at": now,
        "attempt": attempt,
        "started_at": case(
            (and_(bindparam("running", type_=Boolean()), _TASKS.c.started_at.is_(None)), now),
            else_=_TASKS.c.started_at,
        ),
    }
    if terminal:
        values |= {
            "finished_at": now,
            "output": bindparam("new_output", type_=JSON()),
            "error": bindparam("new_error"),
        }
    unchanged = and_(_TASKS.c.status == bindparam("new_status"), _TASKS.c.attempt == attempt)
    return update(_TASKS).where(*_TASK_KEY, not_(unchanged)).values(**values)


_MOVE = _move_statement(terminal=False)
_FINISH = _move_statement(terminal=True)


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

    LangGraph may run a node again after a crash, so the same transition may be asked for
    twice. On every action's hot path, hence prebuilt Core statements.
    """
    conn = session.connection()
    now = utcnow()
    params = {
        "r": run_id,
        "t": task_id,
        "now": now,
        "new_status": status.value,
        "new_actor": actor,
        "new_attempt": attempt,
        "running": status is TaskStatus.RUNNING,
        "new_output": output,
        "new_error": error,
    }
    moved = conn.execute(_FINISH if status.terminal else _MOVE, params)
    if moved.rowcount == 0:
        get_task(session, run_id=run_id, task_id=task_id)  # NotFound if it does not exist
        return False
    conn.execute(
        _INSERT_EVENT,
        {
            "run_id": run_id,
            "task_id": task_id,
            "kind": "task",
            "status": status.value,
            "actor": actor,
            "at": now,
            "detail": {**(detail or {}), **({"error": error} if error else {})},
        },
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
