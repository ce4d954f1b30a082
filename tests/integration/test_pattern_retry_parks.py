"""A pattern task's retry backoff parks like an action's (issue 13): the advance returns at
once with the task waiting until the backoff ends, the server's timer thread re-enters it
then, and no attempt runs twice.

Real SQLite, real LangGraph checkpoints, a real command that fails once, the server's real
`RunWorker`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta
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
from tests.conftest import PATTERN_FIXTURES, PY, runbook, wait_for
from tests.integration.scripts import lines

BACKOFF = 3.0
INCIDENT = Incident(id="INC-9", title="checkout 5xx", service="checkout", environment="production")

RESTART = """\
id: restart-svc
title: Restart a service, retried
owner: sre
inputs:
  effects: {}
  health: {}
  python: {}
tasks:
  - id: restart
    type: action
    title: Restart
    pattern: svc.restart
    retries: 2
    params:
      python: "{{ inputs.python }}"
      effects: "{{ inputs.effects }}"
      health: "{{ inputs.health }}"
      service: "{{ incident.service }}"
"""


@pytest.fixture
def parking(tmp_path: Path) -> Iterator[tuple[Runtime, RunWorker]]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "people.yaml").write_text("people:\n  alice: [sre]\n")
    settings = Settings(
        home=home,
        patterns_dir=PATTERN_FIXTURES,
        retry_backoff_seconds=BACKOFF,
        timer_park_seconds=1,
        lock_timeout_seconds=10,
        serve_recover_seconds=60,  # the sweep runs once at start; the timer does the rest
    )
    with build_runtime(settings) as rt:
        worker = RunWorker(rt, threads=2, sweep_seconds=settings.serve_recover_seconds)
        yield rt, worker
        worker.stop(grace=5)


def flaky_python(tmp_path: Path) -> tuple[Path, Path]:
    """An interpreter whose first call fails: every call (action or verification) is
    counted in the returned file."""
    calls = tmp_path / "calls"
    script = tmp_path / "flaky-python"
    script.write_text(
        "#!/bin/sh\n"
        f"echo call >> '{calls}'\n"
        f"[ \"$(wc -l < '{calls}')\" -ge 2 ] || exit 3\n"
        f"exec '{PY}' \"$@\"\n"
    )
    script.chmod(0o755)
    return script, calls


def test_a_pattern_retry_backoff_parks_and_the_next_attempt_runs_once_when_due(
    parking: tuple[Runtime, RunWorker], tmp_path: Path
) -> None:
    rt, worker = parking
    python, calls = flaky_python(tmp_path)
    (tmp_path / "healthy").write_text("ok")
    effects = tmp_path / "effects"
    inputs = {"effects": str(effects), "health": str(tmp_path / "healthy"), "python": str(python)}
    run_id, status = rt.runner.start(
        runbook(RESTART), INCIDENT, requested_by="human:requester", inputs=inputs
    )
    assert status is RunStatus.WAITING  # at the gate
    with rt.db.read() as s:
        gate = item_store.get_item_for_task(s, run_id=run_id, task_id="restart", stage="gate")
        assert gate is not None
    began = time.monotonic()
    outcome = rt.runner.answer(gate.id, by="human:alice", verdict="approve")
    took = time.monotonic() - began
    # Without parking the advance sleeps the 3 s backoff and returns succeeded.
    assert outcome.run_status is RunStatus.WAITING, outcome
    assert took < BACKOFF, f"the backoff must not be slept in the advance ({took:.1f} s)"
    assert lines(calls) == ["call"]  # the first attempt failed; the second is parked
    with rt.db.read() as s:
        task = run_store.get_task(s, run_id=run_id, task_id="restart")
        (first,) = action_ledger.entries(s, run_id=run_id)
        said = [
            e.payload
            for e in run_store.timeline(s, run_id=run_id)
            if e.subjects.get("task") == "restart" and e.status == "waiting"
        ]
    assert task.status == "waiting"
    assert first.completed_at is not None
    due = datetime.fromisoformat(said[-1]["until"])
    assert abs(due - (first.completed_at + timedelta(seconds=BACKOFF))) < timedelta(seconds=1)
    assert said[-1]["reason"].startswith("backing off before a retry until")
    assert rt.runner.timers() == {run_id: due}

    worker.start()  # its first sweep finds the parked run; its timer thread re-enters it
    wait_for(lambda: _run_status(rt, run_id) == "succeeded", timeout=30, what="the retry")
    assert lines(effects) == ["checkout"]  # the effect ran once
    assert lines(calls) == ["call", "call", "call"]  # attempt 1, attempt 2, verification
    with rt.db.read() as s:
        first, second, verify = action_ledger.entries(s, run_id=run_id)
        output = run_store.get_task(s, run_id=run_id, task_id="restart").output or {}
    assert (first.key, second.key) == (f"{run_id}:restart:1", f"{run_id}:restart:2")
    assert verify.task_id == "restart.verify"
    assert second.intent_at >= due
    assert second.reexecutions == 0 and first.reexecutions == 0
    assert output["mode"] == "gated"
    assert rt.runner.timers() == {}


def _run_status(rt: Runtime, run_id: str) -> str:
    with rt.db.read() as s:
        return run_store.get_run(s, run_id=run_id).status
