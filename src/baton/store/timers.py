"""Reads and hints for scheduled advances: when parked runs are next due, item deadlines.

A task parked on a timer (a `wait`, a retry's backoff) is an action task in `waiting` with
an action ledger entry, in a waiting run; the due time itself is in the run's graph state
(`graph.runner.Runner.timers`). Item deadlines are `pending_items.due_at`.

`runs.wake_at` is an indexed hint of when a parked run is next due (its earliest timer or
item deadline), written after the run parks (`set_wake`), so the sweep finds the runs to
wake by an index scan instead of reading every parked run's graph state. A hint may be
early or stale, never trusted blindly: a due one is checked against the graph state and
corrected (`correct_wake`, conditional on the value read, so a newer park always wins).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from baton.domain.status import RunStatus
from baton.store import sql
from baton.store.models import RunRow

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


@dataclass(frozen=True)
class Wake:
    """A run's hint: when it is next due, and the run's status."""

    run_id: str
    at: datetime
    status: RunStatus


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


def set_wake(session: Session, *, run_id: str, at: datetime) -> None:
    """The run parked and is next due at `at` (what its advance found, so it wins)."""
    session.execute(update(RunRow).where(RunRow.id == run_id).values(wake_at=at))


def wakes(session: Session) -> list[Wake]:
    """Every hint, by an index scan of `runs.wake_at` (runs without one are not read)."""
    query = (
        select(RunRow.id, RunRow.status, RunRow.wake_at)
        .where(RunRow.wake_at.is_not(None))
        .order_by(RunRow.wake_at)
    )
    return [
        Wake(run_id, at, RunStatus(status))
        for run_id, status, at in session.execute(query)
        if at is not None
    ]


def correct_wake(session: Session, *, run_id: str, seen: datetime, at: datetime | None) -> None:
    """Replace the hint read as `seen` by `at` (None: the run has no timer left), unless a
    newer park rewrote it meanwhile."""
    session.execute(
        update(RunRow).where(RunRow.id == run_id, RunRow.wake_at == seen).values(wake_at=at)
    )
