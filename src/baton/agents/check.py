"""`doctor` for the model endpoint: one tiny real request with a tool bound, read plainly.

Agents need an endpoint that answers, accepts the key, knows the model and calls tools.
Each of those failing gets its own sentence naming the setting to fix, so a bad setup is
caught at start-up instead of turning every agent task into a human fallback.
"""

from __future__ import annotations

from langchain_core.messages import HumanMessage

from baton.agents.failures import status_of, upstream_message
from baton.agents.provider import OFFLINE, chat_model
from baton.errors import ConfigError
from baton.settings import Settings

CHECK_TIMEOUT_SECONDS = 20.0
_PING = {
    "type": "function",
    "function": {
        "name": "baton_ping",
        "description": "Health check. Call it once, with no arguments.",
        "parameters": {"type": "object", "properties": {}},
    },
}
_ASK = "Health check: call the baton_ping tool once, with an empty argument object."


def _explain(exc: Exception, settings: Settings) -> str:
    url, name = settings.model_base_url, settings.model_name
    status = status_of(exc)
    message = upstream_message(exc)
    if status is None:
        return (
            f"cannot reach the model endpoint {url} (BATON_MODEL_BASE_URL): "
            f"{type(exc).__name__}: {message}"
        )
    if status == 401:
        return f"the model endpoint rejected the API key (BATON_MODEL_API_KEY): HTTP 401: {message}"
    if status == 403:
        return (
            f"the API key may not use model {name!r} (BATON_MODEL_API_KEY, BATON_MODEL_NAME): "
            f"HTTP 403: {message}"
        )
    if status == 404:
        return (
            f"model {name!r} not found at {url} (BATON_MODEL_NAME; BATON_MODEL_BASE_URL must be "
            f"the API root, e.g. ending in /v1): HTTP 404: {message}"
        )
    if status in (400, 422) and "tool" in message.lower():
        return (
            f"model {name!r} does not support tool calling, which agents need "
            f"(BATON_MODEL_NAME): HTTP {status}: {message}"
        )
    return f"the model endpoint {url} answered HTTP {status}: {message}"


def check_model(settings: Settings) -> list[str]:
    """Problems with the configured model, each one sentence; empty when agents can use it."""
    if settings.model_provider == OFFLINE:
        return []
    try:
        model = chat_model(settings)
    except ConfigError as exc:
        return [exc.message]
    if model == OFFLINE:  # unreachable: provider is not offline; keeps the types honest
        return []
    bound = model.bind_tools([_PING])
    timeout = min(settings.agent_timeout_seconds, CHECK_TIMEOUT_SECONDS)
    try:
        reply = bound.invoke([HumanMessage(_ASK)], timeout=timeout)
    except Exception as exc:
        return [_explain(exc, settings)]
    if not reply.tool_calls:
        return [
            f"model {settings.model_name!r} answered without calling the tool it was given: "
            "it does not seem to support tool calling, which agents need (BATON_MODEL_NAME)"
        ]
    return []
