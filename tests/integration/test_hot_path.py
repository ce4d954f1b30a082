"""What an action's two transactions store, now that they are written for speed."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel

from baton.domain.envelope import ActionResult, ResultStatus
from baton.domain.incident import Incident
from baton.domain.params import CommandParams
from baton.domain.status import TaskStatus
from baton.graph.actions import Step, perform
from baton.runbooks.model import ActionTask
from baton.runtime import Runtime
from baton.store import action_ledger, action_steps, audit
from baton.store import runs as run_store
from baton.store.action_steps import Mark
from baton.tools.executors.base import ExecutionContext
from tests.conftest import runbook

REQ = "human:requester"
WHEN = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)


class ReportingExecutor:
    """Returns data with a value JSON has no type for (a datetime) and non-ASCII text."""

    name = "command"
    params_model = CommandParams

    def is_idempotent(self, params: BaseModel) -> bool:
        return False

    def describe(self, params: BaseModel) -> dict[str, object]:
        return params.model_dump()

    def execute(self, params: BaseModel, ctx: ExecutionContext) -> ActionResult:
        return ActionResult(
            status=ResultStatus.SUCCEEDED,
            data={"zone": "café", "finished": WHEN, "rows": [3, 1.5, None]},
            invocation={"argv": ["true"], "key": ctx.idempotency_key},
        )


@pytest.fixture
def run_id(runtime: Runtime, incident: Incident) -> str:
    rb = runbook("""
        id: hot
        title: Hot path
        owner: sre
        tasks:
          - {id: act, type: action, title: Act, executor: command, params: {argv: ["true"]}}
    """)
    return runtime.runner.create(rb, incident, requested_by=REQ)


def act(runtime: Runtime, run_id: str) -> None:
    task = ActionTask(id="act", type="action", title="Act", executor="command", params={})
    outcome = perform(
        runtime.runner.deps,
        run_id=run_id,
        step=Step.of(task),
        executor=ReportingExecutor(),
        params=CommandParams(argv=["true"]),
        hand_failure_to_human=False,
    )
    assert outcome.ok


def open_act(
    runtime: Runtime, run_id: str, *, idempotent: bool = False, first: bool = False
) -> action_ledger.ActionEntry | None:
    """The intent of task `act`'s attempt 1 with its `running` mark, as `perform` opens it."""
    detail = {"idempotency_key": f"{run_id}:act:1"}
    return action_steps.open_intent(
        runtime.db,
        run_id=run_id,
        ledger_task="act",
        attempt=1,
        executor="command",
        idempotent=idempotent,
        invocation={"argv": ["true"]},
        mark=Mark("act", "automation:command", TaskStatus.RUNNING, "task", detail, 1),
        first=first,
    )


def test_a_second_first_visit_changes_nothing(runtime: Runtime, run_id: str):
    first = open_act(runtime, run_id, first=True)
    assert first is not None and first.key == f"{run_id}:act:1"
    assert open_act(runtime, run_id, first=True) is None
    with runtime.db.read() as s:
        (entry,) = action_ledger.entries(s, run_id=run_id)
    assert entry.intent_at == first.intent_at and entry.state == action_ledger.INTENT


def test_each_transaction_stamps_its_rows_with_one_time(runtime: Runtime, run_id: str):
    act(runtime, run_id)
    with runtime.db.read() as s:
        (entry,) = action_ledger.entries(s, run_id=run_id)
        row = run_store.get_task(s, run_id=run_id, task_id="act")
        events = {e.status: e for e in run_store.timeline(s, run_id=run_id) if e.kind == "task"}
    assert entry.intent_at == row.started_at == events["running"].at
    assert entry.completed_at == row.finished_at == events["succeeded"].at
    assert entry.intent_at < entry.completed_at


def test_the_result_is_stored_as_canonical_json_and_digested_once(runtime: Runtime, run_id: str):
    act(runtime, run_id)
    expected = ActionResult.model_validate(
        {
            "status": "succeeded",
            "data": {"zone": "café", "finished": WHEN, "rows": [3, 1.5, None]},
            "invocation": {"argv": ["true"], "key": f"{run_id}:act:1"},
        }
    ).model_dump(mode="json")
    with runtime.db.begin() as conn:
        ledger_text, output_text = conn.dbapi.execute(
            "SELECT l.result, t.output FROM action_ledger l JOIN task_executions t"
            " USING (run_id, task_id) WHERE run_id = ?",
            (run_id,),
        ).fetchone()
    assert json.loads(ledger_text) == expected
    assert ledger_text == audit.canonical_json(expected)
    assert output_text == audit.canonical_json(expected["data"])
    with runtime.db.read() as s:
        (done,) = [e for e in run_store.timeline(s, run_id=run_id) if e.status == "succeeded"]
        (entry,) = action_ledger.entries(s, run_id=run_id)
        row = run_store.get_task(s, run_id=run_id, task_id="act")
        assert audit.verify(s).ok
    assert done.payload["output_digest"] == audit.digest(output_text)
    assert entry.result == expected and row.output == expected["data"]


def test_a_failed_transaction_leaves_nothing_and_the_next_one_works(runtime: Runtime, run_id: str):
    with pytest.raises(RuntimeError, match="mid-transaction"), runtime.db.begin() as conn:
        audit.record(conn, actor=REQ, kind="note", status=None, payload={}, run=run_id)
        raise RuntimeError("mid-transaction")
    with runtime.db.begin() as conn:
        audit.record(conn, actor=REQ, kind="note", status=None, payload={"n": 2}, run=run_id)
    with runtime.db.read() as s:
        notes = [e.payload for e in run_store.timeline(s, run_id=run_id) if e.kind == "note"]
        assert audit.verify(s).ok
    assert notes == [{"n": 2}]
