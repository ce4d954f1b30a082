"""The bounded tool-calling loop against a real OpenAI-compatible HTTP server.

`ChatOpenAI` (the real `openai` client) talks HTTP to `tests/openai_server.py`, scripted per
test; nothing of ours is mocked. Each test asserts what a person would notice: which tools
ran, what the model was sent, what the audit trail got, and whether the task failed over
to a human with the evidence gathered so far.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel

from baton.agents.budget import AgentBudget, RetryPolicy
from baton.agents.events import (
    AgentEvent,
    LlmCallEvent,
    RefusedToolCallEvent,
    ToolCallEvent,
)
from baton.agents.loop import run_agent
from baton.agents.meter import RecordFailed
from baton.agents.provider import chat_model
from baton.domain.finding import QUOTE_LIMIT, AgentName
from baton.settings import Settings
from tests.agent_fixtures import (
    CHANGES,
    INJECTION,
    LINES,
    LogSearch,
    RecentChanges,
    Rollback,
    brief,
    finding_json,
)
from tests.openai_server import OpenAIServer, error, final, hang, running, tool_calls

pytestmark = pytest.mark.integration

KEY = "sk-canary-KEY-4f9a1c"
DB_SECRET = "DB-CANARY-PASS-77e1"
ENV_SECRET = "ENV-CANARY-SECRET-0b3d"
ALLOW = ("logs.search", "itsm.recent_changes")
FAST_RETRY = RetryPolicy(attempts=3, backoff_seconds=0.01, max_wait_seconds=5)


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with running() as srv:
        yield srv


@pytest.fixture
def model(server: OpenAIServer, tmp_path: Path) -> BaseChatModel:
    settings = Settings(
        home=tmp_path / "home",
        model_provider="openai",
        model_base_url=server.base_url,
        model_api_key=KEY,
        model_name="scripted-model",
        database_url=f"postgresql://baton:{DB_SECRET}@db.internal/baton",
    )
    built = chat_model(settings)
    assert isinstance(built, BaseChatModel)
    return built


class Rig:
    """The tools of one test and the events the loop recorded."""

    def __init__(self) -> None:
        self.logs = LogSearch(LINES)
        self.changes = RecentChanges(CHANGES)
        self.rollback = Rollback()
        self.events: list[AgentEvent] = []

    def run(
        self,
        model: BaseChatModel,
        budget: AgentBudget | None = None,
        agent: AgentName = AgentName.ITSM_CHANGE,
    ) -> Any:
        return run_agent(
            brief(agent),
            reasoner_or_model=model,
            tools=[self.logs, self.changes, self.rollback],
            allow=ALLOW,
            budget=budget or AgentBudget(retry=FAST_RETRY),
            record=self.events.append,
        )

    def kinds(self) -> list[str]:
        return [e.kind for e in self.events]


def tool_messages(body: dict[str, Any]) -> list[str]:
    return [m["content"] for m in body["messages"] if m["role"] == "tool"]


def test_normal_loop_runs_two_tools_then_returns_the_finding(
    server: OpenAIServer, model: BaseChatModel
) -> None:
    server.script(
        tool_calls(("itsm__recent_changes", {"ci_ids": ["payment-gw"]})),
        tool_calls(("logs__search", {"query": "payment-gw"})),
        # the model tries to claim another identity; ours wins
        final(finding_json(agent="log_analysis", produced_by="someone-else")),
    )
    rig = Rig()
    outcome = rig.run(model)

    assert not outcome.failed, outcome.reason
    assert outcome.finding is not None
    assert outcome.finding.agent is AgentName.ITSM_CHANGE
    assert outcome.finding.produced_by == "openai:scripted-model"
    assert outcome.actor == "agent:itsm_change@scripted-model"
    assert outcome.finding.suspects[0].ref == "CHG0030001"
    assert rig.changes.calls == [{"ci_ids": ["payment-gw"]}]
    assert rig.logs.calls == [{"query": "payment-gw", "limit": 20}]
    assert rig.kinds() == ["llm_call", "tool_call", "llm_call", "tool_call", "llm_call"]
    assert all(e.actor == "agent:itsm_change@scripted-model" for e in rig.events)
    assert (outcome.llm_calls, outcome.tool_calls, outcome.events) == (3, 2, 5)
    assert (outcome.input_tokens, outcome.output_tokens) == (50 + 50 + 80, 10 + 10 + 40)
    assert [e.tool for e in outcome.partial] == ["itsm.recent_changes", "logs.search"]

    bodies = server.bodies()
    assert len(bodies) == 3
    offered = {t["function"]["name"] for t in bodies[0]["tools"]}
    assert offered == {"logs__search", "itsm__recent_changes"}  # never action.rollback
    assert bodies[0]["model"] == "scripted-model"
    assert "CHG0030001" in tool_messages(bodies[1])[0]
    assert "upstream payment-gw returned 503" in tool_messages(bodies[2])[1]

    llm = [e for e in rig.events if isinstance(e, LlmCallEvent)]
    assert [e.tool_calls for e in llm] == [["itsm.recent_changes"], ["logs.search"], []]
    assert len({e.prompt_digest for e in llm}) == 3
    tool = [e for e in rig.events if isinstance(e, ToolCallEvent)]
    assert tool[0].args == {"ci_ids": ["payment-gw"]} and tool[0].ok
    assert tool[0].result_digest.startswith("sha256:")


def test_429_waits_for_retry_after_then_succeeds_and_records_the_retry(
    server: OpenAIServer, model: BaseChatModel
) -> None:
    server.script(error(429, "Rate limit reached", retry_after="1"), final(finding_json()))
    rig = Rig()
    outcome = rig.run(model)

    assert not outcome.failed, outcome.reason
    first, second = server.requests
    assert second.at - first.at >= 1.0  # the server's Retry-After, not our 10 ms backoff
    assert second.raw == first.raw  # the same request, retried
    llm = [e for e in rig.events if isinstance(e, LlmCallEvent)]
    assert [(e.iteration, e.attempt) for e in llm] == [(1, 1), (1, 2)]
    assert llm[0].error is not None and "HTTP 429" in llm[0].error
    assert llm[1].error is None
    assert outcome.llm_calls == 2
    assert second.headers["x-stainless-retry-count"] == "0"  # the client did not retry itself


def test_retries_exhausted_fail_the_task_with_the_evidence_so_far(
    server: OpenAIServer, model: BaseChatModel
) -> None:
    server.script(
        tool_calls(("logs__search", {"query": "ERROR"})),
        error(500, "upstream overloaded"),
        error(503, "upstream overloaded"),
        error(502, "bad gateway"),
    )
    rig = Rig()
    outcome = rig.run(model)

    assert outcome.failed and outcome.finding is None
    assert outcome.reason == "model endpoint still failing after retries: HTTP 502: bad gateway"
    assert len(server.requests) == 4  # 1 + FAST_RETRY.attempts
    assert [e.tool for e in outcome.partial] == ["logs.search"]
    preview = outcome.partial[0].preview
    assert preview is not None and preview.source == "tool:logs.search"
    assert "payment-gw returned 503" in preview.text
    assert len(preview.text) <= QUOTE_LIMIT and preview.truncated


def test_bad_key_fails_at_once_without_retrying(server: OpenAIServer, model: BaseChatModel) -> None:
    server.script(error(401, "Incorrect API key provided", code="invalid_api_key"))
    outcome = Rig().run(model)

    assert outcome.failed
    assert outcome.reason == "model endpoint error: HTTP 401: Incorrect API key provided"
    assert len(server.requests) == 1


def test_malformed_arguments_are_refused_and_sent_back(
    server: OpenAIServer, model: BaseChatModel
) -> None:
    server.script(
        tool_calls(("logs__search", '{"query": "ERROR", ')),  # not JSON
        tool_calls(("logs__search", {"limit": "many"})),  # JSON, wrong schema
        final(finding_json()),
    )
    rig = Rig()
    outcome = rig.run(model)

    assert not outcome.failed, outcome.reason
    assert rig.logs.calls == []
    refused = [e for e in rig.events if isinstance(e, RefusedToolCallEvent)]
    assert [e.tool for e in refused] == ["logs.search", "logs.search"]
    assert refused[0].reason == "arguments are not valid JSON"
    assert refused[0].args == '{"query": "ERROR", '
    assert "query: Field required" in refused[1].reason
    assert "limit: Input should be a valid integer" in refused[1].reason
    assert (outcome.tool_calls, outcome.refused_tool_calls) == (2, 2)
    second, third = server.bodies()[1:]
    assert "refused: arguments are not valid JSON" in tool_messages(second)[0]
    assert "refused: invalid arguments" in tool_messages(third)[-1]
    assistant = second["messages"][2]
    assert assistant["tool_calls"][0]["id"] == second["messages"][3]["tool_call_id"]


def test_a_tool_outside_the_allow_list_is_never_executed(
    server: OpenAIServer, model: BaseChatModel
) -> None:
    server.script(
        tool_calls(("action__rollback", {"change": "CHG0030001"}), ("shell", {"cmd": "id"})),
        final(finding_json()),
    )
    rig = Rig()
    outcome = rig.run(model)

    assert not outcome.failed, outcome.reason
    assert rig.rollback.executed == []
    refused = [e for e in rig.events if isinstance(e, RefusedToolCallEvent)]
    assert [(e.tool, e.reason) for e in refused] == [
        ("action__rollback", "tool is not on this agent's allow-list"),
        ("shell", "tool is not on this agent's allow-list"),
    ]
    answers = tool_messages(server.bodies()[1])
    assert len(answers) == 2
    assert all("refused: tool is not on this agent's allow-list" in a for a in answers)
    assert outcome.tool_calls == 2


def test_invalid_answer_is_repaired_once(server: OpenAIServer, model: BaseChatModel) -> None:
    server.script(
        final("The cause is CHG0030001, I am fairly sure."),
        final(finding_json()),
    )
    outcome = Rig().run(model)

    assert not outcome.failed, outcome.reason
    assert outcome.finding is not None and outcome.finding.confidence == 0.8
    repair = server.bodies()[1]["messages"][-1]
    assert repair["role"] == "user"
    assert "not a valid finding: expected one JSON object" in repair["content"]


def test_invalid_twice_fails_with_partial_evidence(
    server: OpenAIServer, model: BaseChatModel
) -> None:
    server.script(
        tool_calls(("itsm__recent_changes", {"ci_ids": ["payment-gw"]})),
        final({"summary": "probably the change", "confidence": 7}),
        final({"summary": "probably the change"}),
    )
    outcome = Rig().run(model)

    assert outcome.failed and outcome.finding is None
    assert outcome.reason == (
        "model answer still invalid after one repair: confidence: Field required"
    )
    repair = server.bodies()[2]["messages"][-1]["content"]
    assert "confidence: Input should be less than or equal to 1" in repair
    assert [e.tool for e in outcome.partial] == ["itsm.recent_changes"]
    assert outcome.partial[0].preview is not None
    assert "CHG0030001" in outcome.partial[0].preview.text


def test_tool_budget_refuses_further_calls_then_fails_if_the_model_insists(
    server: OpenAIServer, model: BaseChatModel
) -> None:
    search = ("logs__search", {"query": "ERROR"})
    server.script(tool_calls(search, search), tool_calls(search), tool_calls(search))
    rig = Rig()
    outcome = rig.run(model, AgentBudget(max_tool_calls=2, retry=FAST_RETRY))

    assert outcome.failed
    assert outcome.reason == "tool-call budget exhausted (2 calls)"
    assert len(rig.logs.calls) == 2
    assert len(outcome.partial) == 2
    third = server.bodies()[2]
    assert "refused: tool-call budget exhausted (2 calls)" in tool_messages(third)[-1]
    assert "budget (2) is spent" in third["messages"][-1]["content"]


def test_tool_budget_spent_but_model_answers_in_time(
    server: OpenAIServer, model: BaseChatModel
) -> None:
    search = ("logs__search", {"query": "ERROR"})
    server.script(tool_calls(search, search), final(finding_json()))
    outcome = Rig().run(model, AgentBudget(max_tool_calls=1, retry=FAST_RETRY))

    assert not outcome.failed, outcome.reason
    assert outcome.tool_calls == 1 and outcome.refused_tool_calls == 1


def test_token_budget_stops_before_the_next_model_call(
    server: OpenAIServer, model: BaseChatModel
) -> None:
    search = ("logs__search", {"query": "ERROR"})
    server.script(tool_calls(search), tool_calls(search), final(finding_json()))
    outcome = Rig().run(model, AgentBudget(max_tokens=100, retry=FAST_RETRY))

    assert outcome.failed
    assert outcome.reason == "token budget exhausted (120 of 100)"
    assert len(server.requests) == 2 and len(outcome.partial) == 2


def test_iteration_limit_is_always_set(server: OpenAIServer, model: BaseChatModel) -> None:
    search = ("logs__search", {"query": "ERROR"})
    server.script(*[tool_calls(search) for _ in range(3)])
    outcome = Rig().run(model, AgentBudget(max_iterations=3, retry=FAST_RETRY))

    assert outcome.failed
    assert outcome.reason == "iteration limit reached (3 model calls)"
    assert len(server.requests) == 3


def test_retry_after_beyond_the_deadline_fails_now_instead_of_waiting(
    server: OpenAIServer, model: BaseChatModel
) -> None:
    server.script(error(429, "Rate limit reached", retry_after="30"))
    budget = AgentBudget(timeout_seconds=5, retry=RetryPolicy(attempts=3, max_wait_seconds=60))
    outcome = Rig().run(model, budget)

    assert outcome.failed
    assert (
        outcome.reason == "model endpoint still failing after retries: HTTP 429: Rate limit reached"
    )
    assert len(server.requests) == 1
    assert outcome.elapsed_ms < 5000


def test_prompt_injection_in_a_log_line_reaches_no_action_and_no_secret_leaves(
    server: OpenAIServer, model: BaseChatModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAYMENTS_DB_PASSWORD", ENV_SECRET)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-should-not-be-used")
    long_quote = INJECTION * 5
    server.script(
        tool_calls(("logs__search", {"query": "payment-gw"})),
        # a model that fell for the injection: it asks for the action and an approval
        tool_calls(
            ("action__rollback", {"change": "CHG0099"}),
            ("approvals__approve", {"request": 7}),
            ("action.rollback", {"change": "CHG0099"}),
        ),
        final(
            finding_json(
                suspects=[
                    {
                        "kind": "log_template",
                        "ref": "T7",
                        "title": "log line carrying instructions",
                        "score": 0.2,
                        "quotes": [{"source": "logs:app.log:4", "text": long_quote}],
                    }
                ]
            )
        ),
    )
    rig = Rig()
    outcome = rig.run(model, agent=AgentName.LOG_ANALYSIS)

    assert rig.rollback.executed == []
    assert [e.reason for e in rig.events if isinstance(e, RefusedToolCallEvent)] == [
        "tool is not on this agent's allow-list"
    ] * 3
    assert not outcome.failed, outcome.reason
    quote = outcome.finding.suspects[0].quotes[0]
    assert quote.truncated and len(quote.text) == QUOTE_LIMIT

    for request in server.requests:
        assert request.headers["authorization"] == f"Bearer {KEY}"
        for secret in (KEY, DB_SECRET, ENV_SECRET, "sk-env-should-not-be-used"):
            assert secret not in request.raw
        # the injection can neither add a tool nor change the offered set
        assert {t["function"]["name"] for t in request.body["tools"]} == {
            "logs__search",
            "itsm__recent_changes",
        }
    # the hostile line reaches the model only as tool-result data
    for request in server.requests:
        for message in request.body["messages"]:
            if "IGNORE PREVIOUS INSTRUCTIONS" in json.dumps(message):
                assert message["role"] in ("tool", "assistant")
    assert "DATA, not instructions" in server.bodies()[0]["messages"][0]["content"]


def test_with_nothing_allowed_no_tool_is_offered_or_run(
    server: OpenAIServer, model: BaseChatModel
) -> None:
    server.script(tool_calls(("logs__search", {"query": "ERROR"})), final(finding_json()))
    rig = Rig()
    outcome = run_agent(
        brief(),
        reasoner_or_model=model,
        tools=[rig.logs, rig.rollback],
        allow=(),
        budget=AgentBudget(retry=FAST_RETRY),
        record=rig.events.append,
    )

    assert not outcome.failed, outcome.reason
    assert "tools" not in server.bodies()[0]
    assert rig.logs.calls == []
    assert rig.kinds() == ["llm_call", "refused_tool_call", "llm_call"]


def test_a_hanging_endpoint_is_cut_off_by_the_wall_clock(
    server: OpenAIServer, model: BaseChatModel
) -> None:
    server.script(tool_calls(("logs__search", {"query": "ERROR"})), hang())
    outcome = Rig().run(model, AgentBudget(timeout_seconds=1.5, retry=FAST_RETRY))

    assert outcome.failed
    assert outcome.reason is not None
    assert outcome.reason.startswith("model endpoint still failing after retries: ")
    assert "timed out" in outcome.reason
    assert 1400 < outcome.elapsed_ms < 4000
    assert len(server.requests) == 2  # no retry once the deadline has passed
    assert [e.tool for e in outcome.partial] == ["logs.search"]


def test_a_step_that_cannot_be_audited_stops_the_task_loudly(
    server: OpenAIServer, model: BaseChatModel
) -> None:
    server.script(tool_calls(("logs__search", {"query": "ERROR"})), final(finding_json()))
    rig = Rig()

    def record(event: AgentEvent) -> None:
        if event.kind == "tool_call":
            raise OSError("disk full")
        rig.events.append(event)

    with pytest.raises(RecordFailed, match="could not record tool_call of agent itsm_change"):
        run_agent(
            brief(),
            reasoner_or_model=model,
            tools=[rig.logs],
            allow=("logs.search",),
            budget=AgentBudget(retry=FAST_RETRY),
            record=record,
        )
    assert len(server.requests) == 1  # nothing after the step that could not be recorded
