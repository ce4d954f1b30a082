"""What every vendor parser shares: bounded field types, and pydantic errors as `PayloadInvalid`.

Payloads are hostile input, so every free-text field is bounded, labels must be string to
string, times must be real RFC 3339 times (pydantic alone would also take `1700000000` or
`2024-01-01`), and the first problem is reported as a dotted path a sender can find.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, StringConstraints, ValidationError

from baton.errors import PayloadInvalid

MAX_ALERTS = 1000
MAX_KEY = 256
MAX_TEXT = 16 * 1024  # characters, for label/annotation values and other free text
_NAME_MAX = 512  # Alert.name
_FINGERPRINT_MAX = 256  # Alert.fingerprint
_GROUP_MAX = 1024  # Alert.group_key

M = TypeVar("M", bound=BaseModel)


def describe(value: object) -> str:
    """A JSON value as a reader knows it, short: hostile text is cut, never interpreted."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {value!r}"[:60]
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:40] + "…")
    if isinstance(value, Mapping):
        return "a JSON object"
    if isinstance(value, list | tuple):
        return "a JSON array"
    return type(value).__name__


_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?P<frac>\.\d+)?(?P<tz>[Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)


def rfc3339(value: object) -> datetime:
    """An RFC 3339 time (offset required); fractions past microseconds are dropped."""
    problem = f"expected an RFC 3339 time, got {describe(value)}"
    if not isinstance(value, str):
        raise ValueError(problem)
    match = _RFC3339.fullmatch(value.strip())
    if match is None:
        raise ValueError(problem)
    text = match.group(0)
    frac = match.group("frac")
    if frac and len(frac) > 7:  # Go sends nanoseconds; datetime keeps microseconds
        text = text.replace(frac, frac[:7], 1)
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise ValueError(problem) from None
    return parsed


def epoch_millis(value: object) -> datetime:
    """Epoch milliseconds, as a number or a string of digits (template variables are text)."""
    problem = f"expected epoch milliseconds, got {describe(value)}"
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,20}", value.strip()):
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(problem)
    try:
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(problem) from None


def _null_is_empty(value: object) -> object:
    """Go encodes an empty map as `null`; that is still no labels."""
    return {} if value is None else value


def _number_as_text(value: object) -> object:
    """Ids are strings, but a template may leave a number unquoted (`"id": $ID`)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _bounded_list(value: object) -> object:
    """Refuse an oversized alert list before validating any of its items."""
    if isinstance(value, list) and len(value) > MAX_ALERTS:
        raise ValueError(f"expected at most {MAX_ALERTS} alerts, got {len(value)}")
    return value


Time = Annotated[datetime, BeforeValidator(rfc3339)]
EpochMillis = Annotated[datetime, BeforeValidator(epoch_millis)]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT)]
Id = Annotated[str, StringConstraints(max_length=MAX_TEXT), BeforeValidator(_number_as_text)]
Key = Annotated[str, StringConstraints(min_length=1, max_length=MAX_KEY)]
Labels = Annotated[dict[Key, Text], BeforeValidator(_null_is_empty)]
AlertList = BeforeValidator(_bounded_list)


def require_object(body: Any) -> Mapping[str, Any]:
    """The body itself must be a JSON object before any field can be named."""
    if not isinstance(body, Mapping):
        raise PayloadInvalid("(body)", f"expected a JSON object, got {describe(body)}")
    return body


def validate(model: type[M], data: Any, where: str = "") -> M:
    """`model` from `data`, or `PayloadInvalid` naming the first bad field under `where`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        # An unknown field is usually a typo of the field reported missing: name it first.
        first = min(errors, key=lambda e: e["type"] != "extra_forbidden")
        raise PayloadInvalid(_path(where, first["loc"]), _problem(first)) from None


def _path(where: str, loc: tuple[int | str, ...]) -> str:
    path = where
    for part in loc:
        if part == "[key]":
            continue  # the key itself is bad: the path already ends with it
        if isinstance(part, int):
            path += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,39}", part):
            path += f".{part}" if path else part
        else:
            path += f"[{json.dumps(part if len(part) <= 40 else part[:40] + '...')}]"
    return path or "(body)"


def _problem(err: Any) -> str:
    kind: str = err["type"]
    ctx: dict[str, Any] = err.get("ctx") or {}
    got = describe(err.get("input"))
    is_key = "[key]" in err["loc"]
    if kind == "missing":
        return "expected a value, but the field is missing"
    if kind == "extra_forbidden":
        return "unknown field: not part of the documented shape"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    if kind == "string_too_long":
        what = "a key" if is_key else "a string"
        return f"expected {what} of at most {ctx['max_length']} characters"
    if kind == "string_too_short":
        return "expected a non-empty key" if is_key else "expected a non-empty string"
    if kind == "too_long":
        return f"expected at most {ctx['max_length']} items, got {ctx.get('actual_length')}"
    if kind == "literal_error":
        return f"expected {ctx['expected']}, got {got}"
    expected = {
        "string_type": "a string",
        "dict_type": "a JSON object",
        "model_type": "a JSON object",
        "model_attributes_type": "a JSON object",
        "list_type": "a JSON array",
        "int_type": "an integer",
        "int_parsing": "an integer",
        "int_from_float": "an integer",
        "float_type": "a number",
        "float_parsing": "a number",
        "bool_type": "true or false",
        "bool_parsing": "true or false",
        "greater_than_equal": f"a number >= {ctx.get('ge')}",
    }.get(kind)
    return f"expected {expected}, got {got}" if expected else str(err["msg"])


def digest(*parts: object) -> str:
    """A stable hex SHA-256 of JSON-encodable parts (dicts are hashed with sorted keys)."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _fit(value: str, limit: int) -> str:
    """A key that fits its column: too long a vendor key becomes its digest, still stable."""
    return value if len(value) <= limit else f"sha256:{digest(value)}"


def fingerprint_key(value: str) -> str:
    return _fit(value, _FINGERPRINT_MAX)


def group_key(value: str) -> str:
    return _fit(value, _GROUP_MAX)


def name_of(value: str | None, fallback: str) -> str:
    """An alert name within `Alert.name` bounds: a blank name takes `fallback`."""
    name = (value or "").strip() or fallback
    return name if len(name) <= _NAME_MAX else name[: _NAME_MAX - 1] + "…"


def text_or_none(value: str | None) -> str | None:
    """Templates render a missing variable as ""; that is no value."""
    value = (value or "").strip()
    return value or None
