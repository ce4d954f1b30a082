"""Node factories: one node per task, each wrapped by `guarded`.

A node runs when one of its needs finishes; it does nothing until *all* of them are
terminal (the last one to finish triggers it again). Skipped and cancelled tasks still
conclude in their node, so what follows them is always triggered.

Gates (approval, human, decision by a person) and failed actions handed to a person do
not call `interrupt()`: LangGraph halts the whole graph at the end of any superstep with a
pending interrupt, so one waiting gate would freeze every parallel branch. Instead the
node *parks*: it opens a pending item and reports `waiting`, its branch stops, the other
branches carry on. When a person answers, the runner re-enters the node with
`Command(goto=task)`; it finds the answer in the database and concludes.

Timers park the same way: an action whose wait or retry backoff ends later than the
runner's threshold (`PARK_AFTER` in the config; absent in a foreground CLI, which sleeps)
reports `waiting` with `until`, and the runner re-enters it once that time has come.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.config import get_config
from langgraph.types import Command
from pydantic import BaseModel, ValidationError

from baton.domain import actor
from baton.domain.status import ItemKind, TaskStatus
from baton.graph.actions import Step, perform
from baton.graph.agent_tasks import AgentStep
from baton.graph.context import template_context, uses_templates
from baton.graph.deps import EngineDeps
from baton.graph.inbox import open_item
from baton.graph.pattern_task import PatternTask
from baton.graph.rules import Readiness, checker
from baton.graph.state import RunState, TaskState
from baton.runbooks.model import ActionTask, AgentTask, AnyTask, DecisionTask, Runbook
from baton.runbooks.shell import option_injections
from baton.runbooks.template import TemplateError, evaluate, render_value
from baton.store import items as item_store
from baton.store import runs as run_store

Node = Callable[[RunState, RunnableConfig], dict[str, Any] | Command[str]]
Body = Callable[[RunState, str], dict[str, Any]]
Gate = Callable[[RunState, str], dict[str, Any] | None]

TERMINAL = frozenset(s.value for s in TaskStatus if s.terminal)
"""Terminal statuses as the graph state holds them (a set lookup; `TaskStatus(x)` is not free)."""

PARK_AFTER = "baton_park_after"
"""Config key: timers further ahead than this many seconds park their task (the runner's)."""


def run_id_of(config: RunnableConfig) -> str:
    return str(config["configurable"]["thread_id"])


def guarded(task_id: str, needs: list[str], successors: list[str], body: Body) -> Node:
    """Run `body` once every need is terminal and the task itself is not.

    A task that concludes hands control to the tasks that need it; one that parks (or has
    nothing to do yet) goes nowhere, so only its own branch pauses.
    """

    waits_on = tuple(needs)

    def node(state: RunState, config: RunnableConfig) -> dict[str, Any] | Command[str]:
        tasks = state.get("tasks", {})
        entry = tasks.get(task_id)
        if entry is not None and entry["status"] in TERMINAL:
            return {}
        for need in waits_on:
            entry = tasks.get(need)
            if entry is None or entry["status"] not in TERMINAL:
                return {}
        update = body(state, run_id_of(config))
        entry = update.get("tasks", {}).get(task_id)
        if successors and entry and entry["status"] in TERMINAL:
            return Command(update=update, goto=successors)
        return update

    node.__name__ = task_id
    return node


def _update(task_id: str, status: TaskStatus, *, choice: str | None = None) -> dict[str, Any]:
    entry: TaskState = {"status": status.value}
    if choice is not None:
        entry["choice"] = choice
    return {"tasks": {task_id: entry}}


def _park(
    deps: EngineDeps, run_id: str, task_id: str, until: datetime, reason: str
) -> dict[str, Any]:
    """Park a task on a timer: waiting until `until`, said in its timeline (once)."""
    due = until.isoformat()
    said = f"{reason} until {until.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
    with deps.db.begin() as conn:
        run_store.transition_task(
            conn,
            run_id=run_id,
            task_id=task_id,
            status=TaskStatus.WAITING,
            actor=actor.SYSTEM,
            detail={"until": due, "reason": said},
        )
    entry: TaskState = {"status": TaskStatus.WAITING.value, "until": due}
    return {"tasks": {task_id: entry}}


def _conclude(
    deps: EngineDeps,
    run_id: str,
    task_id: str,
    status: TaskStatus,
    reason: str | None,
    *,
    output: dict[str, Any] | None = None,
    by: str = actor.SYSTEM,
    choice: str | None = None,
) -> dict[str, Any]:
    with deps.db.write() as session:
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
    return _update(task_id, status, choice=choice)


def _ended(
    task: AnyTask, status: TaskStatus, reason: str | None = None, *, choice: str | None = None
) -> dict[str, Any]:
    """The state update for a task that ended. The one halt rule: a failure stops the run
    unless the task says `on_failure: continue` (`human` hands the failure to a person
    before it gets here)."""
    update = _update(task.id, status, choice=choice)
    if status is TaskStatus.FAILED and task.on_failure != "continue":
        update["halt"] = f"task {task.id} failed: {reason or 'no reason given'}"
    return update


def _fail(
    deps: EngineDeps, runbook: Runbook, run_id: str, task_id: str, error: str
) -> dict[str, Any]:
    _conclude(deps, run_id, task_id, TaskStatus.FAILED, error)
    return _ended(runbook.task(task_id), TaskStatus.FAILED, error)


def _gatekeeper(deps: EngineDeps, runbook: Runbook, task_id: str, needs: list[str]) -> Gate:
    """A node's gate: the update for a task that does not run (cancelled, skipped, `when`
    false), or None. Built once per node: the task's checks are looked up once, not per run."""
    check = checker(runbook, task_id, needs)
    when = runbook.task(task_id).when

    def gate(state: RunState, run_id: str) -> dict[str, Any] | None:
        verdict, reason = check(state)
        if verdict is Readiness.CANCEL:
            return _conclude(deps, run_id, task_id, TaskStatus.CANCELLED, reason)
        if verdict is Readiness.SKIP:
            return _conclude(deps, run_id, task_id, TaskStatus.SKIPPED, reason)
        if when is not None:
            with deps.db.read() as session:
                context = template_context(session, run_id=run_id)
            try:
                go = bool(evaluate(when, context, name=f"{task_id}.when"))
            except TemplateError as exc:
                return _fail(deps, runbook, run_id, task_id, str(exc))
            if not go:
                reason = f"when: {when} is false"
                return _conclude(deps, run_id, task_id, TaskStatus.SKIPPED, reason)
        return None

    return gate


def _await_person(
    deps: EngineDeps, runbook: Runbook, run_id: str, task_id: str, kind: ItemKind
) -> dict[str, Any]:
    """Conclude from a person's recorded answer, or park the task on a pending item."""
    with deps.db.read() as session:
        item = item_store.get_item_for_task(session, run_id=run_id, task_id=task_id)
    answer = item_store.settled(item)
    if answer is not None:
        return _ended(runbook.task(task_id), answer.status, answer.reason, choice=answer.choice)
    with deps.db.write() as session:
        open_item(session, run_id=run_id, runbook=runbook, task_id=task_id, kind=kind)
    return _update(task_id, TaskStatus.WAITING)


def action_node(
    deps: EngineDeps, runbook: Runbook, task: ActionTask, needs: list[str], successors: list[str]
) -> Node:
    assert task.executor is not None
    executor = deps.executors[task.executor]
    step = Step.of(task)
    templated = uses_templates(task.params)
    fixed: list[BaseModel] = []  # parameters without templates: validated once, kept here
    gate = _gatekeeper(deps, runbook, task.id, needs)

    def params_for(run_id: str) -> BaseModel | str:
        """The executor's parameters for this run, or why they are not valid."""
        if fixed:
            return fixed[0]
        raw: Any = task.params
        if templated:
            with deps.db.read() as session:
                context = template_context(session, run_id=run_id)
            try:
                raw = render_value(task.params, context, name=f"{task.id}.params")
            except TemplateError as exc:
                return str(exc)
            if task.executor == "command" and (
                injected := option_injections(task.params.get("argv", []), raw.get("argv", []))
            ):
                return (
                    f"argv items rendered from data start with '-' (option injection): {injected}"
                )
        try:
            params = executor.params_model.model_validate(raw)
        except ValidationError as exc:
            return f"params after rendering: {exc}"
        if not templated:
            fixed.append(params)
        return params

    def body(state: RunState, run_id: str) -> dict[str, Any]:
        skipped = gate(state, run_id)
        if skipped is not None:
            return skipped
        params = params_for(run_id)
        if isinstance(params, str):
            return _fail(deps, runbook, run_id, task.id, params)
        to_human = task.on_failure == "human"
        outcome = perform(
            deps,
            run_id=run_id,
            step=step,
            executor=executor,
            params=params,
            hand_failure_to_human=to_human,
            park_after=get_config()["configurable"].get(PARK_AFTER),
            woken="until" in state.get("tasks", {}).get(task.id, {}),
        )
        if outcome.until is not None:
            why = "backing off before a retry" if outcome.result is not None else "waiting"
            return _park(deps, run_id, task.id, outcome.until, why)
        if outcome.ok:
            return _update(task.id, TaskStatus.SUCCEEDED)
        if outcome.in_doubt or to_human:
            return _await_person(deps, runbook, run_id, task.id, ItemKind.FALLBACK)
        error = outcome.result.error if outcome.result else "failed"
        return _ended(task, TaskStatus.FAILED, error)

    return guarded(task.id, needs, successors, body)


def gate_node(
    deps: EngineDeps,
    runbook: Runbook,
    task_id: str,
    kind: ItemKind,
    needs: list[str],
    successors: list[str],
) -> Node:
    gate = _gatekeeper(deps, runbook, task_id, needs)

    def body(state: RunState, run_id: str) -> dict[str, Any]:
        skipped = gate(state, run_id)
        if skipped is not None:
            return skipped
        return _await_person(deps, runbook, run_id, task_id, kind)

    return guarded(task_id, needs, successors, body)


def decision_node(
    deps: EngineDeps, runbook: Runbook, task: DecisionTask, needs: list[str], successors: list[str]
) -> Node:
    """A decision with `choose` routes on data; without it, it is a gate for a person."""
    if task.choose is None:
        return gate_node(deps, runbook, task.id, ItemKind.DECISION, needs, successors)
    choose = task.choose
    gate = _gatekeeper(deps, runbook, task.id, needs)

    def body(state: RunState, run_id: str) -> dict[str, Any]:
        skipped = gate(state, run_id)
        if skipped is not None:
            return skipped
        with deps.db.read() as session:
            context = template_context(session, run_id=run_id)
        try:
            choice = str(evaluate(choose, context, name=f"{task.id}.choose"))
        except TemplateError as exc:
            return _fail(deps, runbook, run_id, task.id, str(exc))
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

    return guarded(task.id, needs, successors, body)


def pattern_node(
    deps: EngineDeps, runbook: Runbook, task: ActionTask, needs: list[str], successors: list[str]
) -> Node:
    """A catalog pattern: gated or autonomous by policy, verified, counted for promotion."""
    gate = _gatekeeper(deps, runbook, task.id, needs)

    def body(state: RunState, run_id: str) -> dict[str, Any]:
        skipped = gate(state, run_id)
        if skipped is not None:
            return skipped
        end = PatternTask(
            deps,
            runbook,
            task,
            run_id,
            park_after=get_config()["configurable"].get(PARK_AFTER),
            woken="until" in state.get("tasks", {}).get(task.id, {}),
        ).visit()
        if end.status is TaskStatus.WAITING:
            if end.until is not None:
                return _park(deps, run_id, task.id, end.until, end.reason or "waiting")
            if end.fallback:
                return _await_person(deps, runbook, run_id, task.id, ItemKind.FALLBACK)
            return _update(task.id, TaskStatus.WAITING)
        return _ended(task, end.status, end.reason)

    return guarded(task.id, needs, successors, body)


def agent_node(
    deps: EngineDeps, runbook: Runbook, task: AgentTask, needs: list[str], successors: list[str]
) -> Node:
    """An AI agent: a finding for later tasks, or a person investigating by hand."""
    gate = _gatekeeper(deps, runbook, task.id, needs)

    def body(state: RunState, run_id: str) -> dict[str, Any]:
        skipped = gate(state, run_id)
        if skipped is not None:
            return skipped
        status = AgentStep(deps, task, run_id).visit()
        return _ended(task, status, "the manual investigation failed")

    return guarded(task.id, needs, successors, body)
