"""Pending items: list what waits on the caller, and answer it (approve, complete, choose).

Answers go through the runner's one answer path (separation of duties, roles, stale and
duplicate checks, audit); the run then moves on in a worker thread, not in the request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query

from baton.api.deps import Answerer, CallerDep, Services, ServicesDep, visible_run
from baton.api.schemas import ChoiceIn, CompletionIn, DecisionIn
from baton.domain.status import ItemStatus
from baton.errors import InputError, NotFound
from baton.policies.access import Caller, Permission
from baton.policies.people import Directory
from baton.policies.sod import Ask, may_answer, proposers
from baton.store import incidents as incident_store
from baton.store import items as item_store
from baton.store import runs as run_store
from baton.store.models import DecisionRow, PendingItemRow, utcnow
from baton.store.shapes import item_json

router = APIRouter(prefix="/v1/items", tags=["items"])


def answerable(
    item: PendingItemRow,
    run_requested_by: str,
    earlier: list[DecisionRow],
    who: Caller,
    directory: Directory,
) -> bool:
    """Would the caller's answer be accepted: the answer path's own separation-of-duties
    check (proposers, the run's requester, roles, a second answer), asked ahead."""
    if not who.may(Permission.ANSWER) or item.status != ItemStatus.PENDING:
        return False
    ask = Ask(
        item.kind,
        proposers(item.kind, item.requested_by, run_requested_by),
        tuple(item.roles),
        tuple(d.actor for d in earlier),
    )
    return may_answer(who.actor, ask, directory)


def visible_items(
    svc: Services, who: Caller, *, status: str | None, run_id: str | None
) -> list[dict[str, Any]]:
    directory = svc.runtime.runner.deps.directory
    with svc.runtime.db.read() as session:
        rows = item_store.list_items(session, status=status, run_id=run_id)
        teams = {r.run_id: incident_store.team_of_run(session, run_id=r.run_id) for r in rows}
        requesters = {
            r.run_id: run_store.get_run(session, run_id=r.run_id).requested_by for r in rows
        }
        shaped = []
        for r in rows:
            if not who.sees(teams[r.run_id]):
                continue
            earlier = item_store.decisions(session, item_id=r.id)
            fits = answerable(r, requesters[r.run_id], earlier, who, directory)
            shaped.append(item_json(r, earlier) | {"answerable": fits})
    return shaped


@router.get("", summary="Items waiting for people (the inbox)")
def list_items(
    svc: ServicesDep,
    who: CallerDep,
    status: str | None = Query("pending", description="pending, answered, applied, …; '' = all"),
    run: str | None = None,
    mine: bool = Query(False, description="Only items the caller may answer."),
    limit: int = Query(200, ge=1, le=1000, description="At most this many, oldest first."),
) -> dict[str, Any]:
    if status and status not in set(ItemStatus):
        raise InputError(f"status: use one of {', '.join(ItemStatus)} (or '' for all)")
    rows = visible_items(svc, who, status=status or None, run_id=run)
    if mine:
        rows = [r for r in rows if r["answerable"]]
    return {"items": rows[:limit], "more": len(rows) > limit}


def _item(svc: Services, who: Caller, item_id: str) -> dict[str, Any]:
    with svc.runtime.db.read() as session:
        try:
            row = item_store.get_item(session, item_id=item_id)
        except NotFound:
            raise NotFound(f"no pending item {item_id!r}") from None
        run_id = row.run_id
        earlier = item_store.decisions(session, item_id=item_id)
        requester = run_store.get_run(session, run_id=run_id).requested_by
        shaped = item_json(row, earlier)
        shaped["answerable"] = answerable(
            row, requester, earlier, who, svc.runtime.runner.deps.directory
        )
        shaped["run_requested_by"] = requester
    try:
        visible_run(svc, who, run_id)
    except NotFound:
        raise NotFound(f"no pending item {item_id!r}") from None
    return shaped


@router.get("/{item_id}", summary="One item, with everything its answerer sees")
def get_item(item_id: str, svc: ServicesDep, who: CallerDep) -> dict[str, Any]:
    return _item(svc, who, item_id)


def answer(
    svc: Services,
    who: Caller,
    item_id: str,
    verdict: str,
    **given: Any,
) -> dict[str, Any]:
    """The one answer path of the API (and of the web inbox)."""
    shown = _item(svc, who, item_id)  # 404 for another team's item, before anything is recorded
    outcome = svc.runtime.runner.answer(
        item_id, by=who.actor, verdict=verdict, advance=False, **given
    )
    if outcome.settled:
        svc.worker.submit(outcome.run_id)
        waited = utcnow() - datetime.fromisoformat(shown["created_at"])
        svc.metrics.gate_wait.labels(shown["kind"]).observe(max(0.0, waited.total_seconds()))
    return {
        "item": item_id,
        "item_status": outcome.item_status,
        "approvals": outcome.approvals,
        "needed": outcome.needed,
        "run_id": outcome.run_id,
        "settled": outcome.settled,
    }


@router.post("/{item_id}/decision", summary="Approve or reject a gate (409 if answered)")
def decide(item_id: str, body: DecisionIn, svc: ServicesDep, who: Answerer) -> dict[str, Any]:
    return answer(
        svc,
        who,
        item_id,
        body.verdict,
        comment=body.reason if body.break_glass else body.comment,
        changes=body.params,
        break_glass=body.break_glass,
    )


@router.post("/{item_id}/completion", summary="Mark a human task done or failed")
def complete(item_id: str, body: CompletionIn, svc: ServicesDep, who: Answerer) -> dict[str, Any]:
    verdict = "complete" if body.status == "done" else "fail"
    return answer(svc, who, item_id, verdict, comment=body.comment, outputs=body.outputs)


@router.post("/{item_id}/choice", summary="Choose a branch at a decision")
def choose(item_id: str, body: ChoiceIn, svc: ServicesDep, who: Answerer) -> dict[str, Any]:
    return answer(svc, who, item_id, "choose", choice=body.choice, comment=body.comment)
