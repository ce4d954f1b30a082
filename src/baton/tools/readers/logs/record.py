"""One parsed log line: when, how severe, from which component, what it said, where it is."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
"""Canonical levels, least to most severe."""

_LEVEL_NAMES = {
    "TRACE": "TRACE",
    "FINEST": "TRACE",
    "DEBUG": "DEBUG",
    "DBG": "DEBUG",
    "FINE": "DEBUG",
    "INFO": "INFO",
    "INFORMATION": "INFO",
    "NOTICE": "INFO",
    "WARN": "WARN",
    "WARNING": "WARN",
    "ERR": "ERROR",
    "ERROR": "ERROR",
    "SEVERE": "ERROR",
    "FATAL": "FATAL",
    "CRIT": "FATAL",
    "CRITICAL": "FATAL",
    "ALERT": "FATAL",
    "EMERG": "FATAL",
    "EMERGENCY": "FATAL",
    "PANIC": "FATAL",
}
_LETTER_LEVELS = {"V": "TRACE", "D": "DEBUG", "I": "INFO", "W": "WARN", "E": "ERROR", "F": "FATAL"}
_UNSAFE = re.compile(r"[^\w.\-/$@:#+]")
COMPONENT_LIMIT = 64


@dataclass(frozen=True, slots=True)
class LogRecord:
    """A line as read: `ts` is aware UTC or None when the line had no readable time."""

    source: str
    line: int
    ts: datetime | None
    level: str | None
    component: str | None
    message: str

    @property
    def provenance(self) -> str:
        return f"logs:{self.source}:{self.line}"


def level_of(word: str, letters: bool = False, lowercase: bool = True) -> str | None:
    """The canonical level a word names (`WARNING` → WARN, `[error]`, `level=warn`), or None.

    Single letters (`E`, `W`: Android, glog) count only when the caller says the position
    makes them unambiguous; so do lower- and title-case words (`error` inside a message is a
    word, not a level), unless `lowercase`.
    """
    if word.startswith(("level=", "lvl=")):
        word = word.split("=", 1)[1]
    word = word.strip("[]()<>:|,\"'")
    if letters and len(word) == 1:
        return _LETTER_LEVELS.get(word)
    if not lowercase and not word.isupper():
        return None
    return _LEVEL_NAMES.get(word.upper())


def component_name(text: str) -> str | None:
    """A component as a safe, short identifier: log text chooses it, so it is cleaned
    (`sshd[24200]:` → `sshd`, anything outside `[\\w.-/$@:#+]` → `_`, at most 64 chars)."""
    name = text.strip().rstrip(":")
    if name.endswith("]") and "[" in name:
        name = name[: name.index("[")]
    name = _UNSAFE.sub("_", name)[:COMPONENT_LIMIT].strip("_")
    return name or None
