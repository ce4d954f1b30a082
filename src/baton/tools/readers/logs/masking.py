"""Generic masking of the variable parts of a log message before template mining.

The rules name kinds of values (numbers, ids, addresses, dates, paths, URLs, booleans), never
a log source: one set serves every input. A masked value becomes the wildcard `<*>`.

Log statements print values, and values carry the digits (ids, counts, durations, addresses,
hex, timestamps), so any segment holding a digit is a value. Segments end at whitespace and at
`= , ; : | ( ) [ ] { } < > " '`, so `policy=3` keeps its key: `policy=<*>`.
"""

from __future__ import annotations

import re

WILDCARD = "<*>"

_SEGMENT_CHAR = r"""[^\s=,;:|()\[\]{}<>"']"""
_SEGMENT = re.compile(
    rf"(?<!{_SEGMENT_CHAR}){_SEGMENT_CHAR}*?\d{_SEGMENT_CHAR}*"  # a segment holding a digit
    rf"|(?<!{_SEGMENT_CHAR})(?i:true|false)(?!{_SEGMENT_CHAR})"  # a boolean segment
)
_WHOLE_TOKEN = re.compile(
    r"""\S*?://          # URL
    | /[^/]+/            # absolute path of two or more segments
    | [^@]+@[^@]+\.      # e-mail address
    | [A-Za-z]:\\        # Windows path
    """,
    re.VERBOSE,
)
_MONTH = re.compile(r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?\s+\d")
_DATE = re.compile(
    r"""(?:\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,?\s+)?
    \b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2}
    (?:,?\s+\d{4})?\s+\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?(?:\s+\d{4})?\b""",
    re.VERBOSE,
)
_MAYBE_VALUE = re.compile(r"\d|(?i:true|false)")
_BOOLEANS = frozenset({"true", "false", "True", "False", "TRUE", "FALSE"})


def tokens(message: str, cache: dict[str, str] | None = None) -> list[str]:
    """The message split on whitespace, with values replaced by `<*>`.

    A written-out date (`Sun Jul 10 03:55:21 2005`) is one value, so it becomes one token.
    Plain words skip the regexes, and `cache` (token -> masked token, owned by the caller)
    skips them for tokens seen before: logs repeat their words, which keeps mining well
    above 50,000 lines/s in pure Python.
    """
    if _MONTH.search(message):
        message = _DATE.sub(WILDCARD, message)
    if cache is None:
        return [_token(tok) for tok in message.split()]
    out: list[str] = []
    for tok in message.split():
        masked = cache.get(tok)
        if masked is None:
            masked = cache[tok] = _token(tok)
        out.append(masked)
    return out


def _token(tok: str) -> str:
    if tok.isalpha():
        return WILDCARD if tok in _BOOLEANS else tok
    if _WHOLE_TOKEN.match(tok):
        return WILDCARD
    if _MAYBE_VALUE.search(tok):
        return _SEGMENT.sub(WILDCARD, tok)
    return tok


def mask(message: str) -> str:
    """The message with its values replaced by `<*>`, tokens joined by single spaces."""
    return " ".join(tokens(message))
