"""Framework overhead of one agent step, model time excluded.

A chat model that answers instantly, in-process, plays a fixed conversation: `--steps`
tool calls, then a valid finding. The loop (`run_agent`: prompt build, tool allow-list and
schema checks, prompt digests, every event appended to a real audit trail (SQLite, WAL, one
transaction per event, exactly as an agent task node does), final answer validation) is
timed against the baseline of calling the same bound model and the same tool directly with a
hand-built message list. The difference per model call is the
framework overhead; target < 5 ms.

    python bench/agent_step.py [--runs 200] [--steps 6]

Last line: `ratio=<loop time / direct time>`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.agent_fixtures import CHANGES, LINES, LogSearch, RecentChanges, brief, finding_json

from baton.agents.budget import AgentBudget
from baton.agents.events import AgentEvent
from baton.agents.loop import run_agent
from baton.graph.agent_tasks import audit_agent_event
from baton.settings import Settings
from baton.store.db import Database, open_database

ALLOW = ("logs.search", "itsm.recent_changes")
FINAL = json.dumps(finding_json())


class InstantModel(BaseChatModel):
    """Answers at once: a tool call per step, then the finding. Counts tool messages seen."""

    steps: int = 6

    @property
    def _llm_type(self) -> str:
        return "instant"

    @property
    def model_name(self) -> str:
        return "instant"

    def bind_tools(
        self, tools: Sequence[Any], **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        return self.bind(tools=list(tools), **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        done = sum(isinstance(m, ToolMessage) for m in messages)
        usage = {"input_tokens": 100, "output_tokens": 20, "total_tokens": 120}
        if done < self.steps:
            name = "logs__search" if done % 2 else "itsm__recent_changes"
            args = {"query": "payment-gw"} if done % 2 else {"ci_ids": ["payment-gw"]}
            call = {"name": name, "args": args, "id": f"call_{done}", "type": "tool_call"}
            message = AIMessage(content="", tool_calls=[call], usage_metadata=usage)
        else:
            message = AIMessage(content=FINAL, usage_metadata=usage)
        return ChatResult(generations=[ChatGeneration(message=message)])


def loop_once(model: InstantModel, budget: AgentBudget, db: Database) -> float:
    def record(event: AgentEvent) -> None:
        audit_agent_event(db, "run_bench", "agent", event)

    tools = [LogSearch(LINES), RecentChanges(CHANGES)]
    started = time.perf_counter()
    outcome = run_agent(
        brief(), reasoner_or_model=model, tools=tools, allow=ALLOW, budget=budget, record=record
    )
    elapsed = time.perf_counter() - started
    assert not outcome.failed, outcome.reason
    return elapsed


def direct_once(model: InstantModel) -> float:
    """The least an agent must do: call the bound model and the tools, nothing checked."""
    logs, changes = LogSearch(LINES), RecentChanges(CHANGES)
    tools = {"logs__search": logs, "itsm__recent_changes": changes}
    started = time.perf_counter()
    bound = model.bind_tools([{"type": "function", "function": {"name": n}} for n in tools])
    messages: list[BaseMessage] = [SystemMessage("system"), HumanMessage("brief")]
    while True:
        reply = bound.invoke(messages)
        messages.append(reply)
        if not reply.tool_calls:
            break
        for call in reply.tool_calls:
            tool = tools[call["name"]]
            result = tool.call(tool.args_model(**call["args"]))
            messages.append(ToolMessage(result.model_dump_json(), tool_call_id=call["id"]))
    json.loads(reply.text)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--steps", type=int, default=6, help="Tool calls before the answer.")
    args = parser.parse_args()
    model = InstantModel(steps=args.steps)
    budget = AgentBudget(max_tool_calls=args.steps + 1, max_tokens=10**9)
    home = Path(tempfile.mkdtemp(prefix="baton-bench-agent-"))
    db = open_database(Settings(home=home))
    for _ in range(20):  # warm caches and lazy imports
        loop_once(model, budget, db)
        direct_once(model)
    loop = statistics.median(loop_once(model, budget, db) for _ in range(args.runs))
    direct = statistics.median(direct_once(model) for _ in range(args.runs))
    calls = args.steps + 1
    overhead = (loop - direct) / calls * 1000
    print(f"runs={args.runs} model calls per run={calls} tool calls per run={args.steps}")
    for label, value in (("loop:  ", loop), ("direct:", direct)):
        print(f"{label} {value * 1000:7.2f} ms per run  {value / calls * 1000:6.3f} ms per call")
    print(f"framework overhead: {overhead:.3f} ms per agent step (target < 5 ms)")
    db.close()
    shutil.rmtree(home, ignore_errors=True)
    print(f"ratio={loop / direct:.2f}")


if __name__ == "__main__":
    main()
