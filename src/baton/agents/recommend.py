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

from baton.agents.offline import vocab
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


APP_CLASSES = (
    "cmdb_ci_appl",
    "cmdb_ci_service",
    "cmdb_ci_kubernetes",
    "cmdb_ci_docker",
    "cmdb_ci_app",
)
"""CI classes a `kubectl rollout undo` can return to an earlier revision."""
ROLLBACK_KINDS = {"deploy"}
"""What a deployment rollback undoes: a release, an image, a version."""
OTHER_KINDS = {"dns", "network", "tls", "database", "storage", "platform", "loadbalancer", "auth"}
"""Changes a deployment rollback does not undo: a person reverts them by their backout plan."""
_ROLLOUT_UNDO = re.compile(
    r"rollout\s+undo|roll(?:ed)?\s*back\s+to\s+(?:the\s+)?previous\s+revision", re.I
)
_REDEPLOY = re.compile(
    r"(?:re-?deploy|re-?install|roll\s*back\s+to|revert\s+to|pin\s+back\s+to)\s+"
    r"(?:the\s+)?(?:previous\s+(?:release|version|image)|v?\d+(?:\.\w+)+)",
    re.I,
)
"""A backout plan that redeploys the previous version: what a deployment rollback does."""
_MORE_STEPS = re.compile(
    r"\b(?:and|then|plus)\s+(?!through\b|via\b|with\b)[a-z]+|;\s*(?![^.;]*\bleft\b)\w", re.I
)
"""Further steps after the redeploy (`... and swap alias products back`): more than a rollback."""
_FLAG_CHANGE = re.compile(
    r"\b(?:enabl\w*|turn(?:ed|s)? on|switch(?:ed)? on)\b[^.;]{0,80}\bflag\b"
    r"|\b(?:turn|switch|set)\s+(?:the\s+)?(?:feature\s+)?flag\s+\S+\s+(?:off|to false)"
    r"|\bdisabl\w*\s+(?:the\s+)?(?:feature\s+)?flag\b",
    re.I,
)
"""A change that switched a flag on, or whose backout is switching it off."""
_FLAG = re.compile(r"(?:feature[ -]?flag|toggle|flag)\s+[`'\"]?([A-Za-z0-9_.-]{2,100})", re.I)
_AUTOMATED_ISSUERS = re.compile(r"cert-manager|acme|let'?s ?encrypt|vault", re.I)
_MANUAL = re.compile(
    r"\bnot (?:managed|issued|renewed|rotated) (?:by|through|with)\b|\bby hand\b|\bmanual(?:ly)?\b"
    r"|\bwithout (?:cert-manager|acme|automation)\b|\bunmanaged\b",
    re.I,
)
"""A description that says a certificate is not one automation renews."""
_RESTART = re.compile(
    r"out ?of ?memory|outofmemory|\boom\b|memory leak|deadlock|hung|stuck|leak(?:ed|ing)?", re.I
)


def recommend(finding: Finding) -> list[Recommendation]:
    """Candidate patterns for a finding (none when it abstained or nothing is strong).

    The pattern must fit what it would undo: a change is rolled back as a deployment only
    when it was one (a release on an application CI, or a backout plan that says so), a
    feature-flag change by turning the flag off; a DNS, firewall, certificate, database or
    infrastructure change goes to a person (no recommendation), who follows its backout plan.
    """
    if not finding.suspects:
        return []
    top = max(finding.suspects, key=lambda s: s.score)
    if finding.abstained or top.score < MIN_SCORE:
        return []
    if finding.agent is AgentName.ITSM_CHANGE and top.kind is SuspectKind.CHANGE:
        return _undo(top)
    if finding.agent is AgentName.LOG_ANALYSIS:
        if top.facts.get("cause") == "certificate_expired":
            return _renew(top)
        return _restart(finding, top)
    return []


def _kinds(suspect: Suspect) -> set[str]:
    """What the change was about: the reasoner's reading of it, else the suspect's title."""
    given = suspect.facts.get("change_kinds")
    if isinstance(given, list):
        return {str(k) for k in given} | {str(k) for k in suspect.facts.get("backout_kinds") or []}
    return vocab.kinds(suspect.title)


def _undo(suspect: Suspect) -> list[Recommendation]:
    """A change is rolled back as a deployment only when that is what undoes it:

    * a feature-flag change is undone by turning the flag off;
    * a later change on the same CI means `rollout undo` would revert that one instead: a
      person picks the revision (no proposal);
    * with a backout plan, only when the plan is a rollback (`kubectl rollout undo`) or a
      redeploy of the previous version and nothing more (`Redeploy 2.30.4 through the
      pipeline`); a plan that restores a file, re-pushes a ruleset or swaps an alias too is
      a person's to follow;
    * without one, only a release (a version, an image) on an application CI.
    """
    if not _CHANGE.match(suspect.ref):
        return []
    kinds = _kinds(suspect)
    plan = " ".join(
        q.text for q in suspect.quotes if q.source.endswith(("#short_description", "#backout_plan"))
    )
    if "feature_flag" in kinds or _FLAG_CHANGE.search(plan):
        return _flag_off(suspect)
    if suspect.facts.get("superseded_by"):
        return []
    ci_class = str(suspect.facts.get("ci_class") or "")
    app = not ci_class or ci_class.startswith(APP_CLASSES)
    backout = " ".join(q.text for q in suspect.quotes if q.source.endswith("#backout_plan"))
    if backout.strip():
        if _ROLLOUT_UNDO.search(backout):
            return _rollback(suspect)
        redeploy = _REDEPLOY.match(backout.strip())
        if app and redeploy and not _MORE_STEPS.search(backout[redeploy.end() :]):
            return _rollback(suspect)
        return []
    title = " ".join(q.text for q in suspect.quotes if q.source.endswith("#short_description"))
    if app and vocab.is_release(title):
        return _rollback(suspect)
    if not title and app and kinds & ROLLBACK_KINDS and not kinds & OTHER_KINDS:
        return _rollback(suspect)  # a suspect without its record's text: its kinds
    return []


def _flag_off(suspect: Suspect) -> list[Recommendation]:
    texts = [
        q.text for q in suspect.quotes if q.source.endswith(("#short_description", "#backout_plan"))
    ]
    found = next((m.group(1) for t in texts if (m := _FLAG.search(t))), None)
    return [
        Recommendation(
            pattern="feature_flag.disable",
            params={"feature": found} if found else {},
            rationale=f"Change {suspect.ref} switched a feature flag and is the strongest suspect "
            f"(score {suspect.score:.2f}): turning the flag off undoes it; "
            + "; ".join(suspect.reasons[:2]),
            evidence=[f"change:{suspect.ref}"],
            score=suspect.score,
        )
    ]


def _renew(suspect: Suspect) -> list[Recommendation]:
    """An expired certificate is re-issued by cert-manager only when cert-manager (or the
    ACME/Vault issuer it drives) manages it; a vendor certificate is a person's job."""
    issuer = str(suspect.facts.get("issuer") or "")
    description = str(suspect.facts.get("description") or "")
    automated = _AUTOMATED_ISSUERS.search(issuer) is not None or (
        _AUTOMATED_ISSUERS.search(description) is not None and not _MANUAL.search(description)
    )
    if not automated or not _NAME.match(suspect.ref):
        return []
    return [
        Recommendation(
            pattern="cert.rotate",
            params={"certificate": suspect.ref},
            rationale=f"Certificate {suspect.ref} expired as the TLS errors began and is issued "
            "by automation: re-issue it now",
            evidence=[f"{suspect.kind.value}:{suspect.ref}"],
            score=suspect.score,
        )
    ]


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
    """Only a CI the errors map to, and only for what a restart clears (memory exhausted or
    leaking, a deadlock, stuck threads): a logger or library name found in the logs, or any
    other error, is evidence for a person, not something to restart."""
    component = top.ci
    if component is None or not _NAME.match(component):
        return []
    if not any(_RESTART.search(q.text) for q in top.quotes):
        return []  # a restart clears leaks and stuck threads, nothing else
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
