"""What a person's answer to a pending item means, checked before anything is recorded."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from baton.domain.answer import Settled
from baton.domain.status import ItemKind, ItemStatus, RunStatus, Stage, TaskStatus
from baton.errors import Conflict, InputError
from baton.graph.inbox import open_staged_item
from baton.graph.proposal import is_secret_param
from baton.policies.people import Directory
from baton.policies.sod import Answerer, Ask, check_answer, proposers
from baton.runbooks.catalog import Catalog
from baton.runbooks.inputs import resolve_values
from baton.runbooks.model import DecisionTask, HumanTask, Runbook
from baton.runbooks.pattern_params import check_params
from baton.store import audit
from baton.store import items as item_store
from baton.store import runs as run_store
from baton.store.models import PendingItemRow, RunRow

VERDICTS: dict[str, set[str]] = {
    ItemKind.APPROVAL: {"approve", "reject"},
    ItemKind.HUMAN: {"complete", "fail"},
    ItemKind.DECISION: {"choose"},
    ItemKind.FALLBACK: {"complete", "fail"},
    ItemKind.VERIFY: {"complete", "fail"},
    ItemKind.REVIEW: {"complete", "fail"},
}


@dataclass(frozen=True)
class Answer:
    """One person's answer as given: verdict, comment, and what comes with it."""

    by: str
    verdict: str
    comment: str | None = None
    outputs: dict[str, object] = field(default_factory=dict)
    choice: str | None = None
    changes: dict[str, object] = field(default_factory=dict)
    """Parameter changes to a pattern proposal (approve only; shadow mode counts them)."""
    break_glass: bool = False


def record_answer(
    session: Session,
    *,
    item: PendingItemRow,
    run: RunRow,
    runbook: Runbook,
    answer: Answer,
    directory: Directory,
    catalog: Catalog,
) -> bool:
    """Check and record one person's answer; True once the item is settled.

    Raises (and the caller's transaction records nothing) for a stale or answered item,
    a verdict that does not fit the item, a separation-of-duties breach (self-approval, an
    agent, a missing role, a second answer by the same person), or outputs and parameter
    changes that do not fit the task.
    """
    by, verdict = answer.by, answer.verdict
    if item.status != ItemStatus.PENDING:
        raise Conflict(f"item {item.id} is already {item.status}; nothing changed")
    kind = ItemKind(item.kind)
    if kind is not ItemKind.REVIEW:
        task_row = run_store.get_task(session, run_id=run.id, task_id=item.task_id)
        if RunStatus(run.status).terminal or task_row.status != TaskStatus.WAITING:
            raise Conflict(f"item {item.id} is stale: run {run.id} no longer waits on it")
    if verdict not in VERDICTS[kind]:
        allowed = " or ".join(sorted(VERDICTS[kind]))
        raise InputError(f"item {item.id} is a {kind} item: answer it with {allowed}")
    earlier = item_store.decisions(session, item_id=item.id)
    asked_by = proposers(kind.value, item.requested_by, run.requested_by)
    roles_held = check_answer(
        Answerer(by, answer.break_glass and verdict == "approve", answer.comment),
        Ask(kind.value, asked_by, tuple(item.roles), tuple(d.actor for d in earlier)),
        directory,
    )
    if answer.break_glass and verdict != "approve":
        raise InputError("break-glass applies to approvals only")
    task = runbook.task(item.task_id)
    values: dict[str, object] = {}
    if isinstance(task, HumanTask) and not item.stage and verdict == "complete":
        values = dict(resolve_values(task.outputs, answer.outputs, what="output"))
    elif answer.outputs:
        raise InputError(f"item {item.id} takes no outputs")
    changes = _changes(item, task, answer, catalog)
    if kind is ItemKind.DECISION:
        assert isinstance(task, DecisionTask)
        if answer.choice not in task.options:
            raise InputError(f"choose one of {', '.join(task.options)} (got {answer.choice!r})")
    item_store.add_decision(
        session, item_id=item.id, actor=by, verdict=verdict, comment=answer.comment, outputs=values
    )
    audit.append(
        session,
        actor=by,
        kind="item_decision",
        payload={
            "verdict": verdict,
            "comment": answer.comment,
            "outputs": values,
            "choice": answer.choice,
            "content_hash": item.content_hash,
            **({"changes": changes} if changes else {}),
            "roles": roles_held,
            "roles_checked": directory.enforced,
            **({"unverified": True} if not directory.enforced else {}),
            **({"break_glass": True, "severity": "high"} if answer.break_glass else {}),
        },
        run=run.id,
        task=item.task_id,
        item=item.id,
    )
    approvals = [d.actor for d in earlier if d.verdict == "approve"] + [by]
    if verdict == "approve" and not answer.break_glass and len(approvals) < item.min_approvals:
        return False
    status, reason, output = _verdict(kind, answer, values, approvals)
    gate_approval = item.stage == Stage.GATE and verdict == "approve"
    settled = Settled(
        status=status,
        reason=reason,
        by=by,
        choice=answer.choice,
        approved_by=approvals if gate_approval else [],
        approved_hash=item.content.get("proposal_hash") if gate_approval else None,
        changes=(changes or None) if gate_approval else None,
        changed=bool(changes) if gate_approval else False,
        break_glass=answer.break_glass if gate_approval else False,
    )
    item_store.answer_item(session, item=item, answer=settled)
    if answer.break_glass:
        _open_review(session, item, by, answer.comment or "")
    if not item.stage:  # staged items (pattern gate, verification) are consumed by their node
        run_store.transition_task(
            session,
            run_id=item.run_id,
            task_id=item.task_id,
            status=status,
            actor=by,
            output=output,
            error=reason if status is TaskStatus.FAILED else None,
            detail={"item_id": item.id, "verdict": verdict, "comment": answer.comment},
        )
    return True


def _changes(
    item: PendingItemRow, task: Any, answer: Answer, catalog: Catalog
) -> dict[str, object]:
    """Validated parameter changes to a pattern proposal, or {} when there are none."""
    if not answer.changes:
        return {}
    if item.stage != Stage.GATE or answer.verdict != "approve":
        raise InputError(f"item {item.id} takes no parameter changes")
    if item.min_approvals > 1:
        raise InputError(
            "a gate that needs several approvers approves the proposal as shown; "
            "reject it and propose again with other parameters"
        )
    pattern = catalog.require(task.pattern).pattern
    secret = sorted(k for k in answer.changes if is_secret_param(k))
    if secret:
        raise InputError(f"secret parameters cannot be changed at approval: {', '.join(secret)}")
    shown = dict(item.content.get("proposal", {}).get("params", {}))
    merged = {**shown, **answer.changes}
    checked, problems = check_params(pattern, merged)
    if problems:
        raise InputError("; ".join(problems))
    return {k: checked[k] for k in answer.changes if checked.get(k) != shown.get(k)}


def _open_review(session: Session, item: PendingItemRow, by: str, reason: str) -> None:
    """Break-glass is reviewed after the fact by somebody else; the run does not wait."""
    audit.append(
        session,
        actor=by,
        kind="break_glass",
        payload={"reason": reason, "severity": "high", "gate_item": item.id},
        run=item.run_id,
        task=item.task_id,
        item=item.id,
    )
    open_staged_item(
        session,
        run_id=item.run_id,
        task_id=item.task_id,
        kind=ItemKind.REVIEW,
        title=f"Review break-glass approval: {item.title}",
        content={
            "task": item.task_id,
            "kind": ItemKind.REVIEW.value,
            "broke_glass": by,
            "reason": reason,
            "gate_item": item.id,
            "gate_content_hash": item.content_hash,
        },
        roles=list(item.roles),
        min_approvals=1,
        timeout=None,
        stage=Stage.REVIEW.value,
        requested_by=by,
        waits=False,
    )


def _verdict(
    kind: ItemKind, answer: Answer, values: dict[str, object], approvers: list[str]
) -> tuple[TaskStatus, str | None, dict[str, Any]]:
    verdict, by, comment, choice = answer.verdict, answer.by, answer.comment, answer.choice
    note = f": {comment}" if comment else ""
    if verdict == "reject":
        return TaskStatus.FAILED, f"rejected by {by}{note}", {"rejected_by": by}
    if verdict == "fail":
        return TaskStatus.FAILED, f"marked failed by {by}{note}", {"failed_by": by}
    if kind is ItemKind.APPROVAL:
        return TaskStatus.SUCCEEDED, None, {"approved_by": approvers, "comment": comment}
    if kind is ItemKind.DECISION:
        return TaskStatus.SUCCEEDED, None, {"choice": choice, "decided_by": by}
    # A declared `notes` output is the person's own value; the comment only fills it in.
    output = {"notes": comment, **values, "completed_by": by}
    if output["notes"] is None:
        output["notes"] = comment
    return TaskStatus.SUCCEEDED, None, output
