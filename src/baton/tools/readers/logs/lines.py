"""Parse log lines, plain or JSON, into `LogRecord`s. A line that can't be read is kept.

Plain lines: the earliest timestamp near the start (`timestamps.find`), then a short header
of level and component, then the message. JSON lines: `ts`/`time`/`timestamp`/`@timestamp`,
`message`/`msg`/`log`, a level and a component/logger field. Anything else becomes a record
with `ts=None` and the whole line as its message: never dropped, never an exception.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from baton.tools.readers.logs import timestamps
from baton.tools.readers.logs.record import LogRecord, component_name, level_of

_TS_KEYS = ("ts", "time", "timestamp", "@timestamp", "t", "datetime", "date")
_MESSAGE_KEYS = ("message", "msg", "log", "text", "@message", "event")
_LEVEL_KEYS = ("level", "severity", "lvl", "loglevel", "log.level", "levelname", "status")
_COMPONENT_KEYS = ("component", "logger", "logger_name", "name", "service", "module", "source")
_LOGGER = re.compile(r"[A-Za-z_][\w$]*(?:\.[A-Za-z_][\w$]*)+\Z")
"""A dotted logger name: `org.apache.hadoop.ipc.Client`, `nova.compute.manager`."""
_HEADER_TOKENS = 8
"""Tokens after the timestamp searched for a level and a component."""
_WORDS = 24
"""Tokens looked at in all, so a long bracketed request context can be skipped."""
_PREFIX_TOKENS = 4
"""Header tokens that may precede a timestamp (`460 node-246 unix.hw state.x <epoch>`)."""
_INSTANCE = re.compile(r"[A-Za-z_][\w.\-]*\[[^\]\s]+\]:\Z")
"""A `service[instance]:` header token: `sshd[24200]:`, `checkout-api[checkout-7f9c]:`."""


def parse_lines(
    lines: Iterable[str], source: str, year: int, now: datetime | None = None
) -> Iterator[LogRecord]:
    """Records for `lines` (numbered from 1), in order."""
    for number, raw in enumerate(lines, start=1):
        yield parse_line(raw.rstrip("\r\n"), source, number, year, now)


def parse_line(
    text: str, source: str, number: int, year: int, now: datetime | None = None
) -> LogRecord:
    """One record; `year` fills in dates written without one (syslog)."""
    if text.lstrip().startswith("{"):
        record = _json_record(text, source, number, year)
        if record is not None:
            return record
    found = timestamps.find(text, year, now)
    if found is None or not _header_prefix(text[: found.start], text[found.end :]):
        level, component, message = _header(text, allow_component=False)
        return LogRecord(source, number, None, level, component, message)
    level, component, message = _header(text[found.end :], allow_component=True)
    return LogRecord(source, number, found.ts, level, component, message)


def _header_prefix(prefix: str, rest: str) -> bool:
    """Whether the text before a timestamp can be a header (so the time is the line's own).

    A header starts with a token such as `-`, `[`, `<34>1`, a record number or a level word,
    holds a few tokens at most (`460 node-246 action start <epoch>`), and is followed by a
    message; a line that opens with a plain word (`connection from ... at <date>`) or ends
    with the time carries the timestamp inside its message.
    """
    words = prefix.split()
    if not words:
        return True
    if len(words) > _PREFIX_TOKENS or not rest.strip():
        return False
    return not words[0].isalpha() or level_of(words[0], lowercase=False) is not None


def _header(rest: str, allow_component: bool) -> tuple[str | None, str | None, str]:
    """Level, component and message from the text after the timestamp (or a whole line).

    Looks at the first few tokens only, for the shapes common logging libraries print:
    a level word (`ERROR`, `[warn]`, `W` before a `Tag:`); then, at most two tokens on and not
    counting a bracketed thread name, a `name:` token (`sshd[24200]:`, `INFO [main]
    dfs.DataNode:`), a dotted logger name right after the level (`INFO nova.compute.manager
    [req-1] ...`), or a lone `-` separator (log4j's `%p [%t] - %m`); or a leading `name -`
    (`chrome.exe - ...`, Python's `%(name)s - %(levelname)s - ...`); a `service[instance]:`
    token before the level names the component too (`checkout-api[pod-7f9c]: ERROR ...`).

    `allow_component` is False for a line without a timestamp: there the header can only be
    its very first tokens (`svc[pod]:`, then an upper-case or decorated level such as
    `ERROR`, `[warn]`, `error:`), since a level-like word further on is the message's own.
    The message is what follows; when nothing is recognised it is the whole rest.
    """
    body = rest.lstrip(" \t]),|-")
    words = body.split(None, _WORDS)[:_WORDS]
    component: str | None = None
    cut: int | None = None
    first = 0
    dash = next((i for i in (1, 2) if i + 1 < len(words) and words[i] == "-"), None)
    if not allow_component:
        dash = None
        if words and _INSTANCE.match(words[0]):
            component, cut, first = component_name(words[0]), 1, 1
    if dash is not None and not any(level_of(w) for w in words[:dash]):
        component, cut, first = component_name(words[0]), dash + 1, dash + 1
    level_at: int | None = None
    level: str | None = None
    last = min(len(words), _HEADER_TOKENS if allow_component else first + 1)
    for i in range(first, last):
        word = words[i]
        next_word = words[i + 1] if i + 1 < len(words) else ""
        if allow_component:
            lowercase = i == first or word[0] in "[<(" or word.startswith("level=")
        else:
            lowercase = word[0] in "[<(" or word.startswith("level=") or word.endswith(":")
        found = level_of(
            word,
            letters=allow_component and next_word.endswith(":") and len(next_word) > 1,
            lowercase=lowercase,
        )
        if found is not None:
            level, level_at, cut = found, i, i + 1
            break
    if level_at is not None and component is None:
        named = next((i for i in range(first, level_at) if _names(words[i])), None)
        if named is not None:
            component = component_name(words[named])
    if (allow_component or level_at is not None) and component is None:
        start = _skip_bracketed(words, first if level_at is None else level_at + 1)
        for i in range(start, min(start + 2, len(words))):
            word = words[i]
            if _names(word):
                component, cut = component_name(word), i + 1
                break
            if level_at is not None and word == "-":
                cut = i + 1
                break
            if level_at is not None and i == start and _LOGGER.match(word):
                component, cut = component_name(word), _skip_bracketed(words, i + 1)
                cut += 1 if cut < len(words) and words[cut] == "-" else 0
                break
    elif level_at is not None:
        start = _skip_bracketed(words, level_at + 1)
        if start < len(words) and words[start] == "-":
            cut = start + 1
    if cut is None:
        return level, component, body.strip()
    return level, component, _after_tokens(body, cut)


def _names(word: str) -> bool:
    """A `name:` header token (`sshd[24200]:`, `dfs.DataNode:`), not a `::` scope."""
    return len(word) > 1 and word.endswith(":") and not word.endswith("::")


def _skip_bracketed(words: list[str], start: int) -> int:
    """Past a bracketed thread name or context (`[main]`, `[RMCommunicator Allocator]`)."""
    if start >= len(words) or not words[start].startswith("["):
        return start
    for i in range(start, len(words)):
        if words[i].endswith("]"):
            return i + 1
    return start


def _after_tokens(text: str, count: int) -> str:
    """`text` without its first `count` whitespace-separated tokens, spacing kept."""
    parts = text.split(None, count)
    return parts[count].strip() if len(parts) > count else ""


def _json_record(text: str, source: str, number: int, year: int) -> LogRecord | None:
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    message = _first(obj, _MESSAGE_KEYS)
    ts_value = _first(obj, _TS_KEYS)
    level_value = _first(obj, _LEVEL_KEYS)
    component_value = _first(obj, _COMPONENT_KEYS)
    ts: datetime | None = None
    if isinstance(ts_value, int | float) and not isinstance(ts_value, bool):
        ts = timestamps.from_epoch(float(ts_value))
    elif isinstance(ts_value, str):
        ts = timestamps.parse(ts_value, year)
    return LogRecord(
        source=source,
        line=number,
        ts=ts,
        level=level_of(str(level_value)) if level_value is not None else None,
        component=component_name(str(component_value)) if component_value else None,
        message=str(message) if message is not None else text.strip(),
    )


def _first(obj: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = obj.get(key)
        if value is not None and value != "":
            return value
    return None
