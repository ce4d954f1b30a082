"""Which agents are configured, as one version: what an agent eval scores and what a pattern
whose promotion rests on that eval is bound to (`runbooks.catalog.with_agents`).

A stored eval result, a pattern's version and a promotion's evidence all name it, so a new
model, prompt, offline reasoner or recommendation rule is visibly a different agent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import baton.agents.offline as offline_package
from baton.agents import recommend
from baton.agents.prompts import answer_schema, system_prompt
from baton.agents.provider import OFFLINE
from baton.domain.finding import AgentName
from baton.runbooks.catalog import AgentStamp
from baton.settings import Settings


def agent_version(model: str, agents: Iterable[AgentName], max_tool_calls: int) -> str:
    """Offline: the reasoners' source and the recommendation rules. A model: its name, the
    system prompts it is given (answer schema and budget included) and the same rules."""
    digest = hashlib.sha256()
    if model == OFFLINE:
        package = Path(offline_package.__file__).parent
        sources = sorted(package.glob("*.py"))
    else:
        digest.update(f"model:{model}\0".encode())
        for agent in sorted(agents):
            digest.update(system_prompt(agent, max_tool_calls).encode() + b"\0")
        digest.update(answer_schema().encode() + b"\0")
        sources = []
    for path in [*sources, Path(recommend.__file__)]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return "sha256:" + digest.hexdigest()


def configured_model(settings: Settings) -> str:
    """`offline`, or the name of the model the settings configure (empty when
    BATON_MODEL_NAME is missing: the agents cannot run then, and say so when they try)."""
    return OFFLINE if settings.model_provider == OFFLINE else settings.model_name or ""


def agent_stamp(settings: Settings) -> AgentStamp:
    """The agents a run of these settings uses (every agent, the configured budget)."""
    model = configured_model(settings)
    return AgentStamp(model, agent_version(model, list(AgentName), settings.agent_max_tool_calls))


def model_env(settings: Settings) -> dict[str, str]:
    """The `BATON_*` variables that choose and bound the agents, for a separate process that
    must run the same agents (a promotion eval runs with a minimal environment otherwise)."""
    env = {
        "BATON_MODEL_PROVIDER": settings.model_provider,
        "BATON_AGENT_MAX_TOOL_CALLS": str(settings.agent_max_tool_calls),
        "BATON_AGENT_MAX_TOKENS": str(settings.agent_max_tokens),
        "BATON_AGENT_TIMEOUT_SECONDS": str(settings.agent_timeout_seconds),
    }
    if settings.model_provider != OFFLINE:
        key = settings.model_api_key.get_secret_value() if settings.model_api_key else None
        for name, value in (
            ("BATON_MODEL_NAME", settings.model_name),
            ("BATON_MODEL_BASE_URL", settings.model_base_url),
            ("BATON_MODEL_API_KEY", key),
        ):
            if value:
                env[name] = value
    return env
