"""What a pending item shows a person, rendered when the run starts waiting on it."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy.orm import Session

from baton.domain.status import ItemKind
from baton.graph.context import template_context
from baton.runbooks.model import ApprovalTask, DecisionTask, HumanTask, Runbook
from baton.runbooks.template import TemplateError, render
from baton.store import ledger


def content_hash(content: dict[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


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
        content["shows"] = [_render(s, context) for s in task.shows]
        roles, min_approvals = list(task.approvers), task.min_approvals
        content["approvers"], content["min_approvals"] = roles, min_approvals
    elif isinstance(task, HumanTask):
        content["instructions"] = _render(task.instructions, context)
        content["outputs"] = {k: v.model_dump() for k, v in task.outputs.items()}
        roles = [task.assignee]
    elif isinstance(task, DecisionTask):
        content["options"] = task.options
        content["leads_to"] = task.on
        roles = [task.assignee] if task.assignee else []
    elif kind is ItemKind.FALLBACK:
        entry = ledger.latest_entry(session, run_id=run_id, task_id=task_id)
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
