"""The promotion link, end to end: a pattern promoted on the eval of one agent is demoted
when the configured model or an offline reasoner changes, and its eval scores the agents as
configured (the model's settings reach the `baton eval run` it starts)."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

import baton.agents.offline as offline_package
from baton.domain.status import RunStatus
from baton.errors import Conflict
from baton.graph.pattern_eval import evaluate
from baton.runtime import Runtime, build_runtime
from baton.settings import Settings
from baton.store import audit
from tests.conftest import REPO, policy_settings, runbook
from tests.integration.test_pattern_requirements import (
    PEOPLE,
    approved_run,
    line,
    one_step,
    pattern_events,
    run_eval,
)
from tests.integration.test_patterns import FIXTURES, INCIDENT, REQ
from tests.openai_server import OpenAIServer, final, running

pytestmark = pytest.mark.integration

EVALUATED = "svc.evaluated"
SUITE = REPO / "tests" / "fixtures" / "evals" / "suite"
BATON = [sys.executable, "-m", "baton.cli.main"]


def catalog(tmp_path: Path, eval_argv: list[str] | None = None) -> Path:
    """The fixture catalog, svc.evaluated needing 2 runs (and running `eval_argv`)."""
    where = tmp_path / "patterns"
    shutil.copytree(FIXTURES, where, dirs_exist_ok=True)
    path = where / f"{EVALUATED}.yaml"
    text = path.read_text().replace("promotion:\n", "promotion:\n  threshold: 2\n")
    if eval_argv is not None:
        head = text[: text.index("  eval: ")]
        text = head + f"  eval: {json.dumps(eval_argv)}\n"
    path.write_text(text)
    return where


def with_model(settings: Settings, name: str, base_url: str = "http://127.0.0.1:9/v1") -> Settings:
    return settings.model_copy(
        update={
            "model_provider": "openai",
            "model_name": name,
            "model_base_url": base_url,
            "model_api_key": SecretStr("test-key"),
        }
    )


def promoted(settings: Settings, where: Path) -> None:
    """Eval passed and two clean approved runs: autonomous under these settings' agents."""
    (where / "eval.ok").write_text("")
    with build_runtime(settings) as rt:
        assert run_eval(rt, where) is True
        for _ in range(2):
            approved_run(rt, EVALUATED)
        assert line(rt, EVALUATED).state == "autonomous"


def demotions(rt: Runtime) -> list[str]:
    return [e.payload["reason"] for e in pattern_events(rt, "pattern_demoted")]


@pytest.fixture
def offline(tmp_path: Path) -> Settings:
    base = policy_settings(tmp_path, PEOPLE)
    return base.model_copy(update={"patterns_dir": catalog(tmp_path)})


def test_a_new_model_demotes_and_needs_a_fresh_eval(offline: Settings, tmp_path: Path) -> None:
    promoted(offline, tmp_path)
    with build_runtime(with_model(offline, "gpt-x")) as rt:
        standing = line(rt, EVALUATED)
        assert (standing.state, standing.streak, standing.eval_passed_version) == ("gated", 0, None)
        assert standing.agent_model == "gpt-x"
        (reason,) = demotions(rt)
        assert reason.startswith("new pattern version (was sha256:")
        assert reason.endswith("; agent model changed from offline to gpt-x)")
        _, status = rt.runner.start(runbook(one_step(EVALUATED)), INCIDENT, requested_by=REQ)
        assert status is RunStatus.WAITING, "gated again"
        for _ in range(2):
            approved_run(rt, EVALUATED)
        assert line(rt, EVALUATED).state == "eligible", "the offline pass does not count"
        assert run_eval(rt, tmp_path) is True
        assert line(rt, EVALUATED).state == "autonomous"
        payload = pattern_events(rt, "pattern_promoted")[-1].payload
        if "$blob" in payload:
            with rt.db.read() as session:
                payload = json.loads(audit.blob(session, payload["$blob"]) or "{}")
        assert payload["agents"]["model"] == "gpt-x"
        assert "scoring the agents as configured: model gpt-x" in payload["statement"]


def test_an_edited_offline_reasoner_demotes(
    offline: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    promoted(offline, tmp_path)
    copy = tmp_path / "offline"
    shutil.copytree(Path(offline_package.__file__).parent, copy)
    reasoner = copy / "itsm_change.py"
    reasoner.write_text(reasoner.read_text() + "\n# a reweighted rule\n")
    monkeypatch.setattr(offline_package, "__file__", str(copy / "__init__.py"))
    with build_runtime(offline) as rt:
        standing = line(rt, EVALUATED)
        assert (standing.state, standing.streak) == ("gated", 0)
        (reason,) = demotions(rt)
        assert "the agents changed (prompts, reasoners or recommendation rules)" in reason
        assert "the offline reasoners, agent version" in reason


def test_an_eval_is_refused_for_a_catalog_bound_to_other_agents(
    offline: Settings, tmp_path: Path
) -> None:
    with build_runtime(offline) as rt:
        loaded = rt.runner.deps.catalog[EVALUATED]
        with pytest.raises(Conflict, match="bound to the offline reasoners"):
            evaluate(
                rt.db,
                loaded,
                by="human:erin",
                timeout=60,
                output_limit=65536,
                settings=with_model(offline, "gpt-x"),
                cwd=tmp_path,
            )
        assert pattern_events(rt, "pattern_eval") == []


@pytest.fixture
def server() -> Iterator[OpenAIServer]:
    with running() as srv:
        yield srv


def finding(summary: str, suspects: list[dict[str, Any]]) -> dict[str, Any]:
    return {"summary": summary, "confidence": 0.7, "suspects": suspects}


def test_the_eval_hook_scores_the_configured_model(server: OpenAIServer, tmp_path: Path) -> None:
    """The pattern's eval is the real `baton eval run`, in its own process with a minimal
    environment: it reaches the configured model, and names the agent version the
    pattern's version is bound to."""
    deploy = {
        "kind": "change",
        "ref": "CHG0040001",
        "title": "Deploy checkout-api 5.2.0",
        "score": 0.8,
        "ci": "checkout-api",
    }
    server.script(
        final(finding("CHG0040001 on checkout-api 25 min before detection", [deploy])),
        final(finding("pool exhausted", [])),
    )
    results = tmp_path / "results"
    argv = [*BATON, "eval", "run", "--suite", str(SUITE), "--case", "checkout-bad-deploy"]
    argv += ["--results", str(results)]
    base = policy_settings(tmp_path, PEOPLE)
    settings = with_model(base, "scripted-model", server.base_url).model_copy(
        update={"patterns_dir": catalog(tmp_path, argv)}
    )
    with build_runtime(settings) as rt:
        loaded = rt.runner.deps.catalog[EVALUATED]
        assert loaded.agents is not None and loaded.agents.model == "scripted-model"
        outcome = evaluate(
            rt.db,
            loaded,
            by="human:erin",
            timeout=120,
            output_limit=65536,
            settings=rt.settings,
            cwd=tmp_path,
        )
        (event,) = pattern_events(rt, "pattern_eval")
    assert outcome.passed, event.payload["stderr_tail"]
    assert {b["model"] for b in server.bodies()} == {"scripted-model"}
    assert server.remaining == 0
    assert event.payload["agents"] == {"model": "scripted-model", "version": loaded.agents.version}
    assert "test-key" not in json.dumps(event.payload)
    (saved,) = results.glob("*.json")
    report = json.loads(saved.read_text())
    assert report["agent"] == report["agent"] | {
        "model": "scripted-model",
        "version": loaded.agents.version,
    }
