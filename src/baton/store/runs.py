"""Runs, their incidents, pinned runbook versions, task states and timelines."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from baton.domain.status import RunStatus, TaskStatus
from baton.errors import NotFound
from baton.store import audit, sql
from baton.store.models import (
    IncidentRow,
    RunbookVersion,
    RunRow,
    TaskExecutionRow,
    utcnow,
)


def save_runbook_version(
    session: sql.Tx,
    *,
    version: str,
    runbook_id: str,
    title: str,
    canonical: str,
    source: str,
) -> None:
    """Store a runbook version once; its content never changes (the key is its hash)."""
    conn = sql.connection(session)
    sql.execute(
        conn,
        "INSERT INTO runbook_versions (version, runbook_id, title, canonical, source, created_at)"
        " VALUES (:version, :runbook_id, :title, :canonical, :source, :now)"
        " ON CONFLICT (version) DO NOTHING",
        {
            "version": version,
            "runbook_id": runbook_id,
            "title": title,
            "canonical": canonical,
            "source": source,
            "now": sql.when(conn, utcnow()),
        },
    )


def get_runbook_canonical(session: Session, *, version: str) -> str:
    row = session.get(RunbookVersion, version)
    if row is None:
        raise NotFound(f"runbook version {version} is not stored")
    return row.canonical


def save_incident(session: sql.Tx, *, incident_id: str, body: dict[str, Any]) -> None:
    """Store an incident unless one with this id exists (a second run reuses it)."""
    conn = sql.connection(session)
    sql.execute(
        conn,
        "INSERT INTO incidents (id, title, severity, service, body, created_at)"
        " VALUES (:id, :title, :severity, :service, :body, :now) ON CONFLICT (id) DO NOTHING",
        {
            "id": incident_id,
            "title": body["title"],
            "severity": body["severity"],
            "service": body.get("service"),
            "body": sql.document(conn, body),
            "now": sql.when(conn, utcnow()),
        },
    )


def get_incident(session: Session, *, incident_id: str) -> IncidentRow:
    row = session.get(IncidentRow, incident_id)
    if row is None:
        raise NotFound(f"no incident {incident_id!r}")
    return row


def create_run(
    session: sql.Tx,
    *,
    run_id: str,
    runbook_id: str,
    runbook_version: str,
    incident_id: str,
    requested_by: str,
    inputs: dict[str, Any],
    task_types: dict[str, str],
) -> None:
    """Insert the run with every task `pending`, and its first timeline event."""
    conn = sql.connection(session)
    now = sql.when(conn, utcnow())
    sql.execute(
        conn,
        "INSERT INTO runs (id, runbook_id, runbook_version, incident_id, status, requested_by,"
        " inputs, created_at, updated_at) VALUES (:id, :runbook_id, :version, :incident_id,"
        " :status, :requested_by, :inputs, :now, :now)",
        {
            "id": run_id,
            "runbook_id": runbook_id,
            "version": runbook_version,
            "incident_id": incident_id,
            "status": RunStatus.RUNNING.value,
            "requested_by": requested_by,
            "inputs": sql.document(conn, inputs),
            "now": now,
        },
    )
    if conn.dialect.name == "postgresql":  # one statement, not one per task
        sql.send(
            conn,
            _TASKS_PG,
            {
                "run_id": run_id,
                "ids": list(task_types),
                "types": list(task_types.values()),
                "status": TaskStatus.PENDING.value,
                "now": now,
            },
        )
    else:
        sql.execute_many(
            conn,
            "INSERT INTO task_executions (run_id, task_id, task_type, status, attempt,"
            " updated_at) VALUES (:run_id, :task_id, :task_type, :status, 0, :now)",
            [
                {
                    "run_id": run_id,
                    "task_id": task_id,
                    "task_type": task_type,
                    "status": TaskStatus.PENDING.value,
                    "now": now,
                }
                for task_id, task_type in task_types.items()
            ],
        )
    _run_event(
        conn,
        run_id,
        RunStatus.RUNNING,
        requested_by,
        {"event": "started", "runbook_id": runbook_id, "runbook_version": runbook_version},
        incident_id,
    )


_TASKS_PG = (
    "INSERT INTO task_executions (run_id, task_id, task_type, status, attempt, updated_at)"
    " SELECT :run_id, t.task_id, t.task_type, :status, 0, :now"
    " FROM unnest(CAST(:ids AS varchar[]), CAST(:types AS varchar[])) AS t(task_id, task_type)"
)


def _run_event(
    conn: sql.Conn,
    run_id: str,
    status: RunStatus,
    actor: str,
    detail: dict[str, Any],
    incident_id: str | None = None,
) -> None:
    audit.append(
        conn,
        actor=actor,
        kind="run",
        status=status.value,
        payload=detail,
        run=run_id,
        incident=incident_id,
    )


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


def run_ids(session: Session, *, status: str) -> list[str]:
    """The ids of every run in `status` (ids only: the sweep reads them all, however many)."""
    return list(session.scalars(select(RunRow.id).where(RunRow.status == status)))


def set_run_status(
    session: sql.Tx,
    *,
    run_id: str,
    status: RunStatus,
    actor: str,
    detail: dict[str, Any] | None = None,
    halt_reason: str | None = None,
) -> bool:
    """Move a run to `status`; records a timeline event only when it actually changes."""
    conn = sql.connection(session)
    now = sql.when(conn, utcnow())
    moved = sql.execute(
        conn,
        "UPDATE runs SET status = :status, updated_at = :now,"
        " finished_at = CASE WHEN :terminal THEN :now ELSE finished_at END,"
        " halt_reason = COALESCE(:halt, halt_reason)"
        " WHERE id = :run_id AND status <> :status",
        {
            "status": status.value,
            "now": now,
            "terminal": status.terminal,
            "halt": halt_reason,
            "run_id": run_id,
        },
    )
    if moved.rowcount == 0:
        return False
    _run_event(conn, run_id, status, actor, detail or {})
    return True


class RunHead(NamedTuple):
    status: str
    runbook_version: str
    requested_by: str
    cancel_requested_by: str | None


def run_head(session: sql.Tx, *, run_id: str) -> RunHead:
    """What the runner needs of a run on every advance, cheaply; NotFound if none."""
    row = sql.first(
        sql.connection(session),
        "SELECT status, runbook_version, requested_by, cancel_requested_by FROM runs"
        " WHERE id = :run_id",
        {"run_id": run_id},
    )
    if row is None:
        raise NotFound(f"no run {run_id!r}")
    return RunHead(**row)


def task_executions(session: Session, *, run_id: str) -> list[TaskExecutionRow]:
    query = select(TaskExecutionRow).where(TaskExecutionRow.run_id == run_id)
    return list(session.scalars(query))


def unfinished_tasks(session: sql.Tx, *, run_id: str) -> list[str]:
    """Ids of the run's tasks that are not in a terminal state."""
    conn = sql.connection(session)
    rows = sql.execute(
        conn,
        "SELECT task_id FROM task_executions WHERE run_id = :run_id"
        " AND status NOT IN ('succeeded', 'failed', 'skipped', 'cancelled')",
        {"run_id": run_id},
    ).fetchall()
    return [row[0] for row in rows]


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


def transition_task(
    session: sql.Tx,
    *,
    run_id: str,
    task_id: str,
    status: TaskStatus,
    actor: str,
    output: dict[str, Any] | None = None,
    error: str | None = None,
    attempt: int | None = None,
    detail: dict[str, Any] | None = None,
    output_text: str | None = None,
) -> bool:
    """Record a task's new status with time and actor. Idempotent: a repeat changes nothing.

    LangGraph may run a node again after a crash, so the same transition may be asked for
    twice. On every action's hot path, hence literal SQL (`store.sql`). `output_text` is
    the output's JSON text if the caller built it already (see `sql.document`).
    """
    conn = sql.connection(session)
    params: dict[str, Any] = {
        "run_id": run_id,
        "task_id": task_id,
        "now": sql.stamped(conn, sql.stamp(conn)),
        "status": status.value,
        "actor": actor,
        "attempt": attempt,
        "running": status is TaskStatus.RUNNING,
    }
    terminal = status.terminal
    if terminal:
        params["output"] = sql.document(conn, output, output_text)
        params["error"] = error
    moved = sql.execute(conn, _FINISH if terminal else _MOVE, params)
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
    audit.record(
        conn,
        actor=actor,
        kind="task",
        status=status.value,
        payload=transition_payload(detail, error, attempt),
        run=run_id,
        task=task_id,
    )
    return True


def transition_payload(
    detail: dict[str, Any] | None, error: str | None, attempt: int | None
) -> dict[str, Any]:
    """The audit payload of a task's transition: its detail, with its error and attempt."""
    payload = {**detail} if detail else {}
    if error:
        payload["error"] = error
    if attempt is not None:
        payload["attempt"] = attempt
    return payload


def add_event(
    session: sql.Tx,
    *,
    run_id: str,
    kind: str,
    actor: str,
    task_id: str | None = None,
    item_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record something that happened to a run that is not a status change."""
    audit.record(
        sql.connection(session),
        actor=actor,
        kind=kind,
        status=None,
        payload=dict(detail) if detail else {},
        run=run_id,
        task=task_id,
        item=item_id,
    )


def timeline(session: sql.Tx, *, run_id: str) -> list[audit.AuditEvent]:
    """The run's audit events in order."""
    return list(audit.events(session, run_id=run_id))
