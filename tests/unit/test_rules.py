"""`rules.checker` (each node's precheck, with its usual case decided without lookups)
says exactly what `rules.precheck` says, for every mix of need statuses."""

from __future__ import annotations

import itertools

from baton.domain.status import TaskStatus
from baton.graph.rules import checker, precheck
from baton.graph.state import RunState, TaskState
from baton.runbooks.dag import effective_needs
from baton.runbooks.loader import parse_runbook

RUNBOOK = parse_runbook(
    """
id: rules
title: Rules
owner: sre
tasks:
  - {id: act, type: action, title: Act, executor: wait, params: {seconds: 0}}
  - {id: soft, type: action, title: Soft, executor: wait, params: {seconds: 0},
     on_failure: continue}
  - {id: gate, type: approval, title: Gate, approvers: [sre]}
  - {id: pick, type: decision, title: Pick, options: [left, right],
     on: {left: [left], right: [right]}, assignee: sre}
  - {id: left, type: action, title: Left, executor: wait, params: {seconds: 0}}
  - {id: right, type: action, title: Right, executor: wait, params: {seconds: 0}}
  - {id: join, type: action, title: Join, executor: wait, params: {seconds: 0},
     needs: [act, soft, gate]}
  - {id: after, type: action, title: After, executor: wait, params: {seconds: 0},
     needs: [left, right]}
""",
    "rules.yaml",
).runbook
STATUSES = [None, *(s.value for s in TaskStatus)]


def states(needs: list[str]) -> list[RunState]:
    """Every mix of statuses (or no entry) of `needs`, with and without a halt, and with
    each choice a decision among them could have made."""
    found: list[RunState] = []
    for mix in itertools.product(STATUSES, repeat=len(needs)):
        for halt in (None, "", "stopped"):
            for choice in (None, "left", "right"):
                tasks: dict[str, TaskState] = {}
                for need, status in zip(needs, mix, strict=True):
                    if status is None:
                        continue
                    entry: TaskState = {"status": status}
                    if need == "pick" and choice is not None:
                        entry["choice"] = choice
                    tasks[need] = entry
                found.append({"tasks": tasks, "halt": halt})
    return found


def test_checker_agrees_with_precheck_for_every_task_and_state():
    needs = effective_needs(RUNBOOK)
    for task in RUNBOOK.steps:
        check = checker(RUNBOOK, task.id, needs[task.id])
        for state in states(needs[task.id]):
            assert check(state) == precheck(RUNBOOK, task.id, needs[task.id], state), (
                task.id,
                state,
            )


def test_checker_reads_a_state_without_tasks():
    check = checker(RUNBOOK, "act", [])
    assert check({"halt": None}) == precheck(RUNBOOK, "act", [], {"halt": None})  # type: ignore[typeddict-item]
