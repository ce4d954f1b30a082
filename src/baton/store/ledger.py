"""The action ledger: every side effect is an intent before and a result after.

Keys come from the runbook (run id, task id, attempt), never from LangGraph task ids,
which change when a checkpoint is lost.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from baton.store.models import LedgerRow, utcnow

INTENT = "intent"
COMPLETED = "completed"


def ledger_key(run_id: str, task_id: str, attempt: int) -> str:
    return f"{run_id}:{task_id}:{attempt}"


def latest_entry(session: Session, *, run_id: str, task_id: str) -> LedgerRow | None:
    query = (
        select(LedgerRow)
        .where(LedgerRow.run_id == run_id, LedgerRow.task_id == task_id)
        .order_by(LedgerRow.attempt.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def record_intent(
    session: Session,
    *,
    run_id: str,
    task_id: str,
    attempt: int,
    executor: str,
    idempotent: bool,
    invocation: dict[str, Any],
) -> LedgerRow:
    row = LedgerRow(
        key=ledger_key(run_id, task_id, attempt),
        run_id=run_id,
        task_id=task_id,
        attempt=attempt,
        executor=executor,
        idempotent=idempotent,
        invocation=invocation,
        state=INTENT,
        intent_at=utcnow(),
    )
    session.add(row)
    return row


def record_result(session: Session, *, key: str, result: dict[str, Any]) -> None:
    row = session.get(LedgerRow, key)
    if row is None:
        raise LookupError(f"no ledger intent {key}")
    row.state = COMPLETED
    row.result = result
    row.completed_at = utcnow()


def note_reexecution(session: Session, *, key: str) -> None:
    """An in-doubt idempotent intent is being run again under the same key."""
    row = session.get(LedgerRow, key)
    if row is not None:
        row.reexecutions += 1


def entries(session: Session, *, run_id: str) -> list[LedgerRow]:
    query = select(LedgerRow).where(LedgerRow.run_id == run_id).order_by(LedgerRow.intent_at)
    return list(session.scalars(query))
