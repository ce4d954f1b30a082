"""JSON text through json's C encoder, built once instead of on every call.

`json.dumps` with any non-default option builds a new `JSONEncoder`, and every
`encode` builds a new C encoder: on the per-task hot path (six documents per action)
that set-up cost several times the encoding itself (bench/engine.py). The encoders
here write exactly what `json.dumps` with the same options writes (tested), except
that they do not look for reference cycles: every value we encode is a tree built
from JSON we parsed or composed ourselves.
"""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Callable
from functools import partial
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import Any

c_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)  # CPython's _json
_default = json.JSONEncoder().default  # raises TypeError naming the unsupported type


def encoder(
    *, sort_keys: bool, compact: bool, ensure_ascii: bool, allow_nan: bool
) -> Callable[[Any], str]:
    """A function equal to `json.dumps(value, <these options>)`, minus cycle detection."""
    separators = (",", ":") if compact else (", ", ": ")
    if c_make_encoder is None:  # an interpreter without the C accelerator
        return partial(
            json.dumps,
            sort_keys=sort_keys,
            separators=separators,
            ensure_ascii=ensure_ascii,
            allow_nan=allow_nan,
        )
    encode = c_make_encoder(
        None,
        _default,
        encode_basestring_ascii if ensure_ascii else encode_basestring,
        None,
        separators[1],
        separators[0],
        sort_keys,
        False,
        allow_nan,
    )

    def dumps(value: Any) -> str:
        return "".join(encode(value, 0))

    return dumps


canonical = encoder(sort_keys=True, compact=True, ensure_ascii=False, allow_nan=False)
"""Sorted keys, no whitespace, UTF-8 text, no NaN/Infinity: what the audit chain hashes."""

plain = encoder(sort_keys=False, compact=False, ensure_ascii=True, allow_nan=True)
"""`json.dumps(value)`: what SQLAlchemy's JSON type stores on SQLite."""
