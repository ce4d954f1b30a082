"""Enqueue run advances on PostgreSQL: one job per run at a time, duplicates coalesced.

A job's `lock` is the run id, so two workers never advance one run at once (and the run's
advisory lock stands behind that); its `queueing_lock` is the run id too, so a run already
waiting in the queue is not queued twice. A run submitted while its job is running gets one
more job, which waits for the lock: no answer is left unread.

A timer (a parked wait, a retry's backoff, an item deadline) is a wake-up job deferred
with `schedule_at` (`schedule`) whose only work is to queue the run's advance. It holds no
lock: procrastinate does not start a job while an earlier job of the same lock waits,
scheduled for later or not, so a timer holding the run's lock would keep every sooner
advance (another timer, an answer) waiting until its own time. Its queueing lock names the
due time, so the same timer is deferred once however often the sweep offers it.

Wake-ups, and the advances they queue, have a higher priority (`TIMER_PRIORITY`) than
ordinary advances: procrastinate takes the highest priority first, then the oldest, so
under a backlog a due timer would otherwise start only after every advance queued before
it. An advance of the run already queued is raised to that priority instead.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import Any

import psycopg
from procrastinate import App, SyncPsycopgConnector
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.schema import SchemaManager

from baton.settings import Settings

log = logging.getLogger("baton.jobs")

QUEUE = "runs"
ADVANCE = "baton.advance_run"
SWEEP = "baton.sweep"
WAKE = "baton.wake_run"
RETRY_STALLED = "baton.retry_stalled"
TIMER_PRIORITY = 10
"""Of wake-ups and the advances they queue; ordinary advances have procrastinate's 0."""
_RAISE = (
    "UPDATE procrastinate_jobs SET priority = %(priority)s"
    " WHERE queueing_lock = %(lock)s AND status = 'todo' AND priority < %(priority)s"
)
_SCHEMA_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('baton:job-schema', 0))"


def ensure_schema(conninfo: str) -> None:
    """procrastinate's tables, created once (its schema script is not idempotent, so it
    runs only where they are missing, serialised across processes starting together)."""
    with psycopg.connect(conninfo) as conn, conn.transaction():
        conn.execute(_SCHEMA_LOCK)
        found = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
        if found is None or found[0] is None:
            conn.execute(SchemaManager.get_schema())


class RunQueue:
    """What `baton serve` holds instead of worker threads when runs live on PostgreSQL."""

    def __init__(self, settings: Settings) -> None:
        self.conninfo = settings.postgres_conninfo
        self.app = App(connector=SyncPsycopgConnector(conninfo=self.conninfo))
        self._opened = False
        self._open_lock = threading.Lock()
        self.last_sweep: float | None = None  # workers sweep (`worker.sweep`), not the server
        self.sweep_error: str | None = None

    def start(self) -> None:
        """Open once (every submit calls this; a second call costs nothing)."""
        if self._opened:
            return
        with self._open_lock:
            if not self._opened:
                ensure_schema(self.conninfo)
                self.app.open()
                self._opened = True

    def stop(self, grace: float) -> bool:
        """Nothing runs here: every advance is a job some worker holds."""
        with self._open_lock:
            if self._opened:
                self.app.close()
                self._opened = False
        return True

    @property
    def alive(self) -> bool:
        return self._opened

    def submit(self, run_id: str, *, delay_seconds: float | None = None, priority: int = 0) -> bool:
        """Queue an advance of `run_id`; False if one is already waiting (coalesced, and
        raised to `priority` if it had less)."""
        self.start()
        options: dict[str, Any] = {
            "lock": run_id,
            "queueing_lock": run_id,
            "queue": QUEUE,
            "priority": priority,
        }
        if delay_seconds:
            options["schedule_in"] = {"seconds": delay_seconds}
        try:
            self.app.configure_task(ADVANCE, **options).defer(run_id=run_id)
        except AlreadyEnqueued:
            if priority:
                self.app.connector.execute_query(_RAISE, priority=priority, lock=run_id)
            return False
        return True

    def schedule(
        self, run_id: str, at: datetime, *, fire_at: datetime | None = None, again: bool = False
    ) -> bool:
        """Wake `run_id` at `at` (a job that submits its advance then); False if that
        wake-up is queued already. `fire_at`, `again`: a wake-up that fired early on this
        process's clock defers itself once more, for when the database's clock says
        (`jobs.worker`)."""
        self.start()
        options: dict[str, Any] = {
            "queueing_lock": f"{run_id}@{at.isoformat()}" + ("+again" if again else ""),
            "queue": QUEUE,
            "schedule_at": fire_at or at,
            "priority": TIMER_PRIORITY,
        }
        try:
            self.app.configure_task(WAKE, **options).defer(run_id=run_id, at=at.isoformat())
        except AlreadyEnqueued:
            return False
        return True

    def backlog(self) -> int:
        """Advances waiting or running, across all workers."""
        with psycopg.connect(self.conninfo) as conn:
            row = conn.execute(
                "SELECT count(*) FROM procrastinate_jobs WHERE queue_name = %s"
                " AND status IN ('todo', 'doing')",
                (QUEUE,),
            ).fetchone()
        return int(row[0]) if row else 0
