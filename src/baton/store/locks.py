"""One lock per run around every path that advances it (start, resume, recover, cancel).

Embedded mode uses `flock` on a file per run: the kernel drops the lock when its holder
dies, so a `kill -9` never leaves a stale lock behind, and `held_elsewhere()` tells
recovery whether a `running` run still has a live owner. On PostgreSQL the same holds for a
session-level advisory lock across hosts: the server drops it when its connection ends.
"""

from __future__ import annotations

import fcntl
import os
import re
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine, text

from baton.errors import RunLocked

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
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path(run_id), os.O_RDWR | os.O_CREAT, 0o600)
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


class AdvisoryRunLocks:
    """A session-level advisory lock per run on PostgreSQL, held on a connection of its own
    in autocommit (no transaction stays open while a run advances)."""

    def __init__(self, engine: Engine, *, timeout: float) -> None:
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.timeout = timeout

    @contextmanager
    def hold(self, run_id: str, *, timeout: float | None = None) -> Iterator[None]:
        with self.engine.connect() as conn:
            for _ in waiting(self.timeout if timeout is None else timeout, _busy(run_id)):
                if conn.execute(_TRY, {"run_id": run_id}).scalar_one():
                    break
            try:
                yield
            finally:
                conn.execute(_UNLOCK, {"run_id": run_id})

    def held_elsewhere(self, run_id: str) -> bool:
        try:
            with self.hold(run_id, timeout=0):
                return False
        except RunLocked:
            return True
