"""The audit chain: every state change leaves a linked event; tampering is named by seq."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError

from baton.domain.incident import Incident
from baton.errors import Forbidden
from baton.runtime import Runtime
from baton.store import audit
from baton.store.db import open_database
from tests.conftest import runbook
from tests.integration.test_engine import REQ, pending, two_gates


def kinds(runtime: Runtime, run_id: str) -> list[str]:
    with runtime.db.read() as s:
        return [e.kind for e in audit.events(s, run_id=run_id)]


@pytest.fixture
def waiting_run(runtime: Runtime, incident: Incident, tmp_path: Path) -> str:
    run_id, _ = runtime.runner.start(runbook(two_gates(tmp_path)), incident, requested_by=REQ)
    return run_id


def test_every_step_is_recorded_and_the_chain_verifies(runtime: Runtime, waiting_run: str):
    items = pending(runtime, waiting_run)
    with pytest.raises(Forbidden):
        runtime.runner.answer(items["gate_a"], by=REQ, verdict="approve")
    runtime.runner.answer(items["gate_a"], by="human:alice", verdict="approve", comment="go")
    runtime.runner.answer(items["gate_b"], by="human:bob", verdict="approve")
    seen = kinds(runtime, waiting_run)
    for kind in (
        "run",
        "task",
        "item_opened",
        "item_decision",
        "refusal",
    ):
        assert kind in seen, kind
    with runtime.db.read() as s:
        events = list(audit.events(s, run_id=waiting_run))
        refusal = next(e for e in events if e.kind == "refusal")
        running = next(e for e in events if e.kind == "task" and e.status == "running")
        done = next(
            e
            for e in events
            if e.kind == "task" and e.subjects["task"] == "prepare" and e.status == "succeeded"
        )
        opened = next(e for e in events if e.kind == "item_opened")
        verdict = audit.verify(s)
    assert refusal.actor == REQ and refusal.payload["code"] == "forbidden"
    assert (
        running.payload["idempotency_key"].endswith(":1") and running.payload["idempotent"] is False
    )
    assert done.payload["output_digest"].startswith("sha256:")
    assert done.payload["invocation"]["argv"] == running.payload["invocation"]["argv"]
    assert opened.payload["content_hash"] == audit.digest(
        audit.canonical_json(opened.payload["content"])
    )
    assert verdict.ok and verdict.events == events[-1].seq
    assert str(verdict).startswith(f"ok: {verdict.events} events, head ")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET actor = 'human:mallory' WHERE seq = 3",
        "DELETE FROM audit_events WHERE seq = 3",
        "DELETE FROM audit_events",
    ],
)
def test_the_database_refuses_edits(runtime: Runtime, waiting_run: str, statement: str):
    with (
        pytest.raises((IntegrityError, OperationalError), match="append-only"),
        runtime.db.write() as s,
    ):
        s.execute(text(statement))
    with runtime.db.read() as s:
        assert audit.verify(s).ok


def tamper(runtime: Runtime, *statements: str) -> audit.Verdict:
    """What a database administrator could do: drop the guard, then edit."""
    with runtime.db.write() as s:
        for trigger in ("no_update", "no_delete"):
            s.execute(text(f"DROP TRIGGER audit_events_{trigger}"))
        for statement in statements:
            s.execute(text(statement))
    with runtime.db.read() as s:
        return audit.verify(s)


def test_a_modified_payload_is_named(runtime: Runtime, waiting_run: str):
    verdict = tamper(
        runtime, "UPDATE audit_events SET payload = json_object('forged', 1) WHERE seq = 4"
    )
    assert not verdict.ok and verdict.broken_seq == 4 and verdict.reason == "hash mismatch"
    assert verdict.events == 3


def test_a_deleted_row_is_named(runtime: Runtime, waiting_run: str):
    verdict = tamper(runtime, "DELETE FROM audit_events WHERE seq = 5")
    assert not verdict.ok and verdict.broken_seq == 6 and verdict.reason == "gap"


def test_swapped_rows_are_named(runtime: Runtime, waiting_run: str):
    verdict = tamper(
        runtime,
        "UPDATE audit_events SET seq = -1 WHERE seq = 2",
        "UPDATE audit_events SET seq = 2 WHERE seq = 3",
        "UPDATE audit_events SET seq = 3 WHERE seq = -1",
    )
    assert not verdict.ok and verdict.broken_seq == 2


def test_large_payloads_are_stored_once_by_digest(runtime: Runtime, incident: Incident):
    big = "x" * (audit.BLOB_THRESHOLD + 10)
    rb = runbook(f"""
        id: big
        title: Big
        owner: sre
        tasks:
          - {{id: gate, type: approval, title: Look, approvers: [ic], shows: ["{big}"]}}
    """)
    run_id, _ = runtime.runner.start(rb, incident, requested_by=REQ)
    with runtime.db.read() as s:
        opened = next(e for e in audit.events(s, run_id=run_id) if e.kind == "item_opened")
        ref = opened.payload["$blob"]
        body = audit.blob(s, ref)
        assert body is not None and big in body and audit.digest(body) == ref
        assert audit.verify(s).ok
    with runtime.db.write() as s:
        s.execute(text("DROP TRIGGER audit_blobs_no_update"))
        s.execute(text("UPDATE audit_blobs SET body = replace(body, 'xxxx', 'yyyy')"))
    with runtime.db.read() as s:
        verdict = audit.verify(s)
    assert not verdict.ok and verdict.reason == "blob mismatch" and verdict.broken_seq == opened.seq


def test_a_cached_chain_head_never_goes_stale(runtime: Runtime):
    """The hot path keeps the head between transactions; another writer must reset it."""

    def add(session: object, n: int) -> None:
        audit.append(session, actor="system", kind="recovery", payload={"n": n}, run=None)

    with runtime.db.begin() as conn:
        add(conn, 1)
    with runtime.db.write() as s:  # another connection appends in between
        add(s, 2)
    with runtime.db.begin() as conn:
        add(conn, 3)
    with runtime.db.begin() as conn:
        add(conn, 4)
    with runtime.db.read() as s:
        verdict = audit.verify(s)
        assert [e.payload["n"] for e in audit.events(s)] == [1, 2, 3, 4]
    assert verdict.ok and verdict.events == 4


def test_a_head_cached_by_another_process_is_found_stale_and_the_chain_goes_on(
    runtime: Runtime,
):
    """Two processes on one home, each caching the head on its hot-path connection."""
    other = open_database(runtime.settings)
    try:
        for n, db in enumerate([runtime.db, other, runtime.db, other, other, runtime.db]):
            with db.begin() as conn:
                audit.append(conn, actor="system", kind="recovery", payload={"n": n}, run=None)
    finally:
        other.close()
    with runtime.db.read() as s:
        verdict = audit.verify(s)
        assert [e.payload["n"] for e in audit.events(s)] == list(range(6))
    assert verdict.ok


def test_a_refused_append_is_an_error_not_a_retry(runtime: Runtime):
    """A constraint that refuses the event itself (not a stale head) is raised as it is."""
    with runtime.db.begin() as conn:
        audit.append(conn, actor="system", kind="recovery", payload={}, run=None)
    with runtime.db.write() as s:
        s.execute(
            text(
                "CREATE TRIGGER refuse BEFORE INSERT ON audit_events WHEN NEW.kind = 'refused'"
                " BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        )
    with pytest.raises(sqlite3.IntegrityError, match="refused"), runtime.db.begin() as conn:
        audit.append(conn, actor="system", kind="refused", payload={}, run=None)
    with runtime.db.begin() as conn:
        audit.append(conn, actor="system", kind="recovery", payload={}, run=None)
    with runtime.db.read() as s:
        verdict = audit.verify(s)
    assert verdict.ok and verdict.events == 2
