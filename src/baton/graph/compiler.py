"""Runbook → compiled LangGraph StateGraph.

Every task is a node. Tasks with no needs start from START. When a task concludes, its
node hands control (`Command(goto=...)`) to the tasks that need it; each of those runs once
all its needs are terminal (see `nodes.guarded`), so a join fires once, after its slowest
branch. A task that parks (waiting on a person) goes nowhere, so its branch pauses while
the others go on.
Tasks whose needs are met in the same superstep run in parallel. Decisions route through
state (`rules.precheck`): tasks on the branches not chosen conclude as skipped.
"""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from baton.domain.status import ItemKind
from baton.errors import RunbookInvalid
from baton.graph.deps import EngineDeps
from baton.graph.nodes import action_node, agent_node, decision_node, gate_node, pattern_node
from baton.graph.state import RunState
from baton.runbooks.dag import effective_needs
from baton.runbooks.model import ActionTask, AgentTask, DecisionTask, Runbook

RunGraph = CompiledStateGraph[RunState, Any, RunState, RunState]


def compile_runbook(
    runbook: Runbook, deps: EngineDeps, checkpointer: BaseCheckpointSaver[Any]
) -> RunGraph:
    needs = effective_needs(runbook)
    builder: StateGraph[RunState, Any, RunState, RunState] = StateGraph(RunState)
    for task in runbook.steps:
        task_needs = needs[task.id]
        successors = [t.id for t in runbook.steps if task.id in needs[t.id]]
        if isinstance(task, ActionTask) and task.pattern is not None:
            deps.catalog.require(task.pattern)
            node = pattern_node(deps, runbook, task, task_needs, successors)
        elif isinstance(task, ActionTask):
            if task.executor not in deps.executors:
                raise RunbookInvalid([f"task {task.id}: no executor {task.executor!r}"])
            node = action_node(deps, runbook, task, task_needs, successors)
        elif isinstance(task, AgentTask):
            node = agent_node(deps, runbook, task, task_needs, successors)
        elif isinstance(task, DecisionTask):
            node = decision_node(deps, runbook, task, task_needs, successors)
        elif task.type == "approval":
            node = gate_node(deps, runbook, task.id, ItemKind.APPROVAL, task_needs, successors)
        elif task.type == "human":
            node = gate_node(deps, runbook, task.id, ItemKind.HUMAN, task_needs, successors)
        else:
            raise RunbookInvalid([f"task {task.id}: {task.type} tasks cannot run yet"])
        builder.add_node(task.id, node, destinations=tuple(successors) or (END,))  # type: ignore[call-overload]
    for task in runbook.steps:
        if not needs[task.id]:
            builder.add_edge(START, task.id)
    return builder.compile(checkpointer=checkpointer)


def recursion_limit(runbook: Runbook) -> int:
    """Supersteps one invocation may take: a chain of every task plus slack, never the default."""
    return 2 * len(runbook.steps) + 10
