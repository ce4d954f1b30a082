"""Runs parked at gates by the thousand: the memory of a worker and of the server stays flat.

The issue asks for 10,000 parked runs; that takes ~5 minutes on a 2-core box (the worker
parks ~35 runs/s), so `bench/parked.py` does the 10,000 and prints the figures, and this
test parks 1,200 in steps: RSS is read at 300 and at 1,200 parked runs, each time after two
sweeps that started once all of them were parked (the sweep reads the waiting runs and
pending items every second here; it used to read every row of both, which grew the worker
by ~5 KB per parked run). Growth between the two readings must stay under
`BYTES_PER_RUN` per run added, for `baton worker` and for `baton serve`.
"""

from __future__ import annotations

import time

import pytest

from tests.faults.conftest import Estate, chain_valid, settles
from tests.faults.parked import GATE_FIRST, Parked, Sweeps, rss_kib, start_runs, wait_parked
from tests.integration import postgres

pytestmark = [pytest.mark.integration, postgres.needed]

FIRST, TOTAL = 300, 1200
BYTES_PER_RUN = 2560
"""Measured on 2 cores: 370-1,030 B per run here since the fix (100 B from 2,000 to 10,000:
the rest is warm-up), ~5,700 B before it (the sweep read every waiting run and pending item
in full, every tick)."""


def test_runs_parked_at_gates_leave_the_memory_of_a_worker_and_the_server_flat(
    estate: Estate,
) -> None:
    """Must hold: with 300 and then 1,200 runs parked at an approval gate (each started
    through the API, each parked by a `baton worker`), neither the worker's nor the server's
    resident memory grows by more than 2.5 KiB per run added; every run is parked, none lost,
    a parked run still goes on when approved, and the audit chain verifies."""
    (estate.home.path / "runbooks" / "web-restart.yaml").write_text(GATE_FIRST)
    server = estate.server()
    worker = estate.worker("w1")
    assert server.proc is not None and worker.proc is not None
    parked = Parked(estate.database_url)
    sweeps = Sweeps(worker.log)
    readings: list[tuple[int, int, int]] = []
    try:
        with estate.client("alice") as alice:
            run_ids: list[str] = []
            for upto in (FIRST, TOTAL):
                run_ids += start_runs(alice, upto - len(run_ids), tag=f"{upto}-")
                wait_parked(parked, upto, timeout=max(300.0, upto / 5))
                sweeps.wait(after=time.time(), count=2, timeout=60)
                readings.append((upto, rss_kib(worker.proc.pid), rss_kib(server.proc.pid)))
            assert parked.count() == (TOTAL, TOTAL)  # each run parked once, none lost

            (n0, worker0, serve0), (n1, worker1, serve1) = readings
            figures = (
                f"worker {worker0} -> {worker1} KiB, serve {serve0} -> {serve1} KiB"
                f" from {n0} to {n1} parked runs"
            )
            print(figures)
            added = n1 - n0
            assert (worker1 - worker0) * 1024 / added <= BYTES_PER_RUN, figures
            assert (serve1 - serve0) * 1024 / added <= BYTES_PER_RUN, figures

            first = run_ids[0]
            with estate.client("bob") as bob:
                (item,) = bob.get("/v1/items", params={"run": first}).json()["items"]
                decided = bob.post(f"/v1/items/{item['id']}/decision", json={"verdict": "approve"})
                assert decided.status_code == 200, decided.text
            settles(alice, first, "succeeded")
            chain_valid(alice)
    finally:
        parked.close()
