"""The numbers of a report as people read them, shared by the Markdown and HTML renderers."""

from __future__ import annotations

from typing import Any

from baton.evals.pattern import PatternScore
from baton.evals.report import CaseResult, Report

RATES: tuple[tuple[str, str], ...] = (
    ("pass_rate", "pass rate"),
    ("culprit_precision_at_1", "culprit precision@1"),
    ("culprit_recall_at_3", "culprit recall@3"),
    ("abstain_precision", "abstain precision"),
    ("abstain_recall", "abstain recall"),
    ("root_cause_ci_hit", "root-cause CI hit"),
    ("key_phrase_recall", "key-phrase recall"),
    ("recommended_pattern_hit", "recommended-pattern hit"),
    ("within_budget", "tool calls within budget"),
)
"""Every rate of a report (0..1), in reading order."""


def rate_of(report: Report, name: str) -> float | None:
    value = getattr(report, name)
    return None if value is None else float(value)


def basis(report: Report, name: str) -> str:
    """What a rate rests on: `3 of 4 runs`, or the case counts for the pass rate."""
    if name == "pass_rate":
        return (
            f"{report.cases_passed} passed, {report.cases_failed} failed, "
            f"{report.cases_invalid} invalid of {report.suite.cases} cases"
        )
    count = report.counts.get(name)
    if count is None or count.of == 0:
        return "no case applies"
    hits = f"{count.hits:g}"
    return f"{hits} of {count.of} run{'s' if count.of != 1 else ''}"


def rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def cost(value: float | None) -> str:
    return "unpriced" if value is None else f"${value:.4f}"


def short(version: str) -> str:
    return version.removeprefix("sha256:")[:12]


def answer(value: Any) -> str:
    """A culprit (list, 'abstain', 'failed') or a pattern as one short string."""
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "-"
    return str(value)


def expected_culprit(case: CaseResult) -> str:
    return answer((case.expected or {}).get("culprit"))


def pattern(value: str | None) -> str:
    """A proposed pattern; none means a person takes the step."""
    return value or "none"


def expected_pattern(case: CaseResult) -> str:
    return "-" if case.expected is None else pattern(case.expected.get("recommended_pattern"))


def got_pattern(case: CaseResult) -> str:
    return "-" if case.got is None else pattern(case.got.recommended_pattern)


def verdict(case: CaseResult) -> str:
    if case.status == "invalid":
        return "INVALID"
    return "pass" if case.passed else "FAIL"


def pattern_line(scored: PatternScore) -> str:
    """`pattern change.rollback: 0.97 (38 of 39 cases that concern it)`."""
    if scored.pass_rate is None:
        return f"pattern {scored.id}: no case concerns it"
    failing = f"; failed: {', '.join(sorted(scored.failed))}" if scored.failed else ""
    return (
        f"pattern {scored.id}: {scored.pass_rate:.2f} ({scored.passed} of {scored.cases} cases "
        f"that expect, forbid or got it){failing}"
    )


def judge_line(report: Report) -> str:
    """The judge in one line, apart from the deterministic numbers."""
    judge = report.judge
    if judge is None:
        return "judge: not recorded"
    if judge.status != "run":
        return f"judge: {judge.status}"
    rubric = judge.rubric
    named = f"rubric {rubric.id} v{rubric.version} ({short(rubric.sha256)})" if rubric else ""
    criteria = ", ".join(f"{k} {v:.2f}" for k, v in judge.criteria.items())
    gate = (
        f"; gates pass/fail at {judge.min_score:g}"
        if judge.min_score is not None
        else "; does not change pass/fail"
    )
    return (
        f"judge: {rate(judge.score)} by {judge.model}, {named}, {judge.cases_judged} case(s), "
        f"{judge.errors} error(s){'; ' + criteria if criteria else ''}; tokens "
        f"{judge.input_tokens} in / {judge.output_tokens} out{gate}"
    )
