"""The server's executor: worker threads that advance runs, and the periodic sweep.

Requests never advance a run themselves (a run may take minutes): they commit what they
were asked (an alert's incident, a person's answer) and hand the run id here. Submissions
coalesce: a run already queued is not queued twice, and one submitted while it is being
advanced goes round once more, so no answer is left unread.

Timers are due times, not sleeping threads: the runner parks a run on a wait or a retry's
backoff and hands its due time here (`schedule`); one timer thread submits each run when it
is due, earliest first. The sweep finds every parked run again (`Runner.timers`), so a
restart loses none.

Threads are daemons: on shutdown the server waits a grace period for steps in flight, then
exits anyway. That is safe by design: a run survives `kill -9` at any point (ADR 0002), and
the next start's sweep resumes whatever was mid-step.
"""

from __future__ import annotations

import heapq
import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from baton.domain.status import RunStatus
from baton.errors import BatonError, RunLocked
from baton.runtime import Runtime

log = logging.getLogger("baton.worker")


class Dispatcher(Protocol):
    """Where the server hands runs to advance: its own threads (`RunWorker`, SQLite) or the
    job queue that `baton worker`s drain (`jobs.queue.RunQueue`, PostgreSQL)."""

    last_sweep: float | None
    sweep_error: str | None

    def start(self) -> None: ...
    def stop(self, grace: float) -> bool: ...
    @property
    def alive(self) -> bool: ...
    def backlog(self) -> int: ...
    def submit(self, run_id: str) -> object: ...


class Timers:
    """Due times of parked runs, earliest first; `run` hands each run to `fire` when due."""

    def __init__(self, fire: Callable[[str], None]) -> None:
        self._fire = fire
        self._heap: list[tuple[datetime, str]] = []
        self._known: set[tuple[datetime, str]] = set()
        self._changed = threading.Condition()
        self._stopped = False

    def add(self, run_id: str, at: datetime) -> None:
        with self._changed:
            if (at, run_id) in self._known:
                return
            self._known.add((at, run_id))
            heapq.heappush(self._heap, (at, run_id))
            self._changed.notify()

    def pending(self) -> list[tuple[datetime, str]]:
        with self._changed:
            return sorted(self._heap)

    def stop(self) -> None:
        with self._changed:
            self._stopped = True
            self._changed.notify_all()

    def run(self) -> None:
        while True:
            with self._changed:
                while not self._stopped:
                    wait = None
                    if self._heap:
                        wait = (self._heap[0][0] - datetime.now(UTC)).total_seconds()
                        if wait <= 0:
                            break
                    self._changed.wait(timeout=wait)
                if self._stopped:
                    return
                due = heapq.heappop(self._heap)
                self._known.discard(due)
            try:
                self._fire(due[1])
            except Exception:
                log.exception("run %s: its timer could not hand it over", due[1])


class RunWorker:
    def __init__(
        self,
        runtime: Runtime,
        *,
        threads: int,
        sweep_seconds: float,
        on_advanced: Callable[[str, RunStatus | None, float], None] | None = None,
        also_sweep: Callable[[], object] | None = None,
    ) -> None:
        self.runtime = runtime
        self.threads = threads
        self.sweep_seconds = sweep_seconds
        self.on_advanced = on_advanced
        self.also_sweep = also_sweep
        self._queue: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._queued: set[str] = set()
        self._busy: set[str] = set()
        self._again: set[str] = set()
        self._stopping = threading.Event()
        self._idle = threading.Condition(self._lock)
        self._started: list[threading.Thread] = []
        self.last_sweep: float | None = None
        self.sweep_error: str | None = None
        self.timers = Timers(self.submit)
        runtime.runner.schedule_timers(runtime.settings.timer_park_seconds, self.schedule)

    # ---- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        for n in range(self.threads):
            thread = threading.Thread(target=self._work, name=f"baton-run-{n}", daemon=True)
            thread.start()
            self._started.append(thread)
        sweeper = threading.Thread(target=self._sweep_loop, name="baton-sweep", daemon=True)
        sweeper.start()
        self._started.append(sweeper)
        timer = threading.Thread(target=self.timers.run, name="baton-timers", daemon=True)
        timer.start()
        self._started.append(timer)

    def stop(self, grace: float) -> bool:
        """Take no more work; wait up to `grace` seconds for runs in flight. True if idle."""
        self._stopping.set()
        self.timers.stop()
        if self.also_sweep is not None:
            try:
                self.also_sweep()
            except Exception as exc:
                log.error("last sweep failed: %s", exc)
        for _ in range(self.threads):
            self._queue.put(None)
        deadline = time.monotonic() + grace
        with self._idle:
            while self._busy and time.monotonic() < deadline:
                self._idle.wait(timeout=max(0.0, deadline - time.monotonic()))
            return not self._busy

    @property
    def alive(self) -> bool:
        return not self._stopping.is_set() and all(t.is_alive() for t in self._started)

    def backlog(self) -> int:
        with self._lock:
            return len(self._queued) + len(self._busy)

    # ---- work ---------------------------------------------------------------------------

    def schedule(self, run_id: str, at: datetime) -> None:
        """Advance `run_id` at `at` (a parked timer or an item deadline)."""
        self.timers.add(run_id, at)

    def submit(self, run_id: str) -> None:
        if self._stopping.is_set():
            return
        with self._lock:
            if run_id in self._busy:
                self._again.add(run_id)
                return
            if run_id in self._queued:
                return
            self._queued.add(run_id)
        self._queue.put(run_id)

    def _work(self) -> None:
        while True:
            run_id = self._queue.get()
            if run_id is None or self._stopping.is_set():
                return
            with self._lock:
                self._queued.discard(run_id)
                self._busy.add(run_id)
            try:
                self._advance(run_id)
            finally:
                with self._idle:
                    self._busy.discard(run_id)
                    again = run_id in self._again
                    self._again.discard(run_id)
                    self._idle.notify_all()
                if again:
                    self.submit(run_id)

    def _advance(self, run_id: str) -> None:
        began = time.perf_counter()
        status: RunStatus | None = None
        try:
            status = self.runtime.runner.advance(run_id)
        except RunLocked:
            # Another process (a CLI command) is advancing it: it reads every answer itself.
            log.info("run %s is being advanced elsewhere", run_id)
        except BatonError as exc:
            log.error("run %s: %s (%s)", run_id, exc.message, exc.code)
        except Exception:
            log.exception("run %s: unexpected error while advancing", run_id)
        if self.on_advanced is not None:
            self.on_advanced(run_id, status, time.perf_counter() - began)

    # ---- the sweep ----------------------------------------------------------------------

    def sweep(self) -> None:
        """Expire overdue items, resume runs nobody is advancing, schedule parked timers
        (again: a restart forgets them), sign the audit log."""
        runner = self.runtime.runner
        timers = runner.timers(rebuild=self.last_sweep is None)  # the first rebuilds
        for run_id in sorted(set(runner.expire_overdue()) | set(runner.recoverable(timers))):
            with self._lock:
                mine = run_id in self._busy or run_id in self._queued
            if not mine:
                self.submit(run_id)
        for run_id, at in timers.items():
            self.schedule(run_id, at)
        if self.also_sweep is not None:
            self.also_sweep()
        self.runtime.sign_checkpoint()

    def _sweep_loop(self) -> None:
        while not self._stopping.wait(0 if self.last_sweep is None else self.sweep_seconds):
            try:
                self.sweep()
                self.sweep_error = None
            except Exception as exc:  # the database may be down for a while: say so, go on
                self.sweep_error = f"{type(exc).__name__}: {exc}"
                log.error("sweep failed: %s", self.sweep_error)
            self.last_sweep = time.time()
