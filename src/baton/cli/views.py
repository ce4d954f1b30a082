"""Stable `--json` shapes and Rich tables for runs, tasks, items and timelines.

The JSON shapes are a public contract for scripts (see docs/cli-json.md): add fields, never
rename or remove them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich.table import Table
from rich.text import Text

from baton.domain.text import addresses_approver, printable, written_by_model
from baton.store.audit import AuditEvent
from baton.store.models import (
    DecisionRow,
    PendingItemRow,
    RunRow,
    TaskExecutionRow,
)

STATUS_STYLE = {
    "pending": "dim",
    "running": "bold cyan",
    "waiting": "bold yellow",
    "succeeded": "green",
    "failed": "bold red",
    "skipped": "dim",
    "cancelled": "magenta",
    "answered": "green",
    "applied": "green",
    "expired": "red",
}


def styled(status: str | None) -> Text:
    return Text(status or "", style=STATUS_STYLE.get(status or "", ""))


def task_table(run: RunRow, tasks: list[TaskExecutionRow], order: Sequence[str]) -> Table:
    table = Table(title=f"{run.id} · {run.runbook_id} · {run.status}", title_justify="left")
    for column in ("task", "type", "status", "actor", "attempt", "took", "note"):
        table.add_column(column)
    by_id = {t.task_id: t for t in tasks}
    for task_id in order:
        row = by_id.get(task_id)
        if row is None:
            continue
        took = ""
        if row.started_at and row.finished_at:
            took = f"{(row.finished_at - row.started_at).total_seconds():.2f}s"
        table.add_row(
            task_id,
            row.task_type,
            styled(row.status),
            printable(row.actor),
            str(row.attempt or ""),
            took,
            Text(printable(row.error)[:80]),
        )
    return table


_NOTE_KEYS = ("event", "reason", "error", "verdict", "comment", "item_id", "attempt", "halt")


def _note(detail: dict[str, Any] | None) -> str:
    """The part of an event's detail a person reads; keys and digests stay in --json."""
    detail = detail or {}
    parts = [f"{k}={detail[k]}" for k in _NOTE_KEYS if detail.get(k) not in (None, "", {})]
    return ", ".join(parts)


def timeline_table(events: list[AuditEvent]) -> Table:
    table = Table(title="timeline", title_justify="left")
    for column in ("time (UTC)", "task", "event", "actor", "note"):
        table.add_column(column)
    for e in events:
        table.add_row(
            e.at.strftime("%H:%M:%S.%f")[:-3],
            e.subjects.get("task") or "(run)",
            styled(e.status) if e.kind in {"task", "run"} else Text(e.kind.replace("_", " ")),
            printable(e.actor),
            Text(printable(_note(e.payload))[:120]),
        )
    return table


def items_table(items: list[tuple[PendingItemRow, list[DecisionRow]]]) -> Table:
    table = Table(title="pending items", title_justify="left")
    for column in ("item", "kind", "run", "task", "title", "roles", "approvals", "due"):
        table.add_column(column)
    for item, decisions in items:
        approvals = sum(d.verdict == "approve" for d in decisions)
        table.add_row(
            item.id,
            item.kind,
            item.run_id,
            item.task_id,
            Text(printable(item.title)),  # shown as written, never as markup or escapes
            ", ".join(item.roles),
            f"{approvals}/{item.min_approvals}" if item.kind == "approval" else "",
            item.due_at.strftime("%Y-%m-%d %H:%M") if item.due_at else "",
        )
    return table


def item_lines(content: dict[str, Any]) -> list[str]:
    """What an item shows a person, one line per fact: findings, the proposal (exactly what
    would run), its rationale and why it is gated, then any `shows` lines. Plain text: log
    and ticket text inside must never be read as markup."""
    lines = []
    for f in content.get("findings", []):
        if written_by_model(f["produced_by"]):
            # A model's words: marked as such, kept apart from the code-computed proposal.
            lines.append(f"{f['task']} (written by model {f['produced_by']}): {f['summary']}")
            if addresses_approver(str(f["summary"])):
                lines.append(
                    f"WARNING: {f['task']}'s model-written text addresses the approver; "
                    "agents never decide: treat it as suspect"
                )
        else:
            lines.append(f"{f['task']} ({f['produced_by']}): {f['summary']}")
    if proposal := content.get("proposal"):
        params = ", ".join(f"{k}={v}" for k, v in sorted(proposal["params"].items()))
        lines.append(f"proposed by {proposal['proposed_by']}: {proposal['pattern']} ({params})")
        lines.append(f"runs: {json.dumps(proposal['invocation'], sort_keys=True)}")
        if proposal.get("rationale"):
            lines.append(f"rationale: {proposal['rationale']}")
        lines.append(f"risk {proposal['risk']}, blast radius {proposal['blast_radius']}")
        lines.append(f"gate: {content.get('gate')}; proposal {content.get('proposal_hash')}")
    if content.get("reason"):
        lines.append(f"reason: {content['reason']}")
    lines.extend(str(line) for line in content.get("shows", []))
    return [printable(line) for line in lines]
