"""Node factories: one node per task.

Every node first asks `rules.precheck` whether it runs; skipped and cancelled tasks still
execute their node (cheaply) so fan-in barriers always fire. Gate nodes (approval, human,
decision by a person) hold nothing but `interrupt()` and pure code on the path that waits:
LangGraph re-runs every pending gate whenever any one of them is answered. What a person
decided is written to the database by the answering code before the graph is resumed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import interrupt
from pydantic import ValidationError

from baton.domain import actor
from baton.domain.status import ItemKind, TaskStatus
from baton.graph.actions import perform
from baton.graph.context import template_context, uses_templates
from baton.graph.deps import EngineDeps
from baton.graph.rules import Verdict, precheck
from baton.graph.state import RunState, TaskState
from baton.runbooks.model import ActionTask, DecisionTask, Runbook
from baton.runbooks.template import TemplateError, evaluate, render_value
from baton.store import runs as run_store
from baton.store.db import transaction
from baton.store.items import item_id_for

Node = Callable[[RunState, RunnableConfig], dict[str, Any]]


def run_id_of(config: RunnableConfig) -> str:
    return str(config["configurable"]["thread_id"])


def _update(task_id: str, status: TaskStatus, *, choice: str | None = None) -> dict[str, Any]:
    entry: TaskState = {"status": status.value}
    if choice is not None:
        entry["choice"] = choice
    return {"tasks": {task_id: entry}}


def _conclude(
    deps: EngineDeps,
    run_id: str,
    task_id: str,
    status: TaskStatus,
    reason: str | None,
    *,
    halt: str | None = None,
    output: dict[str, Any] | None = None,
    by: str = actor.SYSTEM,
    choice: str | None = None,
) -> dict[str, Any]:
    with transaction(deps.sessions) as session:
        run_store.transition_task(
            session,
            run_id=run_id,
            task_id=task_id,
            status=status,
            actor=by,
            output=output,
            error=reason if status is TaskStatus.FAILED else None,
            detail={"reason": reason} if reason else None,
        )
    update = _update(task_id, status, choice=choice)
    if halt:
        update["halt"] = halt
    return update


def _gatekeep(
    deps: EngineDeps,
    runbook: Runbook,
    task_id: str,
    needs: list[str],
    when: str | None,
    state: RunState,
    run_id: str,
) -> dict[str, Any] | None:
    """The update for a task that does not run, or None when it should run."""
    verdict, reason = precheck(runbook, task_id, needs, state)
    if verdict is Verdict.CANCEL:
        return _conclude(deps, run_id, task_id, TaskStatus.CANCELLED, reason)
    if verdict is Verdict.SKIP:
        return _conclude(deps, run_id, task_id, TaskStatus.SKIPPED, reason)
    if when is not None:
        with deps.sessions() as session:
            context = template_context(session, run_id=run_id)
        try:
            go = bool(evaluate(when, context))
        except TemplateError as exc:
            return _fail(deps, runbook, run_id, task_id, f"`when` failed: {exc}")
        if not go:
            return _conclude(deps, run_id, task_id, TaskStatus.SKIPPED, f"when: {when} is false")
    return None


def _fail(
    deps: EngineDeps, runbook: Runbook, run_id: str, task_id: str, error: str, by: str = "system"
) -> dict[str, Any]:
    halts = runbook.task(task_id).on_failure == "fail"
    return _conclude(
        deps,
        run_id,
        task_id,
        TaskStatus.FAILED,
        error,
        halt=f"task {task_id} failed: {error}" if halts else None,
        by=by,
    )


def action_node(deps: EngineDeps, runbook: Runbook, task: ActionTask, needs: list[str]) -> Node:
    executor = deps.executors[task.executor]

    def node(state: RunState, config: RunnableConfig) -> dict[str, Any]:
        run_id = run_id_of(config)
        skipped = _gatekeep(deps, runbook, task.id, needs, task.when, state, run_id)
        if skipped is not None:
            return skipped
        raw: Any = task.params
        if uses_templates(task.params):
            with deps.sessions() as session:
                context = template_context(session, run_id=run_id)
            try:
                raw = render_value(task.params, context)
            except TemplateError as exc:
                return _fail(deps, runbook, run_id, task.id, f"params: {exc}")
        try:
            params = executor.params_model.model_validate(raw)
        except ValidationError as exc:
            return _fail(deps, runbook, run_id, task.id, f"params after rendering: {exc}")
        to_human = task.on_failure == "human"
        outcome = perform(
            deps,
            run_id=run_id,
            task=task,
            executor=executor,
            params=params,
            hand_failure_to_human=to_human,
        )
        if outcome.ok:
            return _update(task.id, TaskStatus.SUCCEEDED)
        if outcome.in_doubt or to_human:
            # Everything above is ledger-guarded and idempotent, so re-running this node on
            # resume reaches this interrupt again without repeating the effect.
            answer = interrupt(_interrupt_payload(run_id, task.id, ItemKind.FALLBACK))
            return _resolved(task.id, task.on_failure, answer)
        error = outcome.result.error if outcome.result else "failed"
        update = _update(task.id, TaskStatus.FAILED)
        if task.on_failure == "fail":
            update["halt"] = f"task {task.id} failed: {error}"
        return update

    return node


def gate_node(deps: EngineDeps, runbook: Runbook, task_id: str, kind: ItemKind, needs: list[str]) -> Node:
    task = runbook.task(task_id)

    def node(state: RunState, config: RunnableConfig) -> dict[str, Any]:
        run_id = run_id_of(config)
        skipped = _gatekeep(deps, runbook, task_id, needs, task.when, state, run_id)
        if skipped is not None:
            return skipped
        answer = interrupt(_interrupt_payload(run_id, task_id, kind))
        return _resolved(task_id, task.on_failure, answer)

    return node


def decision_node(deps: EngineDeps, runbook: Runbook, task: DecisionTask, needs: list[str]) -> Node:
    """A decision with `choose` routes on data; without it, it is a gate for a person."""
    if task.choose is None:
        return gate_node(deps, runbook, task.id, ItemKind.DECISION, needs)
    choose = task.choose

    def node(state: RunState, config: RunnableConfig) -> dict[str, Any]:
        run_id = run_id_of(config)
        skipped = _gatekeep(deps, runbook, task.id, needs, task.when, state, run_id)
        if skipped is not None:
            return skipped
        with deps.sessions() as session:
            context = template_context(session, run_id=run_id)
        try:
            choice = str(evaluate(choose, context))
        except TemplateError as exc:
            return _fail(deps, runbook, run_id, task.id, f"choose: {exc}")
        if choice not in task.options:
            return _fail(
                deps, runbook, run_id, task.id, f"choose gave {choice!r}, not one of {task.options}"
            )
        return _conclude(
            deps,
            run_id,
            task.id,
            TaskStatus.SUCCEEDED,
            None,
            output={"choice": choice},
            by=actor.automation("decision"),
            choice=choice,
        )

    return node


def _interrupt_payload(run_id: str, task_id: str, kind: ItemKind) -> dict[str, str]:
    return {"item_id": item_id_for(run_id, task_id), "task_id": task_id, "kind": kind.value}


def _resolved(task_id: str, on_failure: str, answer: Any) -> dict[str, Any]:
    """The state update once a person answered (their decision is already in the database)."""
    status = TaskStatus(answer["status"])
    update = _update(task_id, status, choice=answer.get("choice"))
    if status is TaskStatus.FAILED and on_failure != "continue":
        update["halt"] = f"task {task_id}: {answer.get('reason') or 'failed'}"
    if status is TaskStatus.CANCELLED:
        update["halt"] = answer.get("reason") or "cancelled"
    return update
