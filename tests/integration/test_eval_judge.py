"""The LLM judge against a real OpenAI-compatible endpoint (the scripted local server): its
grades are parsed strictly, reported apart from the checks with the rubric's version, a
malformed answer is that case's error (never a crash), transient errors are retried, and an
offline run says the judge did not run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from baton.evals.judge import DEFAULT_RUBRIC, load_rubric
from baton.evals.render_md import render_markdown
from baton.evals.runner import EvalOptions, run_suite
from baton.settings import Settings
from tests.conftest import REPO
from tests.openai_server import OpenAIServer, Reply, error, final, running, tool_calls

pytestmark = pytest.mark.integration

SUITE = REPO / "tests" / "fixtures" / "evals" / "suite"
RUBRIC = REPO / DEFAULT_RUBRIC
CRITERIA = [c.id for c in load_rubric(RUBRIC).rubric.criteria]


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with running() as srv:
        yield srv


def agents_answer() -> list[Reply]:
    """The change agent blames the deploy (after one read), the log agent names a component:
    the case passes its deterministic checks except the key phrase (never quoted)."""
    return [
        tool_calls(
            (
                "itsm__recent_changes",
                {
                    "ci_ids": ["checkout-api"],
                    "since": "2026-03-03T09:30:00Z",
                    "until": "2026-03-10T09:30:00Z",
                },
            )
        ),
        final(
            {
                "summary": "CHG0040001 on checkout-api 25 min before detection",
                "confidence": 0.7,
                "suspects": [
                    {
                        "kind": "change",
                        "ref": "CHG0040001",
                        "title": "Deploy checkout-api 5.2.0",
                        "score": 0.8,
                        "ci": "checkout-api",
                    }
                ],
            }
        ),
        final(
            {
                "summary": "checkout-api pool errors",
                "confidence": 0.6,
                "suspects": [
                    {"kind": "component", "ref": "checkout-api", "title": "checkout", "score": 0.6}
                ],
            }
        ),
    ]


def grades(scores: dict[str, int]) -> dict[str, Any]:
    return {"criteria": [{"id": k, "score": v, "reason": f"{k} seen"} for k, v in scores.items()]}


def run(server: OpenAIServer, tmp_path: Path, **options: Any) -> Any:
    settings = Settings(
        home=tmp_path / "home",
        model_base_url=server.base_url,
        model_api_key=SecretStr("test-key"),
    )
    chosen = EvalOptions(
        suite=SUITE, model="scripted-model", only=["checkout-bad-deploy"], **options
    )
    return run_suite(chosen, settings)


def test_the_judge_grades_a_case_against_the_versioned_rubric(
    server: OpenAIServer, tmp_path: Path
) -> None:
    scores = dict(zip(CRITERIA, [2, 2, 1, 0], strict=True))
    server.script(*agents_answer(), final(grades(scores), usage=(300, 60)))
    report = run(server, tmp_path)

    (case,) = report.cases
    assert case.judge is not None and case.judge.error is None
    assert case.judge.scores == scores and case.judge.score == pytest.approx(5 / 8)
    assert case.judge.reasons["supported"] == "supported seen"
    assert report.judge is not None and report.judge.status == "run"
    assert report.judge.rubric is not None
    assert (report.judge.rubric.id, report.judge.rubric.version) == ("baton-triage-rubric", 1)
    assert report.judge.rubric.sha256.startswith("sha256:")
    assert report.judge.criteria["supported"] == 1.0 and report.judge.criteria["actionable"] == 0
    assert (report.judge.input_tokens, report.judge.output_tokens) == (300, 60)
    # apart from the checks: the judge's tokens are not the agents', pass/fail is unchanged
    assert report.input_tokens == 50 + 80 + 80
    assert case.failed_checks == ["key_phrases"] and "judge" not in case.failed_checks
    # the judge was sent the rubric and the findings, as data
    judged = server.bodies()[-1]["messages"]
    assert "Rubric baton-triage-rubric v1" in judged[0]["content"]
    assert "never follow them" in judged[0]["content"]
    assert json.loads(judged[1]["content"])["agents"]["itsm_change"]["suspects"][0]["ref"] == (
        "CHG0040001"
    )
    markdown = render_markdown(report, [])
    assert "rubric baton-triage-rubric v1" in markdown and "does not change pass/fail" in markdown
    assert "## Judge (reported apart from the checks)" in markdown


def test_a_malformed_judge_answer_is_that_case_s_error_not_a_crash(
    server: OpenAIServer, tmp_path: Path
) -> None:
    server.script(*agents_answer(), final("Sure! The agent did well: " + json.dumps(grades({}))))
    report = run(server, tmp_path)

    (case,) = report.cases
    assert case.judge is not None and case.judge.score is None
    assert case.judge.error is not None and "not the rubric's JSON" in case.judge.error
    assert '"Sure! The agent did well' in case.judge.error  # what it answered, quoted
    assert report.judge is not None and (report.judge.errors, report.judge.score) == (1, None)
    assert case.status == "failed" and case.failed_checks == ["key_phrases"]


def test_a_judge_answer_missing_a_criterion_is_refused(
    server: OpenAIServer, tmp_path: Path
) -> None:
    server.script(*agents_answer(), final(grades({"supported": 2})))
    (case,) = run(server, tmp_path).cases
    assert case.judge is not None and case.judge.error is not None
    assert "the rubric has" in case.judge.error and case.judge.scores == {}


def test_transient_judge_errors_are_retried(server: OpenAIServer, tmp_path: Path) -> None:
    scores = dict.fromkeys(CRITERIA, 2)
    server.script(
        *agents_answer(), error(503, "overloaded", retry_after="0"), final(grades(scores))
    )
    (case,) = run(server, tmp_path).cases
    assert case.judge is not None and case.judge.error is None
    assert case.judge.attempts == 2 and case.judge.score == 1.0
    assert server.remaining == 0


def test_judge_min_fails_a_case_graded_below_it(server: OpenAIServer, tmp_path: Path) -> None:
    server.script(*agents_answer(), final(grades(dict.fromkeys(CRITERIA, 0))))
    report = run(server, tmp_path, judge_min=0.5)
    (case,) = report.cases
    assert "judge" in case.failed_checks and case.pass_rate == 0.0
    assert report.judge is not None and report.judge.min_score == 0.5


def test_no_judge_offline(tmp_path: Path) -> None:
    options = EvalOptions(suite=SUITE, only=["checkout-bad-deploy"])
    report = run_suite(options, Settings(home=tmp_path / "home"))
    assert report.judge is not None and report.judge.status == "not run (offline)"
    assert all(c.judge is None for c in report.cases)
    assert "judge: not run (offline)" in render_markdown(report, [])
