"""Canonical content and version of a runbook.

The version is a hash of the parsed model, not of the file: comments, whitespace, key order
and spelling (`5m` vs `300`) do not change it; any value that changes behaviour does.
"""

from __future__ import annotations

import hashlib
import json

from baton.runbooks.model import Runbook


def canonical_json(rb: Runbook) -> str:
    """Every field (defaults included), keys sorted, no whitespace, UTF-8 text."""
    data = rb.model_dump(mode="json", by_alias=True, exclude_none=False)
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def version_of(rb: Runbook) -> str:
    """`sha256:<hex>` of the canonical JSON."""
    return "sha256:" + hashlib.sha256(canonical_json(rb).encode("utf-8")).hexdigest()


def runbook_from_canonical(text: str) -> Runbook:
    """The runbook stored as canonical JSON (e.g. in the runbooks table)."""
    return Runbook.model_validate_json(text)
