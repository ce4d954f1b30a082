"""Deterministic scorers: what the agents answered, and which of the case's checks hold.

Each scorer reads findings and the code's recommendations, never free text: a change counts
only as a `change` suspect, a phrase only inside a `Quote`, a pattern only as something
`recommend` proposed. So nothing a log line or a model writes into a summary, a reason or a
suspect's title can earn a point. The pass rule is in `score_run` (docs/evals.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, Field

from baton.domain.finding import AgentName, Finding, Suspect, SuspectKind
from baton.evals.case import ABSTAIN, Expected
from baton.evals.replay import AgentRun

TOP_K = 3
"""Recall is measured in the first `TOP_K` change suspects."""
PRECEDENCE = (AgentName.ITSM_CHANGE, AgentName.LOG_ANALYSIS)
"""Whose answer is the case's: the change agent's when it blamed a change (the triage
runbook acts on what it names), else the log agent's."""


class Got(BaseModel):
    """What the agents answered, in the terms of the expectation."""

    culprit: list[str] | Literal["abstain", "failed"] | None = Field(
        description="The change agent's first change suspects (best first), 'abstain', "
        "'failed' (it could not finish), or null (not run)."
    )
    root_cause_ci: str | None
    recommended_pattern: str | None
    proposed: list[str] = Field(description="Every pattern the code proposed, any agent.")
    quoted_phrases: list[str] = Field(description="Expected key phrases found in quotes.")
    tool_calls: dict[str, int]
    failures: dict[str, str] = Field(default_factory=dict)


class Checks(BaseModel):
    """Each check of a case: true, false, or null when it does not apply."""

    culprit: bool | None = None
    abstain: bool | None = None
    root_cause_ci: bool | None = None
    key_phrases: bool | None = None
    recommended_pattern: bool | None = None
    forbidden_actions: bool = True
    within_budget: bool = True
    finished: bool = True

    def passed(self) -> bool:
        return all(v is not False for v in self.model_dump().values())

    def failed(self) -> list[str]:
        return [name for name, v in self.model_dump().items() if v is False]


class RunScore(BaseModel):
    """One replay of one case, scored."""

    got: Got
    checks: Checks
    passed: bool
    culprit_recall_at_3: float | None = None
    key_phrase_recall: float | None = None
    abstained: bool | None = Field(
        default=None, description="Whether the change agent abstained (null: not run)."
    )
    forbidden: list[str] = Field(default_factory=list)


def ranked_changes(finding: Finding) -> list[str]:
    """Refs of the finding's change suspects, best first (ties keep the finding's order)."""
    changes = [s for s in finding.suspects if s.kind is SuspectKind.CHANGE]
    return [s.ref for s in sorted(changes, key=lambda s: -s.score)]


def abstained(finding: Finding) -> bool:
    """Declared so, or no change named at all: either way no change is blamed."""
    return finding.abstained or not ranked_changes(finding)


def hit_at_1(ranked: Sequence[str], accepted: Iterable[str]) -> bool:
    return bool(ranked) and ranked[0] in set(accepted)


def recall_at(ranked: Sequence[str], culprits: Iterable[str], k: int = TOP_K) -> float:
    """Share of the expected culprits among the first `k` suspects."""
    wanted = set(culprits)
    return len(wanted & set(ranked[:k])) / len(wanted) if wanted else 0.0


def quoted_phrases(findings: Iterable[Finding], phrases: Iterable[str]) -> list[str]:
    """The phrases some single quote's text contains (case-insensitive). Summaries, reasons,
    titles and quote sources do not count: only verbatim evidence does."""
    texts = [q.text.lower() for f in findings for s in f.suspects for q in s.quotes]
    return [p for p in phrases if any(p.lower() in t for t in texts)]


def answering(findings: Mapping[AgentName, Finding]) -> AgentName | None:
    """Whose answer is the case's: the first agent (in `PRECEDENCE`) that blamed something;
    the change agent blames only a change. None when both found nothing."""
    for agent in PRECEDENCE:
        finding = findings.get(agent)
        if finding is None or finding.abstained or not finding.suspects:
            continue
        if agent is AgentName.ITSM_CHANGE and not ranked_changes(finding):
            continue
        return agent
    return None


def top_ci(findings: Mapping[AgentName, Finding]) -> str | None:
    """The CI the case's answer points at: its top suspect's (a component's own name)."""
    agent = answering(findings)
    if agent is None:
        return None
    return _ci(max(findings[agent].suspects, key=lambda s: s.score))


def _ci(suspect: Suspect) -> str | None:
    if suspect.ci:
        return suspect.ci
    return suspect.ref if suspect.kind is SuspectKind.COMPONENT else None


def proposed_pattern(runs: Mapping[AgentName, AgentRun]) -> str | None:
    """The pattern the code proposes for the case's answer, or None: a person takes the step
    (also when the answering agent blamed something no pattern undoes, such as a DNS
    change: the other agent's proposal does not stand in for it)."""
    findings = {a: r.outcome.finding for a, r in runs.items() if r.outcome.finding is not None}
    agent = answering(findings)
    if agent is None:
        return None
    proposals = runs[agent].recommendations
    return proposals[0].pattern if proposals else None


def forbidden(runs: Mapping[AgentName, AgentRun], patterns: Iterable[str]) -> list[str]:
    """Every proposal, of any agent and rank, that names a forbidden pattern."""
    banned = set(patterns)
    return [r.pattern for run in runs.values() for r in run.recommendations if r.pattern in banned]


def within_budget(run: AgentRun) -> bool:
    """No call refused (off the allow-list, bad arguments, over budget), none beyond it."""
    outcome = run.outcome
    return outcome.refused_tool_calls == 0 and outcome.tool_calls <= run.max_tool_calls


def score_run(expected: Expected, runs: Mapping[AgentName, AgentRun]) -> RunScore:
    """The checks of one replay. A check applies only when the agents it judges ran:
    culprit and abstain judge the change agent, key phrases the log agent, root-cause CI
    and recommended pattern the combined answer (both agents); the rest always apply.
    The run passes when no applicable check fails."""
    findings = {a: r.outcome.finding for a, r in runs.items() if r.outcome.finding is not None}
    itsm = runs.get(AgentName.ITSM_CHANGE)
    both = all(a in runs for a in PRECEDENCE)
    checks = Checks()
    score = RunScore(got=_got(expected, runs, findings), checks=checks, passed=False)
    if itsm is not None:
        finding = itsm.outcome.finding
        ranked = ranked_changes(finding) if finding is not None else []
        gave_up = finding is not None and abstained(finding)
        score.abstained = gave_up
        if expected.changes:
            checks.culprit = hit_at_1(ranked, [*expected.changes, *expected.alternatives])
            score.culprit_recall_at_3 = recall_at(ranked, expected.changes)
        elif expected.culprit == ABSTAIN:
            checks.abstain = gave_up
    if AgentName.LOG_ANALYSIS in runs and expected.key_phrases:
        found = len(score.got.quoted_phrases)
        score.key_phrase_recall = found / len(expected.key_phrases)
        checks.key_phrases = found == len(expected.key_phrases)
    if both:
        if expected.root_cause_ci is not None:
            got_ci = score.got.root_cause_ci
            checks.root_cause_ci = (got_ci or "").lower() == expected.root_cause_ci.lower()
        checks.recommended_pattern = score.got.recommended_pattern == expected.recommended_pattern
    score.forbidden = forbidden(runs, expected.forbidden_actions)
    checks.forbidden_actions = not score.forbidden
    checks.within_budget = all(within_budget(r) for r in runs.values())
    checks.finished = all(not r.outcome.failed for r in runs.values())
    score.passed = checks.passed()
    return score


def _got(
    expected: Expected, runs: Mapping[AgentName, AgentRun], findings: Mapping[AgentName, Finding]
) -> Got:
    itsm = runs.get(AgentName.ITSM_CHANGE)
    culprit: list[str] | Literal["abstain", "failed"] | None = None
    if itsm is not None:
        finding = itsm.outcome.finding
        if finding is None:
            culprit = "failed"
        elif abstained(finding):
            culprit = "abstain"
        else:
            culprit = ranked_changes(finding)[:TOP_K]
    return Got(
        culprit=culprit,
        root_cause_ci=top_ci(findings),
        recommended_pattern=proposed_pattern(runs),
        proposed=[r.pattern for run in runs.values() for r in run.recommendations],
        quoted_phrases=quoted_phrases(findings.values(), expected.key_phrases),
        tool_calls={a.value: r.outcome.tool_calls for a, r in runs.items()},
        failures={
            a.value: r.outcome.reason or "failed" for a, r in runs.items() if r.outcome.failed
        },
    )
