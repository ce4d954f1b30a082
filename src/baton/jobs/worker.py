"""`baton worker`: execute queued run advances and the periodic sweep, on any host.

Each job advances one run under the run's advisory lock (`store.locks`), so a worker that
dies mid-step leaves nothing held: its connection ends, PostgreSQL drops the lock, and the
stalled-job sweep (`retry_stalled`) hands the job to another worker, which resumes the run
from its checkpoint without repeating a completed effect (ADR 0002). Timers are scheduled
jobs, not sleeping processes: the sweep (overdue items, orphaned runs, checkpoint signing)
is a periodic job every worker offers and exactly one runs per tick. A run parked on a wait
or a retry's backoff, or waiting on an item with a deadline, gets an advance scheduled for
that time (`RunQueue.schedule`); the sweep schedules them again in case a worker died
between parking a run and deferring its timer.

A wake-up fires on the database's clock, the runner decides what is due on this process's.
A database clock ahead would make the run re-advance, find nothing due yet, park again on
the same time and fire again at once, until the clocks agree. So a wake-up that fires more
than `timer_park_seconds` early (as this process counts) defers itself once, as far after
its own scheduled time as it was early; one that fires less early waits the rest here, as
a wait that short is slept in place.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import psycopg
import sqlalchemy.exc
from procrastinate import App, PsycopgConnector
from procrastinate.app import WorkerOptions
from procrastinate.exceptions import ProcrastinateException
from procrastinate.job_context import JobContext
from procrastinate.jobs import Status
from psycopg_pool import PoolTimeout

from baton.domain import actor
from baton.errors import Fenced, NotFound, RunLocked, StorageError
from baton.jobs.queue import (
    ADVANCE,
    QUEUE,
    RETRY_STALLED,
    SWEEP,
    TIMER_PRIORITY,
    WAKE,
    RunQueue,
    ensure_schema,
)
from baton.runtime import Runtime, build_runtime
from baton.settings import Settings
from baton.store import audit
from baton.store import runs as run_store
from baton.store.locks import WORKER_PREFIX, worker_heartbeat
from baton.store.models import HeartbeatRow, utcnow

log = logging.getLogger("baton.worker")


def build_app(runtime: Runtime, queue: RunQueue) -> App:
    """The worker's procrastinate app: its tasks close over this process's runtime."""
    settings = runtime.settings
    app = App(connector=PsycopgConnector(conninfo=settings.postgres_conninfo))
    runner = runtime.runner
    runner.schedule_timers(settings.timer_park_seconds, queue.schedule)

    # A database that is briefly unreachable (restart, failover, a killed connection) ends
    # the job and queues the run again a little later. Not procrastinate's own retry: it
    # puts the job back to `todo`, which collides with an advance already queued for the
    # run (its queueing lock) and leaves the job `doing`, holding the run, for ever.
    @app.task(name=ADVANCE, queue=QUEUE, pass_context=True)
    def advance_run(context: JobContext, run_id: str) -> None:
        try:
            status = runner.advance(run_id)
        except NotFound:
            _drop(runtime, run_id)
            return
        except Fenced as exc:  # paused past the stall threshold: another worker owns it now
            log.warning("run %s: fenced out, nothing written: %s", run_id, exc.message)
            return
        except _TRANSIENT as exc:
            log.warning("run %s: %s: %s; queued again", run_id, type(exc).__name__, exc)
            priority = context.job.priority if context.job else 0
            queue.submit(run_id, delay_seconds=_RETRY_SECONDS, priority=priority)
            return
        log.info("run %s advanced: %s", run_id, status.value)

    @app.task(name=WAKE, queue=QUEUE, pass_context=True)
    def wake_run(context: JobContext, run_id: str, at: str | None = None) -> None:
        """A timer is due: queue the run's advance, before ordinary ones (coalesced with
        one already queued)."""
        _wake(queue, settings.timer_park_seconds, context, run_id, at)

    swept: list[bool] = []

    @app.periodic(cron=_every(settings.serve_recover_seconds), periodic_id="sweep")
    @app.task(name=SWEEP, queue=QUEUE, queueing_lock=SWEEP)
    def sweep(timestamp: int) -> None:
        """Expire overdue items, queue runs nobody is advancing, schedule parked timers,
        sign the audit log."""
        timers = runner.timers(rebuild=not swept)  # the first in this process rebuilds
        swept.append(True)
        expired = set(runner.expire_overdue())
        now = datetime.now(UTC)
        for run_id in sorted(expired | set(runner.recoverable(timers))):
            due = run_id in expired or (run_id in timers and timers[run_id] <= now)
            queue.submit(run_id, priority=TIMER_PRIORITY if due else 0)
        for run_id, at in timers.items():
            if at > now:
                queue.schedule(run_id, at)
        runtime.sign_checkpoint()

    @app.periodic(cron=_every(settings.worker_stall_seconds), periodic_id="stalled")
    @app.task(name=RETRY_STALLED, queue=QUEUE, queueing_lock=RETRY_STALLED, pass_context=True)
    async def retry_stalled(context: JobContext, timestamp: int) -> None:
        """A job of a worker whose heartbeat stopped is ended as failed (freeing its run's
        lock) and its run queued again: procrastinate notices dead workers but never retries
        their jobs. (Retrying the job itself conflicts with an advance already queued.)"""
        manager = context.app.job_manager
        stalled = await manager.get_stalled_jobs(
            seconds_since_heartbeat=settings.worker_stall_seconds
        )
        for job in stalled:
            try:
                await manager.finish_job(job, status=Status.FAILED, delete_job=False)
            except ProcrastinateException as exc:  # another worker's sweep got there first
                log.info("stalled job %s already taken care of: %s", job.id, exc)
                continue
            run_id = job.task_kwargs.get("run_id")
            log.warning(
                "job %s (%s) of a stalled worker ended; run %s queued again",
                job.id,
                job.task_name,
                run_id,
            )
            if job.task_name == ADVANCE and isinstance(run_id, str):
                await asyncio.to_thread(_recovered, runtime, run_id, job.worker_id)
                await asyncio.to_thread(queue.submit, run_id)

    return app


def _wake(queue: RunQueue, slack: float, context: JobContext, run_id: str, at: str | None) -> None:
    """Queue the run's advance at timer priority. Woken early on this process's clock (the
    database's runs ahead): by more than `slack`, defer once for the rest, on the
    database's clock; by less, wait the rest here."""
    if at is not None:
        due = datetime.fromisoformat(at)
        early = (due - datetime.now(UTC)).total_seconds()
        job = context.job
        if early > slack and job is not None and not (job.queueing_lock or "").endswith("+again"):
            fire = (job.scheduled_at or due) + timedelta(seconds=early)
            log.info("run %s: woken %.1f s early; deferred to %s", run_id, early, fire)
            queue.schedule(run_id, due, fire_at=fire, again=True)
            return
        if early > 0:
            time.sleep(min(early, slack))
    queue.submit(run_id, priority=TIMER_PRIORITY)


_RETRY_SECONDS = 2.0
_TRANSIENT = (
    StorageError,
    RunLocked,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    psycopg.OperationalError,
    PoolTimeout,
)


def _every(seconds: float) -> str:
    """A cron line (its sixth field is seconds) firing every `seconds`, at least every 1 s."""
    return f"* * * * * */{max(1, min(59, round(seconds)))}"


async def _heartbeat(runtime: Runtime) -> None:
    """Say this worker lives, three times per stall period: a worker that stops saying it
    (paused, frozen, cut off) loses its runs to the others (`store.locks.AdvisoryRunLocks`)."""
    name = worker_heartbeat(os.environ["PGAPPNAME"])
    period = max(1.0, runtime.settings.worker_stall_seconds / 3)

    def beat() -> None:
        with runtime.db.write() as session:
            session.merge(HeartbeatRow(name=name, at=utcnow()))

    while True:
        try:
            await asyncio.to_thread(beat)
        except Exception as exc:  # the database is away: procrastinate's loop will say so
            log.warning("heartbeat not written: %s", exc)
        await asyncio.sleep(period)


def _recovered(runtime: Runtime, run_id: str, worker_id: int | None) -> None:
    """The run's timeline says it changed hands, and why."""
    with runtime.db.write() as session:
        run_store.add_event(
            session,
            run_id=run_id,
            kind="recovery",
            actor=actor.SYSTEM,
            detail={"reason": "its worker stopped beating", "worker_id": worker_id},
        )


def _drop(runtime: Runtime, run_id: str) -> None:
    """A job for a run that does not exist (deleted, or a bad enqueue) is evidence too."""
    log.warning("job for unknown run %s dropped", run_id)
    with runtime.db.write() as session:
        audit.append(
            session,
            actor=actor.SYSTEM,
            kind="job_dropped",
            payload={"task": ADVANCE, "run_id": run_id, "reason": "no such run"},
        )


def run(settings: Settings, *, concurrency: int, name: str | None = None) -> None:
    """Serve jobs until SIGTERM/SIGINT. A worker that loses its database (a restart, a
    failover, killed connections) says so in its log and starts over with backoff."""
    worker_name = name or f"{socket.gethostname()}:{os.getpid()}"
    # Every connection this process opens (app, checkpoints, queue) carries its name, so a
    # worker that takes over a run from a silent one can end all of that one's sessions.
    os.environ["PGAPPNAME"] = f"{WORKER_PREFIX}{worker_name}"[:63]
    executor = ThreadPoolExecutor(max_workers=concurrency + 2, thread_name_prefix="baton-job")
    loop = asyncio.new_event_loop()
    # Sync jobs run on the loop's default executor: sized to the concurrency asked for (its
    # default, cpu + 4 threads, silently caps it).
    loop.set_default_executor(executor)
    try:
        loop.run_until_complete(_supervise(settings, concurrency, worker_name))
    finally:
        loop.close()  # does not wait for the executor's threads
    busy = [t for t in threading.enumerate() if t.name.startswith("baton-job")]
    if busy:
        # A step still running past the grace period resumes on another worker from its
        # checkpoint (ADR 0002); waiting for it here would only delay the stop.
        log.warning("stopping with %d step(s) in flight; another worker resumes them", len(busy))
        logging.shutdown()
        os._exit(0)


async def _supervise(settings: Settings, concurrency: int, name: str) -> None:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    current: list[asyncio.Task[None]] = []

    def on_signal() -> None:
        stopping.set()
        for task in current:
            task.cancel()  # procrastinate stops gracefully, then re-raises the cancellation

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)
    delay = 1.0
    while not stopping.is_set():
        began = time.monotonic()
        try:
            await _serve(settings, concurrency, name, current)
        except asyncio.CancelledError:
            if stopping.is_set():
                return
            raise
        except Exception as exc:  # the database went away, or never answered
            log.error("worker stopped: %s: %s", type(exc).__name__, exc)
        if stopping.is_set():
            return
        if time.monotonic() - began > 60:
            delay = 1.0
        log.error("cannot serve jobs; starting again in %.0f s", delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=delay)
        delay = min(delay * 2, 30.0)


def worker_options(settings: Settings, name: str, concurrency: int) -> WorkerOptions:
    """procrastinate's worker loop as `baton worker` runs it.

    A job scheduled for later is not announced when it comes due: a worker finds it when
    it next polls (procrastinate's default: every 5 s). Polling every `timer_park_seconds`
    (at least every 0.2 s) starts a due timer that much late at most, as a timer that
    short is slept in place anyway.
    """
    return WorkerOptions(
        queues=[QUEUE],
        name=name,
        concurrency=concurrency,
        delete_jobs="successful",
        fetch_job_polling_interval=min(5.0, max(0.2, settings.timer_park_seconds)),
        shutdown_graceful_timeout=settings.serve_grace_seconds,
        update_heartbeat_interval=max(1.0, settings.worker_stall_seconds / 3),
        stalled_worker_timeout=settings.worker_stall_seconds,
        install_signal_handlers=False,
    )


async def _serve(
    settings: Settings, concurrency: int, name: str, current: list[asyncio.Task[None]]
) -> None:
    """One worker life: its runtime, its queue handle, procrastinate's worker loop."""
    await asyncio.to_thread(ensure_schema, settings.postgres_conninfo)
    runtime = await asyncio.to_thread(build_runtime, settings)
    queue = RunQueue(settings)
    try:
        await asyncio.to_thread(queue.start)
        app = build_app(runtime, queue)
        async with app.open_async():
            task = asyncio.create_task(
                app.run_worker_async(**worker_options(settings, name, concurrency))
            )
            current[:] = [task]
            beat = asyncio.create_task(_heartbeat(runtime))
            try:
                await task
            finally:
                current.clear()
                beat.cancel()
        log.error("procrastinate's worker loop ended (its log above says why)")
    finally:
        await asyncio.to_thread(queue.stop, 0)
        await asyncio.to_thread(runtime.close)
