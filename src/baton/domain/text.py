"""Text from data (alerts, logs, tickets, models, runbooks) made safe to show a person.

A terminal obeys escape sequences: `\\x1b[2K` in an incident title erased the line above it
in `baton pending`. Everything printed or rendered from data goes through `printable`.
"""

from __future__ import annotations

import re

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""C0/C1 controls, and the bidirectional overrides that reorder what follows them on screen
(`\u202e` in an alert title reversed the trusted fields printed after it)."""


def printable(value: object) -> str:
    """`value` as text without terminal escapes or control characters (newlines, tabs stay)."""
    return _CONTROL.sub("", _ANSI.sub("", str(value if value is not None else "")))


_TO_APPROVER = re.compile(
    r"\b(ignore (all |any )?(previous|prior|above|earlier) (instructions|prompts?)|approve "
    r"(this|it|now|immediately|the)|you (must|should|need to) approve|run [\w.]+ now|do not "
    r"(reject|question|verify)|(system|admin) override)\b",
    re.IGNORECASE,
)
OFFLINE = "offline"


def written_by_model(produced_by: str | None) -> bool:
    """A finding written by a language model (`openai:<model>`), not by the offline code."""
    return bool(produced_by) and produced_by != OFFLINE


def addresses_approver(text: str) -> bool:
    """Text that speaks to the approver ("approve this", "ignore previous instructions"):
    a finding never should; a proposal is computed by code, and a person decides."""
    return bool(_TO_APPROVER.search(text))
