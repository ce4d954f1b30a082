"""The read-only tool seam shared by every agent tool and the tool-calling loop."""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel, Field


class ToolResult(BaseModel):
    """The one envelope every read-only tool returns. Expected failures are results too."""

    tool: str
    ok: bool
    data: Any = None
    error: str | None = None
    truncated: bool = Field(default=False, description="True when rows or text were cut.")


class ReadTool(Protocol):
    """A named, schema-described, side-effect-free query (e.g. `itsm.recent_changes`)."""

    name: str
    description: str
    args_model: type[BaseModel]

    def call(self, args: BaseModel) -> ToolResult:
        """Answer one query; never raise for bad data or a missing record."""
        ...
