"""Parameters given to a pattern, checked against its `ParamSpec`s."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from baton.runbooks.pattern import ParamSpec, Pattern
from baton.runbooks.problem import suggest


def check_params(pattern: Pattern, given: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """(typed values with defaults, problems) of parameters for `pattern`.

    Values are checked against each `ParamSpec`: type, enum, full-match regex and range.
    Unknown and missing parameters are problems too, so a typo never runs silently.
    """
    problems: list[str] = []
    values: dict[str, Any] = {}
    for name in sorted(set(given) - set(pattern.params)):
        hint = suggest(name, list(pattern.params))
        problems.append(f"unknown parameter '{name}' for pattern {pattern.id}{hint}")
    for name, spec in pattern.params.items():
        if name not in given:
            if spec.default is not None:
                values[name] = spec.default
            elif spec.required:
                problems.append(f"missing required parameter '{name}' of pattern {pattern.id}")
            continue
        value, problem = _coerce(spec, given[name])
        if problem:
            problems.append(f"parameter '{name}': {problem}")
        else:
            values[name] = value
    return values, problems


def _coerce(spec: ParamSpec, raw: Any) -> tuple[Any, str | None]:
    value: Any = raw
    if spec.type == "string":
        if not isinstance(raw, str):
            return None, f"expected a string, got {raw!r}"
    elif spec.type == "boolean":
        if not isinstance(raw, bool):
            lowered = str(raw).strip().lower()
            if lowered not in {"true", "false"}:
                return None, f"expected true or false, got {raw!r}"
            value = lowered == "true"
    else:
        try:
            if isinstance(raw, bool):
                raise ValueError
            if spec.type == "integer":
                # A number input renders as "6.0": a whole number is still an integer.
                number = float(str(raw))
                if not number.is_integer():
                    raise ValueError
                value = int(number)
            else:
                value = float(str(raw))
        except (ValueError, OverflowError):
            return None, f"expected an {spec.type}, got {raw!r}"
    if spec.enum is not None and value not in spec.enum:
        return None, f"{value!r} is not one of {spec.enum}"
    if spec.pattern is not None and not re.fullmatch(spec.pattern, str(value)):
        return None, f"{value!r} does not match {spec.pattern}"
    if spec.minimum is not None and value < spec.minimum:
        return None, f"{value} is below the minimum {spec.minimum:g}"
    if spec.maximum is not None and value > spec.maximum:
        return None, f"{value} is above the maximum {spec.maximum:g}"
    return value, None
