"""ORM tables for incidents, runs, task executions, pending items and the action ledger."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; always returns tz-aware datetimes (SQLite drops the zone otherwise)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class RunbookVersion(Base):
    """The canonical content of every runbook version a run was started from (runs pin it)."""

    __tablename__ = "runbook_versions"

    version: Mapped[str] = mapped_column(String(80), primary_key=True)
    runbook_id: Mapped[str] = mapped_column(String(128), index=True)
    title: Mapped[str] = mapped_column(String(256))
    canonical: Mapped[str] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IncidentRow(Base):
    __tablename__ = "incidents"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    title: Mapped[str] = mapped_column(String(512))
    severity: Mapped[str] = mapped_column(String(16))
    service: Mapped[str | None] = mapped_column(String(256))
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RunRow(Base):
    """One execution of one runbook version for one incident; `id` is the LangGraph thread."""

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    runbook_id: Mapped[str] = mapped_column(String(128), index=True)
    runbook_version: Mapped[str] = mapped_column(ForeignKey("runbook_versions.version"))
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    requested_by: Mapped[str] = mapped_column(String(128))
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    halt_reason: Mapped[str | None] = mapped_column(Text)
    cancel_requested_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None]
    generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Bumped each time a process takes the run's lock on PostgreSQL: a write under an
    older generation is refused (fencing; `store.locks.AdvisoryRunLocks`)."""
    wake_at: Mapped[datetime | None] = mapped_column(index=True)
    """When the run, parked, is next due without anyone answering (a timer or an item
    deadline): a hint the sweep finds by index and checks against the graph state
    (`store.timers`)."""


class TaskExecutionRow(Base):
    """Current state of one task in one run; its history is in the audit trail."""

    __tablename__ = "task_executions"
    __table_args__ = {"sqlite_with_rowid": False}  # one B-tree (the primary key) per write

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    task_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    task_type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str | None] = mapped_column(String(160))
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    output: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEventRow(Base):
    """One link of the audit chain (see `store.audit`); UPDATE and DELETE are refused."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_run", "run_id", "seq"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(32))
    incident_id: Mapped[str | None] = mapped_column(String(128))  # export scans; rare
    run_id: Mapped[str | None] = mapped_column(String(64))
    task_id: Mapped[str | None] = mapped_column(String(64))
    item_id: Mapped[str | None] = mapped_column(String(32))
    pattern_id: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str | None] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditBlobRow(Base):
    """A large audit payload, stored once and referenced from events by its SHA-256."""

    __tablename__ = "audit_blobs"

    digest: Mapped[str] = mapped_column(String(80), primary_key=True)
    body: Mapped[str] = mapped_column(Text)


class AuditCheckpointRow(Base):
    """A signed Merkle tree head over the first `tree_size` audit events (RFC 9162)."""

    __tablename__ = "audit_checkpoints"

    tree_size: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    root: Mapped[str] = mapped_column(String(64))
    at: Mapped[str] = mapped_column(String(32), doc="RFC 3339 UTC, exactly as signed")
    key_id: Mapped[str] = mapped_column(String(32))
    signature: Mapped[str] = mapped_column(String(128), doc="base64 Ed25519 signature")


APPEND_ONLY = ("audit_events", "audit_blobs", "audit_checkpoints")


class PendingItemRow(Base):
    """Something a person must answer: an approval gate, a human task, a decision, a fallback."""

    __tablename__ = "pending_items"
    __table_args__ = (UniqueConstraint("run_id", "task_id", "stage"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(16), default="")
    """'' for a task's own item; 'gate', 'verify' or 'review' for a pattern task's stages."""
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str] = mapped_column(String(512))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(80))
    requested_by: Mapped[str] = mapped_column(String(160))
    roles: Mapped[list[Any]] = mapped_column(JSON, default=list)
    min_approvals: Mapped[int] = mapped_column(Integer, default=1)
    due_at: Mapped[datetime | None]
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]


class DecisionRow(Base):
    """One person's answer to a pending item; a person answers an item at most once."""

    __tablename__ = "decisions"
    __table_args__ = (UniqueConstraint("item_id", "actor"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("pending_items.id"), index=True)
    actor: Mapped[str] = mapped_column(String(160))
    verdict: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    outputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ActionLedgerRow(Base):
    """Action ledger: intent before a side effect, result after, keyed by run/task/attempt."""

    __tablename__ = "action_ledger"
    # Rows live in their primary-key B-tree: one page to write per change, not three.
    __table_args__ = {"sqlite_with_rowid": False}

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    task_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    attempt: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    key: Mapped[str] = mapped_column(String(200), doc="run:task:attempt, the idempotency key")
    executor: Mapped[str] = mapped_column(String(32))
    idempotent: Mapped[bool]
    invocation: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    intent_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    reexecutions: Mapped[int] = mapped_column(Integer, default=0)


class PatternRunRow(Base):
    """One run of a pattern inside a run: how it was gated, answered and how it ended."""

    __tablename__ = "pattern_runs"
    __table_args__ = (UniqueConstraint("run_id", "task_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pattern_id: Mapped[str] = mapped_column(String(128), index=True)
    pattern_version: Mapped[str] = mapped_column(String(80))
    context_key: Mapped[str] = mapped_column(Text)
    context: Mapped[dict[str, Any]] = mapped_column(JSON)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"))
    task_id: Mapped[str] = mapped_column(String(64))
    incident_id: Mapped[str] = mapped_column(String(128))
    mode: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    agreement: Mapped[str | None] = mapped_column(String(16))
    approved_by: Mapped[list[Any]] = mapped_column(JSON, default=list)
    proposal_hash: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class PromotionLedgerRow(Base):
    """The promotion ledger: the standing of a pattern in one condition context."""

    __tablename__ = "pattern_ledger"

    pattern_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    context_key: Mapped[str] = mapped_column(Text, primary_key=True)
    context: Mapped[dict[str, Any]] = mapped_column(JSON)
    standing: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class FindingRow(Base):
    """An agent task's finding (large, hostile-text-bearing): graph state holds only its id."""

    __tablename__ = "findings"
    __table_args__ = (UniqueConstraint("run_id", "task_id"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(64))
    agent: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(160))
    produced_by: Mapped[str] = mapped_column(String(160))
    finding: Mapped[dict[str, Any]] = mapped_column(JSON)
    recommendations: Mapped[list[Any]] = mapped_column(JSON, default=list)
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PatternEvalRow(Base):
    """The latest eval result of one pattern version (the `pattern_eval` audit event is the
    record; this row lets a ledger line created later find the pass without a scan)."""

    __tablename__ = "pattern_evals"

    pattern_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    pattern_version: Mapped[str] = mapped_column(String(80), primary_key=True)
    passed: Mapped[bool]
    exit_code: Mapped[int | None]
    output_digest: Mapped[str] = mapped_column(String(80))
    by: Mapped[str] = mapped_column(String(160))
    audit_seq: Mapped[int]
    at: Mapped[datetime] = mapped_column(default=utcnow)


class IncidentStateRow(Base):
    """Where an incident stands: its team (scoping), its source and when it was resolved.

    Kept beside `incidents` (whose rows never change) so that lifecycle updates and team
    filters need no JSON scan. Acknowledged and mitigated times follow from the decisions
    and runs themselves (`store.incidents.clocks`).
    """

    __tablename__ = "incident_states"

    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    team: Mapped[str | None] = mapped_column(String(128), index=True)
    source: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    detected_at: Mapped[datetime]
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(160))


class AlertGroupRow(Base):
    """The incident a sender's alert group currently feeds (one per source and group key)."""

    __tablename__ = "alert_groups"

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    group_key: Mapped[str] = mapped_column(String(1024), primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"))
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertInstanceRow(Base):
    """One firing episode of one alert (fingerprint + start): a redelivery finds it here."""

    __tablename__ = "alert_instances"
    __table_args__ = (Index("ix_alert_fingerprint", "source", "fingerprint", "first_seen"),)

    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    instance: Mapped[str] = mapped_column(String(300), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(256))
    group_key: Mapped[str] = mapped_column(String(1024))
    incident_id: Mapped[str | None] = mapped_column(String(128), index=True)
    name: Mapped[str] = mapped_column(String(512))
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    labels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    deliveries: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]


class ApiTokenRow(Base):
    """An API token: only its SHA-256 is kept; the secret is shown once, at creation."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user: Mapped[str] = mapped_column(String(64), index=True)
    team: Mapped[str | None] = mapped_column(String(128))
    digest: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(160))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class WebSessionRow(Base):
    """A browser session: the cookie holds its secret, the row its digest and CSRF token."""

    __tablename__ = "web_sessions"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    user: Mapped[str] = mapped_column(String(64))
    team: Mapped[str | None] = mapped_column(String(128))
    csrf: Mapped[str] = mapped_column(String(64))
    via: Mapped[str] = mapped_column(String(16))
    token_id: Mapped[str | None] = mapped_column(String(32))
    """The API token the session was opened with: revoking it ends the session too."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class LoginLinkRow(Base):
    """A one-time login link (`baton serve --demo`, `baton tokens link`): used once, then dead."""

    __tablename__ = "login_links"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    user: Mapped[str] = mapped_column(String(64))
    team: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class HeartbeatRow(Base):
    """`/readyz` writes here: a database that answers reads but refuses writes (a full disk,
    a read-only file) is not ready, and only a write tells."""

    __tablename__ = "heartbeats"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
