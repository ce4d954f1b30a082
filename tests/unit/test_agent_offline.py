"""The offline path of the loop: the same gate (allow-list, schema, budget, audit) as a model."""

from __future__ import annotations

from typing import Any

import pytest

from baton.agents.base import AgentBrief, ToolCaller
from baton.agents.budget import AgentBudget
from baton.agents.events import AgentEvent, RefusedToolCallEvent, ToolCallEvent
from baton.agents.loop import run_agent
from baton.agents.meter import RecordFailed
from baton.domain.finding import AgentName, Finding, Suspect, SuspectKind
from baton.tools.readers.base import ToolResult
from tests.agent_fixtures import CHANGES, LINES, LogSearch, RecentChanges, Rollback, brief

ALLOW = ("logs.search", "itsm.recent_changes")


class PlanReasoner:
    """A tiny deterministic reasoner: runs a fixed plan of calls and ranks the changes found."""

    agent = AgentName.ITSM_CHANGE
    tools = ALLOW

    def __init__(self, plan: list[tuple[str, dict[str, Any]]]) -> None:
        self.plan = plan
        self.results: list[ToolResult] = []

    def reason(self, brief: AgentBrief, call: ToolCaller) -> Finding:
        self.results = [call(name, args) for name, args in self.plan]
        changes = [
            row for r in self.results if r.ok and r.tool == "itsm.recent_changes" for row in r.data
        ]
        return Finding(
            agent=self.agent,
            produced_by="whatever-the-reasoner-says",
            summary=f"{len(changes)} candidate change(s)",
            confidence=0.6 if changes else 0.1,
            abstained=not changes,
            suspects=[
                Suspect(
                    kind=SuspectKind.CHANGE,
                    ref=c["number"],
                    title=c["short_description"],
                    score=0.6,
                    ci=c["cmdb_ci"],
                )
                for c in changes
            ],
        )


class Crashing:
    agent = AgentName.LOG_ANALYSIS
    tools = ALLOW

    def reason(self, brief: AgentBrief, call: ToolCaller) -> Finding:
        call("logs.search", {"query": "ERROR"})
        raise KeyError("template")


def run(reasoner: Any, budget: AgentBudget | None = None, agent: AgentName = AgentName.ITSM_CHANGE):
    events: list[AgentEvent] = []
    logs, changes, rollback = LogSearch(LINES), RecentChanges(CHANGES), Rollback()
    outcome = run_agent(
        brief(agent),
        reasoner_or_model=reasoner,
        tools=[logs, changes, rollback],
        allow=ALLOW,
        budget=budget or AgentBudget(),
        record=events.append,
    )
    return outcome, events, rollback


def test_offline_plan_runs_through_the_same_gate() -> None:
    reasoner = PlanReasoner(
        [
            ("itsm.recent_changes", {"ci_ids": ["payment-gw"]}),
            ("action.rollback", {"change": "CHG0030001"}),  # provided, not allow-listed
            ("logs.search", {"query": ""}),  # schema: min_length=1
        ]
    )
    outcome, events, rollback = run(reasoner)

    assert not outcome.failed
    assert outcome.produced_by == "offline"
    assert outcome.actor == "agent:itsm_change@offline"
    assert outcome.finding is not None
    assert outcome.finding.produced_by == "offline"
    assert [s.ref for s in outcome.finding.suspects] == ["CHG0030001"]
    assert rollback.executed == []
    assert [type(e) for e in events] == [ToolCallEvent, RefusedToolCallEvent, RefusedToolCallEvent]
    assert all(e.actor == "agent:itsm_change@offline" for e in events)
    refused = reasoner.results[1:]
    assert refused[0].ok is False
    assert refused[0].error == "refused: tool is not on this agent's allow-list"
    assert refused[1].error is not None
    assert "query: String should have at least 1 character" in refused[1].error
    assert (outcome.tool_calls, outcome.refused_tool_calls, outcome.llm_calls) == (3, 2, 0)


def test_offline_budget_refuses_calls_and_says_so_in_the_finding() -> None:
    plan = [("logs.search", {"query": "ERROR"})] * 4
    outcome, events, _ = run(PlanReasoner(plan), AgentBudget(max_tool_calls=2))

    assert not outcome.failed
    assert len(outcome.partial) == 2
    assert outcome.finding is not None
    assert outcome.finding.notes == ["tool budget exhausted: 2 call(s) refused"]
    assert [e.kind for e in events].count("refused_tool_call") == 2


def test_a_crashing_reasoner_fails_the_task_not_the_caller() -> None:
    outcome, _, _ = run(Crashing(), agent=AgentName.LOG_ANALYSIS)

    assert outcome.failed and outcome.finding is None
    assert outcome.reason == "offline reasoner failed: KeyError: 'template'"
    assert [e.tool for e in outcome.partial] == ["logs.search"]


def test_offline_record_failure_is_not_mistaken_for_a_reasoner_bug() -> None:
    def record(event: AgentEvent) -> None:
        raise OSError("disk full")

    with pytest.raises(RecordFailed, match="could not record tool_call"):
        run_agent(
            brief(),
            reasoner_or_model=PlanReasoner([("logs.search", {"query": "ERROR"})]),
            tools=[LogSearch(LINES)],
            allow=("logs.search",),
            budget=AgentBudget(),
            record=record,
        )
