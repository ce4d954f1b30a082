"""The template context a task sees: incident, inputs, run, and earlier tasks' outputs."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from baton.store import runs as run_store


def template_context(session: Session, *, run_id: str) -> dict[str, Any]:
    run = run_store.get_run(session, run_id=run_id)
    incident = run_store.get_incident(session, incident_id=run.incident_id)
    tasks = {
        row.task_id: {
            "status": row.status,
            "output": row.output or {},
            "choice": (row.output or {}).get("choice"),
        }
        for row in run_store.task_executions(session, run_id=run_id)
    }
    return {
        "incident": incident.body,
        "inputs": run.inputs,
        "run": {
            "id": run.id,
            "runbook_id": run.runbook_id,
            "runbook_version": run.runbook_version,
            "requested_by": run.requested_by,
        },
        "tasks": tasks,
    }


def uses_templates(*values: Any) -> bool:
    """Whether any string inside `values` holds template syntax (skips a DB read if not)."""
    stack = list(values)
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if "{{" in value or "{%" in value:
                return True
        elif isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list | tuple):
            stack.extend(value)
    return False
