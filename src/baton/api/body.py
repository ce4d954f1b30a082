"""Request bodies read with a bound: a 10 MB body or a 10,000-deep JSON costs us nothing."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from starlette.exceptions import HTTPException

from baton.errors import PayloadInvalid

MAX_DEPTH = 64


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, or 413 as soon as it is known to be larger than `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


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
