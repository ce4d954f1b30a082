"""`baton worker`: execute queued run advances and the periodic sweep, on any host.

Each job advances one run under the run's advisory lock (`store.locks`), so a worker that
dies mid-step leaves nothing held: its connection ends, PostgreSQL drops the lock, and the
stalled-job sweep (`retry_stalled`) hands the job to another worker, which resumes the run
from its checkpoint without repeating a completed effect (ADR 0002). Timers are scheduled
jobs, not sleeping processes: the sweep (overdue items, orphaned runs, checkpoint signing)
is a periodic job every worker offers and exactly one runs per tick.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from concurrent.futures import ThreadPoolExecutor

from procrastinate import App, PsycopgConnector, RetryStrategy
from procrastinate.exceptions import ProcrastinateException
from procrastinate.job_context import JobContext
from psycopg import OperationalError

from baton.domain import actor
from baton.errors import NotFound, RunLocked, StorageError
from baton.jobs.queue import ADVANCE, QUEUE, RETRY_STALLED, SWEEP, RunQueue, ensure_schema
from baton.runtime import Runtime, build_runtime
from baton.settings import Settings
from baton.store import audit

log = logging.getLogger("baton.worker")


def build_app(runtime: Runtime, queue: RunQueue) -> App:
    """The worker's procrastinate app: its tasks close over this process's runtime."""
    settings = runtime.settings
    app = App(connector=PsycopgConnector(conninfo=settings.postgres_conninfo))
    runner = runtime.runner

    # A database that is briefly unreachable (restart, failover, a killed connection) is
    # retried with backoff; anything else is the run's own failure, recorded by the runner.
    @app.task(
        name=ADVANCE,
        queue=QUEUE,
        retry=RetryStrategy(
            max_attempts=8,
            exponential_wait=2,
            retry_exceptions=[StorageError, OperationalError, RunLocked],
        ),
    )
    def advance_run(run_id: str) -> None:
        try:
            status = runner.advance(run_id)
        except NotFound:
            _drop(runtime, run_id)
            return
        log.info("run %s advanced: %s", run_id, status.value)

    @app.periodic(cron=_every(settings.serve_recover_seconds), periodic_id="sweep")
    @app.task(name=SWEEP, queue=QUEUE, queueing_lock=SWEEP)
    def sweep(timestamp: int) -> None:
        """Expire overdue items, queue runs nobody is advancing, sign the audit log."""
        for run_id in sorted(set(runner.expire_overdue()) | set(runner.recoverable())):
            queue.submit(run_id)
        runtime.sign_checkpoint()

    @app.periodic(cron=_every(settings.worker_stall_seconds), periodic_id="stalled")
    @app.task(name=RETRY_STALLED, queue=QUEUE, queueing_lock=RETRY_STALLED, pass_context=True)
    async def retry_stalled(context: JobContext, timestamp: int) -> None:
        """Jobs of a worker whose heartbeat stopped go back to the queue (procrastinate
        notices dead workers but never retries their jobs itself)."""
        manager = context.app.job_manager
        stalled = await manager.get_stalled_jobs(
            seconds_since_heartbeat=settings.worker_stall_seconds
        )
        for job in stalled:
            try:
                await manager.retry_job(job)
                log.warning("job %s (%s) of a stalled worker queued again", job.id, job.task_name)
            except ProcrastinateException:  # another worker's sweep got there first
                continue

    return app


def _every(seconds: float) -> str:
    """A cron line (its sixth field is seconds) firing every `seconds`, at least every 1 s."""
    return f"* * * * * */{max(1, min(59, round(seconds)))}"


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
    """Serve jobs until SIGTERM/SIGINT; wait for an unreachable database, saying so."""
    worker_name = name or f"{socket.gethostname()}:{os.getpid()}"
    delay = 1.0
    while True:
        try:
            ensure_schema(settings.postgres_conninfo)
            with build_runtime(settings) as runtime:
                queue = RunQueue(settings)
                queue.start()
                try:
                    app = build_app(runtime, queue)
                    asyncio.run(_serve(app, settings, concurrency, worker_name))
                finally:
                    queue.stop(0)
            return
        except (OperationalError, StorageError) as exc:
            log.error("cannot reach the database (%s); retrying in %.0f s", exc, delay)
            try:
                asyncio.run(asyncio.sleep(delay))
            except KeyboardInterrupt:
                return
            delay = min(delay * 2, 30.0)


async def _serve(app: App, settings: Settings, concurrency: int, name: str) -> None:
    # Sync jobs run on the loop's default executor: size it to the concurrency asked for
    # (its default, cpu + 4 threads, silently caps it).
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=concurrency + 2, thread_name_prefix="baton-job")
    )
    async with app.open_async():
        await app.run_worker_async(
            queues=[QUEUE],
            name=name,
            concurrency=concurrency,
            delete_jobs="successful",
            shutdown_graceful_timeout=settings.serve_grace_seconds,
            update_heartbeat_interval=max(1.0, settings.worker_stall_seconds / 3),
            stalled_worker_timeout=settings.worker_stall_seconds,
        )
