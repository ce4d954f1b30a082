"""Timer jobs on PostgreSQL (issue 13), with real `baton serve` and `baton worker` processes.

Must hold: a gate's deadline expires at its due time through the wake-up job deferred when
the run parked (the periodic sweep is a minute away); under a backlog of ordinary
advances, a due wake-up and the advance it queues go first (procrastinate `priority`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from baton.jobs.queue import TIMER_PRIORITY
from tests.conftest import PY, wait_for
from tests.faults.conftest import Estate, chain_valid, run_of, settles
from tests.faults.test_timers import conninfo, timer_jobs
from tests.integration import postgres
from tests.integration.scripts import APPEND, lines

pytestmark = [pytest.mark.integration, postgres.needed]

DEADLINE = """\
id: deadline
title: A gate with a short deadline
owner: payments
tasks:
  - {id: gate, type: approval, title: Go?, approvers: [sre], timeout: 4}
"""


def query(estate: Estate, sql: str, *args: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(conninfo(estate)) as conn:
        return conn.execute(sql, args).fetchall()  # type: ignore[arg-type]


def test_a_gate_deadline_expires_at_its_due_time_through_the_scheduled_job(
    estate: Estate,
) -> None:
    # The sweep (which also expires overdue items) runs at most every 59 s: seconds :59 and
    # :00 of each minute. Start where the whole deadline falls between two of them.
    estate.home.env["BATON_SERVE_RECOVER_SECONDS"] = "300"
    (estate.home.path / "runbooks" / "deadline.yaml").write_text(DEADLINE)
    estate.server()
    estate.worker("w1")
    wait_for(lambda: 2 <= datetime.now(UTC).second <= 40, timeout=70, what="a quiet minute")
    with estate.client("alice") as alice:
        run_id = estate.declare(alice, "deadline")
        wait_for(lambda: timer_jobs(estate, run_id), timeout=30, what="the deadline's job")
        ((due,),) = query(estate, "SELECT due_at FROM pending_items WHERE run_id = %s", run_id)
        due = due.replace(tzinfo=UTC)
        (job,) = timer_jobs(estate, run_id)
        assert job["status"] == "todo" and job["scheduled_at"] == due
        assert job["lock"] is None and job["priority"] == TIMER_PRIORITY
        assert run_of(alice, run_id)["run"]["status"] == "waiting"

        run = settles(alice, run_id, "failed", timeout=30)
        expired = datetime.now(UTC)
        (gate,) = run["tasks"]
        finished = datetime.fromisoformat(gate["finished_at"])
        assert gate["status"] == "failed" and "(timeout)" in (gate["error"] or ""), gate
        assert due <= finished <= due + timedelta(seconds=3), (due, finished)
        # No sweep ran between the deadline's start and its expiry.
        for (at,) in query(
            estate,
            "SELECT defer_timestamp FROM procrastinate_periodic_defers WHERE periodic_id = 'sweep'",
        ):
            swept = datetime.fromtimestamp(at, UTC)
            assert not (due - timedelta(seconds=5) <= swept <= expired), swept
        assert timer_jobs(estate, run_id) == []
        chain_valid(alice)


TIMER = """\
id: timer
title: Wait, then mark
owner: payments
tasks:
  - {{id: pause, type: action, title: Pause, executor: wait, params: {{seconds: 3}}}}
  - id: mark
    type: action
    title: Mark
    needs: [pause]
    executor: command
    params: {{argv: {argv}}}
"""
BACKLOG = 30


def test_a_due_timer_overtakes_a_backlog_of_ordinary_advances(
    estate: Estate, tmp_path: Path
) -> None:
    estate.home.env["BATON_SERVE_RECOVER_SECONDS"] = "300"
    mark = json.dumps([PY, "-c", APPEND, str(tmp_path / "effects"), "mark"])
    (estate.home.path / "runbooks" / "timer.yaml").write_text(TIMER.format(argv=mark))
    estate.server()
    first = estate.worker("w1")
    with estate.client("alice") as alice:
        timer_run = estate.declare(alice, "timer")
        wait_for(lambda: timer_jobs(estate, timer_run), timeout=60, what="the parked wait")
        first.stop()  # nobody works while the backlog builds up
        backlog = [estate.declare(alice) for _ in range(BACKLOG)]
        queued = query(
            estate,
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'baton.advance_run'"
            " AND status = 'todo'",
        )
        assert queued == [(BACKLOG,)]
        (job,) = timer_jobs(estate, timer_run)
        wait_for(lambda: datetime.now(UTC) > job["scheduled_at"], timeout=30, what="due")

        estate.worker("w2", concurrency=1)  # one job at a time: the order is the queue's
        settles(alice, timer_run, "succeeded", timeout=60)
        marked = max(
            datetime.fromisoformat(t["finished_at"])
            for t in run_of(alice, timer_run)["tasks"]
            if t["finished_at"]
        )
        for run_id in backlog:
            settles(alice, run_id, "waiting", timeout=90)
        noted = [
            datetime.fromisoformat(
                next(t for t in run_of(alice, r)["tasks"] if t["id"] == "note")["finished_at"]
            )
            for r in backlog
        ]
    before = sum(at < marked for at in noted)
    # In id order the wake-up (deferred first) runs first but queues the advance last: all
    # 30 would go before it. By priority, the wake-up and its advance are the first two.
    assert before <= 2, f"{before} of {BACKLOG} ordinary advances went before the due timer"
    assert lines(tmp_path / "effects") == ["mark"]
