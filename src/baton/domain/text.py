"""Text from data (alerts, logs, tickets, models, runbooks) made safe to show a person.

A terminal obeys escape sequences: `\\x1b[2K` in an incident title erased the line above it
in `baton pending`. Everything printed or rendered from data goes through `printable`.
"""

from __future__ import annotations

import re

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def printable(value: object) -> str:
    """`value` as text without terminal escapes or control characters (newlines, tabs stay)."""
    return _CONTROL.sub("", _ANSI.sub("", str(value if value is not None else "")))
