"""Runs parked at an approval gate, many of them, and the memory of the processes holding
them: shared by tests/faults/test_parked_runs.py (a CI-sized N) and bench/parked.py
(10,000).

The runbook's first task is the gate, so a run parks on the worker's first advance (no
command to spawn); runs are started through the API (`POST /v1/incidents`) by a few
keep-alive clients at once, and counted as parked by reading the database (`runs.status =
'waiting'` with its gate's item pending), not by sleeping.
"""

from __future__ import annotations

import itertools
import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

GATE_FIRST = """\
id: web-restart
title: Wait for a person
owner: payments
tasks:
  - id: approve
    type: approval
    approvers: [sre]
    title: Go ahead?
  - id: after
    type: action
    title: After
    needs: [approve]
    executor: command
    params: {argv: ["true"]}
"""


def rss_kib(pid: int) -> int:
    """The resident set of `pid` (VmRSS in /proc/<pid>/status), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


@dataclass
class Parked:
    """How many runs are parked at their gate, per the database."""

    database_url: str

    def __post_init__(self) -> None:
        self.engine = create_engine(self.database_url, pool_size=1)

    def count(self) -> tuple[int, int]:
        """(runs, runs waiting with their gate's item pending)."""
        with self.engine.connect() as conn:
            runs = conn.execute(text("SELECT count(*) FROM runs")).scalar_one()
            parked = conn.execute(
                text(
                    "SELECT count(DISTINCT r.id) FROM runs r JOIN pending_items i"
                    " ON i.run_id = r.id AND i.task_id = 'approve' AND i.status = 'pending'"
                    " WHERE r.status = 'waiting'"
                )
            ).scalar_one()
        return int(runs), int(parked)

    def close(self) -> None:
        self.engine.dispose()


def start_runs(client: httpx.Client, count: int, *, clients: int = 4, tag: str = "") -> list[str]:
    """Declare `count` incidents, each starting the gate-first runbook; their run ids."""
    numbers = itertools.count()

    def declare(_: int) -> str:
        n = next(numbers)
        body = {"incident": {"title": f"parked {tag}{n}"}, "runbook": "web-restart"}
        for _attempt in range(20):  # a busy database answers 503 + Retry-After
            response = client.post("/v1/incidents", json=body)
            if response.status_code != 503:
                assert response.status_code == 201, response.text
                return str(response.json()["run_id"])
            time.sleep(0.2)
        raise AssertionError("still 503 after 20 tries")

    with ThreadPoolExecutor(max_workers=clients) as pool:
        return list(pool.map(declare, range(count)))


def wait_parked(parked: Parked, total: int, timeout: float) -> float:
    """Poll the database until `total` runs are parked at their gate; the seconds it took."""
    began = time.monotonic()
    deadline = began + timeout
    seen = (0, 0)
    while time.monotonic() < deadline:
        seen = parked.count()
        if seen[1] >= total:
            return time.monotonic() - began
        time.sleep(0.2)
    raise AssertionError(f"after {timeout} s: {seen[1]} of {total} runs parked ({seen[0]} runs)")


class Sweeps:
    """The worker's sweeps as its log reports them (procrastinate logs each job's end as a
    JSON line, `action: job_success`, with the time it started)."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.offset = 0
        self.started: list[float] = []

    def read(self) -> list[float]:
        """The start times of the sweeps that have succeeded so far."""
        with self.log.open("rb") as f:
            f.seek(self.offset)
            chunk = f.read()
        complete = chunk.rfind(b"\n") + 1  # a line still being written waits for next time
        self.offset += complete
        for line in chunk[:complete].splitlines():
            if b'"job_success"' not in line or b'"baton.sweep"' not in line:
                continue
            record = json.loads(line)
            self.started.append(float(record["start_timestamp"]))
        return self.started

    def wait(self, after: float, count: int, timeout: float) -> None:
        """Poll until `count` sweeps that started after `after` (epoch seconds) succeeded."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if sum(1 for at in self.read() if at > after) >= count:
                return
            time.sleep(0.2)
        raise AssertionError(f"fewer than {count} sweeps after {after} in {timeout} s")
