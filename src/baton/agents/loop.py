"""The one bounded tool-calling loop that every agent task runs, with a model or offline.

Both paths share the `Toolbox` (allow-list, argument schema, budget, recording) and end the
same way: an `AgentOutcome` with a validated `Finding`, or `failed=True` with a reason and
the evidence gathered so far. Expected failures never raise: the caller turns them into a
human "investigate manually" task. Only a failing `record` callback (`RecordFailed`: the
audit trail cannot be written) and wiring mistakes (`ConfigError`: an allow-list naming a
tool not provided) raise.
"""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage, ToolMessage

from baton.agents.answer import AnswerInvalid, parse_finding
from baton.agents.base import AgentBrief, OfflineReasoner
from baton.agents.budget import AgentBudget
from baton.agents.chat import ModelCaller
from baton.agents.events import AgentOutcome, AgentRecorder, agent_actor
from baton.agents.failures import describe, is_transient
from baton.agents.meter import Meter, RecordFailed
from baton.agents.prompts import brief_message, budget_message, repair_message, system_prompt
from baton.agents.provider import OFFLINE, model_identity
from baton.agents.toolbox import Toolbox
from baton.domain.finding import Finding
from baton.tools.readers.base import ReadTool


def run_agent(
    brief: AgentBrief,
    *,
    reasoner_or_model: OfflineReasoner | BaseChatModel,
    tools: list[ReadTool],
    allow: tuple[str, ...],
    budget: AgentBudget,
    record: AgentRecorder,
) -> AgentOutcome:
    """Run one agent task to a finding or a failed outcome, within `budget`.

    `allow` is the allow-list on both paths (an offline reasoner's own `tools` is advisory):
    only those of `tools` are offered to a model or callable by a reasoner.
    """
    meter = Meter(budget, record)
    if isinstance(reasoner_or_model, BaseChatModel):
        provider, name = model_identity(reasoner_or_model)
        actor, produced_by = agent_actor(brief.agent, name), f"{provider}:{name}"
    else:
        actor, produced_by = agent_actor(brief.agent, OFFLINE), OFFLINE
    toolbox = Toolbox(tools, allow, agent=brief.agent, actor=actor, meter=meter)
    if isinstance(reasoner_or_model, BaseChatModel):
        specs = toolbox.specs()
        # an empty `tools` array is rejected by OpenAI: with nothing allowed, bind nothing
        bound = reasoner_or_model.bind_tools(specs) if specs else reasoner_or_model
        caller = ModelCaller(
            bound,
            agent=brief.agent,
            actor=actor,
            model=name,
            meter=meter,
            name_of=lambda n: toolbox.resolve(n) or n[:100],
        )
        finding, reason = _model_loop(brief, caller, toolbox, produced_by)
    else:
        finding, reason = _offline(brief, reasoner_or_model, toolbox, produced_by)
    return AgentOutcome(
        agent=brief.agent,
        actor=actor,
        produced_by=produced_by,
        finding=finding,
        failed=finding is None,
        reason=reason,
        events=meter.events,
        llm_calls=meter.llm_calls,
        tool_calls=meter.tool_calls,
        refused_tool_calls=meter.refused,
        input_tokens=meter.input_tokens,
        output_tokens=meter.output_tokens,
        elapsed_ms=meter.elapsed_ms(),
        partial=list(toolbox.evidence),
    )


Result = tuple[Finding | None, str | None]


def _offline(
    brief: AgentBrief, reasoner: OfflineReasoner, toolbox: Toolbox, produced_by: str
) -> Result:
    try:
        finding = reasoner.reason(brief, toolbox.call)
    except RecordFailed:
        raise
    except Exception as exc:  # a reasoner bug must fail the task, not the run
        return None, f"offline reasoner failed: {type(exc).__name__}: {exc}"[:500]
    if toolbox.meter.out_of_time():
        return None, f"wall-clock budget exhausted ({toolbox.meter.budget.timeout_seconds:g} s)"
    notes = list(finding.notes)
    if toolbox.budget_refusals:
        notes.append(f"tool budget exhausted: {toolbox.budget_refusals} call(s) refused")
    return finding.model_copy(
        update={"agent": brief.agent, "produced_by": produced_by, "notes": notes}
    ), None


def _model_loop(
    brief: AgentBrief, caller: ModelCaller, toolbox: Toolbox, produced_by: str
) -> Result:
    meter, budget = toolbox.meter, toolbox.meter.budget
    messages: list[BaseMessage] = [
        SystemMessage(system_prompt(brief.agent, budget.max_tool_calls)),
        HumanMessage(brief_message(brief)),
    ]
    repairs_left = 1
    warned_budget = False
    for iteration in range(1, budget.max_iterations + 1):
        if meter.out_of_time():
            return None, f"wall-clock budget exhausted ({budget.timeout_seconds:g} s)"
        if meter.out_of_tokens():
            return None, f"token budget exhausted ({meter.tokens} of {budget.max_tokens})"
        try:
            reply = caller.invoke(messages, iteration)
        except RecordFailed:
            raise
        except Exception as exc:
            return None, _endpoint_failure(exc)
        messages.append(reply)
        if reply.tool_calls or reply.invalid_tool_calls:
            if warned_budget:
                return None, f"tool-call budget exhausted ({budget.max_tool_calls} calls)"
            before = toolbox.budget_refusals
            for call in reply.tool_calls:
                result = toolbox.call(call["name"], call["args"], call["id"])
                messages.append(ToolMessage(toolbox.render(result), tool_call_id=call["id"] or ""))
            for bad in reply.invalid_tool_calls:
                name = toolbox.resolve(bad.get("name") or "") or (bad.get("name") or "")
                result = toolbox.refuse(
                    name, bad.get("args") or "", "arguments are not valid JSON", bad.get("id")
                )
                reply_id = bad.get("id") or ""
                messages.append(ToolMessage(toolbox.render(result), tool_call_id=reply_id))
            if toolbox.budget_refusals > before:
                warned_budget = True
                messages.append(HumanMessage(budget_message(budget)))
            continue
        try:
            return parse_finding(reply.text, agent=brief.agent, produced_by=produced_by), None
        except AnswerInvalid as exc:
            if not repairs_left:
                return None, f"model answer still invalid after one repair: {exc}"[:500]
            repairs_left -= 1
            messages.append(HumanMessage(repair_message(str(exc))))
    return None, f"iteration limit reached ({budget.max_iterations} model calls)"


def _endpoint_failure(exc: Exception) -> str:
    if is_transient(exc):
        return f"model endpoint still failing after retries: {describe(exc)}"
    return f"model endpoint error: {describe(exc)}"
