"""A pattern whose promotion waits for the agent eval is versioned with the agents as
configured: a new model, prompt or offline reasoner is a new pattern version, and the
ledger's demotion says which of them changed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pydantic import SecretStr

import baton.agents.offline as offline_package
from baton import parts
from baton.agents.version import agent_stamp, configured_model, model_env
from baton.policies.promotion import Standing, reset_for_version
from baton.runbooks.catalog import AgentStamp
from baton.settings import Settings
from tests.conftest import REPO

SHIPPED = REPO / "runbooks" / "patterns"
AGENT_DRIVEN = ("cert.rotate", "change.rollback", "feature_flag.disable", "k8s.rollout_restart")


def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", patterns_dir=SHIPPED)


def gpt(tmp_path: Path, name: str = "gpt-x") -> Settings:
    return Settings(
        home=tmp_path / "home",
        patterns_dir=SHIPPED,
        model_provider="openai",
        model_name=name,
        model_base_url="http://127.0.0.1:9/v1",
        model_api_key=SecretStr("k"),
    )


def test_the_configured_model_changes_the_version_of_eval_gated_patterns_only(
    tmp_path: Path,
) -> None:
    offline, model = parts.catalog(settings(tmp_path)), parts.catalog(gpt(tmp_path))
    assert offline["change.rollback"].agents == agent_stamp(settings(tmp_path))
    assert model["change.rollback"].agents == AgentStamp(
        "gpt-x", agent_stamp(gpt(tmp_path)).version
    )
    for pattern_id in AGENT_DRIVEN:
        assert offline[pattern_id].version != model[pattern_id].version, pattern_id
    for pattern_id in ("cache.flush", "db.failover", "notify.page_team"):
        assert offline[pattern_id].agents is None
        assert offline[pattern_id].version == model[pattern_id].version, pattern_id
    again = parts.catalog(gpt(tmp_path, "gpt-y"))
    assert again["change.rollback"].version != model["change.rollback"].version


def test_a_prompt_budget_change_changes_a_model_agent_but_not_the_offline_one(
    tmp_path: Path,
) -> None:
    """The budget is written into the system prompt a model gets; the offline reasoners
    never read a prompt."""
    base, budget = gpt(tmp_path), gpt(tmp_path).model_copy(update={"agent_max_tool_calls": 5})
    assert agent_stamp(base).version != agent_stamp(budget).version
    offline = settings(tmp_path)
    fewer = offline.model_copy(update={"agent_max_tool_calls": 5})
    assert agent_stamp(offline) == agent_stamp(fewer)


def test_an_edited_offline_reasoner_is_a_new_agent_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The version is read from the reasoners' files: a copy with one line changed is
    another agent (the package is pointed at the copy; nothing is imported from it)."""
    before = agent_stamp(settings(tmp_path))
    copy = tmp_path / "offline"
    shutil.copytree(Path(offline_package.__file__).parent, copy)
    scorer = copy / "change_score.py"
    scorer.write_text(scorer.read_text() + "\n# tuned\n")
    monkeypatch.setattr(offline_package, "__file__", str(copy / "__init__.py"))
    after = agent_stamp(settings(tmp_path))
    assert after.model == before.model == "offline" and after.version != before.version
    assert parts.catalog(settings(tmp_path))["change.rollback"].agents == after


def test_demotion_reasons_name_what_changed_in_the_agents() -> None:
    offline = AgentStamp("offline", "sha256:" + "a" * 64)
    edited = AgentStamp("offline", "sha256:" + "b" * 64)
    model = AgentStamp("gpt-x", "sha256:" + "c" * 64)
    promoted = Standing(
        version="sha256:v1",
        state="autonomous",
        streak=50,
        eval_passed_version="sha256:v1",
        agent_model="offline",
        agent_version=offline.version,
    )

    fresh, (move,) = reset_for_version(promoted, "sha256:v2", model)
    assert (fresh.state, fresh.streak, fresh.eval_passed_version) == ("gated", 0, None)
    assert (fresh.agent_model, fresh.agent_version) == ("gpt-x", model.version)
    assert move.kind == "demoted"
    assert move.reason == (
        "new pattern version (was sha256:v1; agent model changed from offline to gpt-x)"
    )

    _, (move,) = reset_for_version(promoted, "sha256:v2", edited)
    assert "the agents changed (prompts, reasoners or recommendation rules)" in move.reason
    assert "the offline reasoners, agent version sha256:aaaaaaaaaaaa -> sha256:bbbbbbbbbbbb" in (
        move.reason
    )

    _, (move,) = reset_for_version(promoted, "sha256:v2", offline)
    assert move.reason == "new pattern version (was sha256:v1)", "the pattern file changed"

    unbound = promoted.model_copy(update={"agent_model": None, "agent_version": None})
    _, (move,) = reset_for_version(unbound, "sha256:v2", offline)
    assert "now bound to the eval of the offline reasoners" in move.reason


def test_the_eval_environment_reproduces_the_agents_it_is_bound_to(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A promotion eval runs in another process with a minimal environment: the variables
    it is given must make that process configure the same agents (same agent version)."""
    assert configured_model(settings(tmp_path)) == "offline"
    assert model_env(settings(tmp_path))["BATON_MODEL_PROVIDER"] == "offline"
    assert "BATON_MODEL_API_KEY" not in model_env(settings(tmp_path))
    configured = gpt(tmp_path).model_copy(update={"agent_max_tool_calls": 7})
    env = model_env(configured)
    assert env["BATON_MODEL_NAME"] == "gpt-x" and env["BATON_MODEL_API_KEY"] == "k"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    child = Settings(home=tmp_path / "elsewhere")
    assert configured_model(child) == "gpt-x"
    assert agent_stamp(child) == agent_stamp(configured)
