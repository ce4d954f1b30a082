"""Runbook → compiled LangGraph StateGraph.

Every task is a node. A task with no needs starts from START; a task with one need follows
it; a task with several needs waits on a list-form barrier edge, so it fires once, after
all of them, whatever their branch lengths. Tasks whose needs are met run in the same
superstep. Decisions route through state (see `rules.precheck`), not conditional edges,
because a barrier would wait forever for a branch that never ran.
"""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from baton.domain.status import ItemKind
from baton.errors import RunbookInvalid
from baton.graph.deps import EngineDeps
from baton.graph.nodes import action_node, decision_node, gate_node
from baton.graph.state import RunState
from baton.runbooks.dag import effective_needs
from baton.runbooks.model import ActionTask, DecisionTask, Runbook

RunGraph = CompiledStateGraph[RunState, Any, RunState, RunState]


def compile_runbook(
    runbook: Runbook, deps: EngineDeps, checkpointer: BaseCheckpointSaver[Any]
) -> RunGraph:
    needs = effective_needs(runbook)
    builder: StateGraph[RunState, Any, RunState, RunState] = StateGraph(RunState)
    for task in runbook.tasks:
        task_needs = needs[task.id]
        if isinstance(task, ActionTask):
            if task.executor not in deps.executors:
                raise RunbookInvalid([f"task {task.id}: no executor {task.executor!r}"])
            node = action_node(deps, runbook, task, task_needs)
        elif isinstance(task, DecisionTask):
            node = decision_node(deps, runbook, task, task_needs)
        elif task.type == "approval":
            node = gate_node(deps, runbook, task.id, ItemKind.APPROVAL, task_needs)
        elif task.type == "human":
            node = gate_node(deps, runbook, task.id, ItemKind.HUMAN, task_needs)
        else:
            raise RunbookInvalid([f"task {task.id}: {task.type} tasks cannot run yet"])
        builder.add_node(task.id, node)  # type: ignore[call-overload]
    needed = {n for task_needs in needs.values() for n in task_needs}
    for task in runbook.tasks:
        task_needs = needs[task.id]
        if not task_needs:
            builder.add_edge(START, task.id)
        elif len(task_needs) == 1:
            builder.add_edge(task_needs[0], task.id)
        else:
            builder.add_edge(list(task_needs), task.id)
        if task.id not in needed:
            builder.add_edge(task.id, END)
    return builder.compile(checkpointer=checkpointer)


def recursion_limit(runbook: Runbook) -> int:
    """Supersteps a run may take: a chain of every task plus slack, never the library default."""
    return 2 * len(runbook.tasks) + 10
