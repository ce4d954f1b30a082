"""From findings to candidate patterns: what a person might approve, never what runs.

Deterministic code maps a finding's top suspect to a catalog pattern with parameters and a
rationale; the model never names an action, so nothing written in a log line or a ticket can
choose one. A pattern task that uses a recommendation still goes through its gate, with the
agent as requester (agents can never approve).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field

from baton.domain.finding import AgentName, Finding, Suspect, SuspectKind

MIN_SCORE = 0.2
"""Below this a suspect is a lead for a person, not a proposal."""

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_CHANGE = re.compile(r"^[A-Z]{2,8}[0-9]{4,12}$")


class Recommendation(BaseModel):
    pattern: str
    params: dict[str, Any]
    rationale: str
    evidence: list[str] = Field(default_factory=list, description="Suspect refs it rests on.")
    score: float


def recommend(finding: Finding) -> list[Recommendation]:
    """Candidate patterns for a finding (none when it abstained or nothing is strong)."""
    if finding.abstained or not finding.suspects:
        return []
    top = max(finding.suspects, key=lambda s: s.score)
    if top.score < MIN_SCORE:
        return []
    if finding.agent is AgentName.ITSM_CHANGE and top.kind is SuspectKind.CHANGE:
        return _rollback(top)
    if finding.agent is AgentName.LOG_ANALYSIS:
        return _restart(finding, top)
    return []


def _rollback(suspect: Suspect) -> list[Recommendation]:
    if not _CHANGE.match(suspect.ref):
        return []
    facts = suspect.facts
    minutes = facts.get("minutes_before")
    when = f"{minutes:.0f} min before detection" if isinstance(minutes, int | float) else ""
    why = "; ".join(suspect.reasons[:3])
    return [
        Recommendation(
            pattern="change.rollback",
            params={"change": suspect.ref},
            rationale=f"Change {suspect.ref} on {suspect.ci or 'an affected CI'} {when} is the "
            f"strongest suspect (score {suspect.score:.2f}): {why}".strip(),
            evidence=[f"change:{suspect.ref}"],
            score=suspect.score,
        )
    ]


def _restart(finding: Finding, top: Suspect) -> list[Recommendation]:
    """Only a component that is one of the incident's CIs: a logger or library name found in
    the logs is evidence for a person, not something to restart."""
    component = top.ci
    if component is None or not _NAME.match(component):
        return []
    refs = [f"{s.kind.value}:{s.ref}" for s in finding.suspects if s.score >= MIN_SCORE][:3]
    return [
        Recommendation(
            pattern="k8s.rollout_restart",
            params={"deployment": component},
            rationale=f"New or surging error logs point at {component} "
            f"(score {top.score:.2f}); a rolling restart clears stuck pods without a code "
            "change while the cause is investigated",
            evidence=refs,
            score=top.score,
        )
    ]
