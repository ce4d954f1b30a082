"""What an agent reports: findings with quoted, provenance-tagged evidence.

Log lines and ticket fields are attacker-influenced text. They enter a finding only as a
`Quote`: truncated, tagged with where they came from, and never interpreted.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

QUOTE_LIMIT = 400
"""Characters kept of one quoted line or field."""


class AgentName(StrEnum):
    ITSM_CHANGE = "itsm_change"
    LOG_ANALYSIS = "log_analysis"


class Quote(BaseModel):
    """A verbatim excerpt of hostile text, kept as data: where it came from and what it said."""

    model_config = ConfigDict(frozen=True)

    source: str = Field(
        description="Provenance, e.g. 'logs:app.log:1042' or "
        "'itsm:change_request/CHG0030001#short_description'."
    )
    text: str
    truncated: bool = False

    @classmethod
    def of(cls, source: str, text: str, limit: int = QUOTE_LIMIT) -> Quote:
        """Quote `text`, cut to `limit` characters, control characters made visible."""
        clean = "".join(ch if ch.isprintable() or ch == " " else f"\\x{ord(ch):02x}" for ch in text)
        if len(clean) <= limit:
            return cls(source=source, text=clean)
        return cls(source=source, text=clean[:limit], truncated=True)


class SuspectKind(StrEnum):
    CHANGE = "change"
    LOG_TEMPLATE = "log_template"
    COMPONENT = "component"


class Suspect(BaseModel):
    """One candidate cause, ranked by `score` (0..1), with the evidence that points at it."""

    kind: SuspectKind
    ref: str = Field(description="Change number, template id or component name.")
    title: str
    score: float = Field(ge=0.0, le=1.0)
    ci: str | None = Field(default=None, description="Configuration item it concerns, if any.")
    reasons: list[str] = Field(default_factory=list, description="Why it ranks where it does.")
    quotes: list[Quote] = Field(default_factory=list)
    facts: dict[str, Any] = Field(default_factory=dict, description="Structured, typed details.")


class Finding(BaseModel):
    """An agent's structured answer; the same type whichever reasoner produced it."""

    agent: AgentName
    produced_by: str = Field(description="'offline' or '<provider>:<model>'.")
    summary: str
    abstained: bool = Field(
        default=False, description="True when nothing in the data explains the incident."
    )
    confidence: float = Field(ge=0.0, le=1.0)
    suspects: list[Suspect] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="Gaps: empty logs, unknown CIs.")
