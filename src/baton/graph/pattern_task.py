"""The node of a pattern action: gate by policy, bind to what was approved, execute through
the ledger, verify, and record the outcome in the promotion ledger.

Re-entered after every answer and after a crash, it works out where it is from the
database alone (gate item, ledger entries, verification item, recorded outcome), so each
stage happens once: a completed effect is never repeated and an outcome is counted once.

A retry's backoff (and a `wait` executor) is not slept when the runner schedules timers
(`park_after`): `perform` returns its due time and the visit ends with `Conclusion.until`,
which the node parks the task on; the runner re-enters it when due, and the ledger says
which attempt comes next.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from baton.domain import actor
from baton.domain.answer import Settled
from baton.domain.envelope import ActionResult
from baton.domain.status import ItemKind, ItemStatus, Stage, TaskStatus
from baton.graph.actions import Step, perform
from baton.graph.agent_tasks import finding_view
from baton.graph.context import template_context
from baton.graph.deps import EngineDeps
from baton.graph.inbox import open_staged_item
from baton.graph.promotion import demote, record_outcome, standing_of
from baton.graph.proposal import Proposal, ProposalError, build_proposal
from baton.policies.context import condition_context
from baton.policies.gate import GateDecision, GateMode, decide_gate
from baton.policies.promotion import Agreement, Mode, Outcome, Standing
from baton.runbooks.catalog import LoadedPattern
from baton.runbooks.model import ActionTask, Runbook
from baton.runbooks.pattern import EXPECT
from baton.runbooks.template import TemplateError, render, render_value
from baton.store import action_ledger, findings
from baton.store import items as item_store
from baton.store import runs as run_store
from baton.store.models import PendingItemRow, utcnow

GATE, VERIFY = Stage.GATE.value, Stage.VERIFY.value


@dataclass(frozen=True)
class Scene:
    """What one visit reads before it acts: the pattern, the incident's conditions, and
    how far earlier visits got (the gate item and its answer, whether an effect started)."""

    loaded: LoadedPattern
    executor: Any
    context: dict[str, Any]
    incident: dict[str, Any]
    conditions: dict[str, Any]
    gate: PendingItemRow | None
    answer: Settled | None
    started: bool


@dataclass(frozen=True)
class Approval:
    """How the executed proposal came to run: the evidence a pattern run adds to the ledger."""

    proposal: Proposal
    mode: Mode
    agreement: Agreement | None
    by: list[str]


@dataclass(frozen=True)
class Conclusion:
    """How the node ends this visit: a terminal status (with reason) or still waiting;
    `fallback` when the action is in doubt or failed and a person must take it over."""

    status: TaskStatus
    reason: str | None = None
    fallback: bool = False
    until: datetime | None = None
    """Waiting on a timer (a retry's backoff, a wait) until then: the node parks the task."""


class PatternTask:
    """One visit of a pattern task's node: propose, then gate it (first visit), run what
    was approved (after the answer) or run it unguarded (autonomous), verify, conclude."""

    def __init__(
        self,
        deps: EngineDeps,
        runbook: Runbook,
        task: ActionTask,
        run_id: str,
        *,
        park_after: float | None = None,
        woken: bool = False,
    ):
        """`park_after` and `woken` as `actions.perform` takes them (None: sleep timers)."""
        assert task.pattern is not None
        self.deps, self.runbook, self.task, self.run_id = deps, runbook, task, run_id
        self.park_after, self.woken = park_after, woken
        self.pattern_id = task.pattern
        self.actor = actor.automation(task.pattern)

    def visit(self) -> Conclusion:
        scene = self._look()
        if isinstance(scene, Conclusion):
            return scene
        proposed = self._propose(scene)
        if isinstance(proposed, Conclusion):
            return proposed
        proposal, shown = proposed
        if scene.gate is None and not scene.started:
            decision, standing = self._decide(scene, proposal)
            if decision.mode is GateMode.DENY:
                return self._finish(TaskStatus.FAILED, f"denied: {decision.reason}")
            if decision.mode is GateMode.NEEDS_APPROVAL:
                self._open_gate(scene, proposal, decision, standing.streak, shown)
                return Conclusion(TaskStatus.WAITING)
            approval = Approval(proposal, Mode.AUTONOMOUS, None, [])
        elif scene.gate is not None:
            taken = self._take_answer(scene, proposal)
            if isinstance(taken, Conclusion):
                return taken
            approval = taken
        else:  # started autonomously before a crash: finish what the ledger has begun
            approval = Approval(proposal, Mode.AUTONOMOUS, None, [])
        return self._execute(scene, approval)

    def _look(self) -> Scene | Conclusion:
        loaded = self.deps.catalog.get(self.pattern_id)
        if loaded is None:
            return self._finish(TaskStatus.FAILED, f"unknown pattern {self.pattern_id!r}")
        with self.deps.db.read() as session:
            context = template_context(session, run_id=self.run_id)
            gate = item_store.get_item_for_task(
                session, run_id=self.run_id, task_id=self.task.id, stage=GATE
            )
            last = action_ledger.latest_entry(session, run_id=self.run_id, task_id=self.task.id)
        incident: dict[str, Any] = context["incident"]
        return Scene(
            loaded=loaded,
            executor=self.deps.executors[loaded.pattern.executor],
            context=context,
            incident=incident,
            conditions=condition_context(loaded.pattern, incident),
            gate=gate,
            answer=item_store.settled(gate),
            started=last is not None,
        )

    def _take_answer(self, scene: Scene, proposal: Proposal) -> Approval | Conclusion:
        """The gate's answer: wait, conclude a refusal, or bind what runs to what was
        approved (and consume the gate, once)."""
        answer, gate = scene.answer, scene.gate
        assert gate is not None
        if answer is None:
            return Conclusion(TaskStatus.WAITING)
        if answer.failed:
            return self._rejected(scene, proposal, answer)
        approved = self._approved(scene, proposal, answer)
        if approved is None:
            return Conclusion(TaskStatus.FAILED, "refused to execute what was not approved")
        mode = Mode.BREAK_GLASS if answer.break_glass else Mode.GATED
        agreement = Agreement.CHANGED if answer.changed else Agreement.UNCHANGED
        approval = Approval(approved, mode, agreement, list(answer.approved_by))
        if gate.status == ItemStatus.ANSWERED:
            # Consumed: the task runs now. Its `running` status is what tells recovery to
            # re-enter it if the process dies before the action's result is recorded.
            with self.deps.db.write() as session:
                item_store.mark(session, item_id=gate.id, status=ItemStatus.APPLIED)
                run_store.transition_task(
                    session,
                    run_id=self.run_id,
                    task_id=self.task.id,
                    status=TaskStatus.RUNNING,
                    actor=self.actor,
                    detail={
                        "mode": mode.value,
                        "approved_by": approval.by,
                        "proposal_hash": approved.hash,
                    },
                )
        return approval

    def _execute(self, scene: Scene, approval: Approval) -> Conclusion:
        """Run the approved invocation through the action ledger, then verify it."""
        loaded, proposal = scene.loaded, approval.proposal
        idempotent = self.task.idempotent
        performed = perform(
            self.deps,
            run_id=self.run_id,
            step=Step(
                self.task.id,
                self.task.id,
                loaded.pattern.executor,
                self.task.retries,
                self.task.timeout or loaded.pattern.timeout,
                loaded.pattern.idempotent if idempotent is None else idempotent,
                self.actor,
                concludes=False,
            ),
            executor=scene.executor,
            params=proposal.invocation,
            hand_failure_to_human=self.task.on_failure == "human",
            park_after=self.park_after,
            woken=self.woken,
        )
        if performed.until is not None:  # nothing ran: the runner re-enters us when due
            why = "backing off before a retry" if performed.result is not None else "waiting"
            return Conclusion(TaskStatus.WAITING, why, until=performed.until)
        if performed.in_doubt or (not performed.ok and self.task.on_failure == "human"):
            return Conclusion(TaskStatus.WAITING, fallback=True)
        if not performed.ok:
            error = performed.result.error if performed.result else "failed"
            return self._outcome(scene, Outcome.FAILED, f"action failed: {error}", None, approval)
        verified = self._verify(loaded, proposal)
        if verified is None:
            return Conclusion(TaskStatus.WAITING)
        ok, detail = verified
        assert performed.result is not None
        result = {"result": performed.result.data, "verification": detail}
        if ok:
            return self._outcome(scene, Outcome.CLEAN, None, result, approval)
        why = f"verification failed: {detail.get('error')}"
        return self._outcome(scene, Outcome.VERIFY_FAILED, why, result, approval)

    # ---- proposal -----------------------------------------------------------------------

    def _propose(self, scene: Scene) -> tuple[Proposal, list[dict[str, Any]]] | Conclusion:
        """The proposal from rendered params, and the agent's recommendation if it uses one;
        with it the findings the gate shows."""
        try:
            given = dict(
                render_value(self.task.params, scene.context, name=f"{self.task.id}.params")
            )
            rationale = (
                render(self.task.rationale, scene.context).strip() if self.task.rationale else None
            )
        except TemplateError as exc:
            return self._finish(TaskStatus.FAILED, str(exc))
        proposer, evidence = str(scene.context["run"]["requested_by"]), []
        shown: list[dict[str, Any]] = []
        if self.task.recommended_by is not None:
            found = self._recommendation()
            if found is None:
                source = self.task.recommended_by
                return self._finish(
                    TaskStatus.SKIPPED, f"{source} recommended no {self.pattern_id}"
                )
            proposer, rec, shown = found
            given |= rec["params"]
            rationale = rec["rationale"] + (f". {rationale}" if rationale else "")
            source_finding = findings.finding_id_for(self.run_id, self.task.recommended_by)
            evidence = [f"finding:{source_finding}", *rec["evidence"]]
        try:
            proposal = build_proposal(
                scene.loaded,
                scene.executor,
                given,
                rationale=rationale,
                context=scene.conditions,
                evidence=evidence,
                proposed_by=proposer,
            )
        except ProposalError as exc:
            return self._finish(TaskStatus.FAILED, str(exc))
        return proposal, shown

    # ---- gate ---------------------------------------------------------------------------

    def _recommendation(
        self,
    ) -> tuple[str, dict[str, Any], list[dict[str, Any]]] | None:
        """(agent actor, its recommendation for this pattern, the finding shown at the gate)."""
        assert self.task.recommended_by is not None
        with self.deps.db.read() as session:
            row = findings.get_finding(
                session, run_id=self.run_id, task_id=self.task.recommended_by
            )
            if row is None:
                return None
            rec = next((r for r in row.recommendations if r["pattern"] == self.pattern_id), None)
            if rec is None:
                return None
            shown = [
                finding_view(f)
                for f in findings.run_findings(session, run_id=self.run_id)
                if f.task_id in self.task.needs
            ]
        return row.actor, rec, shown

    def _decide(self, scene: Scene, proposal: Proposal) -> tuple[GateDecision, Standing]:
        loaded, conditions = scene.loaded, scene.conditions
        freeze = self.deps.freeze.active(utcnow(), scene.incident.get("environment"))
        with self.deps.db.write() as session:
            standing = standing_of(session, loaded, conditions)
            if freeze is not None and standing.state != "gated":
                standing = demote(
                    session,
                    loaded=loaded,
                    context=conditions,
                    by=actor.SYSTEM,
                    reason=f"change freeze '{freeze.name}'"
                    + (f": {freeze.reason}" if freeze.reason else ""),
                )
            decision = decide_gate(loaded.pattern, loaded.version, standing, self.task.gate, freeze)
            run_store.add_event(
                session,
                run_id=self.run_id,
                task_id=self.task.id,
                kind="gate_decision",
                actor=actor.SYSTEM,
                detail={
                    "pattern": loaded.pattern.id,
                    "version": loaded.version,
                    "context": conditions,
                    "mode": decision.mode.value,
                    "reason": decision.reason,
                    "approvals": decision.approvals,
                    "roles": decision.roles,
                    "proposal_hash": proposal.hash,
                    "streak": standing.streak,
                    "freeze": freeze.name if freeze else None,
                },
            )
        return decision, standing

    def _open_gate(
        self,
        scene: Scene,
        proposal: Proposal,
        decision: GateDecision,
        streak: int,
        shown: list[dict[str, Any]],
    ) -> None:
        loaded = scene.loaded
        threshold = loaded.pattern.promotion.threshold
        content = {
            "task": self.task.id,
            "title": self.task.title,
            "kind": ItemKind.APPROVAL.value,
            "proposal": proposal.content,
            "proposal_hash": proposal.hash,
            "gate": decision.reason,
            "streak": f"{streak}/{threshold}",
            "approvers": decision.roles,
            "min_approvals": decision.approvals,
        }
        if shown:
            content["findings"] = shown
        with self.deps.db.write() as session:
            open_staged_item(
                session,
                run_id=self.run_id,
                task_id=self.task.id,
                kind=ItemKind.APPROVAL,
                title=f"{self.task.title} ({loaded.pattern.id}, {loaded.pattern.risk} risk)",
                content=content,
                roles=decision.roles,
                min_approvals=decision.approvals,
                timeout=self.task.timeout,
                stage=GATE,
                requested_by=proposal.content["proposed_by"],
            )

    def _rejected(self, scene: Scene, proposal: Proposal, answer: Settled) -> Conclusion:
        reason = answer.reason or "rejected"
        if answer.expired:
            return self._finish(TaskStatus.FAILED, reason)
        record = Approval(proposal, Mode.GATED, Agreement.REJECTED, [])
        return self._outcome(scene, Outcome.REJECTED, reason, None, record)

    def _approved(self, scene: Scene, proposal: Proposal, answer: Settled) -> Proposal | None:
        """What runs: the proposal as shown (it must still hash to what was approved) with
        the approver's recorded changes applied; otherwise refuse, and record the refusal."""
        refusal = None
        if proposal.hash != answer.approved_hash:
            refusal = (
                "what would run now does not match what was approved "
                f"(approved {answer.approved_hash}, now {proposal.hash})"
            )
        elif answer.changes:
            try:
                return build_proposal(
                    scene.loaded,
                    scene.executor,
                    {**proposal.params, **answer.changes},
                    rationale=proposal.content["rationale"],
                    context=proposal.content["context"],
                    evidence=proposal.content["evidence"],
                    proposed_by=proposal.content["proposed_by"],
                )
            except ProposalError as exc:
                refusal = f"the approver's changes no longer make a valid invocation: {exc}"
        else:
            return proposal
        with self.deps.db.write() as session:
            run_store.add_event(
                session,
                run_id=self.run_id,
                task_id=self.task.id,
                kind="execution_refused",
                actor=self.actor,
                detail={
                    "reason": refusal,
                    "approved_hash": answer.approved_hash,
                    "about_to_run_hash": proposal.hash,
                    "about_to_run": proposal.content,
                    "severity": "high",
                },
            )
            run_store.transition_task(
                session,
                run_id=self.run_id,
                task_id=self.task.id,
                status=TaskStatus.FAILED,
                actor=self.actor,
                error=f"refused to execute: {refusal}",
            )
        return None

    # ---- verification -------------------------------------------------------------------

    def _verify(
        self, loaded: LoadedPattern, proposal: Proposal
    ) -> tuple[bool, dict[str, Any]] | None:
        """(passed, detail), or None while a person has yet to confirm."""
        verify = loaded.pattern.verify
        params = {"params": proposal.params}
        if verify.kind == "human":
            return self._verify_by_person(loaded, proposal)
        if verify.kind == "metric":
            url = render(verify.prometheus_url or "", params).rstrip("/")
            query = render(verify.query or "", params)
            invocation: dict[str, Any] = {
                "method": "GET",
                "url": f"{url}/api/v1/query?{urlencode({'query': query})}",
            }
            executor_name = "http"
        else:
            invocation = render_value(verify.invocation, params, name=f"{loaded.pattern.id}.verify")
            executor_name = verify.kind
        executor = self.deps.executors[executor_name]
        step = Step(
            self.task.id,
            f"{self.task.id}.verify",
            executor_name,
            0,
            verify.timeout,
            True,
            self.actor,
            concludes=False,
        )
        outcome = perform(
            self.deps,
            run_id=self.run_id,
            step=step,
            executor=executor,
            params=executor.params_model.model_validate(invocation),
            hand_failure_to_human=False,
        )
        result = outcome.result
        if result is None:  # in doubt cannot happen (idempotent), but never pass silently
            return False, {"kind": verify.kind, "error": "verification did not complete"}
        if verify.kind == "metric":
            return _metric_passed(result, verify.expect or "")
        detail = {"kind": verify.kind, "status": result.status.value, "error": result.error}
        return result.ok, detail

    def _verify_by_person(
        self, loaded: LoadedPattern, proposal: Proposal
    ) -> tuple[bool, dict[str, Any]] | None:
        verify = loaded.pattern.verify
        with self.deps.db.write() as session:
            item = item_store.get_item_for_task(
                session, run_id=self.run_id, task_id=self.task.id, stage=VERIFY
            )
            if item is None:
                open_staged_item(
                    session,
                    run_id=self.run_id,
                    task_id=self.task.id,
                    kind=ItemKind.VERIFY,
                    title=f"Verify: {self.task.title}",
                    content={
                        "task": self.task.id,
                        "kind": ItemKind.VERIFY.value,
                        "instructions": verify.instructions,
                        "proposal_hash": proposal.hash,
                        "pattern": loaded.pattern.id,
                    },
                    roles=[verify.assignee] if verify.assignee else list(loaded.pattern.approvers),
                    min_approvals=1,
                    timeout=verify.timeout,
                    stage=VERIFY,
                )
                return None
            answer = item_store.settled(item)
            if answer is None:
                return None
        passed = answer.status is TaskStatus.SUCCEEDED
        return passed, {
            "kind": "human",
            "by": answer.by,
            "error": None if passed else answer.reason,
        }

    # ---- conclusions --------------------------------------------------------------------

    def _outcome(
        self,
        scene: Scene,
        outcome: Outcome,
        reason: str | None,
        output: dict[str, Any] | None,
        record: Approval,
    ) -> Conclusion:
        proposal, mode = record.proposal, record.mode
        status = TaskStatus.SUCCEEDED if outcome is Outcome.CLEAN else TaskStatus.FAILED
        with self.deps.db.write() as session:
            if self.deps.dry_run:  # nothing ran: not evidence for (or against) promotion
                run_store.add_event(
                    session,
                    run_id=self.run_id,
                    task_id=self.task.id,
                    kind="dry_run",
                    actor=self.actor,
                    detail={"pattern": scene.loaded.pattern.id, "outcome": outcome.value},
                )
            else:
                record_outcome(
                    session,
                    loaded=scene.loaded,
                    context=scene.conditions,
                    run_id=self.run_id,
                    task_id=self.task.id,
                    incident_id=str(scene.incident.get("id")),
                    mode=mode,
                    outcome=outcome,
                    agreement=record.agreement,
                    approved_by=record.by,
                    proposal_hash=proposal.hash,
                )
            run_store.transition_task(
                session,
                run_id=self.run_id,
                task_id=self.task.id,
                status=status,
                actor=self.actor,
                output={**(output or {}), "mode": mode.value, "proposal_hash": proposal.hash},
                error=reason,
                detail={"outcome": outcome.value, "mode": mode.value},
            )
        return Conclusion(status, reason)

    def _finish(self, status: TaskStatus, reason: str) -> Conclusion:
        with self.deps.db.write() as session:
            run_store.transition_task(
                session,
                run_id=self.run_id,
                task_id=self.task.id,
                status=status,
                actor=actor.SYSTEM,
                error=reason if status is TaskStatus.FAILED else None,
                detail={"reason": reason},
            )
        return Conclusion(status, reason)


def _metric_passed(result: ActionResult, expect: str) -> tuple[bool, dict[str, Any]]:
    """Compare the first sample of a Prometheus instant query with `expect` ('< 0.01')."""
    detail: dict[str, Any] = {"kind": "metric", "expect": expect}
    if not result.ok:
        return False, {**detail, "error": result.error}
    body = result.data.get("body")
    try:
        data: Any = json.loads(body) if isinstance(body, str) else body
        samples = data["data"]["result"]
        value = float(samples[0]["value"][1]) if samples else None
    except (ValueError, KeyError, IndexError, TypeError):
        return False, {**detail, "error": "Prometheus answer is not an instant-query vector"}
    if value is None:
        return False, {**detail, "error": "the query returned no samples"}
    match = EXPECT.match(expect)
    assert match is not None  # checked when the pattern was loaded
    op, bound = match.group(1), float(match.group(2))
    passed = {
        "<": value < bound,
        "<=": value <= bound,
        ">": value > bound,
        ">=": value >= bound,
        "==": value == bound,
        "!=": value != bound,
    }[op]
    detail["value"] = value
    if not passed:
        detail["error"] = f"{value:g} is not {expect.strip()}"
    return passed, detail
