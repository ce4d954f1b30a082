"""The gate decision: autonomous, needs approval (how many, which roles), or deny.

A pure function of the pattern, its promotion standing in this context, the runbook's
override and the freeze calendar, so it can be table-tested and explained in the audit trail.
The order of the rules is the policy: a freeze that blocks a risk denies; high and critical
risk are always gated; a freeze re-imposes every gate; a runbook may add a gate; only a
promotion for this exact pattern version and context removes it.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from baton.policies.freeze import FreezeWindow
from baton.policies.promotion import Standing
from baton.runbooks.model import GateOverride
from baton.runbooks.pattern import NEVER_AUTONOMOUS, Pattern


class GateMode(StrEnum):
    AUTONOMOUS = "autonomous"
    NEEDS_APPROVAL = "needs_approval"
    DENY = "deny"


class GateDecision(BaseModel):
    mode: GateMode
    approvals: int = 0
    roles: list[str] = Field(default_factory=list)
    reason: str


def decide_gate(
    pattern: Pattern,
    version: str,
    standing: Standing | None,
    override: GateOverride | None = None,
    freeze: FreezeWindow | None = None,
) -> GateDecision:
    """Decide whether a run of `pattern` (at `version`) needs people, and which."""
    if freeze is not None and pattern.risk in freeze.block:
        return GateDecision(
            mode=GateMode.DENY,
            reason=f"change freeze '{freeze.name}' refuses {pattern.risk} risk patterns",
        )
    approvals = max(pattern.min_approvals, (override.min_approvals if override else None) or 1)
    roles = list(override.approvers) if override and override.approvers else list(pattern.approvers)

    def gated(reason: str) -> GateDecision:
        return GateDecision(
            mode=GateMode.NEEDS_APPROVAL, approvals=approvals, roles=roles, reason=reason
        )

    threshold = pattern.promotion.threshold
    if pattern.risk in NEVER_AUTONOMOUS:
        return gated(f"{pattern.risk} risk is never autonomous")
    if freeze is not None:
        return gated(f"change freeze '{freeze.name}' re-imposes the gate")
    if override is not None and override.always:
        return gated("the runbook gates this step")
    if pattern.risk.rank > pattern.promotion.max_risk.rank:
        return gated(
            f"{pattern.risk} risk is above the promotion limit {pattern.promotion.max_risk}"
        )
    if standing is None or standing.version != version:
        return gated(f"gated: 0/{threshold} clean approved runs of this version")
    if not standing.autonomous:
        return gated(f"gated: {standing.streak}/{threshold} clean approved runs")
    return GateDecision(
        mode=GateMode.AUTONOMOUS,
        reason=f"promoted after {threshold} clean approved runs in this context",
    )
