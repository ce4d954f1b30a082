"""The "under these conditions" of a pattern's evidence: condition fields of the incident."""

from __future__ import annotations

import json
from typing import Any

from baton.errors import InputError
from baton.runbooks.pattern import Pattern


def condition_context(pattern: Pattern, incident: dict[str, Any]) -> dict[str, Any]:
    """`{field: value}` for each of the pattern's conditions; a missing field is None.

    `labels.tier` reaches into the incident's labels; `cis` is kept as a sorted list.
    """
    context: dict[str, Any] = {}
    for name in pattern.conditions:
        head, _, rest = name.partition(".")
        value = incident.get(head)
        if rest:
            value = value.get(rest) if isinstance(value, dict) else None
        if isinstance(value, list):
            value = sorted(str(v) for v in value)
        context[name] = value
    return context


def checked_context(pattern: Pattern, given: dict[str, str]) -> dict[str, Any]:
    """A context a person named (CLI `--context`, API `context=`): exactly the pattern's
    condition fields, or `InputError` saying which are unknown or missing."""
    unknown = sorted(set(given) - set(pattern.conditions))
    missing = sorted(set(pattern.conditions) - set(given))
    if unknown or missing:
        raise InputError(
            f"pattern {pattern.id} counts evidence per "
            f"{', '.join(pattern.conditions) or 'nothing'}: give each as field=value"
            + (f" (unknown: {', '.join(unknown)})" if unknown else "")
        )
    return dict(given)


def context_key(context: dict[str, Any]) -> str:
    """A stable text key for a context: canonical JSON, keys sorted."""
    return json.dumps(context, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def describe_context(context: dict[str, Any]) -> str:
    """`environment=production, service=checkout-api` (or 'any context' when empty)."""
    if not context:
        return "any context"
    return ", ".join(f"{k}={'(none)' if v is None else v}" for k, v in sorted(context.items()))
