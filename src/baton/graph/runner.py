"""Start, advance, answer, cancel and recover runs. Every path that advances holds the lock.

The database is the source of truth for what people decided; the graph is re-entered from
it. So a crash between recording an answer and re-entering the graph loses nothing: the
next `advance` finds the answered item whose task is still parked and re-enters it.

Timers are due times, not sleeps. A runner with a scheduler (`schedule_timers`: `baton
serve`'s worker threads, `baton worker`) lets a task park on a wait or a retry's backoff
(`until` in its graph state) and an advance that leaves a run waiting hands the run's
next due time (its earliest timer or item deadline) to `on_park`, which advances the run
again then. The re-entry re-enters the timers that are due and times out the items that
are overdue, so nothing sleeps and nothing waits for a sweep.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.types import Command
from sqlalchemy.orm import Session

from baton.domain import actor
from baton.domain.answer import Settled
from baton.domain.incident import Incident
from baton.domain.status import ItemStatus, RunStatus, TaskStatus
from baton.errors import BatonError, Conflict, Forbidden, InputError, RunLocked
from baton.graph.answers import Answer, record_answer
from baton.graph.compiler import RunGraph, compile_runbook, recursion_limit
from baton.graph.deps import EngineDeps
from baton.graph.nodes import PARK_AFTER
from baton.graph.state import initial_state
from baton.runbooks.canonical import runbook_from_canonical
from baton.runbooks.inputs import resolve_values
from baton.runbooks.loader import LoadedRunbook
from baton.runbooks.model import Runbook
from baton.store import audit, sql
from baton.store import incidents as incident_store
from baton.store import items as item_store
from baton.store import runs as run_store
from baton.store import timers as timer_store
from baton.store.locks import RunLock
from baton.store.models import utcnow

log = logging.getLogger("baton.runner")


@dataclass(frozen=True)
class AnswerOutcome:
    item_id: str
    item_status: str
    approvals: int
    needed: int
    run_status: RunStatus
    run_id: str = ""
    settled: bool = False
    """The item is settled: its run can move (`advance=False` leaves that to the caller)."""


class Runner:
    """The one place that moves runs forward."""

    def __init__(
        self, deps: EngineDeps, checkpointer: BaseCheckpointSaver[Any], locks: RunLock
    ) -> None:
        self.deps = deps
        self.checkpointer = checkpointer
        self.locks = locks
        self._graphs: dict[str, tuple[Runbook, RunGraph]] = {}
        self.park_after: float | None = None
        """Timers further ahead than this park their task (None: nodes sleep them)."""
        self.on_park: Callable[[str, datetime], object] | None = None

    def schedule_timers(
        self, park_after: float, on_park: Callable[[str, datetime], object]
    ) -> None:
        """Park timers instead of sleeping them; `on_park(run_id, at)` must advance the run
        at `at` (a scheduled job, a timer heap). Without it, a parked run waits for a sweep.

        Each park also writes the run's `wake_at` hint, after `on_park`: a wake-up that was
        not scheduled would be lost until the next sweep, a hint that was not written (the
        process died in between) is rebuilt by the first sweep of the next process, or by
        the advance a stalled job's retry makes (`timers(rebuild=True)`, `jobs.worker`)."""
        self.park_after = park_after

        def parked(run_id: str, at: datetime) -> None:
            on_park(run_id, at)
            with self.deps.db.write() as session:
                timer_store.set_wake(session, run_id=run_id, at=at)

        self.on_park = parked

    # ---- graphs -------------------------------------------------------------------------

    def graph_for(self, version: str) -> tuple[Runbook, RunGraph]:
        """The compiled graph of a stored runbook version (runs are pinned to theirs)."""
        if version not in self._graphs:
            with self.deps.db.read() as session:
                canonical = run_store.get_runbook_canonical(session, version=version)
            runbook = runbook_from_canonical(canonical)
            self._graphs[version] = (
                runbook,
                compile_runbook(runbook, self.deps, self.checkpointer),
            )
        return self._graphs[version]

    def _config(self, run_id: str, runbook: Runbook) -> RunnableConfig:
        configurable: dict[str, Any] = {"thread_id": run_id}
        if self.park_after is not None:
            configurable[PARK_AFTER] = self.park_after
        return {"configurable": configurable, "recursion_limit": recursion_limit(runbook)}

    # ---- start --------------------------------------------------------------------------

    def create(
        self,
        loaded: LoadedRunbook,
        incident: Incident,
        *,
        requested_by: str,
        inputs: Mapping[str, object] | None = None,
    ) -> str:
        """Record a new run (pinned version, incident, every task pending) without running it."""
        with self.deps.db.begin() as conn:
            return self.create_in(conn, loaded, incident, requested_by=requested_by, inputs=inputs)

    def create_in(
        self,
        session: sql.Tx,
        loaded: LoadedRunbook,
        incident: Incident,
        *,
        requested_by: str,
        inputs: Mapping[str, object] | None = None,
        source: str | None = None,
    ) -> str:
        """`create` inside the caller's transaction (alert intake records its own rows too)."""
        values = resolve_values(loaded.runbook.inputs, inputs or {}, what="input")
        incident_id = incident.id or f"inc_{uuid.uuid4().hex[:10]}"
        body = incident.model_dump(mode="json") | {"id": incident_id}
        run_id = f"run_{uuid.uuid4().hex[:12]}"
        run_store.save_runbook_version(
            session,
            version=loaded.version,
            runbook_id=loaded.runbook.id,
            title=loaded.runbook.title,
            canonical=loaded.canonical,
            source=loaded.source,
        )
        run_store.save_incident(session, incident_id=incident_id, body=body)
        incident_store.save_state(
            session,
            incident_id=incident_id,
            team=incident.team or loaded.runbook.owner,
            source=source,
            detected_at=incident.detected_at,
        )
        run_store.create_run(
            session,
            run_id=run_id,
            runbook_id=loaded.runbook.id,
            runbook_version=loaded.version,
            incident_id=incident_id,
            requested_by=requested_by,
            inputs=dict(values),
            task_types={t.id: t.type for t in loaded.runbook.steps},
        )
        return run_id

    def start(
        self,
        loaded: LoadedRunbook,
        incident: Incident,
        *,
        requested_by: str,
        inputs: Mapping[str, object] | None = None,
    ) -> tuple[str, RunStatus]:
        run_id = self.create(loaded, incident, requested_by=requested_by, inputs=inputs)
        return run_id, self.advance(run_id)

    # ---- advance ------------------------------------------------------------------------

    def advance(self, run_id: str) -> RunStatus:
        """Move the run as far as it can go: to completion, or until it waits on people."""
        with self.locks.hold(run_id):
            return self._advance_locked(run_id)

    def _advance_locked(self, run_id: str) -> RunStatus:
        with self.deps.db.begin() as conn:
            run = run_store.run_head(conn, run_id=run_id)
        status = RunStatus(run.status)
        if status.terminal:
            return status
        runbook, graph = self.graph_for(run.runbook_version)
        config = self._config(run_id, runbook)
        snap = graph.get_state(config)
        graph_input: Any = None  # with no values: the process died mid-step, continue
        values: dict[str, Any] | None = None
        if snap.metadata is None:
            graph_input = initial_state()
        elif not snap.next:
            values = snap.values
        last_reentry: tuple[Any, Any] | None = None
        while True:
            if values is not None:
                graph_input = self._reentry(run_id, values)
                if graph_input is not None:
                    # Re-entering the same tasks from the same state again would change
                    # nothing: settle instead of spinning (a node that parked without
                    # saying so in the database).
                    attempt = (graph_input.goto, values)
                    graph_input = None if attempt == last_reentry else graph_input
                    last_reentry = attempt
                if graph_input is None:
                    status = self._settle(run_id, values)
                    if status.terminal and self.deps.after_run is not None:
                        self.deps.after_run(run_id)
                    if (
                        status is RunStatus.WAITING
                        and self.on_park is not None
                        and (due := self._next_due(run_id, values)) is not None
                    ):
                        self.on_park(run_id, due)
                    return status
            if status is not RunStatus.RUNNING:  # only this lock holder moves the run
                with self.deps.db.begin() as conn:
                    run_store.set_run_status(
                        conn, run_id=run_id, status=RunStatus.RUNNING, actor=actor.SYSTEM
                    )
                status = RunStatus.RUNNING
            # What the graph returns is its state once nothing more can run: the values a
            # fresh `get_state` would read back from the checkpoint just written.
            values = graph.invoke(graph_input, config, durability="sync")
            if values is None:  # nothing to report: read what the checkpoint holds
                values = graph.get_state(config).values

    def _reentry(self, run_id: str, values: dict[str, Any]) -> Command[Any] | None:
        """Re-enter parked tasks that were answered, or all of them if the run must stop."""
        parked = [
            t for t, s in values.get("tasks", {}).items() if s["status"] == TaskStatus.WAITING
        ]
        if not parked:
            return None
        with self.deps.db.write() as session:
            run = run_store.get_run(session, run_id=run_id)
            if run.cancel_requested_by and not values.get("halt"):
                reason = f"cancelled by {run.cancel_requested_by}"
                self._withdraw(session, run_id, parked, run.cancel_requested_by, reason)
                return Command(update={"halt": reason}, goto=parked)
            if values.get("halt"):
                self._withdraw(
                    session, run_id, parked, actor.SYSTEM, f"run halted: {values['halt']}"
                )
                return Command(goto=parked)
            # A parked task is re-entered when a person answered one of its items, when
            # the database says it was running (its node consumed an answer and the process
            # died before the node concluded or parked again), or when its timer is due.
            running = {
                t.task_id
                for t in run_store.task_executions(session, run_id=run_id)
                if t.status == TaskStatus.RUNNING
            }
            now = utcnow()
            due_by = now + timedelta(seconds=self.park_after or 0)
            answered, overdue = [], []
            for t in parked:
                items = item_store.open_items_for_task(session, run_id=run_id, task_id=t)
                overdue += [
                    i.id
                    for i in items
                    if i.status == ItemStatus.PENDING and _overdue(i.due_at, now)
                ]
                until = values["tasks"][t].get("until")
                if (
                    t in running
                    or any(i.status == ItemStatus.ANSWERED for i in items)
                    or (until is not None and datetime.fromisoformat(until) <= due_by)
                ):
                    answered.append(t)
        # A deadline passed while the run was parked: its timeout applies now.
        if overdue and [i for i in overdue if self._expire(i, now) is not None]:
            return self._reentry(run_id, values)
        return Command(goto=answered) if answered else None

    def _next_due(self, run_id: str, values: dict[str, Any]) -> datetime | None:
        """When a waiting run must move without anyone answering: its earliest timer or
        item deadline (None: it waits on people only)."""
        dues = [
            datetime.fromisoformat(s["until"])
            for s in values.get("tasks", {}).values()
            if s["status"] == TaskStatus.WAITING and "until" in s
        ]
        with self.deps.db.read() as session:
            deadline = timer_store.next_deadline(session, run_id=run_id)
        return min([*dues, deadline] if deadline is not None else dues, default=None)

    def _withdraw(
        self, session: Session, run_id: str, tasks: list[str], by: str, reason: str
    ) -> None:
        """Cancel the open items of parked tasks; their nodes then conclude as cancelled."""
        for task_id in tasks:
            for item in item_store.open_items_for_task(session, run_id=run_id, task_id=task_id):
                if item.status != ItemStatus.PENDING:
                    continue
                item_store.mark(session, item_id=item.id, status=ItemStatus.CANCELLED)
                run_store.add_event(
                    session,
                    run_id=run_id,
                    task_id=task_id,
                    kind="item_withdrawn",
                    actor=by,
                    detail={"item_id": item.id, "reason": reason},
                )

    def _settle(self, run_id: str, values: dict[str, Any]) -> RunStatus:
        """The graph has nothing to run: the run waits on people, or it is over."""
        tasks = values.get("tasks", {})
        halt = values.get("halt")
        with self.deps.db.begin() as conn:
            cancelled_by = run_store.run_head(conn, run_id=run_id).cancel_requested_by
            for item_id, task_id, expired in item_store.answered(conn, run_id=run_id):
                if task_id in tasks and TaskStatus(tasks[task_id]["status"]).terminal:
                    done = ItemStatus.EXPIRED if expired else ItemStatus.APPLIED
                    item_store.mark(conn, item_id=item_id, status=done)
            if any(s["status"] == TaskStatus.WAITING for s in tasks.values()):
                status = RunStatus.WAITING
            else:
                status = (
                    RunStatus.CANCELLED
                    if cancelled_by
                    else RunStatus.FAILED
                    if halt
                    else RunStatus.SUCCEEDED
                )
                for task_id in run_store.unfinished_tasks(conn, run_id=run_id):
                    # never reached: nothing that leads there concluded
                    run_store.transition_task(
                        conn,
                        run_id=run_id,
                        task_id=task_id,
                        status=TaskStatus.CANCELLED if halt else TaskStatus.SKIPPED,
                        actor=actor.SYSTEM,
                        detail={"reason": "not reached"},
                    )
            run_store.set_run_status(
                conn,
                run_id=run_id,
                status=status,
                actor=cancelled_by or actor.SYSTEM,
                detail={"halt": halt} if halt and status.terminal else None,
                halt_reason=halt if status.terminal else None,
            )
        return status

    # ---- people -------------------------------------------------------------------------

    def answer(
        self,
        item_id: str,
        *,
        by: str,
        verdict: str,
        comment: str | None = None,
        outputs: Mapping[str, object] | None = None,
        choice: str | None = None,
        changes: Mapping[str, object] | None = None,
        break_glass: bool = False,
        advance: bool = True,
    ) -> AnswerOutcome:
        """Record a person's answer to a pending item, then advance the run if it is settled
        (unless `advance` is False: a server hands that to its own worker threads).

        Unknown, stale or already-answered items raise and change nothing. An answer that
        comes after the item's deadline is refused too, and the timeout it missed applies
        at once (as `recover` would apply it).
        """
        with self.deps.db.read() as session:
            item = item_store.get_item(session, item_id=item_id)
            item_run, item_due = str(item.run_id), item.due_at
            version = run_store.get_run(session, run_id=item_run).runbook_version
        runbook, _ = self.graph_for(version)
        given = Answer(
            by,
            verdict,
            comment,
            dict(outputs or {}),
            choice,
            dict(changes or {}),
            break_glass,
        )
        try:
            with self.deps.db.write() as session:
                item = item_store.get_item(session, item_id=item_id, to_answer=True)
                if _overdue(item.due_at, utcnow()):
                    raise Conflict(
                        f"item {item_id} was due by {item.due_at:%Y-%m-%d %H:%M:%S} UTC and has"
                        " timed out; its timeout applies instead"
                    )
                run = run_store.get_run(session, run_id=item.run_id)
                settled = record_answer(
                    session,
                    item=item,
                    run=run,
                    runbook=runbook,
                    answer=given,
                    directory=self.deps.directory,
                    catalog=self.deps.catalog,
                )
                approvals = sum(
                    d.verdict == "approve" for d in item_store.decisions(session, item_id=item_id)
                )
                result = (item.run_id, str(item.status), item.min_approvals)
        except (Forbidden, Conflict, InputError) as exc:
            self._refused(item_id, by, verdict, exc)
            now = utcnow()
            if _overdue(item_due, now) and self._expire(item_id, now) is not None:
                self._nudge(item_run)
            raise
        run_id, item_status, needed = result
        status = self._nudge(run_id) if settled and advance else RunStatus.WAITING
        return AnswerOutcome(item_id, item_status, approvals, needed, status, run_id, settled)

    def _nudge(self, run_id: str) -> RunStatus:
        """Advance a run after an answer, unless another process is advancing it already."""
        try:
            return self.advance(run_id)
        except RunLocked:
            # That process re-reads answers when its current step ends: nothing is lost.
            return RunStatus.RUNNING

    def _refused(self, item_id: str, by: str, verdict: str, exc: BatonError) -> None:
        """A refused answer changed nothing, but the attempt is evidence: audit it."""
        with self.deps.db.write() as session:
            item = item_store.get_item(session, item_id=item_id)
            audit.append(
                session,
                actor=by,
                kind="refusal",
                payload={"attempted": verdict, "code": exc.code, "reason": exc.message},
                run=item.run_id,
                task=item.task_id,
                item=item_id,
            )

    def cancel(self, run_id: str, *, by: str, reason: str | None = None) -> RunStatus:
        """Cancel a run that waits on people: its pending gates are cancelled, nothing runs."""
        with self.locks.hold(run_id):
            with self.deps.db.write() as session:
                run = run_store.get_run(session, run_id=run_id)
                if RunStatus(run.status).terminal:
                    raise Conflict(f"run {run_id} already {run.status}")
                run.cancel_requested_by = by
                run_store.add_event(
                    session,
                    run_id=run_id,
                    kind="cancel_requested",
                    actor=by,
                    detail={"reason": reason},
                )
            return self._advance_locked(run_id)

    # ---- recovery -----------------------------------------------------------------------

    def expire_overdue(self) -> list[str]:
        """Time out pending items past their due time; returns the affected run ids."""
        now = utcnow()
        with self.deps.db.read() as session:
            overdue = [i for i, due in item_store.deadlines(session) if _overdue(due, now)]
        return [run_id for i in overdue if (run_id := self._expire(i, now)) is not None]

    def _expire(self, item_id: str, now: datetime) -> str | None:
        """Fail the task of a pending item past its due time; its run id, or None if not."""
        with self.deps.db.write() as session:
            item = item_store.get_item(session, item_id=item_id, to_answer=True)
            if item.status != ItemStatus.PENDING or not _overdue(item.due_at, now):
                return None
            reason = f"no answer by {item.due_at:%Y-%m-%d %H:%M:%S} UTC (timeout)"
            item_store.answer_item(
                session,
                item=item,
                answer=Settled(status=TaskStatus.FAILED, reason=reason, expired=True),
            )
            run_store.transition_task(
                session,
                run_id=item.run_id,
                task_id=item.task_id,
                status=TaskStatus.FAILED,
                actor=actor.SYSTEM,
                error=reason,
                detail={"item_id": item_id},
            )
            return str(item.run_id)

    def timers(self, *, rebuild: bool = True) -> dict[str, datetime]:
        """Runs parked on a timer (a wait, a retry's backoff) and when each is next due.

        The sweep reads the runs' `wake_at` hints by index; only a hint that is due (about
        to be acted on) is checked against the run's graph state and corrected, so runs
        whose timers are ahead cost no state read. `rebuild` also reads the graph state of
        every run parked on an action, as before the hints, and writes what it finds: a
        process's first sweep does (and so does `recover`), so a process that died between
        parking a run and writing its hint loses no timer.
        """
        now = utcnow()
        with self.deps.db.read() as session:
            hints = timer_store.wakes(session)
            parked = timer_store.parked_on_actions(session) if rebuild else []
        seen = {h.run_id: h.at for h in hints}
        found = {h.run_id: h.at for h in hints if h.status is RunStatus.WAITING and h.at > now}
        due = {h.run_id for h in hints if h.status is RunStatus.WAITING and h.at <= now}
        fixes: list[tuple[str, datetime | None, datetime | None]] = [
            (h.run_id, h.at, None) for h in hints if h.status.terminal
        ]
        for run_id in sorted(due | set(parked)):
            dues = self._timer_dues(run_id)
            if dues is None:
                continue
            at = min(dues, default=None)
            hint = seen.get(run_id)
            if run_id in due:  # a due hint says what the state says, timer or none
                found.pop(run_id, None)
                if at != hint:
                    fixes.append((run_id, hint, at))
            elif at is not None and (hint is None or at < hint):  # rebuilt: never later
                fixes.append((run_id, hint, at))
            if at is not None:
                found[run_id] = min(at, found.get(run_id, at))
        if fixes:
            with self.deps.db.write() as session:
                for run_id, hint, at in fixes:
                    if hint is None:
                        assert at is not None
                        timer_store.set_wake(session, run_id=run_id, at=at)
                    else:
                        timer_store.correct_wake(session, run_id=run_id, seen=hint, at=at)
        return found

    def _timer_dues(self, run_id: str) -> list[datetime] | None:
        """The due times of a run's parked tasks, from its graph state (None: unreadable)."""
        try:
            with self.deps.db.read() as session:
                version = run_store.run_head(session, run_id=run_id).runbook_version
            runbook, graph = self.graph_for(version)
            tasks = graph.get_state(self._config(run_id, runbook)).values.get("tasks", {})
        except Exception:  # one run that cannot be read must not stop every run's sweep
            log.exception("run %s: its timers cannot be read; skipped", run_id)
            return None
        return [
            datetime.fromisoformat(s["until"])
            for s in tasks.values()
            if s["status"] == TaskStatus.WAITING and "until" in s
        ]

    def recoverable(self, timers: Mapping[str, datetime] | None = None) -> list[str]:
        """Runs that need a push: mid-step with no live owner, answered but not resumed, or
        parked on a timer that is due (`timers`: what `timers()` returned, if at hand)."""
        with self.deps.db.read() as session:
            # Ids only, and only the runs that qualify: runs parked at gates may be many
            # (their rows, read every sweep, grew the worker by ~5 KB per parked run).
            running = run_store.run_ids(session, status=RunStatus.RUNNING)
            answered = item_store.answered_waiting_runs(session)
        orphaned = [r for r in running if not self.locks.held_elsewhere(r)]
        now = utcnow()
        due = {r for r, at in (self.timers() if timers is None else timers).items() if at <= now}
        return sorted(set(orphaned) | answered | due)

    def recover(
        self, *, on_run: Callable[[str, RunStatus], None] | None = None
    ) -> dict[str, RunStatus]:
        """Expire overdue items and advance every run that was left mid-step."""
        run_ids = sorted(set(self.expire_overdue()) | set(self.recoverable()))
        results: dict[str, RunStatus] = {}
        for run_id in run_ids:
            with self.deps.db.write() as session:
                run_store.add_event(session, run_id=run_id, kind="recovery", actor=actor.SYSTEM)
            results[run_id] = self.advance(run_id)
            if on_run:
                on_run(run_id, results[run_id])
        return results


def _overdue(due_at: datetime | None, now: datetime) -> bool:
    return due_at is not None and due_at <= now
