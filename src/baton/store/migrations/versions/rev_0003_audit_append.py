"""PostgreSQL: the audit chain's append as one server-side function (no change on SQLite).

`baton_audit_append` takes the chain's advisory lock, reads the head and inserts the next
event with its hash: one statement instead of three round trips (bench/engine_pg.py). It
takes the same lock as the append done in Python (`store.audit`), so processes of the
previous release append to the same chain safely. Each statement of a VOLATILE PL/pgSQL
function reads a snapshot of its own, so the head is read after the lock is granted.

The hash is SHA-256 of the previous hash followed by the event's canonical JSON, which
Python builds around the sequence number: `head || seq || tail` (`audit._canonical`).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

FUNCTION = """
CREATE OR REPLACE FUNCTION baton_audit_append(
    p_at timestamp, p_actor varchar, p_kind varchar, p_incident varchar, p_run varchar,
    p_task varchar, p_item varchar, p_pattern varchar, p_status varchar, p_payload json,
    p_head text, p_tail text, OUT seq integer, OUT prev_hash varchar, OUT hash varchar)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7423501);
    SELECT e.seq, e.hash INTO seq, prev_hash FROM audit_events e ORDER BY e.seq DESC LIMIT 1;
    IF NOT FOUND THEN
        seq := 0;
        prev_hash := repeat('0', 64);
    END IF;
    seq := seq + 1;
    hash := encode(sha256(convert_to(prev_hash || p_head || seq::text || p_tail, 'UTF8')), 'hex');
    INSERT INTO audit_events (seq, at, actor, kind, incident_id, run_id, task_id, item_id,
        pattern_id, status, payload, prev_hash, hash)
    VALUES (seq, p_at, p_actor, p_kind, p_incident, p_run, p_task, p_item, p_pattern,
        p_status, p_payload, prev_hash, hash);
END
$$
"""


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(FUNCTION)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP FUNCTION baton_audit_append")
