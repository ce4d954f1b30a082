"""The ledger decides, on a re-run of a node, whether an action runs again (ADR 0002)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from pydantic import BaseModel

from baton.domain.envelope import ActionResult, ResultStatus
from baton.domain.incident import Incident
from baton.domain.params import CommandParams
from baton.graph.actions import Step, perform
from baton.runbooks.model import ActionTask
from baton.runtime import Runtime
from baton.store import action_ledger
from baton.store.action_ledger import ActionEntry
from baton.tools.executors.base import ExecutionContext
from tests.conftest import runbook
from tests.integration.test_hot_path import open_act

REQ = "human:requester"


class CountingExecutor:
    """A real executor seam implementation that records each call (an effect counter)."""

    name = "command"
    params_model = CommandParams

    def __init__(self, results: list[ResultStatus]) -> None:
        self.results = results
        self.calls: list[ExecutionContext] = []

    def is_idempotent(self, params: BaseModel) -> bool:
        return False

    def describe(self, params: BaseModel) -> dict[str, object]:
        return params.model_dump()

    def execute(self, params: BaseModel, ctx: ExecutionContext) -> ActionResult:
        self.calls.append(ctx)
        status = self.results[len(self.calls) - 1]
        return ActionResult(status=status, error=None if status == "succeeded" else "boom")


@pytest.fixture
def run_id(runtime: Runtime, incident: Incident) -> str:
    rb = runbook("""
        id: ledger
        title: Ledger
        owner: sre
        tasks:
          - {id: act, type: action, title: Act, executor: command, retries: 1,
             params: {argv: ["true"]}}
    """)
    return runtime.runner.create(rb, incident, requested_by=REQ)


def task(retries: int = 1) -> ActionTask:
    return ActionTask(
        id="act", type="action", title="Act", executor="command", params={}, retries=retries
    )


def attempt(
    runtime: Runtime, run_id: str, executor: CountingExecutor, act: ActionTask | None = None
):
    """What the action node does each time LangGraph runs it."""
    return perform(
        runtime.runner.deps,
        run_id=run_id,
        step=Step.of(act or task()),
        executor=executor,
        params=CommandParams(argv=["true"]),
        hand_failure_to_human=False,
    )


def died_mid_call(runtime: Runtime, run_id: str, *, idempotent: bool) -> ActionEntry:
    """What a process that died mid-call leaves behind: the intent of attempt 1, the task
    running, no result."""
    entry = open_act(runtime, run_id, idempotent=idempotent)
    assert entry is not None
    return entry


def test_a_completed_intent_is_never_repeated(runtime: Runtime, run_id: str):
    executor = CountingExecutor([ResultStatus.SUCCEEDED])
    for _ in range(3):  # the node re-run after a crash, twice
        outcome = attempt(runtime, run_id, executor)
        assert outcome.ok and outcome.attempt == 1
    assert len(executor.calls) == 1
    assert executor.calls[0].idempotency_key == f"{run_id}:act:1"


def test_an_exhausted_failure_is_reused_not_retried(runtime: Runtime, run_id: str):
    executor = CountingExecutor([ResultStatus.FAILED, ResultStatus.FAILED])
    first = attempt(runtime, run_id, executor)
    again = attempt(runtime, run_id, executor)
    assert not first.ok and first.attempt == 2
    assert not again.ok and again.attempt == 2
    assert [c.idempotency_key for c in executor.calls] == [f"{run_id}:act:1", f"{run_id}:act:2"]


def test_an_in_doubt_intent_is_reported_not_repeated(runtime: Runtime, run_id: str):
    died_mid_call(runtime, run_id, idempotent=False)
    executor = CountingExecutor([ResultStatus.SUCCEEDED])
    outcome = attempt(runtime, run_id, executor)
    assert outcome.in_doubt and executor.calls == []


def test_intent_time_is_fixed_for_re_executions(runtime: Runtime, run_id: str, tmp_path: Path):
    entry = died_mid_call(runtime, run_id, idempotent=True)
    executor = CountingExecutor([ResultStatus.SUCCEEDED])
    act = task().model_copy(update={"idempotent": True})
    outcome = attempt(runtime, run_id, executor, act)
    assert outcome.ok
    assert executor.calls[0].intent_at == entry.intent_at
    assert isinstance(executor.calls[0].intent_at, datetime)
    with runtime.db.read() as s:
        (stored,) = action_ledger.entries(s, run_id=run_id)
    assert stored.reexecutions == 1 and stored.state == action_ledger.COMPLETED
    assert json.dumps(stored.result)
