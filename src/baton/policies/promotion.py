"""The promotion ledger's rules: how one outcome moves a pattern's standing in a context.

Pure: given the standing before and what happened, return the standing after and the
transitions (promotion, demotion) to audit. The store persists both in one transaction.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from baton.runbooks.catalog import AgentStamp
from baton.runbooks.pattern import Pattern


class Outcome(StrEnum):
    CLEAN = "clean"
    """Human-approved (or autonomous), executed, verification passed."""
    FAILED = "failed"
    """The action failed (after its retries)."""
    VERIFY_FAILED = "verify_failed"
    """The action ran but its verification did not pass."""
    REJECTED = "rejected"
    """A person refused the proposal: shadow evidence only, nothing executed."""


class Mode(StrEnum):
    GATED = "gated"
    AUTONOMOUS = "autonomous"
    BREAK_GLASS = "break_glass"


class Agreement(StrEnum):
    """How the approver answered a gated proposal (shadow mode)."""

    UNCHANGED = "unchanged"
    CHANGED = "changed"
    REJECTED = "rejected"


class Standing(BaseModel):
    """One (pattern, version, context) line of the promotion ledger."""

    version: str
    state: str = "gated"
    """gated | eligible (awaiting eval or sign-off) | autonomous"""
    streak: int = Field(default=0, ge=0)
    clean: int = 0
    failures: int = 0
    approved_unchanged: int = 0
    approved_changed: int = 0
    rejected: int = 0
    eval_passed_version: str | None = None
    signed_off_by: str | None = None
    agent_model: str | None = None
    agent_version: str | None = None
    """The agents this version is bound to (`runbooks.catalog.with_agents`), kept so that a
    demotion for a new version can say what changed."""

    @property
    def autonomous(self) -> bool:
        return self.state == "autonomous"

    @property
    def agreement(self) -> float | None:
        """Share of gated proposals a person approved unchanged; None before any."""
        total = self.approved_unchanged + self.approved_changed + self.rejected
        return None if total == 0 else self.approved_unchanged / total


class Transition(BaseModel):
    kind: str
    """promoted | demoted | eligible"""
    reason: str


def reset_for_version(
    ledger: Standing | None, version: str, agents: AgentStamp | None = None
) -> tuple[Standing, list[Transition]]:
    """A new pattern version starts gated with an empty streak; say so if it was promoted,
    and say why when the agents it is bound to changed."""
    fresh = Standing(
        version=version,
        agent_model=agents.model if agents else None,
        agent_version=agents.version if agents else None,
    )
    if ledger is None:
        return fresh, []
    if ledger.version == version:
        return ledger, []
    moves = []
    if ledger.state != "gated" or ledger.streak:
        why = f"was {ledger.version[:19]}{_agents_change(ledger, agents)}"
        moves.append(Transition(kind="demoted", reason=f"new pattern version ({why})"))
    return fresh, moves


def _agents_change(before: Standing, agents: AgentStamp | None) -> str:
    """What changed in the agents between a line and the version replacing it, in words."""
    if agents is None or before.agent_version == agents.version:
        return ""
    if before.agent_version is None:
        return f"; now bound to the eval of {agents.describe()}"
    if before.agent_model != agents.model:
        return f"; agent model changed from {before.agent_model or '(none)'} to {agents.model}"
    return (
        f"; the agents changed (prompts, reasoners or recommendation rules): {agents.who}, "
        f"agent version {before.agent_version[:19]} -> {agents.version[:19]}"
    )


def record(
    ledger: Standing,
    pattern: Pattern,
    outcome: Outcome,
    *,
    mode: Mode,
    agreement: Agreement | None,
) -> tuple[Standing, list[Transition]]:
    """The standing after one run, and the promotion or demotion it causes."""
    after = ledger.model_copy()
    moves: list[Transition] = []
    if agreement is Agreement.UNCHANGED:
        after.approved_unchanged += 1
    elif agreement is Agreement.CHANGED:
        after.approved_changed += 1
    elif agreement is Agreement.REJECTED:
        after.rejected += 1
    if outcome is Outcome.REJECTED:
        return after, moves
    if outcome in (Outcome.FAILED, Outcome.VERIFY_FAILED):
        after.failures += 1
        after.streak = 0
        if ledger.state != "gated":
            after.state = "gated"
            after.signed_off_by = None
            what = "verification failed" if outcome is Outcome.VERIFY_FAILED else "action failed"
            moves.append(Transition(kind="demoted", reason=f"{what} while {ledger.state}"))
        return after, moves
    after.clean += 1
    if mode is Mode.BREAK_GLASS:
        return after, moves  # ran without the normal gate: no evidence for removing it
    after.streak += 1
    if after.state == "gated":
        return promote_if_ready(after, pattern)
    return after, moves


def requirements(ledger: Standing, pattern: Pattern) -> list[str]:
    """What still stands between this ledger line and autonomy (empty when nothing does)."""
    policy = pattern.promotion
    missing = []
    if not pattern.autonomy_possible:
        missing.append(f"{pattern.risk} risk is never promoted (limit {policy.max_risk})")
    if ledger.streak < policy.threshold:
        more = policy.threshold - ledger.streak
        missing.append(f"{more} more clean approved runs ({ledger.streak}/{policy.threshold})")
    if policy.eval is not None and ledger.eval_passed_version != ledger.version:
        missing.append("the eval suite has not passed for this version")
    if policy.signoff_role is not None and ledger.signed_off_by is None:
        missing.append(f"sign-off by a {policy.signoff_role}")
    return missing


def promote_if_ready(ledger: Standing, pattern: Pattern) -> tuple[Standing, list[Transition]]:
    """Promote when every requirement holds; mark eligible when only eval/sign-off remain."""
    missing = requirements(ledger, pattern)
    after = ledger.model_copy()
    if not missing:
        after.state = "autonomous"
        return after, [Transition(kind="promoted", reason="every promotion requirement holds")]
    only_paperwork = all(m.startswith(("the eval", "sign-off")) for m in missing)
    if only_paperwork and ledger.state == "gated":
        after.state = "eligible"
        return after, [Transition(kind="eligible", reason="; ".join(missing))]
    return after, []


def record_eval(
    ledger: Standing, pattern: Pattern, version: str, *, passed: bool
) -> tuple[Standing, list[Transition]]:
    """A ledger line after an eval of `version`: a pass may complete the requirements; a
    failure clears the pass and restores the gate of a line that was autonomous on it.

    An eval of another version says nothing about this line. A failed eval does not make
    the clean runs unclean, so the streak stands: the line waits at `eligible` for a pass.
    """
    if ledger.version != version:
        return ledger, []
    after = ledger.model_copy()
    if passed:
        after.eval_passed_version = version
        return (after, []) if after.autonomous else promote_if_ready(after, pattern)
    after.eval_passed_version = None
    if ledger.autonomous and pattern.promotion.eval is not None:
        after.state = "eligible"
        why = "the eval suite failed for this version; the streak stands until it passes"
        return after, [Transition(kind="demoted", reason=why)]
    return after, []


def sign_off(ledger: Standing, pattern: Pattern, by: str) -> tuple[Standing, list[Transition]]:
    """Record the sign-off (checked by `policies.signoff`) and promote if nothing else is
    missing."""
    return promote_if_ready(ledger.model_copy(update={"signed_off_by": by}), pattern)
