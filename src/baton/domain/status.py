"""Lifecycle states of tasks, runs and pending items."""

from __future__ import annotations

from enum import StrEnum


class TaskStatus(StrEnum):
    """`pending → running → waiting → succeeded | failed | skipped | cancelled`."""

    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL_TASK


_TERMINAL_TASK = {
    TaskStatus.SUCCEEDED,
    TaskStatus.FAILED,
    TaskStatus.SKIPPED,
    TaskStatus.CANCELLED,
}


class RunStatus(StrEnum):
    """A run is `running` while a process advances it and `waiting` on people or timers."""

    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in {RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED}


class ItemKind(StrEnum):
    """What a pending item asks of a person."""

    APPROVAL = "approval"
    HUMAN = "human"
    DECISION = "decision"
    FALLBACK = "fallback"
    VERIFY = "verify"
    """A person confirms that a pattern's action worked (its `verify: human`)."""
    REVIEW = "review"
    """After-the-fact review of a break-glass approval; never blocks the run."""


class ItemStatus(StrEnum):
    PENDING = "pending"
    ANSWERED = "answered"
    APPLIED = "applied"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class Stage(StrEnum):
    """Which of a task's items: its own (plain), or a pattern task's gate, verification or
    break-glass review. Staged items are consumed by their node; plain ones move the task."""

    TASK = ""
    GATE = "gate"
    VERIFY = "verify"
    REVIEW = "review"
