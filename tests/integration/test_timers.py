"""Timers are scheduled, not slept (issue 13): a wait or a retry's backoff parks the run,
the advance returns at once, and the server's timer thread advances the run when due.

Real SQLite, real LangGraph checkpoints, real commands, the server's real `RunWorker`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from baton.api.worker import RunWorker
from baton.domain.incident import Incident
from baton.domain.status import RunStatus
from baton.runtime import Runtime, build_runtime
from baton.settings import Settings
from baton.store import action_ledger
from baton.store import items as item_store
from baton.store import runs as run_store
from baton.store.models import utcnow
from tests.conftest import runbook, wait_for
from tests.integration.scripts import APPEND, FLAKY, PY, lines

REQ = "human:requester"


def argv(*args: object) -> str:
    return json.dumps([str(a) for a in args])


@pytest.fixture
def parking(tmp_path: Path) -> Iterator[tuple[Runtime, RunWorker]]:
    """A runtime whose runner parks timers (as `baton serve`'s does), and its worker."""
    settings = Settings(
        home=tmp_path / "home",
        retry_backoff_seconds=2,
        timer_park_seconds=1,
        lock_timeout_seconds=10,
        serve_recover_seconds=60,  # the sweep runs once at start; timers do the rest
    )
    with build_runtime(settings) as rt:
        worker = RunWorker(rt, threads=2, sweep_seconds=settings.serve_recover_seconds)
        yield rt, worker
        worker.stop(grace=5)


def run_status(rt: Runtime, run_id: str) -> str:
    with rt.db.read() as s:
        return run_store.get_run(s, run_id=run_id).status


def task_status(rt: Runtime, run_id: str, task_id: str) -> str:
    with rt.db.read() as s:
        return run_store.get_task(s, run_id=run_id, task_id=task_id).status


def test_a_wait_parks_the_run_and_the_timer_finishes_it_when_due(
    parking: tuple[Runtime, RunWorker], incident: Incident, tmp_path: Path
) -> None:
    rt, worker = parking
    fx = tmp_path / "fx"
    rb = runbook(f"""
        id: pause
        title: Mark, wait, go on
        owner: sre
        tasks:
          - {{id: mark, type: action, title: Mark, executor: command,
              params: {{argv: {argv(PY, "-c", APPEND, fx, "mark")}}}}}
          - {{id: pause, type: action, title: Pause, needs: [mark], executor: wait,
              params: {{seconds: 2}}}}
          - {{id: after, type: action, title: After, needs: [pause], executor: command,
              params: {{argv: {argv(PY, "-c", APPEND, fx, "after")}}}}}
    """)
    run_id = rt.runner.create(rb, incident, requested_by=REQ)
    began = utcnow()
    status = rt.runner.advance(run_id)
    returned = utcnow()

    with rt.db.read() as s:
        (_mark, pause) = action_ledger.entries(s, run_id=run_id)
    due = pause.intent_at + timedelta(seconds=2)
    assert status is RunStatus.WAITING
    assert returned < due, "the advance must return before the wait is due, not sleep it"
    assert task_status(rt, run_id, "pause") == "waiting"
    assert pause.state == action_ledger.INTENT and pause.result is None
    assert lines(fx) == ["mark"]
    with rt.db.read() as s:
        parked = [
            e.payload
            for e in run_store.timeline(s, run_id=run_id)
            if e.subjects.get("task") == "pause" and e.status == "waiting"
        ]
    said = f"waiting until {due.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
    assert parked == [{"until": due.isoformat(), "reason": said}]
    assert rt.runner.timers() == {run_id: due}

    worker.start()  # its first sweep finds the parked run; its timer thread advances it
    wait_for(lambda: run_status(rt, run_id) == "succeeded", timeout=20, what="the run")
    finished = utcnow()
    assert finished >= due
    assert (finished - began).total_seconds() < 15
    assert lines(fx) == ["mark", "after"]
    with rt.db.read() as s:
        pause = action_ledger.entries(s, run_id=run_id)[1]
    assert pause.key == f"{run_id}:pause:1" and pause.reexecutions == 0
    assert pause.result is not None and pause.result["status"] == "succeeded"
    assert pause.result["data"]["waited_seconds"] <= 1  # woken at its due time, not slept
    assert pause.completed_at is not None and pause.completed_at >= due
    assert rt.runner.timers() == {}


def test_a_wait_declared_not_idempotent_still_wakes_and_completes(
    parking: tuple[Runtime, RunWorker], incident: Incident
) -> None:
    """A parked wait's open intent is the wait, not a crash: even a wait a runbook declares
    `idempotent: false` completes when due instead of becoming a person's task."""
    rt, worker = parking
    rb = runbook("""
        id: pause
        title: Wait
        owner: sre
        tasks:
          - {id: pause, type: action, title: Pause, executor: wait, idempotent: false,
              params: {seconds: 2}}
    """)
    run_id = rt.runner.create(rb, incident, requested_by=REQ)
    assert rt.runner.advance(run_id) is RunStatus.WAITING
    worker.start()
    wait_for(lambda: run_status(rt, run_id) == "succeeded", timeout=20, what="the run")
    with rt.db.read() as s:
        assert item_store.open_items_for_task(s, run_id=run_id, task_id="pause") == []


def test_a_retry_backoff_parks_and_the_next_attempt_runs_after_it(
    parking: tuple[Runtime, RunWorker], incident: Incident, tmp_path: Path
) -> None:
    rt, worker = parking
    counter = tmp_path / "attempts"
    rb = runbook(f"""
        id: flaky
        title: Flaky
        owner: sre
        tasks:
          - {{id: flaky, type: action, title: Flaky, executor: command, retries: 2,
              params: {{argv: {argv(PY, "-c", FLAKY, counter, 2)}}}}}
    """)
    worker.start()
    run_id = rt.runner.create(rb, incident, requested_by=REQ)
    began = time.monotonic()
    status = rt.runner.advance(run_id)
    assert time.monotonic() - began < 2, "the backoff (2 s) must not be slept in the advance"
    assert status is RunStatus.WAITING
    assert lines(counter) == ["attempt"]  # the first attempt failed; the second is parked
    assert task_status(rt, run_id, "flaky") == "waiting"

    wait_for(lambda: run_status(rt, run_id) == "succeeded", timeout=20, what="the retry")
    assert lines(counter) == ["attempt", "attempt"]  # no attempt repeated
    with rt.db.read() as s:
        first, second = action_ledger.entries(s, run_id=run_id)
    assert (first.key, second.key) == (f"{run_id}:flaky:1", f"{run_id}:flaky:2")
    assert first.result is not None and first.result["status"] == "failed"
    assert first.completed_at is not None
    assert second.intent_at >= first.completed_at + timedelta(seconds=2)


def test_a_wait_shorter_than_the_threshold_is_slept_in_place(
    parking: tuple[Runtime, RunWorker], incident: Incident
) -> None:
    rt, _ = parking
    rb = runbook("""
        id: short
        title: Short
        owner: sre
        tasks:
          - {id: blink, type: action, title: Blink, executor: wait, params: {seconds: 0.5}}
    """)
    run_id = rt.runner.create(rb, incident, requested_by=REQ)
    assert rt.runner.advance(run_id) is RunStatus.SUCCEEDED


def test_without_a_scheduler_the_runner_sleeps_the_wait(
    runtime: Runtime, incident: Incident
) -> None:
    """A foreground CLI run has no scheduler: it still completes the wait itself."""
    rb = runbook("""
        id: fg
        title: Foreground
        owner: sre
        tasks:
          - {id: pause, type: action, title: Pause, executor: wait, params: {seconds: 1.5}}
    """)
    began = time.monotonic()
    run_id, status = runtime.runner.start(rb, incident, requested_by=REQ)
    assert status is RunStatus.SUCCEEDED
    assert time.monotonic() - began >= 1.4
    with runtime.db.read() as s:
        assert [e.reexecutions for e in action_ledger.entries(s, run_id=run_id)] == [0]


def test_an_item_deadline_is_a_timer_too(
    parking: tuple[Runtime, RunWorker], incident: Incident
) -> None:
    """A gate with a deadline times out at its deadline, not at the next sweep (60 s)."""
    rt, worker = parking
    rb = runbook("""
        id: deadline
        title: Deadline
        owner: sre
        tasks:
          - {id: gate, type: approval, title: Go?, approvers: [ic], timeout: 2}
    """)
    worker.start()
    run_id = rt.runner.create(rb, incident, requested_by=REQ)
    assert rt.runner.advance(run_id) is RunStatus.WAITING
    parked = worker.timers.pending()
    assert [r for _, r in parked] == [run_id]
    assert parked[0][0] > datetime.now(parked[0][0].tzinfo)
    wait_for(lambda: run_status(rt, run_id) == "failed", timeout=20, what="the timeout")
    assert task_status(rt, run_id, "gate") == "failed"


PARKED = """\
id: parked
title: Mark, wait, go on
owner: payments
triggers:
  - source: generic
    match: {{alertname: WebDown}}
tasks:
  - id: mark
    type: action
    title: Mark
    executor: command
    params: {{argv: {mark}}}
  - id: pause
    type: action
    title: Pause
    needs: [mark]
    executor: wait
    params: {{seconds: 4}}
  - id: after
    type: action
    title: After
    needs: [pause]
    executor: command
    params: {{argv: {after}}}
"""


def test_a_server_killed_during_a_parked_wait_resumes_it_without_repeating_an_effect(
    tmp_path: Path,
) -> None:
    """kill -9 of `baton serve` while its run is parked on a wait: the next server finds the
    parked run (its sweep), advances it at the due time, and nothing runs twice."""
    from tests.server import Server, ServerHome

    fx = tmp_path / "fx"
    home = ServerHome(
        tmp_path / "home",
        runbook=PARKED.format(
            mark=argv(PY, "-c", APPEND, fx, "mark"), after=argv(PY, "-c", APPEND, fx, "after")
        ),
    )
    token = home.token("alice")
    alert = {"title": "WebDown", "severity": "critical", "labels": {"alertname": "WebDown"}}
    first = Server(home).start()
    with first.client(token) as client:
        posted = client.post(
            "/v1/webhooks/generic", json=alert, headers={"Authorization": "Bearer generic-token"}
        )
        run_id = posted.json()["results"][0]["run_id"]

        def parked() -> bool:
            # The task parks first, the run's status follows at the end of the same advance.
            shown = client.get(f"/v1/runs/{run_id}").json()
            task = any(t["id"] == "pause" and t["status"] == "waiting" for t in shown["tasks"])
            return task and shown["run"]["status"] == "waiting"

        wait_for(parked, timeout=20, what="the run to park on its wait")
    first.stop(sig=9)
    assert lines(fx) == ["mark"]
    with Server(home) as second, second.client(token) as client:

        def finished() -> str | None:
            status = client.get(f"/v1/runs/{run_id}").json()["run"]["status"]
            return status if status in ("succeeded", "failed") else None

        assert wait_for(finished, timeout=30, what="the resumed run") == "succeeded"
        timeline = client.get(f"/v1/runs/{run_id}/timeline").json()["events"]
    assert lines(fx) == ["mark", "after"]  # nothing ran twice
    waits = [e for e in timeline if e.get("task_id") == "pause" and e.get("status") == "waiting"]
    assert len(waits) == 1 and "until" in waits[0]["detail"], waits
