"""Field values as the ServiceNow Table API returns them, reduced to plain Python values.

The same field comes in three shapes depending on the query parameters of the request:

* `sysparm_display_value=false` (the default): the stored value as a string; a reference
  field is `{"link": "<table api url>", "value": "<sys_id>"}`, or the bare sys_id when
  `sysparm_exclude_reference_link=true`.
* `sysparm_display_value=all`: every field is `{"display_value": ..., "value": ...}` (a
  reference also carries `link`).
* An empty field is `""` in every shape.

`sysparm_display_value=true` (display values only) is not accepted for date-time fields:
they come back in the requesting user's time zone and format, so the instant is unknowable.
Date-times are `yyyy-mm-dd HH:MM:SS` in UTC; ISO 8601 is accepted too, for hand-made files.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from baton.tools.readers.itsm.errors import FieldError
from baton.tools.readers.itsm.records import Ref

SN_DATETIME = "%Y-%m-%d %H:%M:%S"


def _unwrap(raw: Any) -> tuple[Any, str | None]:
    """(stored value, display value) of a field in any of the three shapes."""
    if isinstance(raw, Mapping):
        if "value" not in raw:
            raise FieldError("is an object without a 'value' key")
        display = raw.get("display_value")
        return raw["value"], None if display in (None, "") else str(display)
    return raw, None


def text(raw: Any) -> str | None:
    """A string field; `""` and a missing field are both None."""
    value, _ = _unwrap(raw)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise FieldError(f"must be a string, got {type(value).__name__}")


def choice(raw: Any) -> tuple[str | None, str | None]:
    """A choice field: its stored value and, when the response carried one, its label."""
    _, display = _unwrap(raw)
    return text(raw), display


def reference(raw: Any) -> Ref | None:
    """A reference field: a bare sys_id, `{"link", "value"}` or `{"display_value", "value"}`."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        return Ref(value=raw)
    if not isinstance(raw, Mapping):
        raise FieldError(f"must be a sys_id or a reference object, got {type(raw).__name__}")
    value = text(raw)
    if value is None:
        return None
    link = raw.get("link")
    _, display = _unwrap(raw)
    return Ref(value=value, display_value=display, link=link if isinstance(link, str) else None)


def timestamp(raw: Any) -> datetime | None:
    """A date-time field as an aware UTC datetime (the stored value, never the display one)."""
    value = text(raw)
    if value is None:
        return None
    try:
        parsed = datetime.strptime(value, SN_DATETIME)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise FieldError(
                f"{value[:40]!r} is not a date-time 'yyyy-mm-dd HH:MM:SS' (UTC)"
            ) from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
