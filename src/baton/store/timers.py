"""Reads for scheduled advances: runs parked on a timer, a run's next item deadline.

A task parked on a timer (a `wait`, a retry's backoff) is an action task in `waiting` with
an action ledger entry, in a waiting run; the due time itself is in the run's graph state
(`graph.runner.Runner.timers`). Item deadlines are `pending_items.due_at`.
"""

from __future__ import annotations

from datetime import datetime

from baton.store import sql

_PARKED = (
    "SELECT DISTINCT t.run_id FROM runs r"
    " JOIN task_executions t ON t.run_id = r.id"
    " WHERE r.status = 'waiting' AND t.status = 'waiting' AND t.task_type = 'action'"
    " AND EXISTS (SELECT 1 FROM action_ledger l"
    " WHERE l.run_id = t.run_id AND l.task_id = t.task_id)"
)
_NEXT_DEADLINE = (
    "SELECT min(due_at) AS due FROM pending_items"
    " WHERE run_id = :run_id AND status = 'pending' AND due_at IS NOT NULL"
)


def parked_on_actions(session: sql.Tx) -> list[str]:
    """Waiting runs with an action task waiting after its ledger entry: those parked on a
    timer, and those whose failed or in-doubt action waits on a person (few either way;
    runs at gates are not among them)."""
    conn = sql.connection(session)
    return sorted(row["run_id"] for row in sql.rows(conn, _PARKED, {}))


def next_deadline(session: sql.Tx, *, run_id: str) -> datetime | None:
    """The earliest due time of the run's pending items, if any has one."""
    conn = sql.connection(session)
    row = sql.first(conn, _NEXT_DEADLINE, {"run_id": run_id})
    return sql.read_when(conn, row["due"]) if row and row["due"] is not None else None
