"""The evidence statement a regulator reads when a gate is removed."""

from __future__ import annotations

from typing import Any

from baton.policies.context import describe_context
from baton.runbooks.catalog import AgentStamp
from baton.runbooks.pattern import Pattern


def evidence_statement(
    pattern: Pattern,
    version: str,
    context: dict[str, Any],
    runs: list[dict[str, Any]],
    *,
    eval_passed: bool = False,
    signed_off_by: str | None = None,
    agents: AgentStamp | None = None,
) -> str:
    """In the seed's words: "This pattern executed 50 times without issue under these
    conditions. Risk: low. Human step removed." — with the facts that make it checkable."""
    verified = {
        "command": "a command",
        "http": "an HTTP probe",
        "metric": "a metric query",
        "human": "a person",
    }[pattern.verify.kind]
    approvers = sorted({a for r in runs for a in r.get("approved_by", [])})
    extra = ""
    if eval_passed:
        scored = f", scoring the agents as configured: {agents.describe()}" if agents else ""
        extra = f" The eval suite passed for this version{scored}."
    if signed_off_by is not None:
        extra += (
            f" Signed off by {signed_off_by} ({pattern.promotion.signoff_role}), "
            "who approved none of these runs."
        )
    return (
        f"Pattern {pattern.id} ({pattern.title}), version {version}, executed {len(runs)} "
        f"times without issue under these conditions: {describe_context(context)}. "
        f"Every run was approved by a person ({len(approvers)} distinct approvers) and "
        f"verified by {verified}.{extra} Risk: {pattern.risk}. "
        f"Blast radius: {pattern.blast_radius}. Human step removed."
    )
