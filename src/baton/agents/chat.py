"""One model call with the loop's retries: jittered exponential backoff, `Retry-After` honoured.

Every attempt, failed or not, is one `llm_call` event. Retries stop after the policy's
attempts, or earlier when the next wait would run past the task's wall-clock deadline.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence

from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, convert_to_openai_messages
from langchain_core.runnables import Runnable
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_base
from tenacity.wait import wait_random_exponential

from baton.agents.events import LlmCallEvent
from baton.agents.failures import describe, is_transient, retry_after_seconds
from baton.agents.meter import Meter
from baton.domain.finding import AgentName

ChatRunnable = Runnable[LanguageModelInput, AIMessage]
NameOf = Callable[[str], str]


def prompt_digest(messages: Sequence[BaseMessage]) -> str:
    """sha256 of the request messages in OpenAI's wire form, canonical JSON."""
    wire = convert_to_openai_messages(list(messages))
    text = json.dumps(wire, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


class _StopAtDeadline(stop_base):
    """Give up when the next wait is longer than allowed or would end past the deadline."""

    def __init__(self, meter: Meter) -> None:
        self.meter = meter

    def __call__(self, retry_state: RetryCallState) -> bool:
        wait = retry_state.upcoming_sleep
        limit = self.meter.budget.retry.max_wait_seconds
        return wait > limit or wait >= self.meter.remaining_seconds()


class ModelCaller:
    """Calls the bound model for one agent task, retrying transient errors, recording each try."""

    def __init__(
        self,
        bound: ChatRunnable,
        *,
        agent: AgentName,
        actor: str,
        model: str,
        meter: Meter,
        name_of: NameOf,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.bound = bound
        self.agent = agent
        self.actor = actor
        self.model = model
        self.meter = meter
        self.name_of = name_of
        policy = meter.budget.retry
        self._backoff = wait_random_exponential(
            multiplier=policy.backoff_seconds, max=policy.max_wait_seconds
        )
        self._retrying = Retrying(
            stop=stop_after_attempt(policy.attempts) | _StopAtDeadline(meter),
            wait=self._wait,
            retry=retry_if_exception(is_transient),
            reraise=True,
            sleep=sleep,
        )

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        asked = retry_after_seconds(exc) if exc is not None else None
        if asked is not None:
            return asked  # the server's word; capped by the deadline check, not shortened
        return float(self._backoff(state))

    def invoke(self, messages: Sequence[BaseMessage], iteration: int) -> AIMessage:
        """The model's reply; raises the last error once retries are spent or not allowed."""
        digest = prompt_digest(messages)
        for attempt in self._retrying.copy():
            with attempt:
                number = attempt.retry_state.attempt_number
                started = time.perf_counter()
                try:
                    reply = self.bound.invoke(
                        list(messages), timeout=max(0.001, self.meter.remaining_seconds())
                    )
                except Exception as exc:
                    self._record(digest, len(messages), iteration, number, started, error=exc)
                    raise
                self._record(digest, len(messages), iteration, number, started, reply=reply)
                return reply
        raise AssertionError("unreachable: tenacity returns or reraises")

    def _record(
        self,
        digest: str,
        count: int,
        iteration: int,
        attempt: int,
        started: float,
        *,
        reply: AIMessage | None = None,
        error: BaseException | None = None,
    ) -> None:
        usage = reply.usage_metadata if reply is not None else None
        requested: list[str] = []
        if reply is not None:
            requested = [self.name_of(c["name"]) for c in reply.tool_calls]
            requested += [self.name_of(c.get("name") or "") for c in reply.invalid_tool_calls]
        self.meter.record(
            LlmCallEvent(
                actor=self.actor,
                agent=self.agent,
                model=self.model,
                iteration=iteration,
                attempt=attempt,
                prompt_digest=digest,
                messages=count,
                input_tokens=usage["input_tokens"] if usage else 0,
                output_tokens=usage["output_tokens"] if usage else 0,
                latency_ms=(time.perf_counter() - started) * 1000,
                tool_calls=requested,
                error=describe(error) if error is not None else None,
            )
        )
