"""Scoring the suite for one pattern (`--pattern`): which cases concern it, which checks
count, and how an invalid case and repeated runs are read."""

from __future__ import annotations

from typing import Any

from baton.evals.case import Expected
from baton.evals.pattern import pattern_failures, score_pattern
from baton.evals.score import Checks, Got

P = "change.rollback"


def expected(**fields: Any) -> Expected:
    base: dict[str, Any] = {"culprit": ["CHG0000001"], "recommended_pattern": None}
    return Expected.model_validate(base | fields)


def got(first: str | None, proposed: list[str] | None = None) -> Got:
    return Got(
        culprit=["CHG0000001"],
        root_cause_ci=None,
        recommended_pattern=first,
        proposed=proposed if proposed is not None else ([first] if first else []),
        quoted_phrases=[],
        tool_calls={},
    )


def test_a_case_that_neither_expects_forbids_nor_got_the_pattern_does_not_concern_it() -> None:
    checks = Checks(recommended_pattern=True, root_cause_ci=False)
    assert pattern_failures(expected(), got(None), checks, P) is None
    assert (
        pattern_failures(expected(recommended_pattern="cert.rotate"), got(None), checks, P) is None
    )


def test_the_pattern_must_be_proposed_exactly_where_it_is_expected() -> None:
    checks = Checks(recommended_pattern=False)
    assert pattern_failures(expected(recommended_pattern=P), got(None), checks, P) == [
        "recommended_pattern"
    ]
    # proposed where nothing should be: counts against the pattern it names
    assert pattern_failures(expected(), got(P), checks, P) == ["recommended_pattern"]
    assert pattern_failures(expected(recommended_pattern=P), got(P), Checks(), P) == []


def test_a_forbidden_proposal_fails_at_any_rank() -> None:
    case = expected(recommended_pattern="feature_flag.disable", forbidden_actions=[P])
    proposals = got("feature_flag.disable", ["feature_flag.disable", P])
    failed = pattern_failures(case, proposals, Checks(recommended_pattern=True), P)
    assert failed == ["forbidden_actions"]


def test_the_culprit_counts_only_when_the_pattern_would_act_on_it() -> None:
    wrong = Checks(recommended_pattern=True, culprit=False, root_cause_ci=False)
    aimed = pattern_failures(expected(recommended_pattern=P), got(P), wrong, P)
    assert aimed == ["culprit"]
    # forbidden and not proposed: a wrong culprit is not this pattern's business
    case = expected(forbidden_actions=[P])
    assert pattern_failures(case, got(None), wrong, P) == []
    # the root-cause CI and key phrases never count for a pattern
    assert (
        pattern_failures(
            expected(recommended_pattern=P),
            got(P),
            Checks(root_cause_ci=False, key_phrases=False),
            P,
        )
        == []
    )


def test_unfinished_or_over_budget_runs_fail_every_pattern_they_concern() -> None:
    checks = Checks(finished=False, within_budget=False)
    assert pattern_failures(expected(forbidden_actions=[P]), got(None), checks, P) == [
        "within_budget",
        "finished",
    ]


def test_the_score_over_cases_and_runs() -> None:
    score = score_pattern(
        P,
        [
            ("good", [[], []]),
            ("flaky", [[], ["recommended_pattern"]]),
            ("unrelated", [None]),
            ("broken", [["invalid"]]),
        ],
    )
    assert (score.cases, score.passed, score.pass_rate) == (3, 1, round(1 / 3, 4))
    assert score.failed == {"flaky": ["recommended_pattern"], "broken": ["invalid"]}
    assert score_pattern(P, [("unrelated", [None])]).pass_rate is None
