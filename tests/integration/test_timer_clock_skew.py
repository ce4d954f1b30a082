"""A database clock ahead of the workers' does not make a run spin (issue 13).

Wake-up jobs fire on PostgreSQL's clock; the runner decides what is overdue on its own.
With the database ahead, a deadline's wake-up fires early: the run re-advanced, found
nothing overdue, parked again on the same time, whose job fired again at once, until the
clocks agreed. Now a wake-up that fires more than the slack early defers itself once for
the rest, and one that fires less early waits the rest in place.

Real PostgreSQL, the worker's real procrastinate app (`jobs.worker.build_app`) running in
this process, a skew simulated by deferring every wake-up `ahead` seconds early (what a
database clock that far ahead does).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from baton.domain.incident import Incident
from baton.domain.status import RunStatus
from baton.jobs.queue import RunQueue, ensure_schema
from baton.jobs.worker import build_app, worker_options
from baton.runtime import Runtime, build_runtime
from baton.settings import Settings
from baton.store import items as item_store
from baton.store import runs as run_store
from tests.conftest import runbook, wait_for
from tests.integration import postgres

pytestmark = [pytest.mark.integration, postgres.needed]

DEADLINE = """\
id: deadline
title: A gate with a short deadline
owner: sre
tasks:
  - {id: gate, type: approval, title: Go?, approvers: [sre], timeout: 5}
"""


class AheadClock(RunQueue):
    """A queue whose database clock runs `ahead` seconds ahead of this process's: a wake-up
    for `at` fires when this process's clock reads `at - ahead`. (A time the worker gives
    on the database's clock, `fire_at`, is taken as it is.)"""

    ahead = 0.0

    def schedule(
        self, run_id: str, at: datetime, *, fire_at: datetime | None = None, again: bool = False
    ) -> bool:
        early = at - timedelta(seconds=self.ahead)
        return super().schedule(run_id, at, fire_at=fire_at or early, again=again)


@pytest.fixture
def worker(pg: Any, tmp_path: Path) -> Iterator[tuple[Runtime, AheadClock]]:
    """A runtime on PostgreSQL and a procrastinate worker serving its jobs, in a thread."""
    settings = Settings(
        home=tmp_path / "home",
        database_url=pg.database(),
        timer_park_seconds=1,
        lock_timeout_seconds=10,
    )
    ensure_schema(settings.postgres_conninfo)
    stop = threading.Event()
    with build_runtime(settings) as rt:
        queue = AheadClock(settings)
        queue.start()
        app = build_app(rt, queue)
        # No periodic sweep: it would also advance the run (as orphaned while its first
        # advance runs in this same process); only the wake-up jobs are under test.
        app.periodic_registry.periodic_tasks.clear()

        async def serve() -> None:
            async with app.open_async():
                task = asyncio.create_task(
                    app.run_worker_async(**worker_options(settings, "skewed", concurrency=2))
                )
                while not stop.is_set() and not task.done():
                    await asyncio.sleep(0.05)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

        thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
        thread.start()
        try:
            yield rt, queue
        finally:
            stop.set()
            thread.join(timeout=30)
            queue.stop(0)


@pytest.mark.parametrize("ahead", [3.0, 1.0], ids=["by-more-than-the-slack", "within-it"])
def test_a_deadline_woken_early_expires_once_at_its_time_without_spinning(
    worker: tuple[Runtime, AheadClock],
    incident: Incident,
    monkeypatch: pytest.MonkeyPatch,
    ahead: float,
) -> None:
    rt, queue = worker
    queue.ahead = ahead
    advances: list[RunStatus] = []
    advance = rt.runner.advance

    def counted(run_id: str) -> RunStatus:
        status = advance(run_id)
        advances.append(status)
        return status

    monkeypatch.setattr(rt.runner, "advance", counted)
    run_id = rt.runner.create(runbook(DEADLINE), incident, requested_by="human:requester")
    queue.submit(run_id)

    def status() -> str:
        with rt.db.read() as s:
            return run_store.get_run(s, run_id=run_id).status

    wait_for(lambda: status() == "failed", timeout=30, what="the deadline to expire")
    with rt.db.read() as s:
        task = run_store.get_task(s, run_id=run_id, task_id="gate")
        item = item_store.get_item_for_task(s, run_id=run_id, task_id="gate")
    assert item is not None and item.due_at is not None
    due = item.due_at
    assert task.finished_at is not None and task.finished_at >= due
    # One advance parked the run at its gate, one expired it: none in between.
    assert advances == [RunStatus.WAITING, RunStatus.FAILED], f"{len(advances)} advances"
