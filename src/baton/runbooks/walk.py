"""Walking runbook values: the strings inside them and which of them are templates."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from baton.runbooks.marks import Path


def is_template(value: str) -> bool:
    """Does this string hold Jinja syntax (and so is checked only after rendering)?"""
    return "{{" in value or "{%" in value


def under_template(params: Any, loc: tuple[Any, ...]) -> bool:
    """Is the value at `loc` (or a value enclosing it) a template string?"""
    value = params
    for part in loc:
        if isinstance(value, str):
            break
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return False
    return isinstance(value, str) and is_template(value)


def strings(value: Any, path: Path) -> Iterator[tuple[Path, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings(v, (*path, k))
    elif isinstance(value, list):
        for k, v in enumerate(value):
            yield from strings(v, (*path, k))
