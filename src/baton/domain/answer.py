"""A settled item: what the graph resumes with once people (or a timeout) have answered.

Stored as JSON on the item (`pending_items.answer`) and read back through this model, so
the writer (`graph.answers`, the runner's timeout) and the readers (the task, gate and
verification nodes) agree on one shape instead of string keys.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from baton.domain.status import TaskStatus


class Settled(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    status: TaskStatus
    reason: str | None = None
    by: str | None = None
    choice: str | None = None
    expired: bool = False
    """No one answered in time: the item's timeout applied."""
    approved_by: list[str] = Field(default_factory=list)
    approved_hash: str | None = Field(
        default=None, description="The proposal hash a gate's approvers approved."
    )
    changes: dict[str, Any] | None = Field(
        default=None, description="Parameters an approver changed as they approved."
    )
    changed: bool = False
    break_glass: bool = False

    @property
    def failed(self) -> bool:
        return self.status is TaskStatus.FAILED

    def stored(self) -> dict[str, Any]:
        """The JSON the item keeps (unset fields left out, as they always were)."""
        return self.model_dump(mode="json", exclude_defaults=True) | {"status": self.status.value}

    @classmethod
    def of(cls, stored: dict[str, Any] | None) -> Settled | None:
        return None if stored is None else cls.model_validate(stored)
