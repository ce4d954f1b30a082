"""An action's two transactions (ADR 0002) as units: the ledger, the task's record, its event.

The intent is the ledger's intent row with the task's `running` transition (or an event of a
task that goes on) and its audit event; the result is the ledger's result with the task's
final status (or an event) and its audit event. Each commits as a whole, before the effect
and after it.

Every action makes both, so each dialect gets its cheapest form of the same writes. On
SQLite a unit is one `Database.begin()` with positional statements written here (the
store's general functions, named parameters and all, cost a tenth of an action: ADR 0003);
`tests/integration/test_action_steps.py` holds them equal to what `action_ledger` and
`runs.transition_task` write. On PostgreSQL it is one call of a server function
(`baton_action_intent`, `baton_action_result`, migration 0005) that makes the same writes
under the same rules and checks the run's fence itself: one statement and one round trip
instead of BEGIN, a fence read, three or four statements and COMMIT in three (ADR 0004).
These take the `Database`, not an open transaction, because on PostgreSQL the function's
call is the transaction.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from baton.domain.status import TaskStatus
from baton.errors import NotFound
from baton.store import action_ledger, audit, jsontext, sql
from baton.store import runs as run_store
from baton.store.action_ledger import ActionEntry
from baton.store.db import Database
from baton.store.locks import FENCE


class Mark(NamedTuple):
    """What the task's record says with a ledger write: its transition to `status`, or,
    when `status` is None, an event `kind` of a task that goes on (a pattern's
    verification, a failed attempt before its retry). A tuple: every action makes two."""

    task_id: str
    actor: str
    status: TaskStatus | None
    kind: str
    detail: dict[str, Any]
    attempt: int | None = None
    output: Any = None
    output_text: str | None = None
    """The output's JSON text, if the caller built it already (see `sql.document`)."""
    error: str | None = None


def open_intent(
    db: Database,
    *,
    run_id: str,
    ledger_task: str,
    attempt: int,
    executor: str,
    idempotent: bool,
    invocation: dict[str, Any],
    mark: Mark,
    first: bool = False,
) -> ActionEntry | None:
    """Record the intent of `attempt` with the task's mark; the entry.

    `first`: attempt 1 of a first visit, written without reading first; None if the task
    has ledger entries already (a retry, a crash), and then nothing is written: the caller
    reads `action_ledger.latest_entry` to decide.
    """
    key = action_ledger.ledger_key(run_id, ledger_task, attempt)
    if db.engine.dialect.name == "postgresql":
        stamp = sql.now()
        params = {
            **_fence(),
            "run": run_id,
            "ledger_task": ledger_task,
            "attempt": attempt,
            "first": first,
            "key": key,
            "executor": executor,
            "idempotent": idempotent,
            "invocation": jsontext.plain(invocation),
            "at": stamp.at.replace(tzinfo=None),
            **_marked(stamp, run_id, mark),
        }
        if not _call(db, _INTENT, params)["opened"]:
            return None  # `first` found entries
    else:
        with db.begin() as tx:
            raw = _sqlite(tx)
            stamp = sql.stamp(raw)
            values = (key, run_id, ledger_task, attempt, executor, idempotent)
            statement = _SQLITE_OPEN_FIRST if first else _SQLITE_OPEN
            document = jsontext.plain(invocation)
            if raw.dbapi.execute(statement, (*values, document, stamp.sqlite)).rowcount != 1:
                return None  # only `first` gets here: a plain INSERT inserts or raises
            _sqlite_mark(raw, run_id, mark, stamp)
    return ActionEntry(
        key,
        run_id,
        ledger_task,
        attempt,
        executor,
        idempotent,
        invocation,
        action_ledger.INTENT,
        None,
        stamp.at,
        None,
        0,
    )


def record_result(db: Database, *, entry: ActionEntry, text: str, mark: Mark) -> None:
    """Complete `entry` with the result whose JSON text is `text`, and the task's mark."""
    assert mark.attempt is None, "a result's transition keeps the attempt its intent set"
    if db.engine.dialect.name != "postgresql":
        with db.begin() as tx:
            raw = _sqlite(tx)
            at = sql.stamp(raw)
            values = (text, at.sqlite, entry.run_id, entry.task_id, entry.attempt)
            if raw.dbapi.execute(_SQLITE_RESULT, values).rowcount != 1:
                raise LookupError(f"no ledger intent {entry.key}")
            _sqlite_mark(raw, entry.run_id, mark, at)
        return
    at = sql.now()
    output = None
    if mark.status is not None:
        output = mark.output_text if mark.output_text is not None else jsontext.plain(mark.output)
    params = {
        **_fence(),
        "run": entry.run_id,
        "ledger_task": entry.task_id,
        "attempt": entry.attempt,
        "result": text,
        "at": at.at.replace(tzinfo=None),
        "output": output,
        "error": mark.error,
        **_marked(at, entry.run_id, mark),
    }
    _call(db, _RESULT, params)


def _sqlite(tx: sql.Conn) -> sql.Raw:
    assert type(tx) is sql.Raw, "Database.begin() on SQLite lends a sqlite3 connection"
    return tx


def _sqlite_mark(raw: sql.Raw, run_id: str, mark: Mark, at: sql.Stamp) -> None:
    """The task's mark on SQLite: `runs.transition_task`'s update for the two transitions
    an action makes (to `running` with its attempt, to its final status), then its event."""
    status, task = mark.status, mark.task_id
    if status is TaskStatus.RUNNING and mark.attempt is not None:
        values: tuple[Any, ...] = (mark.actor, at.sqlite, mark.attempt, run_id, task)
        moved = raw.dbapi.execute(_SQLITE_RUNNING, values).rowcount
    elif status is not None and status.terminal and mark.attempt is None:
        output = mark.output_text if mark.output_text is not None else jsontext.plain(mark.output)
        values = (status.value, mark.actor, at.sqlite, output, mark.error, run_id, task)
        moved = raw.dbapi.execute(_SQLITE_FINISH, values).rowcount
    else:  # an event, or a transition no action makes
        _mark(raw, run_id, mark)
        return
    if not moved:  # a repeat changes nothing; `transition_task` says whether the task exists
        _mark(raw, run_id, mark)
        return
    payload = run_store.transition_payload(mark.detail, mark.error, mark.attempt)
    audit.record(
        raw,
        actor=mark.actor,
        kind="task",
        status=status.value,
        payload=payload,
        run=run_id,
        task=task,
    )


def _mark(tx: sql.Tx, run_id: str, mark: Mark) -> None:
    """The task's mark, by the statements of `store.runs`."""
    if mark.status is None:
        run_store.add_event(
            tx,
            run_id=run_id,
            task_id=mark.task_id,
            kind=mark.kind,
            actor=mark.actor,
            detail=mark.detail,
        )
        return
    run_store.transition_task(
        tx,
        run_id=run_id,
        task_id=mark.task_id,
        status=mark.status,
        actor=mark.actor,
        output=mark.output,
        output_text=mark.output_text,
        error=mark.error,
        attempt=mark.attempt,
        detail=mark.detail,
    )


def _marked(at: sql.Stamp, run_id: str, mark: Mark) -> dict[str, Any]:
    """The task's mark as the server function's parameters, with its audit event."""
    if mark.status is None:
        kind, status, payload = mark.kind, None, dict(mark.detail)
    else:
        kind, status = "task", mark.status.value
        payload = run_store.transition_payload(mark.detail, mark.error, mark.attempt)
    task = mark.task_id
    event = audit.server_event(
        at, actor=mark.actor, kind=kind, status=status, payload=payload, run=run_id, task=task
    )
    return {"task": mark.task_id, "status": status, "actor": mark.actor, "kind": kind, **event}


def _fence() -> dict[str, Any]:
    """The run's fence for the function to check (`store.locks.FENCE`; None: no fence)."""
    fence = FENCE.get()
    return {"fence_run": fence[0] if fence else None, "generation": fence[1] if fence else None}


def _call(db: Database, statement: str, params: dict[str, Any]) -> dict[str, Any]:
    try:
        row = db.call(statement, params)
    except Exception as exc:
        state = getattr(exc, "sqlstate", None)
        if state == _NO_TASK:
            raise NotFound(str(exc).strip()) from exc
        if state == _NO_INTENT:
            raise LookupError(str(exc).strip()) from exc
        raise
    assert row is not None
    return row


_NO_TASK = "BN001"
_NO_INTENT = "BN002"
_EVENT = ":task, :status, :actor, :kind, :blob_digest, :blob, CAST(:payload AS json), :head, :tail"
_INTENT = (
    "SELECT baton_action_intent(:fence_run, CAST(:generation AS integer), :run, :ledger_task,"
    " CAST(:attempt AS integer), :first, :key, :executor, :idempotent,"
    f" CAST(:invocation AS json), CAST(:at AS timestamp), {_EVENT}) AS opened"
)
_RESULT = (
    "SELECT baton_action_result(:fence_run, CAST(:generation AS integer), :run, :ledger_task,"
    " CAST(:attempt AS integer), CAST(:result AS json), CAST(:at AS timestamp), :task,"
    " :status, :actor, CAST(:output AS json), :error, :kind, :blob_digest, :blob,"
    " CAST(:payload AS json), :head, :tail) AS done"
)

# SQLite's statements: what `action_ledger` and `runs.transition_task` write, positional.
_SQLITE_OPEN = (
    "INSERT INTO action_ledger (key, run_id, task_id, attempt, executor, idempotent,"
    " invocation, state, result, intent_at, completed_at, reexecutions)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, 'intent', NULL, ?, NULL, 0)"
)
_SQLITE_OPEN_FIRST = _SQLITE_OPEN + " ON CONFLICT (run_id, task_id, attempt) DO NOTHING"
_SQLITE_RESULT = (
    "UPDATE action_ledger SET state = 'completed', result = ?,"
    " completed_at = ? WHERE run_id = ? AND task_id = ? AND attempt = ?"
)
_SQLITE_RUNNING = (
    "UPDATE task_executions SET status = 'running', actor = ?1, updated_at = ?2,"
    " attempt = ?3, started_at = COALESCE(started_at, ?2)"
    " WHERE run_id = ?4 AND task_id = ?5 AND NOT (status = 'running' AND attempt = ?3)"
)
_SQLITE_FINISH = (
    "UPDATE task_executions SET status = ?1, actor = ?2, updated_at = ?3, finished_at = ?3,"
    " output = ?4, error = ?5 WHERE run_id = ?6 AND task_id = ?7 AND status <> ?1"
)
