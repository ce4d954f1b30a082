"""The fault suite: real PostgreSQL, real `baton serve` and `baton worker` processes, real
faults (kill -9, a restarted server, killed connections, an alert storm). Each test states
what must hold: no run lost, no effect twice, the audit chain valid, nothing parked for ever.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import wait_for
from tests.integration import postgres
from tests.server import Server, ServerHome, Worker

pytestmark = pytest.mark.integration


class Estate:
    """A home on its own database, the processes started on it, and an admin's client."""

    def __init__(self, home: ServerHome, pg: postgres.Cluster) -> None:
        self.home = home
        self.pg = pg
        self.database_url = home.env["BATON_DATABASE_URL"]
        self.servers: list[Server] = []
        self.workers: list[Worker] = []

    def server(self) -> Server:
        started = Server(self.home).start()
        self.servers.append(started)
        return started

    def worker(self, name: str, concurrency: int = 2) -> Worker:
        started = Worker(self.home, name, concurrency=concurrency).start()
        self.workers.append(started)
        return started

    def client(self, user: str, server: Server | None = None) -> httpx.Client:
        return (server or self.servers[0]).client(self.home.token(user))

    def declare(self, client: httpx.Client, runbook: str = "web-restart") -> str:
        response = client.post(
            "/v1/incidents", json={"incident": {"title": "checkout 5xx"}, "runbook": runbook}
        )
        assert response.status_code == 201, response.text
        return str(response.json()["run_id"])

    def stop(self) -> None:
        for process in [*self.workers, *self.servers]:
            process.stop()


@pytest.fixture
def estate(pg: postgres.Cluster, tmp_path: Path) -> Iterator[Estate]:
    home = ServerHome(
        tmp_path / "home",
        env={
            "BATON_DATABASE_URL": pg.database(),
            "BATON_WORKER_STALL_SECONDS": "3",
            "BATON_SERVE_RECOVER_SECONDS": "1",
        },
    )
    made = Estate(home, pg)
    yield made
    made.stop()


def run_of(client: httpx.Client, run_id: str) -> dict[str, Any]:
    response = client.get(f"/v1/runs/{run_id}")
    response.raise_for_status()
    return dict(response.json())


def settles(client: httpx.Client, run_id: str, status: str, timeout: float = 90) -> dict[str, Any]:
    """Wait for the run to reach `status` (polled through the API); the run."""
    wait_for(
        lambda: run_of(client, run_id)["run"]["status"] == status,
        timeout=timeout,
        what=f"run {run_id} {status}",
    )
    return run_of(client, run_id)


def chain_valid(client: httpx.Client) -> None:
    verdict = client.get("/v1/audit/verify").json()
    assert verdict["ok"] is True, verdict
