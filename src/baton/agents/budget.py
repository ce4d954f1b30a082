"""How much one agent task may spend, and how hard it retries a flaky model endpoint."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from baton.settings import Settings


class RetryPolicy(BaseModel):
    """Retries for transient model errors (429, 5xx, timeouts, dropped connections).

    Ours are the only retries: the HTTP client's own are switched off so that every attempt
    is an audited `llm_call` event.
    """

    model_config = ConfigDict(frozen=True)

    attempts: int = Field(default=4, ge=1, description="Tries per model call, the first included.")
    backoff_seconds: float = Field(
        default=1.0, ge=0, description="Scale of the jittered exponential backoff."
    )
    max_wait_seconds: float = Field(
        default=30.0, ge=0, description="Longest single wait, `Retry-After` included."
    )


class AgentBudget(BaseModel):
    """Limits of one agent task; crossing any of them fails the task into a human one."""

    model_config = ConfigDict(frozen=True)

    max_tool_calls: int = Field(default=12, ge=1, description="Tool calls, refused ones included.")
    max_tokens: int = Field(default=20000, ge=1, description="Input + output tokens, all calls.")
    timeout_seconds: float = Field(default=120.0, gt=0, description="Wall clock for the task.")
    max_iterations: int = Field(
        default=16,
        ge=1,
        description="Model calls per task (the recursion limit); retries of one call count once.",
    )
    tool_result_chars: int = Field(
        default=12000, ge=200, description="Characters of one tool result shown to the model."
    )
    retry: RetryPolicy = Field(default_factory=RetryPolicy)

    @classmethod
    def from_settings(cls, settings: Settings) -> AgentBudget:
        return cls(
            max_tool_calls=settings.agent_max_tool_calls,
            max_tokens=settings.agent_max_tokens,
            timeout_seconds=settings.agent_timeout_seconds,
            max_iterations=settings.agent_max_tool_calls + 4,
        )
