"""The JSON Schema of runbook files, published for editors (yaml-language-server)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel

from baton.runbooks.model import Runbook
from baton.runbooks.pattern import Pattern

SCHEMA_ID = "urn:baton:schema:runbook"
PATTERN_SCHEMA_ID = "urn:baton:schema:pattern"


def json_schema(model: type[BaseModel] = Runbook, title: str = "Baton runbook") -> dict[str, Any]:
    """Draft 2020-12 schema of a runbook (or, with `Pattern`, a pattern) document."""
    schema = model.model_json_schema()
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
