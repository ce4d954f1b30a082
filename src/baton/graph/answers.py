"""What a person's answer to a pending item means, checked before anything is recorded."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from baton.domain.status import ItemKind, ItemStatus, RunStatus, TaskStatus
from baton.errors import Conflict, Forbidden, InputError
from baton.runbooks.inputs import resolve_values
from baton.runbooks.model import DecisionTask, HumanTask, Runbook
from baton.store import audit
from baton.store import items as item_store
from baton.store import runs as run_store
from baton.store.models import PendingItemRow, RunRow

VERDICTS: dict[str, set[str]] = {
    ItemKind.APPROVAL: {"approve", "reject"},
    ItemKind.HUMAN: {"complete", "fail"},
    ItemKind.DECISION: {"choose"},
    ItemKind.FALLBACK: {"complete", "fail"},
}


def record_answer(
    session: Session,
    *,
    item: PendingItemRow,
    run: RunRow,
    runbook: Runbook,
    by: str,
    verdict: str,
    comment: str | None,
    outputs: dict[str, object],
    choice: str | None,
) -> bool:
    """Check and record one person's answer; True once the item is settled.

    Raises (and the caller's transaction records nothing) for a stale or answered item,
    a verdict that does not fit the item, self-approval, a second answer by the same
    person, or outputs that do not match the task's declared outputs.
    """
    if item.status != ItemStatus.PENDING:
        raise Conflict(f"item {item.id} is already {item.status}; nothing changed")
    task_row = run_store.get_task(session, run_id=run.id, task_id=item.task_id)
    if RunStatus(run.status).terminal or task_row.status != TaskStatus.WAITING:
        raise Conflict(f"item {item.id} is stale: run {run.id} no longer waits on it")
    kind = ItemKind(item.kind)
    if verdict not in VERDICTS[kind]:
        allowed = " or ".join(sorted(VERDICTS[kind]))
        raise InputError(f"item {item.id} is a {kind} item: answer it with {allowed}")
    task = runbook.task(item.task_id)
    if kind is ItemKind.APPROVAL and by == run.requested_by:
        raise Forbidden(f"{by} requested this run and cannot approve its gates")
    earlier = item_store.decisions(session, item_id=item.id)
    if any(d.actor == by for d in earlier):
        raise Conflict(f"{by} already answered item {item.id}; nothing changed")
    values: dict[str, object] = {}
    if isinstance(task, HumanTask) and verdict == "complete":
        values = dict(resolve_values(task.outputs, outputs, what="output"))
    elif outputs:
        raise InputError(f"item {item.id} takes no outputs")
    if kind is ItemKind.DECISION:
        assert isinstance(task, DecisionTask)
        if choice not in task.options:
            raise InputError(f"choose one of {', '.join(task.options)} (got {choice!r})")
    item_store.add_decision(
        session, item_id=item.id, actor=by, verdict=verdict, comment=comment, outputs=values
    )
    audit.append(
        session,
        actor=by,
        kind="item_decision",
        payload={
            "verdict": verdict,
            "comment": comment,
            "outputs": values,
            "choice": choice,
            "content_hash": item.content_hash,
        },
        run=run.id,
        task=item.task_id,
        item=item.id,
    )
    if verdict == "approve" and len(earlier) + 1 < item.min_approvals:
        return False
    status, reason, output = _verdict(kind, verdict, by, comment, values, choice, earlier)
    answer: dict[str, Any] = {"status": status.value, "reason": reason, "by": by}
    if choice is not None:
        answer["choice"] = choice
    item_store.answer_item(session, item=item, answer=answer)
    run_store.transition_task(
        session,
        run_id=item.run_id,
        task_id=item.task_id,
        status=status,
        actor=by,
        output=output,
        error=reason if status is TaskStatus.FAILED else None,
        detail={"item_id": item.id, "verdict": verdict, "comment": comment},
    )
    return True


def _verdict(
    kind: ItemKind,
    verdict: str,
    by: str,
    comment: str | None,
    values: dict[str, object],
    choice: str | None,
    earlier: list[Any],
) -> tuple[TaskStatus, str | None, dict[str, Any]]:
    note = f": {comment}" if comment else ""
    if verdict == "reject":
        return TaskStatus.FAILED, f"rejected by {by}{note}", {"rejected_by": by}
    if verdict == "fail":
        return TaskStatus.FAILED, f"marked failed by {by}{note}", {"failed_by": by}
    if kind is ItemKind.APPROVAL:
        approvers = [d.actor for d in earlier if d.verdict == "approve"] + [by]
        return TaskStatus.SUCCEEDED, None, {"approved_by": approvers, "comment": comment}
    if kind is ItemKind.DECISION:
        return TaskStatus.SUCCEEDED, None, {"choice": choice, "decided_by": by}
    return TaskStatus.SUCCEEDED, None, {**values, "completed_by": by, "notes": comment}
