"""A durable delay: the due time is fixed by the ledger's intent, not by when we resume.

After a crash the wait is re-run (it is idempotent) with the same `intent_at`, so it sleeps
only what is left of the original delay, or not at all if the due time has passed.
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
    """Executor `wait`: sleep until `intent_at + seconds`, honouring the task timeout."""

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

    def execute(self, params: BaseModel, ctx: ExecutionContext) -> ActionResult:
        p = require_params(params, WaitParams)
        due_at = ctx.intent_at + timedelta(seconds=p.seconds)
        due = due_at.isoformat()
        remaining = max((due_at - self._clock()).total_seconds(), 0.0)
        invocation = {"seconds": p.seconds, "due_at": due, "timeout": ctx.timeout}
        if ctx.timeout is not None and remaining > ctx.timeout:
            self._sleep(ctx.timeout)
            return ActionResult(
                status=ResultStatus.TIMEOUT,
                data={"due_at": due, "waited_seconds": ctx.timeout},
                error=f"timed out after {ctx.timeout:g}s; due at {due}",
                invocation=invocation,
            )
        if remaining > 0:
            self._sleep(remaining)
        return ActionResult(
            status=ResultStatus.SUCCEEDED,
            data={"due_at": due, "waited_seconds": remaining},
            invocation=invocation,
        )
