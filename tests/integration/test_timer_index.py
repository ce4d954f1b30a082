"""The sweep finds due timers by an index on `runs.wake_at` (issue 13), not by reading every
parked run's graph state; a hint that was never written (the process died after parking)
is rebuilt by a process's first sweep; a stale hint is corrected, not acted on for ever.

Real SQLite, real LangGraph checkpoints, the server's real `RunWorker`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text, update

from baton.api.worker import RunWorker
from baton.domain.incident import Incident
from baton.domain.status import RunStatus
from baton.graph.runner import Runner
from baton.runtime import Runtime, build_runtime
from baton.settings import Settings
from baton.store import runs as run_store
from baton.store.models import RunRow, utcnow
from tests.conftest import runbook, wait_for

REQ = "human:requester"
LONG = """\
id: long
title: A long wait
owner: sre
tasks:
  - {id: pause, type: action, title: Pause, executor: wait, params: {seconds: 3600}}
"""


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    settings = Settings(home=tmp_path / "home", timer_park_seconds=1, serve_recover_seconds=600)
    with build_runtime(settings) as runtime:
        yield runtime


@pytest.fixture
def parks(rt: Runtime) -> list[tuple[str, datetime]]:
    """The runner schedules timers as a server's does; what it hands over is kept."""
    handed: list[tuple[str, datetime]] = []
    rt.runner.schedule_timers(1, lambda run_id, at: handed.append((run_id, at)))
    return handed


def wake_at(rt: Runtime, run_id: str) -> datetime | None:
    with rt.db.read() as s:
        return run_store.get_run(s, run_id=run_id).wake_at


def state_reads(runner: Runner, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The runs whose graph state the runner reads for their timers."""
    read: list[str] = []
    original = runner.graph_for

    def counted(version: str) -> Any:
        read.append(version)
        return original(version)

    monkeypatch.setattr(runner, "graph_for", counted)
    return read


def test_a_parked_run_writes_its_hint_and_the_sweep_reads_no_graph_state(
    rt: Runtime,
    parks: list[tuple[str, datetime]],
    incident: Incident,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_ids = [rt.runner.create(runbook(LONG), incident, requested_by=REQ) for _ in range(3)]
    for run_id in run_ids:
        assert rt.runner.advance(run_id) is RunStatus.WAITING
    assert [r for r, _ in parks] == run_ids
    dues = dict(parks)
    assert {r: wake_at(rt, r) for r in run_ids} == dues  # written when each parked

    read = state_reads(rt.runner, monkeypatch)
    assert rt.runner.timers(rebuild=False) == dues
    assert read == []  # ahead of time: found by the index alone
    assert rt.runner.timers(rebuild=True) == dues  # the state-reading path agrees
    assert len(read) == 3

    with rt.db.read() as s:  # and the index is what the query uses
        plan = " ".join(
            str(row[-1])
            for row in s.execute(
                text(
                    "EXPLAIN QUERY PLAN SELECT id, status, wake_at FROM runs"
                    " WHERE wake_at IS NOT NULL ORDER BY wake_at"
                )
            )
        )
    assert "ix_runs_wake_at" in plan, plan


def test_a_hint_lost_in_a_crash_is_rebuilt_by_the_first_sweep(
    rt: Runtime, parks: list[tuple[str, datetime]], incident: Incident
) -> None:
    """A process that died after parking a run but before writing its hint: the index does
    not know the timer, the next process's first sweep finds it in the graph state, writes
    the hint, and the run is woken when due."""
    fast = LONG.replace("3600", "3")
    run_id = rt.runner.create(runbook(fast), incident, requested_by=REQ)
    assert rt.runner.advance(run_id) is RunStatus.WAITING
    ((_, due),) = parks
    with rt.db.write() as s:  # as if the process died before the hint's write
        s.execute(text("UPDATE runs SET wake_at = NULL WHERE id = :id"), {"id": run_id})
    assert rt.runner.timers(rebuild=False) == {}

    worker = RunWorker(rt, threads=1, sweep_seconds=600)  # one sweep: the first, at start
    try:
        worker.start()
        wait_for(lambda: wake_at(rt, run_id) == due, timeout=20, what="the rebuilt hint")
        wait_for(lambda: _status(rt, run_id) == "succeeded", timeout=30, what="the run, when due")
    finally:
        worker.stop(grace=5)
    assert utcnow() >= due


def test_a_stale_hint_is_corrected_not_acted_on_again(
    rt: Runtime,
    parks: list[tuple[str, datetime]],
    incident: Incident,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A due hint whose run has no timer left (it waits on a person now) is cleared the
    first time the sweep checks it, so the run is not advanced at every sweep; one whose
    timer is later than the hint is moved to it; a finished run's hint is dropped."""
    gate = runbook("""
        id: gate
        title: A gate
        owner: sre
        tasks:
          - {id: go, type: approval, title: Go?, approvers: [sre]}
    """)
    on_person = rt.runner.create(gate, incident, requested_by=REQ)
    later = rt.runner.create(runbook(LONG), incident, requested_by=REQ)
    ended = rt.runner.create(runbook(LONG.replace("3600", "0.1")), incident, requested_by=REQ)
    for run_id in (on_person, later, ended):
        rt.runner.advance(run_id)
    assert _status(rt, ended) == "succeeded"
    ((_, later_due),) = parks
    past = utcnow() - timedelta(seconds=5)
    with rt.db.write() as s:
        s.execute(
            update(RunRow).where(RunRow.id.in_([on_person, later, ended])).values(wake_at=past)
        )
    assert all(wake_at(rt, r) is not None for r in (on_person, later, ended))

    read = state_reads(rt.runner, monkeypatch)
    found = rt.runner.timers(rebuild=False)
    assert found == {later: later_due}  # nothing due: no run to advance
    assert sorted(read) == sorted([_version(rt, on_person), _version(rt, later)])
    assert wake_at(rt, on_person) is None
    assert wake_at(rt, later) == later_due
    assert wake_at(rt, ended) is None
    assert rt.runner.recoverable(found) == []

    read.clear()
    assert rt.runner.timers(rebuild=False) == {later: later_due}
    assert read == []  # corrected once; the next sweep reads the index only


def _status(rt: Runtime, run_id: str) -> str:
    with rt.db.read() as s:
        return run_store.get_run(s, run_id=run_id).status


def _version(rt: Runtime, run_id: str) -> str:
    with rt.db.read() as s:
        return run_store.get_run(s, run_id=run_id).runbook_version
