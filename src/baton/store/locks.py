"""One lock per run around every path that advances it (start, resume, recover, cancel).

Embedded mode uses `flock` on a file per run: the kernel drops the lock when its holder
dies, so a `kill -9` never leaves a stale lock behind, and `held_elsewhere()` tells
recovery whether a `running` run still has a live owner.
"""

from __future__ import annotations

import fcntl
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from baton.errors import RunLocked

_SAFE = re.compile(r"^[A-Za-z0-9_.-]+$")


class RunLocks:
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
            deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
            delay = 0.005
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise RunLocked(
                            f"run {run_id} is being advanced by another process; try again"
                        ) from None
                    time.sleep(delay)
                    delay = min(delay * 2, 0.1)
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
