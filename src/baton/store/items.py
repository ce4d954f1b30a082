"""Pending items (gates, human tasks, decisions, fallbacks) and the decisions on them."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from baton.domain.answer import Settled
from baton.domain.status import ItemKind, ItemStatus, RunStatus
from baton.errors import NotFound
from baton.store import sql
from baton.store.models import DecisionRow, PendingItemRow, RunRow, utcnow


def item_id_for(run_id: str, task_id: str, stage: str = "") -> str:
    """Deterministic, so a re-run gate node names the same item."""
    name = f"{run_id}/{task_id}" + (f"/{stage}" if stage else "")
    digest = hashlib.sha256(name.encode()).hexdigest()
    return f"itm_{digest[:12]}"


def create_item(
    session: Session,
    *,
    run_id: str,
    task_id: str,
    kind: str,
    title: str,
    content: dict[str, Any],
    content_hash: str,
    requested_by: str,
    roles: list[str],
    min_approvals: int,
    due_at: datetime | None,
    stage: str = "",
) -> PendingItemRow:
    """The item a parked task waits on; its id follows from run, task and stage."""
    row = PendingItemRow(
        id=item_id_for(run_id, task_id, stage),
        run_id=run_id,
        task_id=task_id,
        stage=stage,
        kind=kind,
        status=ItemStatus.PENDING,
        title=title,
        content=content,
        content_hash=content_hash,
        requested_by=requested_by,
        roles=roles,
        min_approvals=min_approvals,
        due_at=due_at,
    )
    session.add(row)
    return row


def get_item(session: Session, *, item_id: str, to_answer: bool = False) -> PendingItemRow:
    """The item; `to_answer` locks its row until the transaction ends, so two answers (or an
    answer and its timeout) are decided one after the other. SQLite's write transactions are
    serial already; on PostgreSQL this is `SELECT ... FOR UPDATE`."""
    row = session.get(PendingItemRow, item_id, with_for_update=to_answer or None)
    if row is None:
        raise NotFound(f"no pending item {item_id!r}")
    return row


def list_items(
    session: Session, *, status: str | None = ItemStatus.PENDING, run_id: str | None = None
) -> list[PendingItemRow]:
    query = select(PendingItemRow).order_by(PendingItemRow.created_at)
    if status:
        query = query.where(PendingItemRow.status == status)
    if run_id:
        query = query.where(PendingItemRow.run_id == run_id)
    return list(session.scalars(query))


def deadlines(session: Session) -> list[tuple[str, datetime]]:
    """(id, due time) of the pending items that have one (gates without a deadline, however
    many are parked, are not read)."""
    query = (
        select(PendingItemRow.id, PendingItemRow.due_at)
        .where(PendingItemRow.status == ItemStatus.PENDING, PendingItemRow.due_at.is_not(None))
        .order_by(PendingItemRow.created_at)
    )
    return [(item_id, due) for item_id, due in session.execute(query) if due is not None]


def answered_waiting_runs(session: Session) -> set[str]:
    """Waiting runs with an answered item their task has not consumed yet."""
    query = (
        select(PendingItemRow.run_id)
        .join(RunRow, RunRow.id == PendingItemRow.run_id)
        .where(PendingItemRow.status == ItemStatus.ANSWERED, RunRow.status == RunStatus.WAITING)
    )
    return set(session.scalars(query))


def decisions(session: Session, *, item_id: str) -> list[DecisionRow]:
    query = select(DecisionRow).where(DecisionRow.item_id == item_id).order_by(DecisionRow.id)
    return list(session.scalars(query))


def add_decision(
    session: Session,
    *,
    item_id: str,
    actor: str,
    verdict: str,
    comment: str | None,
    outputs: dict[str, Any],
) -> DecisionRow:
    row = DecisionRow(
        item_id=item_id, actor=actor, verdict=verdict, comment=comment, outputs=outputs
    )
    session.add(row)
    return row


def answer_item(session: Session, *, item: PendingItemRow, answer: Settled) -> None:
    """Fix the value the graph will be resumed with; the graph may not have consumed it yet."""
    item.status = ItemStatus.ANSWERED
    item.answer = answer.stored()
    item.answered_at = utcnow()


def settled(item: PendingItemRow | None) -> Settled | None:
    """The item's answer as the graph resumes with it, or None while nobody has answered."""
    return None if item is None else Settled.of(item.answer)


def get_item_for_task(
    session: Session, *, run_id: str, task_id: str, stage: str = ""
) -> PendingItemRow | None:
    return session.get(PendingItemRow, item_id_for(run_id, task_id, stage))


def open_items_for_task(session: Session, *, run_id: str, task_id: str) -> list[PendingItemRow]:
    """Every item of a task that still waits on a person or on its node (any stage)."""
    query = select(PendingItemRow).where(
        PendingItemRow.run_id == run_id,
        PendingItemRow.task_id == task_id,
        PendingItemRow.status.in_([ItemStatus.PENDING, ItemStatus.ANSWERED]),
        PendingItemRow.kind != ItemKind.REVIEW,
    )
    return list(session.scalars(query))


def answered(session: sql.Tx, *, run_id: str) -> list[tuple[str, str, bool]]:
    """(item id, task id, expired) of the run's items answered but not yet applied."""
    conn = sql.connection(session)
    rows = sql.execute(
        conn,
        "SELECT id, task_id, answer FROM pending_items"
        " WHERE run_id = :run_id AND status = :s AND kind != :review",
        {"run_id": run_id, "s": ItemStatus.ANSWERED.value, "review": ItemKind.REVIEW.value},
    ).fetchall()
    return [
        (row[0], row[1], bool((sql.read_document(conn, row[2]) or {}).get("expired")))
        for row in rows
    ]


def mark(session: sql.Tx, *, item_id: str, status: ItemStatus) -> None:
    sql.execute(
        sql.connection(session),
        "UPDATE pending_items SET status = :status WHERE id = :id",
        {"status": status.value, "id": item_id},
    )
