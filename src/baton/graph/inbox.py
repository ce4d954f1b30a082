"""What a pending item shows a person, rendered when the run starts waiting on it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from baton.domain import actor
from baton.domain.status import ItemKind, TaskStatus
from baton.graph.context import template_context
from baton.runbooks.model import ApprovalTask, DecisionTask, HumanTask, Runbook
from baton.runbooks.template import TemplateError, render
from baton.store import action_ledger, audit
from baton.store import items as item_store
from baton.store import runs as run_store
from baton.store.models import PendingItemRow, utcnow


def content_hash(content: dict[str, Any]) -> str:
    """The digest of exactly what a person is shown (the audit trail's canonical JSON)."""
    return audit.digest(audit.canonical_json(content))


def _render(text: str, context: dict[str, Any]) -> str:
    try:
        return render(text, context)
    except TemplateError as exc:
        return f"(could not render: {exc})"


def item_content(
    session: Session, *, run_id: str, runbook: Runbook, task_id: str, kind: ItemKind
) -> tuple[str, dict[str, Any], list[str], int]:
    """(title, content, roles, min_approvals) for the item in front of `task_id`."""
    task = runbook.task(task_id)
    context = template_context(session, run_id=run_id)
    content: dict[str, Any] = {"task": task_id, "title": task.title, "kind": kind.value}
    if task.description:
        content["description"] = _render(task.description, context)
    roles: list[str] = []
    min_approvals = 1
    if isinstance(task, ApprovalTask):
        content["shows"] = [_render(s, context).strip() for s in task.shows]
        roles, min_approvals = list(task.approvers), task.min_approvals
        content["approvers"], content["min_approvals"] = roles, min_approvals
    elif isinstance(task, HumanTask):
        content["instructions"] = _render(task.instructions, context).rstrip()
        content["outputs"] = {k: v.model_dump() for k, v in task.outputs.items()}
        roles = [task.assignee]
    elif isinstance(task, DecisionTask):
        content["options"] = task.options
        content["leads_to"] = task.on
        roles = [task.assignee] if task.assignee else []
    elif kind is ItemKind.FALLBACK:
        entry = action_ledger.latest_entry(session, run_id=run_id, task_id=task_id)
        if entry is not None and entry.result is None:
            content["reason"] = (
                f"the process stopped while attempt {entry.attempt} was running and the action "
                "is not idempotent: verify whether it happened, then complete (done) or fail"
            )
        else:
            error = (entry.result or {}).get("error") if entry else None
            content["reason"] = f"the action failed ({error}); do it by hand or fail the task"
        if entry is not None:
            content["invocation"] = entry.invocation
            content["idempotency_key"] = entry.key
    return task.title, content, roles, min_approvals


def open_item(
    session: Session, *, run_id: str, runbook: Runbook, task_id: str, kind: ItemKind
) -> PendingItemRow:
    """Open the pending item for a parked task (once) and mark the task waiting."""
    existing = item_store.get_item_for_task(session, run_id=run_id, task_id=task_id)
    if existing is not None:
        return existing
    title, content, roles, min_approvals = item_content(
        session, run_id=run_id, runbook=runbook, task_id=task_id, kind=kind
    )
    return open_staged_item(
        session,
        run_id=run_id,
        task_id=task_id,
        kind=kind,
        title=title,
        content=content,
        roles=roles,
        min_approvals=min_approvals,
        timeout=_deadline(runbook.task(task_id).timeout, kind),
    )


FALLBACK_DEADLINE_SECONDS = 4 * 3600.0
"""How long a person has to take over an action in doubt or failed. The action's own
`timeout` is sized for a machine (seconds); checking by hand whether a migration ran is not."""


def _deadline(task_timeout: float | None, kind: ItemKind) -> float | None:
    if kind is ItemKind.FALLBACK:
        return max(task_timeout or 0.0, FALLBACK_DEADLINE_SECONDS)
    return task_timeout


def open_staged_item(
    session: Session,
    *,
    run_id: str,
    task_id: str,
    kind: ItemKind,
    title: str,
    content: dict[str, Any],
    roles: list[str],
    min_approvals: int,
    timeout: float | None,
    stage: str = "",
    requested_by: str | None = None,
    waits: bool = True,
) -> PendingItemRow:
    """Open an item (once per task and stage), audit what it shows, park the task on it.

    `requested_by` is whoever proposed what the item asks about (default: the run's
    requester); `waits=False` opens an item the run does not wait for (a review).
    """
    existing = item_store.get_item_for_task(session, run_id=run_id, task_id=task_id, stage=stage)
    if existing is not None:
        return existing
    requester = requested_by or run_store.get_run(session, run_id=run_id).requested_by
    item = item_store.create_item(
        session,
        run_id=run_id,
        task_id=task_id,
        kind=kind,
        title=title,
        content=content,
        content_hash=content_hash(content),
        requested_by=requester,
        roles=roles,
        min_approvals=min_approvals,
        due_at=utcnow() + timedelta(seconds=timeout) if timeout else None,
        stage=stage,
    )
    audit.append(
        session,
        actor=actor.SYSTEM,
        kind="item_opened",
        payload={
            "kind": kind.value,
            **({"stage": stage} if stage else {}),
            "title": title,
            "content": content,
            "content_hash": item.content_hash,
            "roles": roles,
            "min_approvals": min_approvals,
            "requested_by": requester,
            "due_at": audit.rfc3339(item.due_at) if item.due_at else None,
        },
        run=run_id,
        task=task_id,
        item=item.id,
    )
    if waits:
        run_store.transition_task(
            session,
            run_id=run_id,
            task_id=task_id,
            status=TaskStatus.WAITING,
            actor=actor.SYSTEM,
            detail={"item_id": item.id, "kind": kind.value},
        )
    return item
