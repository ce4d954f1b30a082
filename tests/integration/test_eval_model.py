"""`baton eval run --model NAME` against a real OpenAI-compatible endpoint (a scripted local
server): the same loop, tokens and cost counted, and a model's prose never scores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from baton.errors import ConfigError
from baton.evals.runner import EvalOptions, run_suite
from baton.settings import Settings
from tests.conftest import REPO
from tests.openai_server import OpenAIServer, final, running, tool_calls

pytestmark = pytest.mark.integration

SUITE = REPO / "tests" / "fixtures" / "evals" / "suite"


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with running() as srv:
        yield srv


def finding(summary: str, suspects: list[dict[str, Any]]) -> dict[str, Any]:
    return {"summary": summary, "confidence": 0.7, "suspects": suspects}


def test_a_model_run_is_scored_like_an_offline_one(server: OpenAIServer, tmp_path: Path) -> None:
    server.script(
        # the change agent reads the changes, then blames the deploy
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
            finding(
                "CHG0040001 on checkout-api 25 min before detection",
                [
                    {
                        "kind": "change",
                        "ref": "CHG0040001",
                        "title": "Deploy checkout-api 5.2.0",
                        "score": 0.8,
                        "ci": "checkout-api",
                    }
                ],
            )
        ),
        # the log agent claims the key phrase in its summary only: no quote, no credit
        final(
            finding(
                "Connection is not available: the pool is exhausted",
                [{"kind": "component", "ref": "checkout-api", "title": "checkout", "score": 0.6}],
            )
        ),
    )
    settings = Settings(
        home=tmp_path / "home",
        model_base_url=server.base_url,
        model_api_key=SecretStr("test-key"),
    )
    options = EvalOptions(
        suite=SUITE,
        model="scripted-model",
        only=["checkout-bad-deploy"],
        price_per_mtok=(1.0, 4.0),
    )
    report = run_suite(options, settings)

    (case,) = report.cases
    assert case.got is not None and case.checks is not None
    assert case.got.culprit == ["CHG0040001"] and case.checks.culprit is True
    assert case.checks.root_cause_ci is True and case.checks.within_budget is True
    assert case.checks.key_phrases is False and "key_phrases" in case.failed_checks
    assert report.model == report.agent.model == "scripted-model"
    assert (report.input_tokens, report.output_tokens) == (50 + 80 + 80, 10 + 40 + 40)
    assert report.cost_usd == pytest.approx((210 * 1.0 + 90 * 4.0) / 1_000_000)
    assert {b["model"] for b in server.bodies()} == {"scripted-model"}
    assert server.remaining == 0


def test_a_model_without_an_endpoint_stops_before_the_first_case(tmp_path: Path) -> None:
    options = EvalOptions(suite=SUITE, model="gpt-x")
    with pytest.raises(ConfigError, match="BATON_MODEL_BASE_URL"):
        run_suite(options, Settings(home=tmp_path / "home"))
