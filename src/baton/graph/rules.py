"""Whether a task runs, is skipped or is cancelled, from the state of what it needs. Pure.

- the run halted (a `fail` task failed, or someone cancelled) → cancelled
- a need failed under `on_failure: fail`, or was cancelled → cancelled
- a need is an approval that was not granted → skipped (a gate protects what follows it)
- a decision upstream chose a branch that does not lead here → skipped
- every need was skipped → skipped (a join after branches runs if any branch ran)
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from baton.domain.status import TaskStatus
from baton.graph.state import RunState
from baton.runbooks.model import DecisionTask, Runbook


class Readiness(StrEnum):
    RUN = "run"
    SKIP = "skip"
    CANCEL = "cancel"


Check = Callable[[RunState], tuple[Readiness, str | None]]
_RUN: tuple[Readiness, str | None] = (Readiness.RUN, None)
_SUCCEEDED = TaskStatus.SUCCEEDED.value


def checker(runbook: Runbook, task_id: str, needs: list[str]) -> Check:
    """`precheck` for one task, with what never changes looked up once (each node's).

    The usual case (no halt, every need succeeded, none of them a decision) is `run`
    whatever `precheck` would look at; it costs one status read per need. Anything else
    goes to `precheck`.
    """
    plain = not any(isinstance(runbook.task(n), DecisionTask) for n in needs)
    waits_on = tuple(needs)

    def check(state: RunState) -> tuple[Readiness, str | None]:
        if plain and not state.get("halt"):
            tasks = state.get("tasks", {})
            for need in waits_on:
                entry = tasks.get(need)
                if entry is None or entry["status"] != _SUCCEEDED:
                    break
            else:
                return _RUN
        return precheck(runbook, task_id, needs, state)

    return check


def precheck(
    runbook: Runbook, task_id: str, needs: list[str], state: RunState
) -> tuple[Readiness, str | None]:
    """(verdict, reason) for `task_id` given the statuses of its effective needs."""
    if state.get("halt"):
        return Readiness.CANCEL, f"run halted: {state['halt']}"
    tasks = state.get("tasks", {})
    statuses = {n: tasks[n]["status"] if n in tasks else TaskStatus.PENDING for n in needs}
    for need, status in statuses.items():
        if status == TaskStatus.CANCELLED:
            return Readiness.CANCEL, f"{need} was cancelled"
        if status == TaskStatus.FAILED:
            upstream = runbook.task(need)
            if upstream.type == "approval":
                return Readiness.SKIP, f"approval {need} was not granted"
            if upstream.on_failure == "fail":
                return Readiness.CANCEL, f"{need} failed"
    for need in needs:
        upstream = runbook.task(need)
        if isinstance(upstream, DecisionTask) and statuses[need] == TaskStatus.SUCCEEDED:
            in_branches = any(task_id in targets for targets in upstream.on.values())
            choice = tasks[need].get("choice")
            if in_branches and task_id not in upstream.on.get(choice or "", []):
                return Readiness.SKIP, f"{need} chose {choice!r}"
    if needs and all(s == TaskStatus.SKIPPED for s in statuses.values()):
        return Readiness.SKIP, "everything it needs was skipped"
    return Readiness.RUN, None
