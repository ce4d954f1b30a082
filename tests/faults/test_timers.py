"""Timers on PostgreSQL are scheduled procrastinate jobs, not sleeping workers (issue 13).

Must hold: a run parked on a wait is advanced by a worker at its due time through a job
deferred with `schedule_at` (no worker slot held meanwhile); with two workers it completes
once, each effect once; a retry's backoff is a scheduled advance too, and no attempt is
repeated; the audit chain stays valid.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import PY, wait_for
from tests.faults.conftest import Estate, chain_valid, run_of, settles
from tests.integration import postgres
from tests.integration.scripts import APPEND, FLAKY, lines

pytestmark = [pytest.mark.integration, postgres.needed]


def conninfo(estate: Estate) -> str:
    scheme, sep, rest = estate.database_url.partition("://")
    return f"{scheme.split('+')[0]}{sep}{rest}"


def timer_jobs(estate: Estate, run_id: str) -> list[dict[str, Any]]:
    """The run's wake-ups deferred for a time (what procrastinate holds)."""
    with psycopg.connect(conninfo(estate)) as conn:
        rows = conn.execute(
            "SELECT id, status, lock, queueing_lock, priority, scheduled_at"
            " FROM procrastinate_jobs WHERE args->>'run_id' = %s AND scheduled_at IS NOT NULL"
            " AND task_name = 'baton.wake_run' ORDER BY id",
            (run_id,),
        ).fetchall()
    names = ("id", "status", "lock", "queueing_lock", "priority", "scheduled_at")
    return [dict(zip(names, row, strict=True)) for row in rows]


def parked_runbook(tmp: Path, seconds: float) -> str:
    mark = [PY, "-c", APPEND, str(tmp / "effects"), "mark"]
    after = [PY, "-c", APPEND, str(tmp / "effects"), "after"]
    return f"""\
id: web-restart
title: Mark, wait, go on
owner: payments
tasks:
  - id: mark
    type: action
    title: Mark
    executor: command
    params: {{argv: {json.dumps(mark)}}}
  - id: pause
    type: action
    title: Pause
    needs: [mark]
    executor: wait
    params: {{seconds: {seconds}}}
  - id: after
    type: action
    title: After
    needs: [pause]
    executor: command
    params: {{argv: {json.dumps(after)}}}
"""


def test_a_parked_wait_is_a_scheduled_job_that_one_of_two_workers_runs_when_due(
    estate: Estate, tmp_path: Path
) -> None:
    # The sweep (which would also advance a due run) stays out of the way: the job does it.
    estate.home.env["BATON_SERVE_RECOVER_SECONDS"] = "300"
    (estate.home.path / "runbooks" / "web-restart.yaml").write_text(
        parked_runbook(tmp_path, seconds=6)
    )
    estate.server()
    estate.worker("w1")
    estate.worker("w2")
    with estate.client("alice") as alice:
        run_id = estate.declare(alice)

        def parked() -> bool:
            # The task parks in its node; the run is set waiting, and its wake-up deferred,
            # once the graph has stopped: poll until all three are there.
            run = run_of(alice, run_id)
            tasks = {t["id"]: t["status"] for t in run["tasks"]}
            return (
                tasks.get("pause") == "waiting"
                and run["run"]["status"] == "waiting"
                and any(j["status"] == "todo" for j in timer_jobs(estate, run_id))
            )

        wait_for(parked, timeout=60, what="the run to park on its wait, its wake-up deferred")
        timeline = alice.get(f"/v1/runs/{run_id}/timeline").json()["events"]
        (waiting,) = [e for e in timeline if e["task_id"] == "pause" and e["status"] == "waiting"]
        due = datetime.fromisoformat(waiting["detail"]["until"])
        # The advance for the due time is a job, scheduled; nobody holds the run meanwhile.
        (job,) = [j for j in timer_jobs(estate, run_id) if j["status"] == "todo"]
        assert job["scheduled_at"] == due
        assert job["lock"] is None  # a wake-up holds no lock: a sooner advance never waits on it
        with psycopg.connect(conninfo(estate)) as conn:
            doing = conn.execute(
                "SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing'"
                " AND args->>'run_id' = %s",
                (run_id,),
            ).fetchone()
        assert doing == (0,)
        assert lines(tmp_path / "effects") == ["mark"]

        run = settles(alice, run_id, "succeeded", timeout=60)
        finished = max(
            datetime.fromisoformat(t["finished_at"]) for t in run["tasks"] if t["finished_at"]
        )
        assert finished >= due
        assert lines(tmp_path / "effects") == ["mark", "after"]  # once, with two workers
        assert timer_jobs(estate, run_id) == []  # it ran, and succeeded (then deleted)
        chain_valid(alice)


def flaky_runbook(tmp: Path) -> str:
    flaky = [PY, "-c", FLAKY, str(tmp / "attempts"), "2"]
    return f"""\
id: web-restart
title: Flaky
owner: payments
tasks:
  - id: flaky
    type: action
    title: Fails once
    executor: command
    retries: 2
    params: {{argv: {json.dumps(flaky)}}}
"""


def test_a_retry_backoff_is_a_scheduled_advance(estate: Estate, tmp_path: Path) -> None:
    estate.home.env["BATON_RETRY_BACKOFF_SECONDS"] = "4"
    (estate.home.path / "runbooks" / "web-restart.yaml").write_text(flaky_runbook(tmp_path))
    estate.server()
    estate.worker("w1")
    with estate.client("alice") as alice:
        run_id = estate.declare(alice)
        wait_for(
            lambda: (
                {t["id"]: t["status"] for t in run_of(alice, run_id)["tasks"]}.get("flaky")
                == "waiting"
            ),
            timeout=60,
            what="the retry to park on its backoff",
        )
        # The wake-up is deferred after the task parks, at the end of the same advance.
        todo = wait_for(
            lambda: [j for j in timer_jobs(estate, run_id) if j["status"] == "todo"],
            timeout=30,
            what="the backoff's wake-up job",
        )
        (job,) = todo  # type: ignore[misc]
        assert lines(tmp_path / "attempts") == ["attempt"]
        run = settles(alice, run_id, "succeeded", timeout=60)
        assert lines(tmp_path / "attempts") == ["attempt", "attempt"]  # none repeated
        ledger = alice.get(f"/v1/runs/{run_id}").json()
        assert run["run"]["status"] == "succeeded", ledger
        timeline = alice.get(f"/v1/runs/{run_id}/timeline").json()["events"]
        started = [
            datetime.fromisoformat(e["at"])
            for e in timeline
            if e["task_id"] == "flaky" and e["status"] == "running"
        ]
        assert len(started) == 2
        assert started[1] >= job["scheduled_at"] - timedelta(seconds=1)
        chain_valid(alice)


def test_a_sooner_timer_is_not_held_behind_a_later_one(estate: Estate, tmp_path: Path) -> None:
    """Must hold: a run parked on a one-hour wait that, after an answer, also parks on a
    3 s wait is woken at 3 s, not behind the hour (wake-ups hold no lock, so no job of the
    run can queue behind one scheduled later)."""
    estate.home.env["BATON_SERVE_RECOVER_SECONDS"] = "300"  # only the timers wake the run
    effect = [PY, "-c", APPEND, str(tmp_path / "effects"), "soon"]
    (estate.home.path / "runbooks" / "web-restart.yaml").write_text(f"""\
id: web-restart
title: A long wait beside a gate and a short wait
owner: payments
tasks:
  - id: long
    type: action
    title: Long
    executor: wait
    params: {{seconds: 3600}}
  - id: approve
    type: approval
    approvers: [sre]
    title: Go?
  - id: short
    type: action
    title: Short
    needs: [approve]
    executor: wait
    params: {{seconds: 3}}
  - id: soon
    type: action
    title: Soon
    needs: [short]
    executor: command
    params: {{argv: {json.dumps(effect)}}}
""")
    estate.server()
    estate.worker("w1")
    with estate.client("alice") as alice, estate.client("bob") as bob:
        run_id = estate.declare(alice)
        wait_for(lambda: len(timer_jobs(estate, run_id)) == 1, timeout=60, what="the long wait")
        (item,) = alice.get("/v1/items", params={"run": run_id}).json()["items"]
        answer = bob.post(f"/v1/items/{item['id']}/decision", json={"verdict": "approve"})
        assert answer.status_code == 200, answer.text
        wait_for(lambda: len(timer_jobs(estate, run_id)) == 2, timeout=60, what="the short wait")
        wait_for(lambda: (tmp_path / "effects").exists(), timeout=45, what="the short wait to wake")
        assert lines(tmp_path / "effects") == ["soon"]
        tasks = {t["id"]: t["status"] for t in run_of(alice, run_id)["tasks"]}
        assert tasks["long"] == "waiting" and tasks["soon"] == "succeeded", tasks
        chain_valid(alice)
