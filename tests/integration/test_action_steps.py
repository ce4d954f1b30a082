"""An action's intent and result as units (`store.action_steps`): on PostgreSQL one server
function each (migration 0005), on SQLite statements of their own.

Both must write the same rows and events; the server functions must also check the fence,
raise the same errors, and write nothing twice when a call is sent again after its answer
was lost."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from baton.domain.status import TaskStatus
from baton.errors import Fenced, NotFound
from baton.store import action_ledger, action_steps, audit
from baton.store import runs as run_store
from baton.store.action_ledger import ActionEntry
from baton.store.action_steps import Mark
from baton.store.db import Database, create_db_engine, init_schema
from baton.store.locks import FENCE
from tests.integration import postgres
from tests.integration.test_hot_path_postgres import kill, make_run

pytestmark = [pytest.mark.integration, postgres.needed]


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Database]:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'baton.sqlite'}")
    init_schema(engine)
    database = Database(engine)
    yield database
    database.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest) -> Database:
    name = "sqlite_store" if request.param == "sqlite" else "pg_store"
    return request.getfixturevalue(name)  # type: ignore[no-any-return]


def running(task: str, attempt: int = 1, invocation: Any = None) -> Mark:
    detail = {"idempotency_key": f"run_a:{task}:{attempt}", "invocation": invocation or {}}
    return Mark(task, "automation:wait", TaskStatus.RUNNING, "task", detail, attempt)


def intent(db: Database, task: str, attempt: int = 1, **changes: Any) -> ActionEntry | None:
    args: dict[str, Any] = {
        "run_id": "run_a",
        "ledger_task": task,
        "attempt": attempt,
        "executor": "wait",
        "idempotent": True,
        "invocation": {"seconds": 0, "ü": "ß"},
        "mark": running(task, attempt),
        "first": attempt == 1,
        **changes,
    }
    return action_steps.open_intent(db, **args)


def finish(db: Database, entry: ActionEntry, mark: Mark) -> None:
    action_steps.record_result(
        db,
        entry=entry,
        text='{"data":{"n":1},"error":null,"invocation":{},"status":"succeeded"}',
        mark=mark,
    )


def succeeded(task: str) -> Mark:
    return Mark(
        task,
        "automation:wait",
        TaskStatus.SUCCEEDED,
        "task",
        {"result": "succeeded"},
        output={"n": 1},
        output_text='{"n": 1}',
    )


def written(db: Database) -> dict[str, Any]:
    """Everything the steps wrote, as comparable values (no times, no hashes)."""
    with db.read() as s:
        ledger = s.execute(
            text(
                "SELECT key, task_id, attempt, executor, idempotent, invocation, state, result,"
                " reexecutions FROM action_ledger ORDER BY task_id, attempt"
            )
        ).all()
        tasks = s.execute(
            text(
                "SELECT task_id, status, actor, attempt, output, error,"
                " started_at IS NOT NULL, finished_at IS NOT NULL"
                " FROM task_executions ORDER BY task_id"
            )
        ).all()
        events = [
            (e.kind, e.actor, e.status, e.subjects, e.payload)
            for e in audit.events(s)
            if e.kind != "run"
        ]
        found = audit.verify(s)
    assert found.ok, found
    return {
        "ledger": [(*row[:5], _json(row[5]), row[6], _json(row[7]), row[8]) for row in ledger],
        "tasks": [(*row[:4], _json(row[4]), *row[5:]) for row in tasks],
        "events": events,
    }


def _json(value: Any) -> Any:
    import json

    return json.loads(value) if isinstance(value, str) else value


def scenario(db: Database) -> dict[str, Any]:
    make_run(db, "run_a", tasks=3)
    first = intent(db, "t0")
    assert first is not None and first.key == "run_a:t0:1" and first.state == "intent"
    assert intent(db, "t0") is None  # a second visit: entries exist, nothing is written
    finish(db, first, succeeded("t0"))
    # A task that goes on: events, no transitions (a pattern's verification step).
    step = Mark("t1", "automation:wait", None, "step_started", {"step": "t1.verify"})
    entry = intent(db, "t1.verify", mark=step)
    assert entry is not None
    done = Mark("t1", "automation:wait", None, "step_result", {"step": "t1.verify"})
    finish(db, entry, done)
    # A retry's second attempt, and a big invocation whose event payload is a blob.
    big = {"script": "x" * (audit.BLOB_THRESHOLD + 10)}
    again = intent(db, "t2", attempt=2, invocation=big, mark=running("t2", 2, big))
    assert again is not None and again.attempt == 2
    return written(db)


@pytest.fixture
def both(sqlite_store: Database, pg_store: Database) -> tuple[Database, Database]:
    return sqlite_store, pg_store


def test_the_server_functions_write_what_the_statements_write(both: tuple[Database, Database]):
    on_sqlite, on_postgres = (scenario(db) for db in both)
    assert on_postgres == on_sqlite
    assert [e[0] for e in on_sqlite["events"]] == [
        "task",
        "task",
        "step_started",
        "step_result",
        "task",
    ]
    assert on_sqlite["events"][-1][4]["$blob"]  # the big payload went to a blob
    assert on_sqlite["tasks"][0][1] == "succeeded" and on_sqlite["tasks"][2][3] == 2


def test_sqlites_statements_mark_a_task_as_the_store_does(sqlite_store: Database):
    """SQLite's units write the task's transitions with statements of their own: the same
    rows and events as `runs.transition_task` (and `add_event`) for the same marks."""
    db = sqlite_store
    make_run(db, "run_a", tasks=3)
    make_run(db, "run_b", tasks=3)
    failed = Mark("t1", "automation:wait", TaskStatus.FAILED, "task", {"result": "failed"})
    failed = failed._replace(output={"why": "ü"}, error="exit 1")
    marks = [
        (running("t0"), succeeded("t0")),
        (running("t1", 2), failed),
        (Mark("t2", "automation:wait", None, "step_started", {"step": "t2.verify"}), None),
    ]
    for start, end in marks:  # run_a: the units
        entry = intent(db, start.task_id, attempt=start.attempt or 1, mark=start)
        assert entry is not None
        if end is not None:
            finish(db, entry, end)
    with db.write() as s:  # run_b: the store's functions, mark by mark
        for start, end in marks:
            for mark in (start, end) if end is not None else (start,):
                if mark.status is None:
                    run_store.add_event(
                        s,
                        run_id="run_b",
                        task_id=mark.task_id,
                        kind=mark.kind,
                        actor=mark.actor,
                        detail=mark.detail,
                    )
                    continue
                run_store.transition_task(
                    s,
                    run_id="run_b",
                    task_id=mark.task_id,
                    status=mark.status,
                    actor=mark.actor,
                    output=mark.output,
                    error=mark.error,
                    attempt=mark.attempt,
                    detail=mark.detail,
                )

    def marked(run_id: str) -> tuple[list[Any], list[Any]]:
        with db.read() as s:
            tasks = s.execute(
                text(
                    "SELECT task_id, status, actor, attempt, output, error,"
                    " started_at IS NOT NULL, finished_at IS NOT NULL"
                    " FROM task_executions WHERE run_id = :run ORDER BY task_id"
                ),
                {"run": run_id},
            ).all()
            events = [
                (e.kind, e.actor, e.status, e.subjects["task"], e.payload)
                for e in audit.events(s, run_id=run_id)
                if e.kind != "run"
            ]
        return [(*t[:4], _json(t[4]), *t[5:]) for t in tasks], events

    assert marked("run_a") == marked("run_b")
    tasks, events = marked("run_a")
    assert [t[1] for t in tasks] == ["succeeded", "failed", "pending"]
    assert tasks[1][3] == 2 and tasks[1][4] == {"why": "ü"}
    assert [e[2] for e in events] == ["running", "succeeded", "running", "failed", None]


def test_a_repeated_transition_writes_no_second_event(db: Database):
    make_run(db, "run_a", tasks=1)
    entry = intent(db, "t0")
    assert entry is not None
    finish(db, entry, succeeded("t0"))
    before = written(db)
    finish(db, entry, succeeded("t0"))  # a crash after the commit: the node runs again
    assert written(db) == before


def test_missing_task_and_missing_intent_are_errors_that_write_nothing(db: Database):
    make_run(db, "run_a", tasks=1)
    before = written(db)
    with pytest.raises(NotFound):
        intent(db, "t0", mark=running("nope"))
    assert written(db) == before
    ghost = ActionEntry(
        "run_a:t0:9", "run_a", "t0", 9, "wait", True, {}, "intent", None, None, None, 0
    )  # type: ignore[arg-type]
    with pytest.raises(LookupError):
        finish(db, ghost, succeeded("t0"))
    assert written(db) == before


def test_a_taken_over_run_is_fenced_and_nothing_is_written(pg_store: Database):
    db = pg_store
    make_run(db, "run_a", tasks=1)
    before = written(db)
    token = FENCE.set(("run_a", 3))  # the run's generation is 0: another process took it
    try:
        with pytest.raises(Fenced, match="taken over"):
            intent(db, "t0")
    finally:
        FENCE.reset(token)
    assert written(db) == before
    token = FENCE.set(("run_a", 0))
    try:
        entry = intent(db, "t0")  # the same pooled connection, usable after the error
        assert entry is not None
        with db.write() as s:
            s.execute(text("UPDATE runs SET generation = 1 WHERE id = 'run_a'"))
        with pytest.raises(Fenced):
            finish(db, entry, succeeded("t0"))
    finally:
        FENCE.reset(token)
    assert written(db)["tasks"][0][1] == "running"  # the result was not written


def test_a_call_sent_again_after_its_answer_was_lost_writes_nothing_twice(
    both: tuple[Database, Database], monkeypatch: pytest.MonkeyPatch
):
    on_sqlite, db = both
    # Each call made twice: the first committed and its answer was lost (the connection
    # died), the second is what `Database.call` sends again on a new connection.
    real = db.call

    def twice(statement: str, params: Any) -> Any:
        real(statement, params)
        return real(statement, params)

    monkeypatch.setattr(db, "call", twice)
    assert scenario(db) == scenario(on_sqlite)


def test_a_pooled_connection_found_dead_is_replaced_and_the_call_made_once(
    pg_store: Database,
):
    db = pg_store
    make_run(db, "run_a", tasks=2)
    entry = intent(db, "t0")
    assert entry is not None
    with db.read() as s:
        pids = [
            int(r[0])
            for r in s.execute(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid() AND query LIKE 'SELECT baton_action%'"
                )
            )
        ]
    assert pids  # the hot pool's connection, idle after its call
    kill(db, pids)
    finish(db, entry, succeeded("t0"))  # found dead, sent again on a new connection
    after = written(db)
    assert after["tasks"][0][1] == "succeeded"
    assert [e[2] for e in after["events"]] == ["running", "succeeded"]


def test_ledger_reads_back_what_the_function_wrote(pg_store: Database):
    db = pg_store
    make_run(db, "run_a", tasks=1)
    entry = intent(db, "t0")
    assert entry is not None
    with db.peek() as conn:
        latest = action_ledger.latest_entry(conn, run_id="run_a", task_id="t0")
    assert latest == entry
