"""Turning the model's final text into a `Finding`, or into a precise complaint for repair."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from baton.domain.finding import AgentName, Finding, Quote
from baton.errors import one_line

_PROBLEMS_SHOWN = 12
_SOURCE_LIMIT = 200


class AnswerInvalid(Exception):
    """The model's answer is not a valid finding; the message says exactly why."""


def _json_text(text: str) -> str:
    """The JSON object in the answer: tolerate a code fence or a line of prose around it."""
    start, end = text.find("{"), text.rfind("}")
    if start == -1 or end < start:
        raise AnswerInvalid("expected one JSON object, found no '{ ... }' in the answer")
    return text[start : end + 1]


def _requote(quote: Quote) -> Quote:
    clean = Quote.of(quote.source[:_SOURCE_LIMIT], quote.text)
    return clean.model_copy(update={"truncated": clean.truncated or quote.truncated})


def parse_finding(text: str, *, agent: AgentName, produced_by: str) -> Finding:
    """Validate the answer; `agent` and `produced_by` are ours, whatever the model wrote.

    Quotes are re-cut and cleaned with `Quote.of`: the model copies hostile text, and the
    limit on it is ours to enforce, not the model's.
    """
    try:
        data: Any = json.loads(_json_text(text))
    except json.JSONDecodeError as exc:
        raise AnswerInvalid(f"not valid JSON: {exc.msg} at position {exc.pos}") from None
    if not isinstance(data, dict):
        raise AnswerInvalid("expected a JSON object")
    data.update(agent=agent.value, produced_by=produced_by)
    try:
        finding = Finding.model_validate(data)
    except ValidationError as exc:
        raise AnswerInvalid(one_line(exc, limit=_PROBLEMS_SHOWN)) from None
    for suspect in finding.suspects:
        suspect.quotes = [_requote(q) for q in suspect.quotes]
    return finding
