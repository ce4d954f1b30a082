"""The action ledger: every side effect is an intent before and a result after.

Keys come from the runbook (run id, task id, attempt), never from LangGraph task ids,
which change when a checkpoint is lost. The rows are written by `store.action_steps`, the
intent and the result each with the task's mark and its audit event, as one unit; this
module reads them and notes an in-doubt intent run again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from baton.store import sql
from baton.store.models import ActionLedgerRow

INTENT = "intent"
COMPLETED = "completed"


class ActionEntry(NamedTuple):
    """One ledger row (a tuple: every action builds one or two)."""

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
        ActionEntry(**{name: getattr(row, name) for name in ActionEntry._fields})
        for row in session.scalars(query)
    ]
