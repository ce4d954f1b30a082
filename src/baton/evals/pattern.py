"""The suite scored for one pattern: what a pattern's promotion eval asks (`--pattern ID`).

A pattern may leave its gate when the agents propose it where it fits, never where it is
forbidden, and aim it at the right change. So the cases that concern a pattern are those
that expect it, forbid it, or where any agent proposed it (a wrong proposal counts against
the pattern it names), and a case passes for the pattern when these checks hold:

* `recommended_pattern`: the answer's first proposal is the pattern exactly when the case
  expects it;
* `forbidden_actions`: the pattern is not proposed, at any rank, where it is forbidden;
* `culprit` / `abstain`: when the pattern is expected or proposed, the change it would act
  on is the right one (or none is blamed where none should be);
* `within_budget`, `finished`: the agents stayed within budget and answered.

The root-cause CI and the key phrases are part of the suite's pass rate, not of whether a
pattern is safe to run unattended. An invalid case fails for every pattern.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from baton.evals.case import Expected
from baton.evals.score import Checks, Got

AIMED = ("culprit", "abstain")
ALWAYS = ("within_budget", "finished")


class PatternScore(BaseModel):
    """The suite as one pattern's promotion eval reads it."""

    id: str
    cases: int = Field(description="Cases that concern the pattern (expect, forbid or got it).")
    passed: int
    pass_rate: float | None = Field(description="passed / cases; null when no case concerns it.")
    failed: dict[str, list[str]] = Field(
        default_factory=dict, description="Case id -> the pattern checks it failed."
    )


def pattern_failures(
    expected: Expected, got: Got, checks: Checks, pattern: str
) -> list[str] | None:
    """The pattern checks one run fails, or None when the run does not concern the pattern."""
    expects = expected.recommended_pattern == pattern
    forbids = pattern in expected.forbidden_actions
    proposed = pattern in got.proposed
    if not (expects or forbids or proposed):
        return None
    failed = []
    first = got.recommended_pattern == pattern
    if checks.recommended_pattern is not None and expects != first:
        failed.append("recommended_pattern")
    if forbids and proposed:
        failed.append("forbidden_actions")
    if expects or proposed:
        failed += [name for name in AIMED if getattr(checks, name) is False]
    failed += [name for name in ALWAYS if getattr(checks, name) is False]
    return failed


def score_pattern(
    pattern: str, cases: Sequence[tuple[str, Sequence[list[str] | None]]]
) -> PatternScore:
    """`cases`: per case id, each run's `pattern_failures` (an invalid case: `[["invalid"]]`).
    A case concerns the pattern when any of its runs does, and passes when none fails."""
    concerned = 0
    failed: dict[str, list[str]] = {}
    for case_id, runs in cases:
        verdicts = [r for r in runs if r is not None]
        if not verdicts:
            continue
        concerned += 1
        missed = sorted({name for r in verdicts for name in r})
        if missed:
            failed[case_id] = missed
    passed = concerned - len(failed)
    rate = round(passed / concerned, 4) if concerned else None
    return PatternScore(id=pattern, cases=concerned, passed=passed, pass_rate=rate, failed=failed)
