"""JSON of request bodies, with a depth bound (the size bound is the edge's, api.middleware):
a 10,000-deep document is refused without exhausting the stack."""

from __future__ import annotations

import json
from typing import Any

from baton.errors import PayloadInvalid

MAX_DEPTH = 64


def _depth_ok(value: Any) -> bool:
    """Iterative, so a deep document cannot exhaust the stack while we measure it."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return False
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return True


def parse_json(body: bytes) -> Any:
    """JSON of a request body; anything else is a 422 naming the body and the problem."""
    if not body.strip():
        raise PayloadInvalid("(body)", "expected a JSON document, got an empty body")
    try:
        value = json.loads(body)
    except RecursionError:
        raise PayloadInvalid("(body)", f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadInvalid("(body)", f"expected JSON: {exc}") from None
    if not _depth_ok(value):
        raise PayloadInvalid("(body)", f"JSON nested deeper than {MAX_DEPTH} levels")
    return value
