"""Find and read the timestamp near the start of a log line, whatever its common format.

Formats: ISO 8601 and its log variants (`2015-10-18 18:01:47,978`, `2005-06-03-15.42.50.675872`,
`20171223-22:15:29:606`, `2017/05/16 00:00:00`), syslog and ctime (`Jun 14 15:16:01`,
`Sun Dec 04 04:47:44 2005`), Apache access (`10/Oct/2000:13:55:36 -0700`), `yy/mm/dd HH:MM:SS`,
`mm-dd HH:MM:SS.mmm`, `mm.dd HH:MM:SS`, `yymmdd HHMMSS` at the line start, and epoch seconds
or milliseconds as a whole token. Times without a zone are taken as UTC; dates without a year
take `year` (a date that would lie more than a day ahead of `now` takes the year before).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

SEARCH_SPAN = 96
"""Characters from the line start in which a timestamp is looked for."""

_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    )
}
_MON = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*"
_HMS = r"(?P<H>\d{1,2})[:.](?P<M>\d{1,2})[:.](?P<S>\d{1,2})"
_FRAC = r"(?:[.,:](?P<f>\d{1,9}))?"
_TZ = r"(?:\s?(?P<tz>Z|[+-]\d{2}:?\d{2}))?"

# Each format: a name and a regex over named groups Y (4-digit year), y (2-digit year),
# m (month number), b (month name), d, H, M, S, f (fraction), tz, epoch, ms.
_FORMATS: list[tuple[str, str]] = [
    ("iso", rf"(?P<Y>\d{{4}})[-/](?P<m>\d{{2}})[-/](?P<d>\d{{2}})[T\s-]{_HMS}{_FRAC}{_TZ}"),
    ("compact", rf"(?P<Y>\d{{4}})(?P<m>\d{{2}})(?P<d>\d{{2}})[T\s-]{_HMS}{_FRAC}{_TZ}"),
    (
        "apache",
        rf"(?P<d>\d{{2}})/(?P<b>{_MON})/(?P<Y>\d{{4}}):(?P<H>\d{{2}}):(?P<M>\d{{2}}):(?P<S>\d{{2}})"
        rf"{_TZ}",
    ),
    (
        "ctime",
        rf"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,?\s+)?(?P<b>{_MON})\s+(?P<d>\d{{1,2}})"
        rf"(?:,?\s+(?P<Y>\d{{4}}))?\s+{_HMS}{_FRAC}(?:\s+(?P<Y2>\d{{4}})\b)?",
    ),
    ("ymd2", rf"(?P<y>\d{{2}})/(?P<m>\d{{2}})/(?P<d>\d{{2}})\s+{_HMS}{_FRAC}"),
    ("md", rf"(?P<m>\d{{2}})[-.](?P<d>\d{{2}})\s+{_HMS}{_FRAC}"),
    ("yymmdd", r"^(?P<y>\d{2})(?P<m>\d{2})(?P<d>\d{2})\s+(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})\b"),
    ("epoch", r"(?<![\S])(?P<epoch>[1-3]\d{9})(?:\.(?P<f>\d{1,9}))?(?![\S])"),
    ("epoch_ms", r"(?<![\S])(?P<ms>[1-3]\d{12})(?![\S])"),
]
_COMPILED = {name: re.compile(pattern) for name, pattern in _FORMATS}
_GROUP = re.compile(r"\(\?P<\w+>")
# One scan finds the leftmost candidate of any format; its own regex then reads the fields.
_ANY = re.compile(
    "|".join(f"(?P<{name}>" + _GROUP.sub("(?:", pattern) + ")" for name, pattern in _FORMATS)
)


@dataclass(frozen=True)
class Found:
    """A timestamp and the span of the line it was read from."""

    ts: datetime
    start: int
    end: int


def find(line: str, year: int, now: datetime | None = None) -> Found | None:
    """The earliest readable timestamp in the first `SEARCH_SPAN` characters, or None."""
    head = line[:SEARCH_SPAN]
    pos = 0
    while pos < len(head):
        hit = _ANY.search(head, pos)
        if hit is None or hit.lastgroup is None:
            return None
        match = _COMPILED[hit.lastgroup].match(head, hit.start())
        ts = _build(match.groupdict(), year, now) if match else None
        if match is not None and ts is not None:
            return Found(ts, match.start(), match.end())
        pos = hit.start() + 1
    return None


def parse(text: str, year: int | None = None) -> datetime | None:
    """Read one timestamp value (e.g. a JSON field): the whole text should be the time."""
    text = text.strip()
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        found = find(text, year or datetime.now(UTC).year)
        return found.ts if found else None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def from_epoch(value: float) -> datetime | None:
    """Seconds or milliseconds since 1970 (told apart by size), if plausibly a log time."""
    seconds = value / 1000 if value > 1e11 else value
    if not 1e8 <= seconds <= 4.2e9:
        return None
    return datetime.fromtimestamp(seconds, UTC)


def _build(g: dict[str, str | None], year: int, now: datetime | None) -> datetime | None:
    if g.get("epoch"):
        frac = g.get("f") or "0"
        return from_epoch(int(g["epoch"] or 0) + int(frac) / 10 ** len(frac))
    if g.get("ms"):
        return from_epoch(int(g["ms"] or 0))
    month = _MONTHS[(g["b"] or "")[:3].lower()] if g.get("b") else int(g["m"] or 0)
    if g.get("Y") or g.get("Y2"):
        full_year, guessed = int(g.get("Y") or g.get("Y2") or 0), False
    elif g.get("y"):
        full_year, guessed = 2000 + int(g["y"] or 0), False
    else:
        full_year, guessed = year, True
    frac = (g.get("f") or "0")[:6].ljust(6, "0")
    try:
        ts = datetime(
            full_year,
            month,
            int(g["d"] or 0),
            int(g["H"] or 0),
            int(g["M"] or 0),
            int(g["S"] or 0),
            int(frac),
            tzinfo=_zone(g.get("tz")),
        )
    except ValueError:
        return None
    if guessed and now is not None and ts - now > timedelta(days=1):
        ts = ts.replace(year=full_year - 1)
    return ts.astimezone(UTC)


def _zone(text: str | None) -> timezone:
    if not text or text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
