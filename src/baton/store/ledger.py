"""The action ledger: every side effect is an intent before and a result after.

Keys come from the runbook (run id, task id, attempt), never from LangGraph task ids,
which change when a checkpoint is lost. These functions sit on every action's hot path,
so they use Core statements rather than the ORM unit of work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from baton.store.models import LedgerRow, utcnow

INTENT = "intent"
COMPLETED = "completed"

_TABLE = cast(Table, LedgerRow.__table__)


@dataclass(frozen=True)
class LedgerEntry:
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


_COLUMNS = [_TABLE.c[name] for name in LedgerEntry.__dataclass_fields__]
# Built once: statement construction costs more than SQLite's own work here.
_LATEST = (
    select(*_COLUMNS)
    .where(_TABLE.c.run_id == bindparam("run_id"), _TABLE.c.task_id == bindparam("task_id"))
    .order_by(_TABLE.c.attempt.desc())
    .limit(1)
)
_INSERT = insert(_TABLE)
_COMPLETE = (
    update(_TABLE)
    .where(_TABLE.c.key == bindparam("k"))
    .values(state=COMPLETED, result=bindparam("result"), completed_at=bindparam("completed_at"))
)


def ledger_key(run_id: str, task_id: str, attempt: int) -> str:
    return f"{run_id}:{task_id}:{attempt}"


def latest_entry(session: Session, *, run_id: str, task_id: str) -> LedgerEntry | None:
    row = session.connection().execute(_LATEST, {"run_id": run_id, "task_id": task_id}).first()
    return LedgerEntry(*row) if row else None


def record_intent(
    session: Session,
    *,
    run_id: str,
    task_id: str,
    attempt: int,
    executor: str,
    idempotent: bool,
    invocation: dict[str, Any],
) -> LedgerEntry:
    entry = LedgerEntry(
        key=ledger_key(run_id, task_id, attempt),
        run_id=run_id,
        task_id=task_id,
        attempt=attempt,
        executor=executor,
        idempotent=idempotent,
        invocation=invocation,
        state=INTENT,
        result=None,
        intent_at=utcnow(),
        completed_at=None,
        reexecutions=0,
    )
    session.connection().execute(_INSERT, entry.__dict__)
    return entry


def record_result(session: Session, *, key: str, result: dict[str, Any]) -> None:
    done = session.connection().execute(
        _COMPLETE, {"k": key, "result": result, "completed_at": utcnow()}
    )
    if done.rowcount != 1:
        raise LookupError(f"no ledger intent {key}")


def note_reexecution(session: Session, *, key: str) -> None:
    """An in-doubt idempotent intent is being run again under the same key."""
    session.execute(
        update(_TABLE).where(_TABLE.c.key == key).values(reexecutions=_TABLE.c.reexecutions + 1)
    )


def entries(session: Session, *, run_id: str) -> list[LedgerEntry]:
    query = select(*_COLUMNS).where(_TABLE.c.run_id == run_id).order_by(_TABLE.c.intent_at)
    return [LedgerEntry(*row) for row in session.execute(query)]
