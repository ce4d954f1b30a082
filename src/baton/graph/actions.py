"""Run an action through the ledger so a crash never repeats a completed side effect.

On entry the latest ledger entry for (run, task) decides what happens:
- completed and succeeded, or failed with no attempts left → reuse the stored result;
- completed and failed with attempts left → the next attempt, under a new key;
- intent without result (the process died mid-call) → run again under the same key if the
  action is idempotent, otherwise report it in doubt so a person verifies it.

Timers do not hold the caller when it can schedule (`park_after` is not None, `baton serve`
and `baton worker`): a `wait` due further ahead than `park_after` seconds, and the backoff
before a retry, end the visit with `Performed.until` set and nothing executed; the node
parks and the runner advances the run again at that time. The due times come from the
ledger (a wait's intent, a failed attempt's completion), so a visit after the due time
completes the wait without sleeping, and a retry never repeats a completed attempt.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Protocol, cast

from pydantic import BaseModel

from baton.domain import actor
from baton.domain.envelope import ActionResult, ResultStatus
from baton.domain.status import TaskStatus
from baton.graph.deps import EngineDeps
from baton.runbooks.model import ActionTask
from baton.store import action_ledger, action_steps, audit
from baton.store import runs as run_store
from baton.store.action_ledger import ActionEntry
from baton.store.action_steps import Mark
from baton.store.models import utcnow
from baton.tools.executors.base import ExecutionContext, Executor


class Timed(Protocol):
    """An executor whose effect is the passing of time (`wait`): it says when it is done."""

    def due_at(self, params: BaseModel, ctx: ExecutionContext) -> datetime: ...


@cache
def _is_timed(kind: type) -> bool:
    """Per executor class, once: a runtime-checked Protocol costs ~7 us per action."""
    return callable(getattr(kind, "due_at", None))


@dataclass(frozen=True)
class Step:
    """One ledger-guarded effect: a task's action, or the verification after a pattern ran.

    `ledger_id` keys the ledger (the task id, or `<task>.verify`); `concludes` says whether
    the final result is the task's status, or only an event of a task that goes on.
    """

    task_id: str
    ledger_id: str
    executor: str
    retries: int
    timeout: float | None
    idempotent: bool | None
    actor: str
    concludes: bool = True

    @classmethod
    def of(cls, task: ActionTask) -> Step:
        assert task.executor is not None
        return cls(
            task.id,
            task.id,
            task.executor,
            task.retries,
            task.timeout,
            task.idempotent,
            actor.automation(task.executor),
        )


@dataclass(frozen=True)
class Performed:
    result: ActionResult | None
    attempt: int
    in_doubt: bool = False
    until: datetime | None = None
    """Parked: nothing more happens before this time (a wait's due time, a retry's backoff)."""

    @property
    def ok(self) -> bool:
        return self.result is not None and self.result.ok


def perform(
    deps: EngineDeps,
    *,
    run_id: str,
    step: Step,
    executor: Executor,
    params: BaseModel,
    hand_failure_to_human: bool,
    park_after: float | None = None,
    woken: bool = False,
) -> Performed:
    """Execute `step` at most once per attempt; records task transitions with the ledger.

    `park_after`: timers further ahead than this many seconds are not slept but returned as
    `Performed.until` (None: sleep them here, as a foreground CLI does). `woken`: this visit
    re-enters a task parked on a timer, so an open intent is the parked wait, not a crash.
    """
    idempotent = step.idempotent if step.idempotent is not None else executor.is_idempotent(params)
    max_attempts = step.retries + 1
    invocation = executor.describe(params)

    def intent(attempt: int, *, first: bool = False) -> ActionEntry | None:
        # The `running` mark is the audited intent: key, exact invocation, idempotency.
        detail = {
            "idempotency_key": action_ledger.ledger_key(run_id, step.ledger_id, attempt),
            "executor": step.executor,
            "idempotent": idempotent,
            "invocation": invocation,
        }
        if step.concludes:
            mark = Mark(step.task_id, step.actor, TaskStatus.RUNNING, "task", detail, attempt)
        else:
            detail = {"step": step.ledger_id, "attempt": attempt, **detail}
            mark = Mark(step.task_id, step.actor, None, "step_started", detail)
        return action_steps.open_intent(
            deps.db,
            run_id=run_id,
            ledger_task=step.ledger_id,
            attempt=attempt,
            executor=step.executor,
            idempotent=idempotent,
            invocation=invocation,
            mark=mark,
            first=first,
        )

    # The usual case (first visit) opens attempt 1 in one transaction, without reading
    # first; only a task with ledger entries already (a retry, a crash) reads the latest.
    entry = intent(1, first=True)
    last = None
    if entry is None:
        with deps.db.peek() as conn:
            last = action_ledger.latest_entry(conn, run_id=run_id, task_id=step.ledger_id)
    timed = cast(Timed, executor) if _is_timed(type(executor)) else None

    def parked(entry: ActionEntry) -> datetime | None:
        if timed is None or park_after is None:  # nothing can park: no context to build
            return None
        return _parked(timed, park_after, params, _context(step, run_id, entry))

    if last is not None:
        if last.state == action_ledger.COMPLETED:
            result = ActionResult.model_validate(last.result)
            if result.ok or last.attempt >= max_attempts:
                return Performed(result, last.attempt)
            failed_at = last.completed_at or utcnow()
            if (until := _backoff(deps, park_after, last.attempt, failed_at)) is not None:
                return Performed(result, last.attempt, until=until)
        # An open intent of a timer is the parked wait itself (even one a runbook declared
        # not idempotent), not a crash: it parks again, or completes once it is due.
        elif (until := parked(last)) is not None:
            return Performed(None, last.attempt, until=until)
        elif woken and timed is not None:
            entry = last  # the parked wait, now due: it completes under its own key
        elif not idempotent:
            return Performed(None, last.attempt, in_doubt=True)
        else:
            with deps.db.begin() as session:
                action_ledger.note_reexecution(session, entry=last)
                run_store.add_event(
                    session,
                    run_id=run_id,
                    task_id=step.task_id,
                    kind="reexecution",
                    actor=actor.SYSTEM,
                    detail={"idempotency_key": last.key, "reason": "in doubt, idempotent"},
                )
            entry = last
    attempt = last.attempt if last is not None else 1
    while True:
        if entry is None:
            attempt += 1
            entry = intent(attempt)
            assert entry is not None  # a later attempt's intent is written or raises
        if (until := parked(entry)) is not None:  # a wait due later: park, do not sleep
            return Performed(None, entry.attempt, until=until)
        result = _execute(executor, params, step, run_id, entry)
        if _settle(deps, run_id, step, entry, result, max_attempts, hand_failure_to_human):
            return Performed(result, attempt)
        entry = None
        if (until := _backoff(deps, park_after, attempt, utcnow())) is not None:
            return Performed(result, attempt, until=until)


def _parked(
    timed: Timed, park_after: float, params: BaseModel, ctx: ExecutionContext
) -> datetime | None:
    """A timed action's due time if it is further ahead than the caller sleeps."""
    due = timed.due_at(params, ctx)
    return due if (due - utcnow()).total_seconds() > park_after else None


def _backoff(
    deps: EngineDeps, park_after: float | None, attempt: int, failed_at: datetime
) -> datetime | None:
    """The backoff after failed `attempt`: slept here if short, else its end (to park)."""
    due = failed_at + timedelta(seconds=deps.retry_backoff_seconds * 2 ** (attempt - 1))
    remaining = (due - utcnow()).total_seconds()
    if park_after is not None and remaining > park_after:
        return due
    if remaining > 0:
        time.sleep(remaining)
    return None


def _context(step: Step, run_id: str, entry: ActionEntry) -> ExecutionContext:
    return ExecutionContext(
        run_id=run_id,
        task_id=step.ledger_id,
        attempt=entry.attempt,
        idempotency_key=entry.key,
        intent_at=entry.intent_at,
        timeout=step.timeout,
    )


def _execute(
    executor: Executor, params: BaseModel, step: Step, run_id: str, entry: ActionEntry
) -> ActionResult:
    ctx = _context(step, run_id, entry)
    try:
        return executor.execute(params, ctx)
    except Exception as exc:  # an executor bug must not lose the ledger entry
        return ActionResult(
            status=ResultStatus.FAILED,
            error=f"executor {step.executor} raised {type(exc).__name__}: {exc}",
        )


def _settle(
    deps: EngineDeps,
    run_id: str,
    step: Step,
    entry: ActionEntry,
    result: ActionResult,
    max_attempts: int,
    hand_failure_to_human: bool,
) -> bool:
    """Record the result (and the task's final status if this is the last word); True if done."""
    final = result.ok or entry.attempt >= max_attempts
    stored, data_text, stored_text = _stored(result)
    # The audited result: what exactly ran, how it ended, and a digest of what it returned.
    evidence = {
        "idempotency_key": entry.key,
        "result": result.status.value,
        "invocation": result.invocation,
        "output_digest": audit.digest(data_text),
    }
    if final and step.concludes and not (hand_failure_to_human and not result.ok):
        status = TaskStatus.SUCCEEDED if result.ok else TaskStatus.FAILED
        mark = Mark(
            step.task_id,
            step.actor,
            status,
            "task",
            evidence,
            output=stored["data"],
            output_text=data_text,
            error=result.error,
        )
    else:
        detail = {
            **evidence,
            "step": step.ledger_id,
            "attempt": entry.attempt,
            "error": result.error,
        }
        kind = "step_result" if final else "attempt_failed"
        mark = Mark(step.task_id, step.actor, None, kind, detail)
    action_steps.record_result(deps.db, entry=entry, text=stored_text, mark=mark)
    return final


def _stored(result: ActionResult) -> tuple[dict[str, Any], str, str]:
    """The result as the ledger stores it, with the canonical JSON of its data and of itself.

    The data's text is serialised once: it is hashed for the audit trail, stored as the
    task's output and embedded in the ledger's copy (keys in sorted order, so the whole is
    canonical JSON too).
    """
    stored = {
        "status": result.status.value,
        "data": result.data,
        "error": result.error,
        "invocation": result.invocation,
    }
    try:
        data_text = audit.canonical_json(stored["data"])
        invocation_text = audit.canonical_json(stored["invocation"])
    except TypeError:  # a value with no JSON type: let pydantic convert it, as it always did
        stored = result.model_dump(mode="json")
        data_text = audit.canonical_json(stored["data"])
        invocation_text = audit.canonical_json(stored["invocation"])
    text = (
        f'{{"data":{data_text},"error":{audit.canonical_json(result.error)},'
        f'"invocation":{invocation_text},"status":{audit.canonical_json(stored["status"])}}}'
    )
    return stored, data_text, text
