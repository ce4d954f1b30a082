"""The schema of revision 0001, frozen: what `create_all` made before Baton had migrations.

A verbatim copy of `store.models` as of that revision, in Core tables, plus the append-only
triggers. Revision 0001 creates it, and a database made by a release before migrations is
checked against it before it is stamped (`migrations.adopt`). Never edit it: later schema
changes are later revisions, and the live models move on without it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()
APPEND_ONLY = ("audit_events", "audit_blobs", "audit_checkpoints")


def _at(name: str, *, nullable: bool = False) -> Column[datetime]:
    return Column(name, DateTime(), nullable=nullable)


def _str(name: str, length: int, *, nullable: bool = False, index: bool = False) -> Column[str]:
    return Column(name, String(length), nullable=nullable, index=index)


Table(
    "runbook_versions",
    metadata,
    Column("version", String(80), primary_key=True),
    _str("runbook_id", 128, index=True),
    _str("title", 256),
    Column("canonical", Text, nullable=False),
    Column("source", Text),
    _at("created_at"),
)
Table(
    "incidents",
    metadata,
    Column("id", String(128), primary_key=True),
    _str("title", 512),
    _str("severity", 16),
    _str("service", 256, nullable=True),
    Column("body", JSON, nullable=False),
    _at("created_at"),
)
Table(
    "runs",
    metadata,
    Column("id", String(64), primary_key=True),
    _str("runbook_id", 128, index=True),
    Column("runbook_version", String(80), ForeignKey("runbook_versions.version"), nullable=False),
    Column("incident_id", String(128), ForeignKey("incidents.id"), nullable=False, index=True),
    _str("status", 16, index=True),
    _str("requested_by", 128),
    Column("inputs", JSON, nullable=False),
    Column("halt_reason", Text),
    _str("cancel_requested_by", 128, nullable=True),
    _at("created_at"),
    _at("updated_at"),
    _at("finished_at", nullable=True),
)
Table(
    "task_executions",
    metadata,
    Column("run_id", String(64), ForeignKey("runs.id"), primary_key=True),
    Column("task_id", String(64), primary_key=True),
    _str("task_type", 16),
    _str("status", 16),
    _str("actor", 160, nullable=True),
    Column("attempt", Integer, nullable=False),
    Column("output", JSON),
    Column("error", Text),
    _at("started_at", nullable=True),
    _at("finished_at", nullable=True),
    _at("updated_at"),
    sqlite_with_rowid=False,
)
Table(
    "audit_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    _at("at"),
    _str("actor", 160),
    _str("kind", 32),
    _str("incident_id", 128, nullable=True),
    _str("run_id", 64, nullable=True),
    _str("task_id", 64, nullable=True),
    _str("item_id", 32, nullable=True),
    _str("pattern_id", 128, nullable=True),
    _str("status", 16, nullable=True),
    Column("payload", JSON, nullable=False),
    _str("prev_hash", 64),
    _str("hash", 64),
    Index("ix_audit_run", "run_id", "seq"),
)
Table(
    "audit_blobs",
    metadata,
    Column("digest", String(80), primary_key=True),
    Column("body", Text, nullable=False),
)
Table(
    "audit_checkpoints",
    metadata,
    Column("tree_size", Integer, primary_key=True, autoincrement=False),
    _str("root", 64),
    _str("at", 32),
    _str("key_id", 32),
    _str("signature", 128),
)
Table(
    "pending_items",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("run_id", String(64), ForeignKey("runs.id"), nullable=False, index=True),
    _str("task_id", 64),
    _str("stage", 16),
    _str("kind", 16),
    _str("status", 16, index=True),
    _str("title", 512),
    Column("content", JSON, nullable=False),
    _str("content_hash", 80),
    _str("requested_by", 160),
    Column("roles", JSON, nullable=False),
    Column("min_approvals", Integer, nullable=False),
    _at("due_at", nullable=True),
    Column("answer", JSON),
    _at("created_at"),
    _at("answered_at", nullable=True),
    UniqueConstraint("run_id", "task_id", "stage"),
)
Table(
    "decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", String(32), ForeignKey("pending_items.id"), nullable=False, index=True),
    _str("actor", 160),
    _str("verdict", 16),
    Column("comment", Text),
    Column("outputs", JSON, nullable=False),
    _at("at"),
    UniqueConstraint("item_id", "actor"),
)
Table(
    "action_ledger",
    metadata,
    Column("run_id", String(64), ForeignKey("runs.id"), primary_key=True),
    Column("task_id", String(64), primary_key=True),
    Column("attempt", Integer, primary_key=True, autoincrement=False),
    _str("key", 200),
    _str("executor", 32),
    Column("idempotent", Boolean, nullable=False),
    Column("invocation", JSON, nullable=False),
    _str("state", 16),
    Column("result", JSON),
    _at("intent_at"),
    _at("completed_at", nullable=True),
    Column("reexecutions", Integer, nullable=False),
    sqlite_with_rowid=False,
)
Table(
    "pattern_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _str("pattern_id", 128, index=True),
    _str("pattern_version", 80),
    Column("context_key", Text, nullable=False),
    Column("context", JSON, nullable=False),
    Column("run_id", String(64), ForeignKey("runs.id"), nullable=False),
    _str("task_id", 64),
    _str("incident_id", 128),
    _str("mode", 16),
    _str("outcome", 16),
    _str("agreement", 16, nullable=True),
    Column("approved_by", JSON, nullable=False),
    _str("proposal_hash", 80),
    _at("at"),
    UniqueConstraint("run_id", "task_id"),
)
Table(
    "pattern_ledger",
    metadata,
    Column("pattern_id", String(128), primary_key=True),
    Column("context_key", Text, primary_key=True),
    Column("context", JSON, nullable=False),
    Column("standing", JSON, nullable=False),
    _at("updated_at"),
)
Table(
    "findings",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("run_id", String(64), ForeignKey("runs.id"), nullable=False, index=True),
    _str("task_id", 64),
    _str("agent", 32),
    _str("actor", 160),
    _str("produced_by", 160),
    Column("finding", JSON, nullable=False),
    Column("recommendations", JSON, nullable=False),
    Column("stats", JSON, nullable=False),
    _at("created_at"),
    UniqueConstraint("run_id", "task_id"),
)
Table(
    "pattern_evals",
    metadata,
    Column("pattern_id", String(128), primary_key=True),
    Column("pattern_version", String(80), primary_key=True),
    Column("passed", Boolean, nullable=False),
    Column("exit_code", Integer),
    _str("output_digest", 80),
    _str("by", 160),
    Column("audit_seq", Integer, nullable=False),
    _at("at"),
)
Table(
    "incident_states",
    metadata,
    Column("incident_id", String(128), ForeignKey("incidents.id"), primary_key=True),
    _str("team", 128, nullable=True, index=True),
    _str("source", 32, nullable=True),
    _str("status", 16, index=True),
    _at("detected_at"),
    _at("opened_at"),
    _at("resolved_at", nullable=True),
    _str("resolved_by", 160, nullable=True),
)
Table(
    "alert_groups",
    metadata,
    Column("source", String(32), primary_key=True),
    Column("group_key", String(1024), primary_key=True),
    Column("incident_id", String(128), ForeignKey("incidents.id"), nullable=False),
    _at("opened_at"),
)
Table(
    "alert_instances",
    metadata,
    Column("source", String(32), primary_key=True),
    Column("instance", String(300), primary_key=True),
    _str("fingerprint", 256),
    _str("group_key", 1024),
    _str("incident_id", 128, nullable=True, index=True),
    _str("name", 512),
    _str("severity", 16),
    _str("status", 16),
    _str("outcome", 16),
    Column("reason", Text),
    Column("labels", JSON, nullable=False),
    Column("deliveries", Integer, nullable=False),
    _at("first_seen"),
    _at("last_seen"),
    _at("resolved_at", nullable=True),
    Index("ix_alert_fingerprint", "source", "fingerprint", "first_seen"),
)
Table(
    "api_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    _str("user", 64, index=True),
    _str("team", 128, nullable=True),
    _str("digest", 64),
    _str("created_by", 160),
    _at("created_at"),
    _at("expires_at", nullable=True),
    _at("revoked_at", nullable=True),
    _at("last_used_at", nullable=True),
)
Table(
    "web_sessions",
    metadata,
    Column("digest", String(64), primary_key=True),
    _str("user", 64),
    _str("team", 128, nullable=True),
    _str("csrf", 64),
    _str("via", 16),
    _str("token_id", 32, nullable=True),
    _at("created_at"),
    _at("expires_at"),
    _at("ended_at", nullable=True),
)
Table(
    "login_links",
    metadata,
    Column("digest", String(64), primary_key=True),
    _str("user", 64),
    _str("team", 128, nullable=True),
    _at("created_at"),
    _at("expires_at"),
    _at("used_at", nullable=True),
)
Table(
    "heartbeats",
    metadata,
    Column("name", String(128), primary_key=True),
    _at("at"),
)


def append_only_ddl(dialect: str) -> list[str]:
    """Triggers that refuse UPDATE and DELETE (and TRUNCATE) on the audit tables.

    Idempotent, as the release before migrations ran them on every open. For `op.execute`
    (a `text()`): one literal `%`.
    """
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table}"
            f" BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            for table in APPEND_ONLY
            for op in ("UPDATE", "DELETE")
        ]
    if dialect == "postgresql":
        ddl = [
            "CREATE OR REPLACE FUNCTION baton_append_only() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
        ]
        for table in APPEND_ONLY:
            ddl += [
                f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE"
                f" ON {table} FOR EACH STATEMENT EXECUTE FUNCTION baton_append_only()",
            ]
        return ddl
    return []
