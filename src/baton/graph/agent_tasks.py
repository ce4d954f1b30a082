"""The node of an agent task: run the one tool-calling loop, keep the finding, audit it all.

The agent reads through read-only tools only, so re-running it after a crash repeats no
side effect. Its finding goes to the `findings` table (graph state keeps the status, the
task output a compact summary); every model call and tool call is an audit event with the
agent as actor. When the agent cannot finish, a person gets an "investigate manually" item
with the evidence gathered so far; the run is not failed for it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from langchain_core.language_models import BaseChatModel

from baton.agents.base import AgentBrief
from baton.agents.events import AgentEvent, AgentOutcome, agent_actor
from baton.agents.kit import ALLOW
from baton.agents.loop import run_agent
from baton.agents.provider import OFFLINE, model_identity
from baton.agents.recommend import recommend
from baton.domain.finding import AgentName, Finding
from baton.domain.incident import Incident
from baton.domain.status import ItemKind, TaskStatus
from baton.errors import ConfigError
from baton.graph.deps import EngineDeps
from baton.graph.inbox import open_staged_item
from baton.runbooks.model import AgentTask
from baton.store import audit, findings
from baton.store import items as item_store
from baton.store import runs as run_store
from baton.store.db import Database
from baton.store.models import FindingRow, utcnow

SUSPECTS_IN_OUTPUT = 3


class AgentStep:
    """One visit of an agent task's node; returns the task's status after it."""

    def __init__(self, deps: EngineDeps, task: AgentTask, run_id: str) -> None:
        self.deps, self.task, self.run_id = deps, task, run_id
        self.agent = AgentName(task.agent)

    def visit(self) -> TaskStatus:
        with self.deps.db.read() as session:
            done = findings.get_finding(session, run_id=self.run_id, task_id=self.task.id)
            manual = item_store.get_item_for_task(session, run_id=self.run_id, task_id=self.task.id)
            incident = Incident.model_validate(
                run_store.get_incident(
                    session, incident_id=run_store.get_run(session, run_id=self.run_id).incident_id
                ).body
            )
        if done is not None:
            return TaskStatus.SUCCEEDED  # recorded with its transition; state lags a crash
        if manual is not None:
            answer = manual.answer
            return TaskStatus(answer["status"]) if answer else TaskStatus.WAITING
        kit = self.deps.agents
        try:
            if kit is None:
                raise ConfigError("this runtime has no agent tools configured")
            reasoner = kit.reasoner(self.agent)
        except ConfigError as exc:
            return self._investigate(f"the model is not usable: {exc.message}", None)
        model = model_identity(reasoner)[1] if isinstance(reasoner, BaseChatModel) else OFFLINE
        actor = agent_actor(self.agent, model)
        brief = self._brief(incident)
        with self.deps.db.write() as session:
            run_store.transition_task(
                session,
                run_id=self.run_id,
                task_id=self.task.id,
                status=TaskStatus.RUNNING,
                actor=actor,
                detail={
                    "agent": self.agent.value,
                    "window": [audit.rfc3339(brief.window_start), audit.rfc3339(brief.window_end)],
                    "baseline": [
                        audit.rfc3339(brief.baseline_start),
                        audit.rfc3339(brief.baseline_end),
                    ],
                },
            )
        budget = self.task.budget
        outcome = run_agent(
            brief,
            reasoner_or_model=reasoner,
            tools=kit.tools,
            allow=ALLOW[self.agent],
            budget=kit.budget(
                max_tool_calls=budget.max_tool_calls,
                max_tokens=budget.max_tokens,
                timeout=budget.timeout,
            ),
            record=self._record,
        )
        if outcome.failed or outcome.finding is None:
            return self._investigate(outcome.reason or "the agent did not finish", outcome)
        self._keep(outcome, outcome.finding)
        return TaskStatus.SUCCEEDED

    def _brief(self, incident: Incident) -> AgentBrief:
        detected = incident.detected_at
        window_start = detected - timedelta(seconds=self.task.window)
        baseline = timedelta(seconds=self.task.baseline or self.task.window)
        return AgentBrief(
            agent=self.agent,
            incident=incident,
            window_start=window_start,
            window_end=max(utcnow(), detected),
            baseline_start=window_start - baseline,
            baseline_end=window_start,
            inputs=self.task.inputs,
        )

    def _record(self, event: AgentEvent) -> None:
        audit_agent_event(self.deps.db, self.run_id, self.task.id, event)

    def _keep(self, outcome: AgentOutcome, finding: Finding) -> None:
        proposals = [r.model_dump(mode="json") for r in recommend(finding)]
        body = finding.model_dump(mode="json")
        stats = outcome.model_dump(
            mode="json",
            include={
                "llm_calls",
                "tool_calls",
                "refused_tool_calls",
                "input_tokens",
                "output_tokens",
                "elapsed_ms",
                "events",
            },
        )
        with self.deps.db.write() as session:
            row = findings.save_finding(
                session,
                run_id=self.run_id,
                task_id=self.task.id,
                agent=self.agent.value,
                actor=outcome.actor,
                produced_by=outcome.produced_by,
                finding=body,
                recommendations=proposals,
                stats=stats,
            )
            audit.append(
                session,
                actor=outcome.actor,
                kind="finding",
                payload={
                    "finding_id": row.id,
                    "produced_by": outcome.produced_by,
                    "finding": body,
                    "recommendations": proposals,
                    "stats": stats,
                },
                run=self.run_id,
                task=self.task.id,
            )
            run_store.transition_task(
                session,
                run_id=self.run_id,
                task_id=self.task.id,
                status=TaskStatus.SUCCEEDED,
                actor=outcome.actor,
                output=summary(row.id, outcome.produced_by, finding, proposals),
                detail={"finding_id": row.id, "produced_by": outcome.produced_by},
            )

    def _investigate(self, reason: str, outcome: AgentOutcome | None) -> TaskStatus:
        """Hand the question to a person, with whatever evidence the agent gathered."""
        evidence = [e.model_dump(mode="json") for e in outcome.partial] if outcome else []
        content: dict[str, Any] = {
            "task": self.task.id,
            "kind": ItemKind.FALLBACK.value,
            "title": self.task.title,
            "reason": f"the {self.agent.value} agent could not finish: {reason}",
            "instructions": "Investigate manually, then complete this item with your "
            "findings in the comment (or fail it).",
            "partial_evidence": evidence,
            "produced_by": outcome.produced_by if outcome else None,
        }
        with self.deps.db.write() as session:
            open_staged_item(
                session,
                run_id=self.run_id,
                task_id=self.task.id,
                kind=ItemKind.FALLBACK,
                title=f"Investigate manually: {self.task.title}",
                content=content,
                roles=[self.task.assignee] if self.task.assignee else [],
                min_approvals=1,
                timeout=self.task.timeout,
            )
        return TaskStatus.WAITING


def summary(
    finding_id: str, produced_by: str, finding: Finding, proposals: list[dict[str, Any]]
) -> dict[str, Any]:
    """The compact task output later templates and gates show (`tasks.<id>.output.*`)."""
    top = sorted(finding.suspects, key=lambda s: s.score, reverse=True)[:SUSPECTS_IN_OUTPUT]
    return {
        "finding_id": finding_id,
        "produced_by": produced_by,
        "summary": finding.summary,
        "abstained": finding.abstained,
        "confidence": finding.confidence,
        "suspects": [
            {"kind": s.kind.value, "ref": s.ref, "title": s.title, "score": s.score, "ci": s.ci}
            for s in top
        ],
        "notes": finding.notes,
        "recommendations": [
            {"pattern": p["pattern"], "params": p["params"], "rationale": p["rationale"]}
            for p in proposals
        ],
    }


def finding_view(row: FindingRow) -> dict[str, Any]:
    """A stored finding as a gate shows it: which task, and its summary."""
    finding = Finding.model_validate(row.finding)
    return {"task": row.task_id, **summary(row.id, row.produced_by, finding, row.recommendations)}


def audit_agent_event(db: Database, run_id: str, task_id: str, event: AgentEvent) -> None:
    """Every model call and tool call is audited as it happens, by the agent's actor."""
    payload = event.model_dump(mode="json", exclude={"actor", "at", "kind"})
    with db.begin() as conn:  # the hot path: one short transaction per event
        audit.append(
            conn,
            actor=event.actor,
            kind=f"agent_{event.kind}",
            payload=payload,
            run=run_id,
            task=task_id,
        )
