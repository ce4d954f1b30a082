"""Scale-out on a real PostgreSQL server: `baton serve` enqueues, `baton worker`s advance.

Real processes (one server, two workers), real HTTP, a real database per test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import wait_for
from tests.integration import postgres
from tests.server import Server, ServerHome, Worker

pytestmark = [pytest.mark.integration, postgres.needed]


@pytest.fixture
def home(pg: postgres.Cluster, tmp_path: Path) -> ServerHome:
    return ServerHome(
        tmp_path / "home",
        env={
            "BATON_DATABASE_URL": pg.database(),
            "BATON_WORKER_STALL_SECONDS": "3",
        },
    )


@pytest.fixture
def workers(home: ServerHome) -> Iterator[list[Worker]]:
    started = [Worker(home, f"w{n}").start() for n in (1, 2)]
    yield started
    for worker in started:
        worker.stop()


def run_status(client: httpx.Client, run_id: str) -> str:
    return str(client.get(f"/v1/runs/{run_id}").json()["run"]["status"])


def test_the_server_enqueues_and_workers_take_a_run_through_its_gate(
    home: ServerHome, workers: list[Worker]
) -> None:
    with Server(home) as server, server.client(home.token("alice")) as alice:
        ready = alice.get("/readyz").json()
        assert ready["checks"]["workers"] == "ok", ready
        declared = alice.post(
            "/v1/incidents",
            json={"incident": {"title": "checkout 5xx"}, "runbook": "web-restart"},
        )
        assert declared.status_code == 201, declared.text
        run_id = declared.json()["run_id"]
        wait_for(lambda: run_status(alice, run_id) == "waiting", timeout=60, what="the gate")
        (item,) = alice.get("/v1/items", params={"run": run_id}).json()["items"]
        with server.client(home.token("bob")) as bob:
            answer = bob.post(f"/v1/items/{item['id']}/decision", json={"verdict": "approve"})
        assert answer.status_code == 200, answer.text
        wait_for(lambda: run_status(alice, run_id) == "succeeded", timeout=60, what="the run")
        tasks = {t["id"]: t["status"] for t in alice.get(f"/v1/runs/{run_id}").json()["tasks"]}
        assert tasks == {"note": "succeeded", "approve": "succeeded", "restart": "succeeded"}
        assert alice.get("/v1/audit/verify").json()["ok"] is True
    advanced = [w.name for w in workers if run_id in w.log.read_text()]
    assert advanced, "no worker logged the run: the server advanced it itself"


def test_a_job_for_a_run_that_does_not_exist_is_dropped_with_an_audit_event(
    home: ServerHome, workers: list[Worker]
) -> None:
    from baton.jobs.queue import RunQueue

    with Server(home) as server, server.client(home.token("alice")) as alice:
        wait_for(
            lambda: alice.get("/readyz").json()["checks"].get("workers_seen") == 2,
            timeout=60,
            what="both workers' heartbeats in /readyz",
        )
        queue = RunQueue(home.settings)
        try:
            assert queue.submit("run_nosuchrun") is True
        finally:
            queue.stop(0)

        def dropped() -> list[dict[str, object]]:
            events = alice.get("/v1/audit/events", params={"limit": 500}).json()["items"]
            return [e for e in events if e["kind"] == "job_dropped"]

        (event,) = wait_for(dropped, timeout=60, what="the job_dropped audit event")
        assert event["detail"]["run_id"] == "run_nosuchrun"
        wait_for(lambda: alice.get("/readyz").json()["checks"]["backlog"] == 0, timeout=30)
