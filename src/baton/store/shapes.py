"""The stable JSON shapes of runs, tasks, items, timeline events and ledger entries.

One definition for the CLI's `--json` and the HTTP API: a public contract for scripts (see
docs/cli-json.md and docs/api.md): add fields, never rename or remove them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from baton.store.action_ledger import ActionEntry
from baton.store.audit import AuditEvent
from baton.store.models import DecisionRow, PendingItemRow, RunRow, TaskExecutionRow


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def run_json(run: RunRow) -> dict[str, Any]:
    return {
        "id": run.id,
        "runbook_id": run.runbook_id,
        "runbook_version": run.runbook_version,
        "incident_id": run.incident_id,
        "status": run.status,
        "requested_by": run.requested_by,
        "inputs": run.inputs,
        "halt_reason": run.halt_reason,
        "created_at": iso(run.created_at),
        "finished_at": iso(run.finished_at),
    }


def task_json(row: TaskExecutionRow) -> dict[str, Any]:
    return {
        "id": row.task_id,
        "type": row.task_type,
        "status": row.status,
        "actor": row.actor,
        "attempt": row.attempt,
        "started_at": iso(row.started_at),
        "finished_at": iso(row.finished_at),
        "error": row.error,
        "output": row.output,
    }


def item_json(item: PendingItemRow, decisions: list[DecisionRow]) -> dict[str, Any]:
    return {
        "id": item.id,
        "run_id": item.run_id,
        "task_id": item.task_id,
        "kind": item.kind,
        "status": item.status,
        "title": item.title,
        "roles": item.roles,
        "min_approvals": item.min_approvals,
        "decisions": [
            {"actor": d.actor, "verdict": d.verdict, "comment": d.comment, "at": iso(d.at)}
            for d in decisions
        ],
        "content": item.content,
        "content_hash": item.content_hash,
        "requested_by": item.requested_by,
        "due_at": iso(item.due_at),
        "created_at": iso(item.created_at),
    }


def event_json(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "at": iso(event.at),
        "kind": event.kind,
        "run_id": event.subjects.get("run"),
        "incident_id": event.subjects.get("incident"),
        "task_id": event.subjects.get("task"),
        "item_id": event.subjects.get("item"),
        "status": event.status,
        "actor": event.actor,
        "detail": event.payload,
        "hash": event.hash,
    }


def ledger_json(entry: ActionEntry) -> dict[str, Any]:
    return {
        "key": entry.key,
        "task_id": entry.task_id,
        "attempt": entry.attempt,
        "executor": entry.executor,
        "idempotent": entry.idempotent,
        "state": entry.state,
        "reexecutions": entry.reexecutions,
        "invocation": entry.invocation,
        "result": entry.result,
        "intent_at": iso(entry.intent_at),
        "completed_at": iso(entry.completed_at),
    }
