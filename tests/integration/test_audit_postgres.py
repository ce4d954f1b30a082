"""The audit trail on a real PostgreSQL server: chain, triggers, tamper detection, no forks."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from baton.store import audit
from baton.store.db import Database
from tests.integration import postgres

pytestmark = [pytest.mark.integration, postgres.needed]


@pytest.fixture
def db(pg_store: Database) -> Database:
    return pg_store


def append(db: Database, n: int, run: str = "run_pg") -> None:
    for i in range(n):
        with db.begin() as conn:
            audit.append(
                conn,
                actor="human:alice",
                kind="task",
                status="succeeded",
                payload={"n": i, "note": "ünïcode", "ratio": 0.1, "big": "x" * (i * 3000)},
                run=run,
                task=f"t{i}",
            )


def test_chain_verifies_on_postgres(db: Database):
    append(db, 6)
    with db.read() as s:
        events = list(audit.events(s))
        verdict = audit.verify(s)
    assert [e.seq for e in events] == [1, 2, 3, 4, 5, 6]
    assert any("$blob" in e.payload for e in events)  # large payloads went to audit_blobs
    assert verdict.ok and verdict.events == 6


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET actor = 'human:mallory'",
        "DELETE FROM audit_events WHERE seq = 2",
        "TRUNCATE audit_events",
    ],
)
def test_postgres_refuses_edits(db: Database, statement: str):
    append(db, 3)
    with pytest.raises(DBAPIError, match="append-only"), db.write() as s:
        s.execute(text(statement))
    with db.read() as s:
        assert audit.verify(s).ok


def test_tampering_is_named_on_postgres(db: Database):
    append(db, 4)
    with db.write() as s:
        s.execute(text("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only"))
        s.execute(text("UPDATE audit_events SET kind = 'forged' WHERE seq = 3"))
    with db.read() as s:
        verdict = audit.verify(s)
    assert not verdict.ok and verdict.broken_seq == 3 and verdict.reason == "hash mismatch"


def test_concurrent_appends_never_fork_the_chain(db: Database):
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            append(db, 15, run=name)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(f"run_{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    with db.read() as s:
        verdict = audit.verify(s)
    assert verdict.ok and verdict.events == 45
