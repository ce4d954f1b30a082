"""Which model reasons for agents, built from settings: an OpenAI-compatible endpoint or none.

`offline` (the default) means no network at all: the deterministic reasoners stand in.
`openai` means any chat-completions endpoint (OpenAI, Azure OpenAI, vLLM, Ollama, llama.cpp
server) through langchain-openai's `ChatOpenAI`, with the client's own retries switched off
so that the loop's retries are the only ones, and each is audited.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, Literal
from urllib.parse import urlsplit

from baton.errors import ConfigError
from baton.settings import Settings

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

OFFLINE: Final = "offline"


def _require(settings: Settings) -> tuple[str, str, str]:
    """Base URL, key and model name, or one error naming every missing setting."""
    missing = []
    if not settings.model_base_url:
        missing.append("BATON_MODEL_BASE_URL (e.g. https://api.openai.com/v1)")
    key = settings.model_api_key.get_secret_value() if settings.model_api_key else ""
    if not key:
        missing.append("BATON_MODEL_API_KEY (servers that need none accept any value)")
    if not settings.model_name:
        missing.append("BATON_MODEL_NAME (e.g. gpt-4o-mini)")
    if missing:
        raise ConfigError(
            "BATON_MODEL_PROVIDER is 'openai' but these settings are missing: " + "; ".join(missing)
        )
    assert settings.model_base_url and settings.model_name  # checked just above
    parts = urlsplit(settings.model_base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"BATON_MODEL_BASE_URL must be an http(s) URL such as https://api.openai.com/v1, "
            f"got {settings.model_base_url!r}"
        )
    return settings.model_base_url, key, settings.model_name


def chat_model(settings: Settings) -> BaseChatModel | Literal["offline"]:
    """The chat model agents use, or `OFFLINE`. Raises `ConfigError` naming a missing setting."""
    if settings.model_provider == OFFLINE:
        return OFFLINE
    base_url, key, name = _require(settings)
    from langchain_openai import ChatOpenAI  # heavy; only when a model is configured

    return ChatOpenAI(
        base_url=base_url,
        api_key=key,
        model=name,
        max_retries=0,
        timeout=settings.agent_timeout_seconds,
        use_responses_api=False,
    )


def model_identity(model: BaseChatModel) -> tuple[str, str]:
    """(provider, model name) of a chat model, for `produced_by` and the audit actor."""
    name = getattr(model, "model_name", None) or getattr(model, "model", None)
    llm_type = model._llm_type
    provider = "openai" if llm_type.startswith("openai") else llm_type
    return provider, str(name or type(model).__name__)
