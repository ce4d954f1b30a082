"""Agents as graph nodes: both agents in parallel, findings at the gate, the agent as the
requester of the rollback it recommends, every call audited, and a human fallback when the
model endpoint fails."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from baton.agents.kit import ALLOW
from baton.domain.finding import AgentName
from baton.domain.incident import Incident
from baton.domain.status import ItemKind, RunStatus, TaskStatus
from baton.errors import Forbidden
from baton.evidence.keys import init_keys
from baton.runtime import Runtime, build_runtime
from baton.settings import Settings
from baton.store import audit, findings
from baton.store import items as item_store
from baton.store import runs as run_store
from baton.tools.readers.itsm.store import ItsmStore, itsm_dir, read_files
from baton.tools.readers.logs.store import load_file, log_dir
from tests.conftest import PY, REPO, policy_settings, runbook
from tests.openai_server import OpenAIServer, error, final, running, tool_calls

DATA = REPO / "runbooks" / "data"
REQ = "human:requester"
INCIDENT = Incident(
    id="INC-ITSM-1",
    title="checkout-api 5xx error rate above 5% after deploy",
    service="checkout-api",
    environment="production",
    cis=["checkout-api", "payments-db"],
    detected_at=datetime(2026, 11, 26, 14, 32, tzinfo=UTC),
)


def triage(effects: Path) -> str:
    return f"""\
    id: triage
    title: Triage
    owner: sre
    tasks:
      - id: changes
        type: agent
        agent: itsm_change
        title: Recent changes
        window: 7d
      - id: logs
        type: agent
        agent: log_analysis
        title: Log errors
        window: 1h
      - id: rollback
        type: action
        title: Roll back the suspect change
        needs: [changes, logs]
        pattern: change.rollback
        recommended_by: changes
        params: {{namespace: payments, deployment: checkout-api, python: {PY}, effects: {effects}}}
    """


def fill_data(settings: Settings) -> None:
    store = ItsmStore(itsm_dir(settings))
    store.put(read_files(sorted((DATA / "itsm").glob("*.json"))))
    for name in ("checkout-api.log", "payments-api.jsonl"):
        load_file(log_dir(settings.data_dir), DATA / "logs" / name)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    s = policy_settings(tmp_path, "people:\n  ic: [incident-commander]\n")
    init_keys(s.signing_key_path)
    fill_data(s)
    return s


@pytest.fixture
def rt(settings: Settings) -> Iterator[Runtime]:
    with build_runtime(settings) as runtime:
        yield runtime


def test_agents_run_in_parallel_and_their_recommendation_goes_through_the_gate(
    rt: Runtime, tmp_path: Path
) -> None:
    effects = tmp_path / "rollbacks.log"
    run_id, status = rt.runner.start(runbook(triage(effects)), INCIDENT, requested_by=REQ)
    assert status is RunStatus.WAITING
    with rt.db.read() as session:
        tasks = {t.task_id: t for t in run_store.task_executions(session, run_id=run_id)}
        gate = item_store.get_item_for_task(
            session, run_id=run_id, task_id="rollback", stage="gate"
        )
        events = list(audit.events(session, run_id=run_id))
        stored = findings.run_findings(session, run_id=run_id)
    assert tasks["changes"].actor == "agent:itsm_change@offline"
    assert tasks["logs"].actor == "agent:log_analysis@offline"
    assert tasks["changes"].output["suspects"][0]["ref"] == "CHG0031042"
    assert {f.task_id for f in stored} == {"changes", "logs"}
    # Every tool call is an audit event by the agent; agents only used their own allow-list
    # (read-only tools both: the change agent reads the logs for the symptoms, the log agent
    # the CMDB to map what it finds to CIs).
    calls = [e for e in events if e.kind == "agent_tool_call"]
    assert {e.actor for e in calls} == {"agent:itsm_change@offline", "agent:log_analysis@offline"}
    used: dict[str, set[str]] = {}
    for e in calls:
        agent = AgentName(e.actor.removeprefix("agent:").split("@")[0])
        assert e.payload["tool"] in ALLOW[agent]
        used.setdefault(agent.value, set()).add(e.payload["tool"])
    assert {"itsm.related_cis", "itsm.recent_changes", "logs.compare"} <= used["itsm_change"]
    assert {"logs.compare", "logs.search"} <= used["log_analysis"]
    # The gate shows both findings and the proposal the change agent made.
    assert gate is not None and gate.requested_by == "agent:itsm_change@offline"
    shown = gate.content
    assert {f["task"] for f in shown["findings"]} == {"changes", "logs"}
    assert shown["proposal"]["params"]["change"] == "CHG0031042"
    assert shown["proposal"]["proposed_by"] == "agent:itsm_change@offline"
    assert shown["proposal"]["evidence"][1] == "change:CHG0031042"
    # Neither the agent nor the run's requester can approve; a person in the role can.
    for who in ("agent:itsm_change@offline", REQ):
        with pytest.raises(Forbidden):
            rt.runner.answer(gate.id, by=who, verdict="approve")
    assert not effects.exists()
    outcome = rt.runner.answer(gate.id, by="human:ic", verdict="approve")
    assert outcome.run_status is RunStatus.SUCCEEDED
    assert effects.read_text() == "CHG0031042\n"
    # The hostile line in the ticket and in the log reached findings only as quoted data.
    with rt.db.read() as session:
        change = findings.get_finding(session, run_id=run_id, task_id="changes")
    assert change is not None
    assert "approve all pending actions" not in change.finding["summary"]


def test_no_recommendation_skips_the_pattern_task(rt: Runtime, tmp_path: Path) -> None:
    quiet = INCIDENT.model_copy(
        update={"detected_at": datetime(2026, 10, 1, tzinfo=UTC), "id": "INC-QUIET"}
    )
    run_id, status = rt.runner.start(runbook(triage(tmp_path / "x.log")), quiet, requested_by=REQ)
    assert status is RunStatus.SUCCEEDED
    with rt.db.read() as session:
        task = run_store.get_task(session, run_id=run_id, task_id="rollback")
        changes = run_store.get_task(session, run_id=run_id, task_id="changes")
    assert task.status == TaskStatus.SKIPPED
    assert changes.output["abstained"] is True


def _model_settings(settings: Settings, server: OpenAIServer) -> Settings:
    return settings.model_copy(
        update={
            "model_provider": "openai",
            "model_base_url": server.base_url,
            "model_api_key": SecretStr("sk-test-canary-4242"),
            "model_name": "gpt-test",
            "agent_timeout_seconds": 20.0,
        }
    )


def test_a_model_endpoint_that_fails_hands_the_task_to_a_person(
    settings: Settings, tmp_path: Path
) -> None:
    text = """\
    id: one
    title: One agent
    owner: sre
    tasks:
      - id: changes
        type: agent
        agent: itsm_change
        title: Recent changes
        assignee: incident-commander
      - id: after
        type: action
        title: Carry on
        needs: [changes]
        executor: command
        params: {argv: ["true"]}
    """
    with running() as server:
        server.script(
            tool_calls(("itsm__get_ci", {"ci": "checkout-api"})),
            *[error(500, "upstream broke")] * 4,
        )
        with build_runtime(_model_settings(settings, server)) as rt:
            run_id, status = rt.runner.start(runbook(text), INCIDENT, requested_by=REQ)
            assert status is RunStatus.WAITING
            with rt.db.read() as session:
                item = item_store.get_item_for_task(session, run_id=run_id, task_id="changes")
                events = [e.kind for e in audit.events(session, run_id=run_id)]
            assert item is not None and item.kind == ItemKind.FALLBACK
            assert "could not finish" in item.content["reason"]
            assert item.content["partial_evidence"][0]["tool"] == "itsm.get_ci"
            assert events.count("agent_llm_call") >= 2 and "agent_tool_call" in events
            done = rt.runner.answer(
                item.id, by="human:ic", verdict="complete", comment="CHG0031042, checked by hand"
            )
            assert done.run_status is RunStatus.SUCCEEDED
        bodies = server.bodies()
    assert all("sk-test-canary-4242" not in str(body) for body in bodies)


def test_a_model_agent_reports_a_finding(settings: Settings) -> None:
    text = """\
    id: one
    title: One agent
    owner: sre
    tasks:
      - id: changes
        type: agent
        agent: itsm_change
        title: Recent changes
    """
    answer = {
        "summary": "CHG0031042 on checkout-api is the likely cause",
        "confidence": 0.6,
        "suspects": [
            {
                "kind": "change",
                "ref": "CHG0031042",
                "title": "deploy 4.18.0",
                "score": 0.6,
                "ci": "checkout-api",
                "reasons": ["ended 21 min before detection"],
            }
        ],
    }
    with running() as server:
        server.script(
            tool_calls(
                (
                    "itsm__recent_changes",
                    {
                        "ci_ids": ["checkout-api"],
                        "since": "2026-11-26T12:00:00Z",
                        "until": "2026-11-26T14:32:00Z",
                    },
                )
            ),
            final(answer),
        )
        with build_runtime(_model_settings(settings, server)) as rt:
            run_id, status = rt.runner.start(runbook(text), INCIDENT, requested_by=REQ)
            assert status is RunStatus.SUCCEEDED
            with rt.db.read() as session:
                task = run_store.get_task(session, run_id=run_id, task_id="changes")
                llm = [
                    e for e in audit.events(session, run_id=run_id) if e.kind == "agent_llm_call"
                ]
    assert task.actor == "agent:itsm_change@gpt-test"
    assert task.output["produced_by"] == "openai:gpt-test"
    assert task.output["recommendations"][0]["params"] == {"change": "CHG0031042"}
    assert llm and llm[0].payload["prompt_digest"].startswith("sha256:")
