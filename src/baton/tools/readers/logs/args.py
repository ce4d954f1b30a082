"""Argument schemas of the log tools: what a model (or the offline reasoner) may ask."""

from __future__ import annotations

from datetime import datetime
from typing import Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator


class _Window(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @staticmethod
    def _check(start: datetime | None, end: datetime | None, what: str) -> None:
        if start is not None and end is not None and start >= end:
            raise ValueError(f"{what}_start ({start.isoformat()}) must be before {what}_end")


class SearchArgs(_Window):
    """Find log lines containing a literal text."""

    query: str = Field(
        default="",
        max_length=200,
        description="Literal text to look for, case-insensitive (not a regex). Empty matches "
        "every line (use with template_id).",
    )
    template_id: str | None = Field(
        default=None, max_length=32, description="Only lines of this template (logs.templates)."
    )
    window_start: AwareDatetime | None = Field(
        default=None, description="Earliest line time, inclusive (ISO 8601 with zone)."
    )
    window_end: AwareDatetime | None = Field(
        default=None, description="Latest line time, exclusive (ISO 8601 with zone)."
    )
    limit: int = Field(default=20, ge=1, le=200, description="Most lines returned.")

    @model_validator(mode="after")
    def _valid(self) -> Self:
        if not self.query and not self.template_id:
            raise ValueError("give a query or a template_id")
        self._check(self.window_start, self.window_end, "window")
        return self


class TemplatesArgs(_Window):
    """Which log templates occur in a window, most frequent first."""

    window_start: AwareDatetime = Field(description="Window start, inclusive (ISO 8601).")
    window_end: AwareDatetime = Field(description="Window end, exclusive (ISO 8601).")
    limit: int = Field(default=20, ge=1, le=100, description="Most templates returned.")

    @model_validator(mode="after")
    def _valid(self) -> Self:
        self._check(self.window_start, self.window_end, "window")
        return self


class CompareArgs(_Window):
    """How the incident window differs from a baseline window."""

    window_start: AwareDatetime = Field(description="Incident window start (ISO 8601).")
    window_end: AwareDatetime = Field(description="Incident window end, exclusive.")
    baseline_start: AwareDatetime = Field(description="Baseline ('normal') window start.")
    baseline_end: AwareDatetime = Field(description="Baseline window end, exclusive.")
    limit: int = Field(default=10, ge=1, le=50, description="Most templates per list.")

    @model_validator(mode="after")
    def _valid(self) -> Self:
        self._check(self.window_start, self.window_end, "window")
        self._check(self.baseline_start, self.baseline_end, "baseline")
        return self
