"""One lock per run around every path that advances it (start, resume, recover, cancel).

Embedded mode uses `flock` on a file per run: the kernel drops the lock when its holder
dies, so a `kill -9` never leaves a stale lock behind, and `held_elsewhere()` tells
recovery whether a `running` run still has a live owner. On PostgreSQL the same holds for a
session-level advisory lock across hosts: the server drops it when its connection ends.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from baton.errors import RunLocked

log = logging.getLogger("baton.locks")
_SAFE = re.compile(r"^[A-Za-z0-9_.-]+$")


class RunLock(Protocol):
    """What the runner needs of a lock per run, whichever database holds the runs."""

    def hold(
        self, run_id: str, *, timeout: float | None = None
    ) -> AbstractContextManager[None]: ...

    def held_elsewhere(self, run_id: str) -> bool: ...


def waiting(timeout: float, refusal: str) -> Iterator[None]:
    """Yields until `timeout` seconds have passed, backing off; then `RunLocked(refusal)`."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while True:
        yield
        if time.monotonic() >= deadline:
            raise RunLocked(refusal)
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def _busy(run_id: str) -> str:
    return f"run {run_id} is being advanced by another process; try again"


class RunLocks:
    """`flock` on a file per run under the home (SQLite: one machine)."""

    def __init__(self, directory: Path, *, timeout: float) -> None:
        self.directory = directory
        self.timeout = timeout

    def _path(self, run_id: str) -> Path:
        if not _SAFE.match(run_id):
            raise ValueError(f"unsafe run id {run_id!r}")
        return self.directory / f"{run_id}.lock"

    @contextmanager
    def hold(self, run_id: str, *, timeout: float | None = None) -> Iterator[None]:
        """Hold the run's lock, waiting up to `timeout` seconds for another holder."""
        path = self._path(run_id)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        except FileNotFoundError:  # the first lock of this home (or its directory went)
            self.directory.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            for _ in waiting(self.timeout if timeout is None else timeout, _busy(run_id)):
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    continue
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def held_elsewhere(self, run_id: str) -> bool:
        """True if some live process holds the run's lock right now."""
        try:
            with self.hold(run_id, timeout=0):
                return False
        except RunLocked:
            return True


_TRY = text("SELECT pg_try_advisory_lock(hashtextextended(:run_id, 0))")
_UNLOCK = text("SELECT pg_advisory_unlock(hashtextextended(:run_id, 0))")
_HOLDER = text(
    "SELECT a.pid, a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
    " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1"
    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND l.classid::bigint = (hashtextextended(:run_id, 0) >> 32) & 4294967295"
    " AND l.objid::bigint = hashtextextended(:run_id, 0) & 4294967295"
)
_SILENT = text("SELECT at FROM heartbeats WHERE name = :name AND at < :cutoff")
_FENCE_OUT = text(
    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
    " WHERE application_name = :name AND datname = current_database()"
)
_BUMP = text("UPDATE runs SET generation = generation + 1 WHERE id = :run_id RETURNING generation")
WORKER_PREFIX = "baton-worker:"

FENCE: ContextVar[tuple[str, int] | None] = ContextVar("baton_fence", default=None)
"""(run id, generation) of the run this context advances under its lock on PostgreSQL:
every write transaction checks the generation is still the run's (`store.db`)."""


def worker_heartbeat(application_name: str) -> str:
    """The heartbeat row a worker keeps fresh while it lives (`jobs.worker`)."""
    return f"worker:{application_name.removeprefix(WORKER_PREFIX)}"


class AdvisoryRunLocks:
    """A session-level advisory lock per run on PostgreSQL, held on a connection of its own
    in autocommit (no transaction stays open while a run advances).

    The server drops the lock when its holder's connection ends, but a worker that is
    paused (SIGSTOP, a frozen VM, a long GC) keeps its connection and so its runs. When the
    holder is a worker whose heartbeat stopped `stall_seconds` ago, the lock is taken over:
    every connection of that worker is terminated, and the run's generation goes up, so
    whatever the paused worker tries to commit when it wakes is refused (fencing).
    """

    def __init__(self, engine: Engine, *, timeout: float, stall_seconds: float = 30.0) -> None:
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.timeout = timeout
        self.stall_seconds = stall_seconds

    @contextmanager
    def hold(self, run_id: str, *, timeout: float | None = None) -> Iterator[None]:
        with self.engine.connect() as conn:
            for _ in waiting(self.timeout if timeout is None else timeout, _busy(run_id)):
                if conn.execute(_TRY, {"run_id": run_id}).scalar_one():
                    break
                if self._take_over(conn, run_id):
                    continue
            generation = conn.execute(_BUMP, {"run_id": run_id}).scalar_one_or_none()
            token = FENCE.set(None if generation is None else (run_id, int(generation)))
            try:
                yield
            finally:
                FENCE.reset(token)
                try:
                    conn.execute(_UNLOCK, {"run_id": run_id})
                except DBAPIError:  # the session is gone, and its lock with it
                    log.info("run %s: lock connection already ended", run_id)

    def _take_over(self, conn: Connection, run_id: str) -> bool:
        """Fence out a silent worker holding the run's lock; True if one was."""
        holder = conn.execute(_HOLDER, {"run_id": run_id}).first()
        if holder is None or not str(holder.application_name).startswith(WORKER_PREFIX):
            return False
        # heartbeats.at holds naive UTC (models.UTCDateTime): compare like with like
        cutoff = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=self.stall_seconds)
        name = worker_heartbeat(holder.application_name)
        if conn.execute(_SILENT, {"name": name, "cutoff": cutoff}).first() is None:
            return False  # alive (or never seen: not ours to judge)
        killed = conn.execute(_FENCE_OUT, {"name": holder.application_name}).scalar_one()
        log.warning(
            "run %s: worker %s silent for over %.0f s; its %d connection(s) ended, lock taken",
            run_id,
            holder.application_name,
            self.stall_seconds,
            killed,
        )
        return True

    def held_elsewhere(self, run_id: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(_HOLDER, {"run_id": run_id}).first() is not None
