"""Agent findings, one per agent task of a run, referenced from state and outputs by id."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from baton.store.models import FindingRow


def finding_id_for(run_id: str, task_id: str) -> str:
    """Deterministic, so a re-run agent node finds (and never duplicates) its finding."""
    return "fnd_" + hashlib.sha256(f"{run_id}/{task_id}".encode()).hexdigest()[:12]


def save_finding(
    session: Session,
    *,
    run_id: str,
    task_id: str,
    agent: str,
    actor: str,
    produced_by: str,
    finding: dict[str, Any],
    recommendations: list[dict[str, Any]],
    stats: dict[str, Any],
) -> FindingRow:
    row = FindingRow(
        id=finding_id_for(run_id, task_id),
        run_id=run_id,
        task_id=task_id,
        agent=agent,
        actor=actor,
        produced_by=produced_by,
        finding=finding,
        recommendations=recommendations,
        stats=stats,
    )
    session.add(row)
    return row


def get_finding(session: Session, *, run_id: str, task_id: str) -> FindingRow | None:
    return session.get(FindingRow, finding_id_for(run_id, task_id))


def run_findings(session: Session, *, run_id: str) -> list[FindingRow]:
    query = select(FindingRow).where(FindingRow.run_id == run_id).order_by(FindingRow.created_at)
    return list(session.scalars(query))
