"""PostgreSQL: an action's intent and its result each as one server-side function.

An action is two transactions (ADR 0002): the ledger's intent with the task's `running`
transition and its audit event, then the ledger's result with the task's final status (or
an event) and its audit event. On PostgreSQL each was BEGIN, a fence read, three or four
statements and COMMIT in three round trips; `baton_action_intent` and `baton_action_result`
do the same writes in one statement, which in autocommit is its own transaction: one round
trip (ADR 0004, bench/engine_pg.py). No change on SQLite.

The functions keep the Python path's rules (`store.action_ledger`, `store.runs`,
`store.audit`): the fence (a share-locked read of `runs.generation`, SQLSTATE BF001 when
another process took the run over), a repeated transition writes no event, a missing task
or intent is an error (BN001, BN002). A call sent again because its connection died before
the answer came back (`Database.call`) finds its own rows, by their time, and writes
nothing twice.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

# Each function does its whole transaction inline: a nested PL/pgSQL call costs ~15 us of
# server time (pg_stat_user_functions), a tenth of the function. The event is appended by
# `baton_audit_append` (migration 0003), the chain's one append on the server.
_FENCE = """
    IF p_generation IS NOT NULL THEN  -- the run's fence, as `Database.write()` checks it
        SELECT r.generation INTO held FROM runs r WHERE r.id = p_fence_run FOR SHARE;
        IF FOUND AND held <> p_generation THEN
            RAISE EXCEPTION USING ERRCODE = 'BF001', MESSAGE = format(
                'fenced: run %s was taken over (generation %s, this process held %s); '
                || 'nothing of this step is written', p_fence_run, held, p_generation);
        END IF;
    END IF;
"""

_EVENT = """
    IF p_status IS NOT NULL AND NOT FOUND THEN  -- a repeated transition writes no event
        PERFORM 1 FROM task_executions t WHERE t.run_id = p_run AND t.task_id = p_task;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'run % has no task %', p_run, p_task USING ERRCODE = 'BN001';
        END IF;
        RETURN {done};
    END IF;
    IF p_blob_digest IS NOT NULL THEN
        INSERT INTO audit_blobs (digest, body) VALUES (p_blob_digest, p_blob)
            ON CONFLICT (digest) DO NOTHING;
    END IF;
    PERFORM baton_audit_append(p_at, p_actor, p_kind, NULL, p_run, p_task, NULL, NULL,
        p_status, p_payload, p_head, p_tail);
"""

INTENT = (
    """
CREATE OR REPLACE FUNCTION baton_action_intent(
    p_fence_run varchar, p_generation integer, p_run varchar, p_ledger_task varchar,
    p_attempt integer, p_first boolean, p_key varchar, p_executor varchar,
    p_idempotent boolean, p_invocation json, p_at timestamp,
    p_task varchar, p_status varchar, p_actor varchar, p_kind varchar,
    p_blob_digest varchar, p_blob text, p_payload json, p_head text, p_tail text)
RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    held integer;
    opened timestamp;
BEGIN"""  # noqa: S608 (this module's constants, composed)
    + _FENCE
    + """
    INSERT INTO action_ledger (key, run_id, task_id, attempt, executor, idempotent,
        invocation, state, result, intent_at, completed_at, reexecutions)
    VALUES (p_key, p_run, p_ledger_task, p_attempt, p_executor, p_idempotent,
        p_invocation, 'intent', NULL, p_at, NULL, 0)
    ON CONFLICT (run_id, task_id, attempt) DO NOTHING;
    IF NOT FOUND THEN
        SELECT l.intent_at INTO opened FROM action_ledger l
        WHERE l.run_id = p_run AND l.task_id = p_ledger_task AND l.attempt = p_attempt;
        IF opened = p_at THEN  -- this very call, committed before its answer was lost
            RETURN true;
        END IF;
        IF p_first THEN  -- the task has ledger entries already: the caller reads them
            RETURN false;
        END IF;
        RAISE EXCEPTION 'action ledger already holds %', p_key USING ERRCODE = '23505';
    END IF;
    IF p_status IS NOT NULL THEN  -- `runs._MOVE`
        UPDATE task_executions t SET status = p_status, actor = p_actor, updated_at = p_at,
            attempt = COALESCE(p_attempt, t.attempt),
            started_at = CASE WHEN p_status = 'running' AND t.started_at IS NULL
                THEN p_at ELSE t.started_at END
        WHERE t.run_id = p_run AND t.task_id = p_task
            AND NOT (t.status = p_status AND t.attempt = COALESCE(p_attempt, t.attempt));
    END IF;"""
    + _EVENT.format(done="true")
    + """
    RETURN true;
END
$$
"""
)

RESULT = (
    """
CREATE OR REPLACE FUNCTION baton_action_result(
    p_fence_run varchar, p_generation integer, p_run varchar, p_ledger_task varchar,
    p_attempt integer, p_result json, p_at timestamp,
    p_task varchar, p_status varchar, p_actor varchar, p_output json, p_error text,
    p_kind varchar, p_blob_digest varchar, p_blob text, p_payload json, p_head text,
    p_tail text)
RETURNS void LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    held integer;
BEGIN"""  # noqa: S608 (this module's constants, composed)
    + _FENCE
    + """
    UPDATE action_ledger l SET state = 'completed', result = p_result, completed_at = p_at
    WHERE l.run_id = p_run AND l.task_id = p_ledger_task AND l.attempt = p_attempt
        AND l.completed_at IS DISTINCT FROM p_at;
    IF NOT FOUND THEN
        PERFORM 1 FROM action_ledger l WHERE l.run_id = p_run
            AND l.task_id = p_ledger_task AND l.attempt = p_attempt;
        IF FOUND THEN  -- completed at this very time: this call, sent again
            RETURN;
        END IF;
        RAISE EXCEPTION 'no ledger intent %:%:%', p_run, p_ledger_task, p_attempt
            USING ERRCODE = 'BN002';
    END IF;
    IF p_status IS NOT NULL THEN  -- `runs._FINISH`
        UPDATE task_executions t SET status = p_status, actor = p_actor, updated_at = p_at,
            finished_at = p_at, output = p_output, error = p_error
        WHERE t.run_id = p_run AND t.task_id = p_task AND t.status <> p_status;
    END IF;"""
    + _EVENT.format(done="")
    + """
END
$$
"""
)

FUNCTIONS = (INTENT, RESULT)

_DROP = ("DROP FUNCTION baton_action_result", "DROP FUNCTION baton_action_intent")


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for function in FUNCTIONS:
            op.execute(function)


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for statement in _DROP:
            op.execute(statement)
