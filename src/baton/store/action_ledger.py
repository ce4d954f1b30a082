"""The action ledger: every side effect is an intent before and a result after.

Keys come from the runbook (run id, task id, attempt), never from LangGraph task ids,
which change when a checkpoint is lost. Every action calls these, so they run literal SQL
(`store.sql`) inside the caller's transaction; the caller audits intent and result together
with the task's transitions (one event each).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from baton.store import sql
from baton.store.models import ActionLedgerRow

INTENT = "intent"
COMPLETED = "completed"


@dataclass(frozen=True)
class ActionEntry:
    key: str
    run_id: str
    task_id: str
    attempt: int
    executor: str
    idempotent: bool
    invocation: dict[str, Any]
    state: str
    result: dict[str, Any] | None
    intent_at: datetime
    completed_at: datetime | None
    reexecutions: int


_LATEST = (
    "SELECT key, run_id, task_id, attempt, executor, idempotent, invocation, state, result,"
    " intent_at, completed_at, reexecutions FROM action_ledger"
    " WHERE run_id = :run_id AND task_id = :task_id ORDER BY attempt DESC LIMIT 1"
)
_INSERT = (
    "INSERT INTO action_ledger (key, run_id, task_id, attempt, executor, idempotent,"
    " invocation, state, result, intent_at, completed_at, reexecutions) VALUES (:key, :run_id,"
    " :task_id, :attempt, :executor, :idempotent, :invocation, :state, NULL, :intent_at, NULL, 0)"
)
_OPEN_FIRST = _INSERT + " ON CONFLICT (run_id, task_id, attempt) DO NOTHING"
_COMPLETE = (
    "UPDATE action_ledger SET state = :state, result = :result, completed_at = :completed_at"
    " WHERE run_id = :run_id AND task_id = :task_id AND attempt = :attempt"
)
_REEXECUTE = (
    "UPDATE action_ledger SET reexecutions = reexecutions + 1"
    " WHERE run_id = :run_id AND task_id = :task_id AND attempt = :attempt"
)


def ledger_key(run_id: str, task_id: str, attempt: int) -> str:
    return f"{run_id}:{task_id}:{attempt}"


def _entry(conn: sql.Conn, values: dict[str, Any]) -> ActionEntry:
    for name in ("invocation", "result"):
        values[name] = sql.read_document(conn, values[name])
    for name in ("intent_at", "completed_at"):
        values[name] = sql.read_when(conn, values[name])
    values["idempotent"] = bool(values["idempotent"])
    return ActionEntry(**values)


def latest_entry(session: sql.Tx, *, run_id: str, task_id: str) -> ActionEntry | None:
    conn = sql.connection(session)
    row = sql.first(conn, _LATEST, {"run_id": run_id, "task_id": task_id})
    return _entry(conn, row) if row else None


def record_intent(
    session: sql.Tx,
    *,
    run_id: str,
    task_id: str,
    attempt: int,
    executor: str,
    idempotent: bool,
    invocation: dict[str, Any],
) -> ActionEntry:
    entry = _intent(
        sql.connection(session), _INSERT, run_id, task_id, attempt, executor, idempotent, invocation
    )
    assert entry is not None  # a plain INSERT inserts or raises
    return entry


def open_first(
    session: sql.Tx,
    *,
    run_id: str,
    task_id: str,
    executor: str,
    idempotent: bool,
    invocation: dict[str, Any],
) -> ActionEntry | None:
    """Record the intent of attempt 1, or return None if the task has ledger entries already.

    Every action's first visit comes here, so it writes without reading first; None means
    a visit after a crash or a retry, and the caller reads `latest_entry` to decide.
    """
    return _intent(
        sql.connection(session), _OPEN_FIRST, run_id, task_id, 1, executor, idempotent, invocation
    )


def _intent(
    conn: sql.Conn,
    statement: str,
    run_id: str,
    task_id: str,
    attempt: int,
    executor: str,
    idempotent: bool,
    invocation: dict[str, Any],
) -> ActionEntry | None:
    now = sql.stamp(conn)
    key = ledger_key(run_id, task_id, attempt)
    inserted = sql.execute(
        conn,
        statement,
        {
            "key": key,
            "run_id": run_id,
            "task_id": task_id,
            "attempt": attempt,
            "executor": executor,
            "idempotent": idempotent,
            "invocation": sql.document(conn, invocation),
            "state": INTENT,
            "intent_at": sql.stamped(conn, now),
        },
    )
    if inserted.rowcount != 1:
        return None
    return ActionEntry(
        key,
        run_id,
        task_id,
        attempt,
        executor,
        idempotent,
        invocation,
        INTENT,
        None,
        now.at,
        None,
        0,
    )


def record_result(
    session: sql.Tx,
    *,
    entry: ActionEntry,
    result: dict[str, Any],
    text: str | None = None,
) -> None:
    """Complete an intent (the caller records the audit event, with the task's transition).

    `text` is the result's JSON text if the caller built it already (see `sql.document`).
    """
    conn = sql.connection(session)
    key = entry.key
    done = sql.execute(
        conn,
        _COMPLETE,
        {
            "state": COMPLETED,
            "result": sql.document(conn, result, text),
            "completed_at": sql.stamped(conn, sql.stamp(conn)),
            "run_id": entry.run_id,
            "task_id": entry.task_id,
            "attempt": entry.attempt,
        },
    )
    if done.rowcount != 1:
        raise LookupError(f"no ledger intent {key}")


def note_reexecution(session: sql.Tx, *, entry: ActionEntry) -> None:
    """An in-doubt idempotent intent is being run again under the same key."""
    sql.execute(
        sql.connection(session),
        _REEXECUTE,
        {"run_id": entry.run_id, "task_id": entry.task_id, "attempt": entry.attempt},
    )


def entries(session: Session, *, run_id: str) -> list[ActionEntry]:
    table = ActionLedgerRow.__table__
    query = select(ActionLedgerRow).where(table.c.run_id == run_id).order_by(table.c.intent_at)
    return [
        ActionEntry(**{name: getattr(row, name) for name in ActionEntry.__dataclass_fields__})
        for row in session.scalars(query)
    ]
