"""A durable delay: the due time is fixed by the ledger's intent, not by when we resume.

After a crash the wait is re-run (it is idempotent) with the same `intent_at`, so it sleeps
only what is left of the original delay, or not at all if the due time has passed. A
runner with a scheduler (`baton serve`, `baton worker`) does not let it sleep at all when
the due time is further away than its threshold: the task parks until `due_at` and the run
is advanced again then (`graph.actions.perform`), so no worker slot is held by a timer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from baton.domain.envelope import ActionResult, ResultStatus
from baton.domain.params import WaitParams
from baton.tools.executors.base import ExecutionContext, now_utc, require_params


class WaitExecutor:
    """Executor `wait`: until `intent_at + seconds`, or time out at `intent_at + timeout`."""

    name = "wait"
    params_model: type[BaseModel] = WaitParams

    def __init__(
        self,
        clock: Callable[[], datetime] = now_utc,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._clock = clock
        self._sleep = sleep

    def is_idempotent(self, params: BaseModel) -> bool:
        """Waiting twice for the same due time waits once."""
        require_params(params, WaitParams)
        return True

    def describe(self, params: BaseModel) -> dict[str, Any]:
        return {"seconds": require_params(params, WaitParams).seconds}

    def due_at(self, params: BaseModel, ctx: ExecutionContext) -> datetime:
        """When `execute` returns without sleeping: the due time, or the timeout if sooner."""
        p = require_params(params, WaitParams)
        seconds = p.seconds if ctx.timeout is None else min(p.seconds, ctx.timeout)
        return ctx.intent_at + timedelta(seconds=seconds)

    def execute(self, params: BaseModel, ctx: ExecutionContext) -> ActionResult:
        p = require_params(params, WaitParams)
        due_at = ctx.intent_at + timedelta(seconds=p.seconds)
        due = due_at.isoformat()
        ends = due_at if ctx.timeout is None else self.due_at(p, ctx)
        remaining = max((ends - self._clock()).total_seconds(), 0.0)
        invocation = {"seconds": p.seconds, "due_at": due, "timeout": ctx.timeout}
        if remaining > 0:
            self._sleep(remaining)
        if ctx.timeout is not None and p.seconds > ctx.timeout:
            return ActionResult(
                status=ResultStatus.TIMEOUT,
                data={"due_at": due, "waited_seconds": remaining},
                error=f"timed out after {ctx.timeout:g}s; due at {due}",
                invocation=invocation,
            )
        return ActionResult(
            status=ResultStatus.SUCCEEDED,
            data={"due_at": due, "waited_seconds": remaining},
            invocation=invocation,
        )
