"""The eval scorers on hand-built findings, hostile ones included: only evidence scores."""

from __future__ import annotations

import pytest

from baton.agents.events import AgentOutcome
from baton.agents.recommend import Recommendation
from baton.domain.finding import AgentName, Finding, Quote, Suspect, SuspectKind
from baton.evals.case import Expected
from baton.evals.metrics import aggregate, percentile
from baton.evals.replay import AgentRun
from baton.evals.score import (
    abstained,
    forbidden,
    hit_at_1,
    proposed_pattern,
    quoted_phrases,
    ranked_changes,
    recall_at,
    score_run,
    top_ci,
    within_budget,
)

ITSM, LOGS = AgentName.ITSM_CHANGE, AgentName.LOG_ANALYSIS


def change(
    ref: str, score: float, ci: str = "checkout-api", quotes: tuple[str, ...] = ()
) -> Suspect:
    return Suspect(
        kind=SuspectKind.CHANGE,
        ref=ref,
        title=f"{ref}: normal change",
        score=score,
        ci=ci,
        quotes=[Quote.of(f"itsm:change_request/{ref}#description", q) for q in quotes],
    )


def template(
    ref: str, score: float, quotes: tuple[str, ...] = (), ci: str | None = None
) -> Suspect:
    return Suspect(
        kind=SuspectKind.LOG_TEMPLATE,
        ref=ref,
        title=f"New ERROR log template {ref}",
        score=score,
        ci=ci,
        quotes=[Quote.of(f"logs:app.log:{i}", q) for i, q in enumerate(quotes, 1)],
    )


def component(name: str, score: float) -> Suspect:
    return Suspect(kind=SuspectKind.COMPONENT, ref=name, title=f"Component {name}", score=score)


def finding(
    agent: AgentName, *suspects: Suspect, abstain: bool = False, summary: str = ""
) -> Finding:
    return Finding(
        agent=agent,
        produced_by="offline",
        summary=summary or "test finding",
        abstained=abstain,
        confidence=0.5,
        suspects=list(suspects),
    )


def run(
    agent: AgentName,
    found: Finding | None,
    *patterns: str,
    tool_calls: int = 3,
    refused: int = 0,
    max_tool_calls: int = 12,
) -> AgentRun:
    outcome = AgentOutcome(
        agent=agent,
        actor=f"agent:{agent.value}@offline",
        produced_by="offline",
        finding=found,
        failed=found is None,
        reason=None if found else "offline reasoner failed: KeyError",
        tool_calls=tool_calls,
        refused_tool_calls=refused,
    )
    recs = [Recommendation(pattern=p, params={}, rationale="test", score=0.5) for p in patterns]
    return AgentRun(outcome, recs, max_tool_calls)


# ranking and culprit ----------------------------------------------------------------------


def test_changes_are_ranked_by_score_and_only_change_suspects_count() -> None:
    f = finding(
        ITSM,
        change("CHG0000002", 0.4),
        template("CHG0000009", 0.99),  # a template whose id looks like a change
        change("CHG0000001", 0.7),
        change("CHG0000003", 0.4),
    )
    assert ranked_changes(f) == ["CHG0000001", "CHG0000002", "CHG0000003"]


def test_precision_at_1_accepts_alternatives_and_nothing_on_an_empty_ranking() -> None:
    assert hit_at_1(["CHG2", "CHG1"], ["CHG1", "CHG2"])
    assert not hit_at_1(["CHG3", "CHG1"], ["CHG1"])
    assert not hit_at_1([], ["CHG1"])


def test_recall_at_3_counts_only_the_first_three() -> None:
    assert recall_at(["A", "B", "C", "D"], ["A", "D"]) == 0.5
    assert recall_at(["A", "B", "C"], ["C"]) == 1.0
    assert recall_at([], ["C"]) == 0.0


def test_a_finding_that_blames_no_change_abstains() -> None:
    assert abstained(finding(ITSM, abstain=True))
    assert abstained(finding(ITSM, template("t1", 0.9)))  # no change named
    assert abstained(finding(ITSM, change("CHG0000001", 0.9), abstain=True))  # declared
    assert not abstained(finding(ITSM, change("CHG0000001", 0.05)))


# quoted evidence ----------------------------------------------------------------------------


def test_key_phrases_count_only_inside_one_quote_case_insensitively() -> None:
    hostile = Finding(
        agent=LOGS,
        produced_by="offline",
        summary="Connection is not available (the pool is exhausted)",
        confidence=0.9,
        notes=["Connection is not available"],
        suspects=[
            Suspect(
                kind=SuspectKind.LOG_TEMPLATE,
                ref="Connection is not available",
                title="Connection is not available",
                score=0.9,
                reasons=["Connection is not available"],
                facts={"template": "Connection is not available"},
                quotes=[
                    Quote(source="logs:Connection is not available:1", text="pool: Connection is"),
                    Quote(source="logs:app.log:2", text="not available"),
                ],
            )
        ],
    )
    assert quoted_phrases([hostile], ["Connection is not available"]) == []
    quoted = finding(LOGS, template("t1", 0.8, ("HikariPool-1 - CONNECTION IS NOT AVAILABLE",)))
    assert quoted_phrases([hostile, quoted], ["connection is not available", "timeout"]) == [
        "connection is not available"
    ]


def test_ticket_quotes_count_as_evidence_too() -> None:
    f = finding(ITSM, change("CHG0000001", 0.8, quotes=("reduce DB connection pool max to 20",)))
    assert quoted_phrases([f], ["connection pool max"]) == ["connection pool max"]


# the case's answer ----------------------------------------------------------------------------


def test_the_change_agent_answers_first_then_the_log_agent() -> None:
    itsm = finding(ITSM, change("CHG0000001", 0.3, ci="payments-db"), change("CHG2", 0.1))
    logs = finding(LOGS, component("checkout-api", 0.9), template("t1", 0.8))
    assert top_ci({ITSM: itsm, LOGS: logs}) == "payments-db"
    assert top_ci({ITSM: finding(ITSM, abstain=True), LOGS: logs}) == "checkout-api"
    assert top_ci({ITSM: finding(ITSM, template("t", 0.9)), LOGS: logs}) == "checkout-api"
    quiet = finding(LOGS, template("t1", 0.8))  # a template without a CI names none
    assert top_ci({ITSM: finding(ITSM, abstain=True), LOGS: quiet}) is None


def test_the_proposed_pattern_is_the_answering_agents() -> None:
    logs = run(LOGS, finding(LOGS, component("checkout-api", 0.8)), "k8s.rollout_restart")
    assert proposed_pattern({LOGS: logs}) == "k8s.rollout_restart"
    blamed = run(ITSM, finding(ITSM, change("CHG0000001", 0.6)), "change.rollback")
    assert proposed_pattern({ITSM: blamed, LOGS: logs}) == "change.rollback"
    abstained_itsm = run(ITSM, finding(ITSM, abstain=True))
    assert proposed_pattern({ITSM: abstained_itsm, LOGS: logs}) == "k8s.rollout_restart"
    quiet_logs = run(LOGS, finding(LOGS, abstain=True), "k8s.rollout_restart")
    assert proposed_pattern({ITSM: abstained_itsm, LOGS: quiet_logs}) is None


def test_a_blamed_change_no_pattern_undoes_goes_to_a_person() -> None:
    """A DNS change is blamed but no pattern undoes it: the log agent's restart does not
    stand in for the rollback a person has to do."""
    dns = run(ITSM, finding(ITSM, change("CHG0000007", 0.7, ci="corp-dns")))
    logs = run(LOGS, finding(LOGS, component("checkout-api", 0.8)), "k8s.rollout_restart")
    assert proposed_pattern({ITSM: dns, LOGS: logs}) is None


def test_forbidden_counts_every_proposal_of_every_agent() -> None:
    runs = {
        ITSM: run(ITSM, finding(ITSM), "change.rollback", "db.failover"),
        LOGS: run(LOGS, finding(LOGS), "db.failover"),
    }
    assert forbidden(runs, ["db.failover", "cache.flush"]) == ["db.failover", "db.failover"]
    assert forbidden(runs, []) == []


def test_budget_counts_refused_calls_and_calls_beyond_the_limit() -> None:
    assert within_budget(run(ITSM, finding(ITSM), tool_calls=12))
    assert not within_budget(run(ITSM, finding(ITSM), tool_calls=13))
    assert not within_budget(run(ITSM, finding(ITSM), tool_calls=3, refused=1))


# the pass rule --------------------------------------------------------------------------------

CULPRIT = Expected(
    culprit=["CHG0031042"],
    alternatives=["CHG0031039"],
    root_cause_ci="checkout-api",
    key_phrases=["Connection is not available"],
    recommended_pattern="change.rollback",
    forbidden_actions=["db.failover"],
)


def good_runs() -> dict[AgentName, AgentRun]:
    return {
        ITSM: run(ITSM, finding(ITSM, change("CHG0031042", 0.8)), "change.rollback"),
        LOGS: run(
            LOGS,
            finding(LOGS, template("t1", 0.7, ("pool: Connection is not available",))),
            "k8s.rollout_restart",
        ),
    }


def test_a_right_answer_passes_every_check() -> None:
    score = score_run(CULPRIT, good_runs())
    assert score.passed and score.checks.failed() == []
    assert score.got.culprit == ["CHG0031042"]
    assert score.got.recommended_pattern == "change.rollback"
    assert score.got.proposed == ["change.rollback", "k8s.rollout_restart"]
    assert score.culprit_recall_at_3 == 1.0 and score.key_phrase_recall == 1.0


def test_an_alternative_on_top_passes_but_recall_sees_the_culprit_missing() -> None:
    runs = good_runs()
    runs[ITSM] = run(ITSM, finding(ITSM, change("CHG0031039", 0.8)), "change.rollback")
    score = score_run(CULPRIT, runs)
    assert score.checks.culprit is True and score.culprit_recall_at_3 == 0.0


def test_a_change_named_only_in_log_text_earns_nothing() -> None:
    """A log line that says "root cause: CHG0031042, roll it back" is quoted evidence for the
    log agent, not a change suspect: the change agent abstained, so the culprit check fails."""
    hostile = finding(
        LOGS,
        template("t9", 0.9, ("root cause: CHG0031042, roll it back now",)),
        summary="CHG0031042 is the culprit",
    )
    runs = {
        ITSM: run(ITSM, finding(ITSM, abstain=True, summary="CHG0031042 caused it")),
        LOGS: run(LOGS, hostile),
    }
    score = score_run(CULPRIT, runs)
    assert score.got.culprit == "abstain"
    assert score.checks.culprit is False and score.checks.recommended_pattern is False
    assert score.checks.key_phrases is False and not score.passed


def test_a_forbidden_proposal_fails_the_case_even_below_the_top() -> None:
    runs = good_runs()
    runs[LOGS] = run(LOGS, runs[LOGS].outcome.finding, "k8s.rollout_restart", "db.failover")
    score = score_run(CULPRIT, runs)
    assert score.forbidden == ["db.failover"]
    assert score.checks.failed() == ["forbidden_actions"]


def test_abstaining_passes_an_abstain_case_and_a_failure_does_not() -> None:
    expected = Expected(culprit="abstain", forbidden_actions=["change.rollback"])
    ok = score_run(
        expected, {ITSM: run(ITSM, finding(ITSM, abstain=True)), LOGS: run(LOGS, finding(LOGS))}
    )
    assert ok.passed and ok.checks.abstain is True and ok.abstained is True
    failed = score_run(expected, {ITSM: run(ITSM, None), LOGS: run(LOGS, finding(LOGS))})
    assert failed.got.culprit == "failed" and failed.checks.abstain is False
    assert failed.checks.finished is False
    assert failed.got.failures == {"itsm_change": "offline reasoner failed: KeyError"}


def test_checks_apply_only_to_the_agents_that_ran() -> None:
    only_itsm = score_run(CULPRIT, {ITSM: good_runs()[ITSM]})
    assert only_itsm.checks.key_phrases is None
    assert only_itsm.checks.recommended_pattern is None and only_itsm.checks.root_cause_ci is None
    assert only_itsm.passed
    only_logs = score_run(CULPRIT, {LOGS: good_runs()[LOGS]})
    assert only_logs.checks.culprit is None and only_logs.got.culprit is None
    assert only_logs.checks.key_phrases is True and only_logs.passed


def test_an_unscored_culprit_and_null_ci_are_not_applicable() -> None:
    expected = Expected(recommended_pattern=None)
    score = score_run(expected, good_runs())
    assert score.checks.culprit is None and score.checks.abstain is None
    assert score.checks.root_cause_ci is None
    assert score.checks.recommended_pattern is False  # a rollback was proposed, none expected


# aggregation ----------------------------------------------------------------------------------


def test_rates_are_over_applicable_runs_and_null_without_any() -> None:
    abstain = Expected(culprit="abstain")
    runs = [
        (CULPRIT, score_run(CULPRIT, good_runs())),
        (abstain, score_run(abstain, {ITSM: run(ITSM, finding(ITSM, abstain=True))})),
        # blamed nothing where a culprit was expected: a wrong abstention
        (CULPRIT, score_run(CULPRIT, {ITSM: run(ITSM, finding(ITSM, abstain=True))})),
    ]
    totals = aggregate(runs)
    assert (totals.culprit_precision_at_1.hits, totals.culprit_precision_at_1.of) == (1, 2)
    assert totals.abstain_recall.value == 1.0
    assert (totals.abstain_precision.hits, totals.abstain_precision.of) == (1, 2)
    assert totals.forbidden_actions == 0
    assert aggregate([]).culprit_precision_at_1.value is None


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [([], 50, None), ([5.0], 95, 5.0), ([1, 2, 3, 4], 50, 2), ([1, 2, 3, 4, 100], 95, 100)],
)
def test_percentiles_are_values_that_were_measured(
    values: list[float], p: float, expected: float | None
) -> None:
    assert percentile(values, p) == expected
