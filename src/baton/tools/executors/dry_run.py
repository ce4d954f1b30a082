"""Dry-run mode (`BATON_DRY_RUN=1`): command and http actions are recorded, not performed.

The shipped catalog's patterns call real `kubectl`, real Unleash and PagerDuty APIs when a
gate is approved. A home in dry-run mode goes through everything else for real (gates,
separation of duties, the ledger, the audit trail), records the exact invocation it would
have made, and reports success without touching anything. Dry runs never count as
promotion evidence.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from baton.domain.envelope import ActionResult, ResultStatus
from baton.tools.executors.base import ExecutionContext, Executor


class DryRun:
    """Wraps an executor: same parameters and invocation, no effect."""

    def __init__(self, inner: Executor) -> None:
        self.inner = inner
        self.name = inner.name
        self.params_model: type[BaseModel] = inner.params_model

    def is_idempotent(self, params: BaseModel) -> bool:
        return True  # nothing happens, so repeating it is safe

    def describe(self, params: BaseModel) -> dict[str, Any]:
        return {**self.inner.describe(params), "dry_run": True}

    def execute(self, params: BaseModel, ctx: ExecutionContext) -> ActionResult:
        would = self.inner.describe(params)
        return ActionResult(
            status=ResultStatus.SUCCEEDED,
            data={"dry_run": True, "would_run": would},
            invocation={**would, "dry_run": True},
        )
