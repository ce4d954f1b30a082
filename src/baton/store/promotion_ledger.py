"""The promotion ledger and the record of every pattern run, by pattern and context."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from baton.store.models import PatternEvalRow, PatternRunRow, PromotionLedgerRow, utcnow


def get_standing(session: Session, *, pattern_id: str, context_key: str) -> dict[str, Any] | None:
    row = session.get(PromotionLedgerRow, (pattern_id, context_key))
    return None if row is None else dict(row.standing)


def save_standing(
    session: Session,
    *,
    pattern_id: str,
    context_key: str,
    context: dict[str, Any],
    standing: dict[str, Any],
) -> None:
    row = session.get(PromotionLedgerRow, (pattern_id, context_key))
    if row is None:
        session.add(
            PromotionLedgerRow(
                pattern_id=pattern_id, context_key=context_key, context=context, standing=standing
            )
        )
    else:
        row.standing = standing
        row.updated_at = utcnow()


def standings(session: Session, *, pattern_id: str | None = None) -> list[PromotionLedgerRow]:
    query = select(PromotionLedgerRow).order_by(PromotionLedgerRow.pattern_id)
    if pattern_id is not None:
        query = query.where(PromotionLedgerRow.pattern_id == pattern_id)
    return list(session.scalars(query))


def get_pattern_run(session: Session, *, run_id: str, task_id: str) -> PatternRunRow | None:
    query = select(PatternRunRow).where(
        PatternRunRow.run_id == run_id, PatternRunRow.task_id == task_id
    )
    return session.scalars(query).first()


def add_pattern_run(session: Session, row: PatternRunRow) -> None:
    session.add(row)
    session.flush()


def pattern_runs(
    session: Session, *, pattern_id: str, context_key: str | None = None
) -> list[PatternRunRow]:
    query = select(PatternRunRow).where(PatternRunRow.pattern_id == pattern_id)
    if context_key is not None:
        query = query.where(PatternRunRow.context_key == context_key)
    return list(session.scalars(query.order_by(PatternRunRow.id)))


def get_eval(session: Session, *, pattern_id: str, version: str) -> PatternEvalRow | None:
    """The latest eval result recorded for this pattern version, if any."""
    return session.get(PatternEvalRow, (pattern_id, version))


def save_eval(session: Session, row: PatternEvalRow) -> None:
    """Record an eval result; it replaces the earlier one of the same version."""
    session.merge(row)
    session.flush()
