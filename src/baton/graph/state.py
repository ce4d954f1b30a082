"""Graph state: ids, statuses and small values only (outputs live in app tables).

Checkpoints store every changed channel in full at every step, so nothing bulky goes here.
"""

from __future__ import annotations

from typing import Annotated, NotRequired, TypedDict


class TaskState(TypedDict):
    status: str
    choice: NotRequired[str]
    until: NotRequired[str]
    """A task parked on a timer (a wait, a retry's backoff): ISO time it is due again."""


def merge_tasks(left: dict[str, TaskState], right: dict[str, TaskState]) -> dict[str, TaskState]:
    """Parallel nodes each report their own task; merge by task id."""
    return {**left, **right}


def first_reason(left: str | None, right: str | None) -> str | None:
    """The first reason a run halted wins; later ones are consequences."""
    return left or right


class RunState(TypedDict):
    tasks: Annotated[dict[str, TaskState], merge_tasks]
    halt: Annotated[str | None, first_reason]


def initial_state() -> RunState:
    return {"tasks": {}, "halt": None}
