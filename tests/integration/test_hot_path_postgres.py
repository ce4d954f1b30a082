"""PostgreSQL's hot-path transaction (`Database.begin`, `sql.PgRaw`): pipelined statements,
the audit append on the server, the fence, and a pooled connection found dead."""

from __future__ import annotations

import threading

import psycopg
import pytest
from sqlalchemy import text

from baton.domain.status import TaskStatus
from baton.errors import Fenced
from baton.store import audit, sql
from baton.store import runs as run_store
from baton.store.db import Database
from baton.store.locks import FENCE
from tests.integration import postgres

pytestmark = [pytest.mark.integration, postgres.needed]


@pytest.fixture
def db(pg_store: Database) -> Database:
    return pg_store


def make_run(db: Database, run_id: str, tasks: int = 1) -> None:
    with db.begin() as conn:
        run_store.save_runbook_version(
            conn, version="v1", runbook_id="rb", title="rb", canonical="{}", source=""
        )
        run_store.save_incident(conn, incident_id="inc_1", body={"title": "t", "severity": "low"})
        run_store.create_run(
            conn,
            run_id=run_id,
            runbook_id="rb",
            runbook_version="v1",
            incident_id="inc_1",
            requested_by="human:alice",
            inputs={},
            task_types={f"t{i}": "action" for i in range(tasks)},
        )


def verdict(db: Database) -> audit.Verdict:
    with db.read() as s:
        return audit.verify(s)


def count(db: Database, table: str) -> int:
    with db.read() as s:
        return int(s.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def python_append(db: Database, n: int) -> None:
    """Appends as the previous release made them: lock, head and hash in Python."""
    for i in range(n):
        with db.write() as s:
            conn = s.connection()
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7423501)")
            head = conn.exec_driver_sql(audit._HEAD).first()
            seq, prev = (head[0] + 1, head[1]) if head else (1, audit.GENESIS)
            at = sql.now()
            canonical = audit.canonical_event(
                seq=seq,
                at=at.rfc3339,
                actor="human:old",
                kind="run",
                subjects={"run": "run_old"},
                status=None,
                payload_text=audit.canonical_json({"i": i}),
            )
            conn.execute(
                text(audit._INSERT),
                {
                    "seq": seq,
                    "at": at.at.replace(tzinfo=None),
                    "actor": "human:old",
                    "kind": "run",
                    "incident": None,
                    "run": "run_old",
                    "task": None,
                    "item": None,
                    "pattern": None,
                    "status": None,
                    "payload": f'{{"i": {i}}}',
                    "prev_hash": prev,
                    "hash": audit.chain_hash(prev, canonical),
                },
            )


def test_events_recorded_without_waiting_chain_with_appended_ones_and_old_ones(db: Database):
    make_run(db, "run_a", tasks=3)
    for i in range(3):
        with db.begin() as conn:
            assert run_store.transition_task(
                conn, run_id="run_a", task_id=f"t{i}", status=TaskStatus.RUNNING, actor="x"
            )
            run_store.add_event(conn, run_id="run_a", kind="note", actor="x", detail={"ü": i})
        python_append(db, 1)
        with db.begin() as conn:
            event = audit.append(conn, actor="x", kind="run", payload={"i": i}, run="run_a")
        assert event.seq == 1 + 4 * (i + 1) and len(event.hash) == 64
    found = verdict(db)
    assert found.ok and found.events == 13, found


def test_concurrent_hot_path_writers_never_fork_the_chain(db: Database):
    make_run(db, "run_c", tasks=20)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(5):
                with db.begin() as conn:
                    run_store.transition_task(
                        conn,
                        run_id="run_c",
                        task_id=f"t{n * 5 + i}",
                        status=TaskStatus.SUCCEEDED,
                        actor="x",
                        output={"n": n},
                    )
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    python_append(db, 5)
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    found = verdict(db)
    assert found.ok and found.events == 1 + 20 + 5, found


def test_a_fenced_transaction_writes_nothing(db: Database):
    make_run(db, "run_f")
    events = count(db, "audit_events")
    token = FENCE.set(("run_f", 7))  # the run's generation is 0: another process took it
    try:
        with pytest.raises(Fenced), db.begin() as conn:
            run_store.add_event(conn, run_id="run_f", kind="note", actor="x")  # read nothing
        with pytest.raises(Fenced), db.begin() as conn:
            run_store.transition_task(
                conn, run_id="run_f", task_id="t0", status=TaskStatus.RUNNING, actor="x"
            )
    finally:
        FENCE.reset(token)
    assert count(db, "audit_events") == events
    token = FENCE.set(("run_f", 0))
    try:
        with db.begin() as conn:
            run_store.add_event(conn, run_id="run_f", kind="note", actor="x")
    finally:
        FENCE.reset(token)
    assert count(db, "audit_events") == events + 1


def test_an_error_in_a_statement_nobody_waited_for_rolls_back_the_transaction(db: Database):
    make_run(db, "run_e")
    events = count(db, "audit_events")
    with pytest.raises(psycopg.errors.UniqueViolation), db.begin() as conn:
        run_store.add_event(conn, run_id="run_e", kind="note", actor="x")
        sql.send(conn, "INSERT INTO audit_blobs (digest, body) VALUES ('d', 'a')", {})
        sql.send(conn, "INSERT INTO audit_blobs (digest, body) VALUES ('d', 'b')", {})
    assert count(db, "audit_events") == events
    assert count(db, "audit_blobs") == 0
    with db.begin() as conn:  # the connection went back to the pool usable
        run_store.add_event(conn, run_id="run_e", kind="note", actor="x")
    assert verdict(db).ok


def hot_backends(db: Database) -> list[int]:
    with db.read() as s:
        rows = s.execute(
            text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND query LIKE 'COMMIT%'"
            )
        )
        return [int(r[0]) for r in rows]


def kill(db: Database, pids: list[int]) -> None:
    with db.read() as s:
        for pid in pids:
            s.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})


def test_a_pooled_connection_found_dead_is_replaced_without_a_ping(db: Database):
    make_run(db, "run_d")
    pids = hot_backends(db)
    assert pids  # the hot path's pooled connection, idle after its COMMIT
    kill(db, pids)
    events = count(db, "audit_events")
    with db.begin() as conn:  # the first round trip fails, and is sent again on a new one
        assert run_store.transition_task(
            conn, run_id="run_d", task_id="t0", status=TaskStatus.RUNNING, actor="x"
        )
        run_store.add_event(conn, run_id="run_d", kind="note", actor="x")
    assert count(db, "audit_events") == events + 2
    assert verdict(db).ok


def test_after_a_restart_no_transaction_fails_on_a_dead_pooled_connection(db: Database):
    """Every pooled connection killed at once (a restart): the first transaction to find
    one dead drops them all, so no later one fails on another dead one."""
    make_run(db, "run_r")
    width = 4
    together = threading.Barrier(width)

    def hold() -> None:
        with db.begin() as conn:  # (no audit event: its lock would serialise them)
            sql.first(conn, "SELECT 1 AS one", {})
            together.wait(timeout=30)  # all `width` connections out of the pool at once

    threads = [threading.Thread(target=hold) for _ in range(width)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    pids = hot_backends(db)
    assert len(pids) >= width
    kill(db, pids)
    events = count(db, "audit_events")
    for _ in range(width + 1):
        with db.begin() as conn:
            run_store.add_event(conn, run_id="run_r", kind="note", actor="x")
    assert count(db, "audit_events") == events + width + 1
    assert verdict(db).ok


def test_a_connection_dying_mid_transaction_is_an_error_and_commits_nothing(db: Database):
    make_run(db, "run_m")
    events = count(db, "audit_events")
    with pytest.raises(psycopg.OperationalError), db.begin() as conn:
        run_store.transition_task(
            conn, run_id="run_m", task_id="t0", status=TaskStatus.RUNNING, actor="x"
        )
        pid = sql.first(conn, "SELECT pg_backend_pid() AS pid", {})
        assert pid is not None
        kill(db, [pid["pid"]])
        run_store.add_event(conn, run_id="run_m", kind="note", actor="x")
        sql.first(conn, "SELECT 1 AS one", {})
    assert count(db, "audit_events") == events
    with db.begin() as conn:
        run_store.add_event(conn, run_id="run_m", kind="note", actor="x")
    assert count(db, "audit_events") == events + 1
