"""Apply the promotion rules (policies.promotion) to the stored ledger, with audit events.

Every change of a pattern's standing is audited in the transaction that makes it: a run's
outcome, a promotion (with the evidence statement and the runs it rests on), a demotion
(with its reason), an eval result.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from baton.domain import actor
from baton.policies.context import context_key, describe_context
from baton.policies.promotion import (
    Agreement,
    Mode,
    Outcome,
    Standing,
    Transition,
    record,
    requirements,
    reset_for_version,
)
from baton.policies.statement import evidence_statement
from baton.runbooks.catalog import LoadedPattern
from baton.store import audit
from baton.store import promotion_ledger as pattern_store
from baton.store.db import Database
from baton.store.models import PatternRunRow


def standing_of(session: Session, loaded: LoadedPattern, context: dict[str, Any]) -> Standing:
    """The ledger line for this pattern version and context (reset, audited, if the version
    changed since the evidence was gathered)."""
    key = context_key(context)
    raw = pattern_store.get_standing(session, pattern_id=loaded.pattern.id, context_key=key)
    before = Standing.model_validate(raw) if raw is not None else None
    ledger, moves = reset_for_version(before, loaded.version, loaded.agents)
    if before is None or moves:
        # A line created now still sees an eval of this version that passed before it.
        ran = pattern_store.get_eval(session, pattern_id=loaded.pattern.id, version=loaded.version)
        if ran is not None and ran.passed:
            ledger = ledger.model_copy(update={"eval_passed_version": loaded.version})
        _save(session, loaded, context, ledger)
    for move in moves:
        _audit_move(session, loaded, context, ledger, move, by=actor.SYSTEM)
    return ledger


def record_outcome(
    session: Session,
    *,
    loaded: LoadedPattern,
    context: dict[str, Any],
    run_id: str,
    task_id: str,
    incident_id: str,
    mode: Mode,
    outcome: Outcome,
    agreement: Agreement | None,
    approved_by: list[str],
    proposal_hash: str,
) -> Standing:
    """Record one pattern run once (a re-entered node finds it recorded) and its effects."""
    ledger = standing_of(session, loaded, context)
    if pattern_store.get_pattern_run(session, run_id=run_id, task_id=task_id) is not None:
        return ledger
    after, moves = record(ledger, loaded.pattern, outcome, mode=mode, agreement=agreement)
    pattern_store.add_pattern_run(
        session,
        PatternRunRow(
            pattern_id=loaded.pattern.id,
            pattern_version=loaded.version,
            context_key=context_key(context),
            context=context,
            run_id=run_id,
            task_id=task_id,
            incident_id=incident_id,
            mode=mode.value,
            outcome=outcome.value,
            agreement=agreement.value if agreement else None,
            approved_by=approved_by,
            proposal_hash=proposal_hash,
        ),
    )
    _save(session, loaded, context, after)
    audit.append(
        session,
        actor=actor.SYSTEM,
        kind="pattern_run",
        status=outcome.value,
        payload={
            "version": loaded.version,
            "context": context,
            "mode": mode.value,
            "agreement": agreement.value if agreement else None,
            "approved_by": approved_by,
            "proposal_hash": proposal_hash,
            "streak": after.streak,
            "threshold": loaded.pattern.promotion.threshold,
            "state": after.state,
        },
        run=run_id,
        task=task_id,
        pattern=loaded.pattern.id,
    )
    for move in moves:
        _audit_move(session, loaded, context, after, move, by=actor.SYSTEM, run_id=run_id)
    return after


def demote(
    session: Session, *, loaded: LoadedPattern, context: dict[str, Any], by: str, reason: str
) -> Standing:
    """Restore the gate and reset the streak (manual demotion, or a freeze window)."""
    ledger = standing_of(session, loaded, context)
    after = Standing(
        version=ledger.version,
        failures=ledger.failures,
        clean=ledger.clean,
        approved_unchanged=ledger.approved_unchanged,
        approved_changed=ledger.approved_changed,
        rejected=ledger.rejected,
        eval_passed_version=ledger.eval_passed_version,
        agent_model=ledger.agent_model,
        agent_version=ledger.agent_version,
    )
    _save(session, loaded, context, after)
    _audit_move(session, loaded, context, after, Transition(kind="demoted", reason=reason), by=by)
    return after


def save_ledger(
    session: Session,
    loaded: LoadedPattern,
    context: dict[str, Any],
    ledger: Standing,
    moves: list[Transition],
    *,
    by: str,
) -> None:
    """Persist a ledger line changed outside a run (eval result, sign-off) and its moves."""
    _save(session, loaded, context, ledger)
    for move in moves:
        _audit_move(session, loaded, context, ledger, move, by=by)


def streak_runs(
    session: Session, loaded: LoadedPattern, context: dict[str, Any], count: int
) -> list[PatternRunRow]:
    """The clean runs of the current streak (the evidence a promotion rests on)."""
    runs = [
        r
        for r in pattern_store.pattern_runs(
            session, pattern_id=loaded.pattern.id, context_key=context_key(context)
        )
        if r.pattern_version == loaded.version
    ]
    streak: list[PatternRunRow] = []
    for row in reversed(runs):
        if row.outcome in (Outcome.FAILED, Outcome.VERIFY_FAILED):
            break
        if row.outcome == Outcome.CLEAN and row.mode == Mode.GATED:
            streak.append(row)
    return list(reversed(streak))[-count:] if count else []


def run_summary(row: PatternRunRow) -> dict[str, Any]:
    return {
        "run_id": row.run_id,
        "task_id": row.task_id,
        "incident_id": row.incident_id,
        "approved_by": row.approved_by,
        "agreement": row.agreement,
        "proposal_hash": row.proposal_hash,
        "at": audit.rfc3339(row.at),
    }


def _save(
    session: Session, loaded: LoadedPattern, context: dict[str, Any], ledger: Standing
) -> None:
    pattern_store.save_standing(
        session,
        pattern_id=loaded.pattern.id,
        context_key=context_key(context),
        context=context,
        standing=ledger.model_dump(mode="json"),
    )


def _audit_move(
    session: Session,
    loaded: LoadedPattern,
    context: dict[str, Any],
    ledger: Standing,
    move: Transition,
    *,
    by: str,
    run_id: str | None = None,
) -> None:
    payload: dict[str, Any] = {
        "version": loaded.version,
        "context": context,
        "conditions": describe_context(context),
        "reason": move.reason,
        "risk": loaded.pattern.risk.value,
        "streak": ledger.streak,
        "threshold": loaded.pattern.promotion.threshold,
        "severity": "high" if move.kind == "promoted" else "normal",
    }
    if loaded.agents is not None:
        payload["agents"] = {"model": loaded.agents.model, "version": loaded.agents.version}
    if move.kind == "promoted":
        runs = streak_runs(session, loaded, context, loaded.pattern.promotion.threshold)
        payload["runs"] = [run_summary(r) for r in runs]
        payload["eval_passed"] = ledger.eval_passed_version == loaded.version
        payload["signed_off_by"] = ledger.signed_off_by
        payload["statement"] = evidence_statement(
            loaded.pattern,
            loaded.version,
            context,
            payload["runs"],
            eval_passed=payload["eval_passed"] and loaded.pattern.promotion.eval is not None,
            signed_off_by=ledger.signed_off_by,
            agents=loaded.agents,
        )
    audit.append(
        session,
        actor=by,
        kind=f"pattern_{move.kind}",
        payload=payload,
        run=run_id,
        pattern=loaded.pattern.id,
    )


def ledger_lines(db: Database, loaded: LoadedPattern) -> list[dict[str, Any]]:
    """Standing lines of `loaded`, read as the gate would: another version means 0/threshold."""
    threshold = loaded.pattern.promotion.threshold
    with db.read() as session:
        rows = pattern_store.standings(session, pattern_id=loaded.pattern.id)
        ran = pattern_store.get_eval(session, pattern_id=loaded.pattern.id, version=loaded.version)
    passed = loaded.version if ran is not None and ran.passed else None
    lines = []
    for row in rows:
        ledger = Standing.model_validate(row.standing)
        stale = ledger.version != loaded.version
        if stale:
            ledger = Standing(version=loaded.version, eval_passed_version=passed)
        lines.append(
            {
                "context": row.context,
                "conditions": describe_context(row.context),
                "state": ledger.state,
                "streak": ledger.streak,
                "threshold": threshold,
                "progress": f"{ledger.streak}/{threshold}",
                "signed_off_by": ledger.signed_off_by,
                "clean": ledger.clean,
                "failures": ledger.failures,
                "agreement": ledger.agreement,
                "shadow": {
                    "unchanged": ledger.approved_unchanged,
                    "changed": ledger.approved_changed,
                    "rejected": ledger.rejected,
                },
                "new_version": stale,
                "missing": requirements(ledger, loaded.pattern),
            }
        )
    return lines
