"""The gate between an agent and its read-only tools, the same for model and offline reasoner.

Every call passes here: allow-list, argument schema, budget and clock are checked, the tool
runs, and the call is recorded. A call that fails a check is refused, recorded and answered
with a `ToolResult(ok=False)`: it never runs and never raises.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterable
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError

from baton.agents.events import (
    RefusedToolCallEvent,
    ToolCallEvent,
    ToolEvidence,
)
from baton.agents.meter import Meter
from baton.domain.finding import AgentName, Quote
from baton.errors import ConfigError, one_line
from baton.tools.readers.base import ReadTool, ToolResult

_WIRE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PREVIEW_CHARS = 400


def wire_name(dotted: str) -> str:
    """The name a model sees (OpenAI names allow no dots): `logs.search` → `logs__search`."""
    return dotted.replace(".", "__")


def digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


@cache
def _parameters(args_model: type[BaseModel]) -> dict[str, Any]:
    """A tool's argument JSON Schema; built once per model class (it costs ~1 ms)."""
    return args_model.model_json_schema()


class Toolbox:
    """The allow-listed tools of one agent task, with the checks around every call."""

    def __init__(
        self,
        tools: Iterable[ReadTool],
        allow: tuple[str, ...],
        *,
        agent: AgentName,
        actor: str,
        meter: Meter,
    ) -> None:
        by_name = {tool.name: tool for tool in tools}
        missing = [name for name in allow if name not in by_name]
        if missing:
            raise ConfigError(
                f"agent {agent.value}: allow-list names tools that were not provided: "
                f"{', '.join(missing)}"
            )
        self._tools = {name: by_name[name] for name in allow}
        self._wire: dict[str, str] = {}
        for name in allow:
            wire = wire_name(name)
            if not _WIRE_NAME.match(wire) or "__" in name:
                raise ConfigError(
                    f"tool name {name!r} cannot be offered to a model: use letters, digits, "
                    "'_', '-' and single dots, at most 64 characters"
                )
            self._wire[wire] = name
        self.agent = agent
        self.actor = actor
        self.meter = meter
        self.evidence: list[ToolEvidence] = []
        self.budget_refusals = 0

    def specs(self) -> list[dict[str, Any]]:
        """OpenAI function-tool definitions of the allow-listed tools, nothing else."""
        return [
            {
                "type": "function",
                "function": {
                    "name": wire,
                    "description": self._tools[name].description,
                    "parameters": _parameters(self._tools[name].args_model),
                },
            }
            for wire, name in self._wire.items()
        ]

    def resolve(self, requested: str) -> str | None:
        """The dotted name for a name the model or reasoner used, if it is allowed."""
        if requested in self._tools:
            return requested
        return self._wire.get(requested)

    def call(self, name: str, args: dict[str, Any], call_id: str | None = None) -> ToolResult:
        """Run an allowed tool with validated arguments; otherwise refuse. Never raises."""
        dotted = self.resolve(name)
        if dotted is None:
            return self.refuse(name, args, "tool is not on this agent's allow-list", call_id)
        if self.meter.out_of_time():
            return self.refuse(dotted, args, "wall-clock budget exhausted", call_id, budget=True)
        if self.meter.out_of_tool_calls():
            limit = self.meter.budget.max_tool_calls
            return self.refuse(
                dotted, args, f"tool-call budget exhausted ({limit} calls)", call_id, budget=True
            )
        tool = self._tools[dotted]
        if not isinstance(args, dict):
            return self.refuse(dotted, args, "arguments must be a JSON object", call_id)
        try:
            parsed = tool.args_model.model_validate(args)
        except ValidationError as exc:
            reason = f"invalid arguments: {one_line(exc, top='(arguments)')}"
            return self.refuse(dotted, args, reason, call_id)
        self.meter.tool_calls += 1
        started = time.perf_counter()
        try:
            result = tool.call(parsed)
        except Exception as exc:  # a tool is not supposed to raise; its caller must not crash
            result = ToolResult(tool=dotted, ok=False, error=f"tool raised {type(exc).__name__}")
        latency = (time.perf_counter() - started) * 1000
        clean_args = parsed.model_dump(mode="json")
        text = result.model_dump_json()
        result_digest = digest(text)
        self.meter.record(
            ToolCallEvent(
                actor=self.actor,
                agent=self.agent,
                tool=dotted,
                call_id=call_id,
                args=clean_args,
                ok=result.ok,
                error=result.error,
                result_digest=result_digest,
                truncated=result.truncated,
                latency_ms=latency,
            )
        )
        data = json.dumps(result.data, default=str, ensure_ascii=False)
        self.evidence.append(
            ToolEvidence(
                tool=dotted,
                args=clean_args,
                ok=result.ok,
                error=result.error,
                truncated=result.truncated,
                result_digest=result_digest,
                preview=None if result.data is None else Quote.of(f"tool:{dotted}", data),
            )
        )
        return result

    def refuse(
        self,
        name: str,
        args: object,
        reason: str,
        call_id: str | None = None,
        *,
        budget: bool = False,
    ) -> ToolResult:
        """Record a call that will not run and answer it with an error result.

        Calls refused for a bad name or bad arguments count against the tool budget (a model
        must not loop on them for free); calls refused because the budget is spent do not.
        """
        if budget:
            self.budget_refusals += 1
        else:
            self.meter.tool_calls += 1
        raw = args if isinstance(args, str) else json.dumps(args, default=str, ensure_ascii=False)
        self.meter.record(
            RefusedToolCallEvent(
                actor=self.actor,
                agent=self.agent,
                tool=_cut(name, 100),
                call_id=call_id,
                args=_cut(raw, PREVIEW_CHARS),
                reason=reason,
            )
        )
        return ToolResult(tool=_cut(name, 100), ok=False, error=f"refused: {reason}")

    def render(self, result: ToolResult) -> str:
        """A tool result as the model reads it: JSON, data cut to the budget's size."""
        limit = self.meter.budget.tool_result_chars
        text = result.model_dump_json()
        if len(text) <= limit:
            return text
        data = json.dumps(result.data, default=str, ensure_ascii=False)
        return json.dumps(
            {
                "tool": result.tool,
                "ok": result.ok,
                "error": result.error,
                "truncated": True,
                "data_excerpt": data[: max(0, limit - 200)],
            },
            ensure_ascii=False,
        )
