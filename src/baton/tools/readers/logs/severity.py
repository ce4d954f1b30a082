"""How bad a template is: from its lines' levels, or from its words when lines have none."""

from __future__ import annotations

import re
from collections import Counter

_ERROR_WORDS = re.compile(
    r"\b(?:error|errors|exception|fail|failed|failure|failing|fatal|panic|refused|denied|"
    r"timeout|timed out|unreachable|unavailable|crash|crashed|abort|aborted|killed|oom|"
    r"out of memory|segfault|corrupt|corrupted|traceback|cannot|could not|unable)\b",
    re.IGNORECASE,
)
_WARN_WORDS = re.compile(
    r"\b(?:warn|warning|retry|retrying|slow|degraded|deprecated|throttl\w*|backoff|exceeded)\b",
    re.IGNORECASE,
)
_RANK = {"TRACE": 0, "DEBUG": 0, "INFO": 1, "WARN": 2, "ERROR": 3, "FATAL": 3}
_NAMES = {0: "info", 1: "info", 2: "warn", 3: "error"}


def severity(levels: Counter[str], template: str) -> str:
    """'error', 'warn' or 'info'.

    A template is one log statement, so its lines share a level; the highest level seen
    wins. Unlevelled lines (syslog, many app logs) are judged by the template's words.
    """
    if levels:
        return _NAMES[max(_RANK.get(level, 1) for level in levels)]
    if _ERROR_WORDS.search(template):
        return "error"
    if _WARN_WORDS.search(template):
        return "warn"
    return "info"
