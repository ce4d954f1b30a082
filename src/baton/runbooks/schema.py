"""The JSON Schema of runbook files, published for editors (yaml-language-server)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from baton.runbooks.model import _DURATION, Runbook
from baton.runbooks.pattern import Pattern

SCHEMA_ID = "urn:baton:schema:runbook"
PATTERN_SCHEMA_ID = "urn:baton:schema:pattern"

# The model stores durations as seconds but files may spell them "5m" or "1h30m".
_DURATION_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "number", "exclusiveMinimum": 0},
        {"type": "string", "pattern": _DURATION.pattern},
        {"type": "null"},
    ],
    "default": None,
    "title": "Timeout",
    "description": "Seconds, or a string like '30s', '5m', '1h30m', '2d'.",
}


def json_schema(model: type[BaseModel] = Runbook, title: str = "Baton runbook") -> dict[str, Any]:
    """Draft 2020-12 schema of a runbook (or, with `Pattern`, a pattern) document."""
    schema = model.model_json_schema()
    for definition in schema.get("$defs", {}).values():
        props = definition.get("properties", {})
        if "timeout" in props:
            props["timeout"] = dict(_DURATION_SCHEMA)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID if model is Runbook else PATTERN_SCHEMA_ID,
        **schema,
        "title": title,
    }


def schema_text() -> str:
    """The schema as committed in `runbooks/runbook.schema.json`."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def pattern_schema_text() -> str:
    """The schema as committed in `runbooks/pattern.schema.json`."""
    schema = json_schema(Pattern, "Baton pattern")
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
