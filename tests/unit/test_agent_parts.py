"""Pure parts of the loop: reading the final answer, reading endpoint errors, tool names."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import openai
import pytest

from baton.agents.answer import AnswerInvalid, parse_finding
from baton.agents.failures import describe, is_transient, retry_after_seconds
from baton.agents.prompts import answer_schema
from baton.agents.toolbox import wire_name
from baton.domain.finding import AgentName

REQUEST = httpx.Request("POST", "http://model.test/v1/chat/completions")


def status_error(status: int, headers: dict[str, str] | None = None) -> openai.APIStatusError:
    response = httpx.Response(status, headers=headers or {}, request=REQUEST)
    body = {"message": f"status {status}", "type": "error"}
    return openai.APIStatusError(f"Error code: {status}", response=response, body=body)


def test_answer_inside_a_code_fence_is_accepted_and_identity_is_ours() -> None:
    text = (
        "```json\n"
        + json.dumps(
            {"agent": "itsm_change", "produced_by": "me", "summary": "s", "confidence": 0.5}
        )
        + "\n```"
    )
    finding = parse_finding(text, agent=AgentName.LOG_ANALYSIS, produced_by="openai:m")
    assert (finding.agent, finding.produced_by) == (AgentName.LOG_ANALYSIS, "openai:m")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("no json here", "expected one JSON object, found no '{ ... }' in the answer"),
        ('{"summary": "s", "confidence": }', "not valid JSON: Expecting value at position 31"),
        ('{"summary": "s"}', "confidence: Field required"),
        (
            '{"summary": "s", "confidence": 0.5, "suspects": [{"kind": "vibes"}]}',
            "suspects.0.kind: Input should be 'change', 'log_template' or 'component'; "
            "suspects.0.ref: Field required",
        ),
    ],
)
def test_invalid_answers_say_exactly_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(AnswerInvalid) as caught:
        parse_finding(text, agent=AgentName.ITSM_CHANGE, produced_by="openai:m")
    assert str(caught.value).startswith(problem)


def test_model_quotes_are_cut_and_cleaned() -> None:
    quote = {"source": "logs:a.log:1", "text": "\x1b[31m" + "x" * 1000}
    suspect = {"kind": "component", "ref": "db", "title": "t", "score": 0.5, "quotes": [quote]}
    text = json.dumps({"summary": "s", "confidence": 0.5, "suspects": [suspect]})
    (cleaned,) = (
        parse_finding(text, agent=AgentName.LOG_ANALYSIS, produced_by="p").suspects[0].quotes
    )
    assert cleaned.truncated and len(cleaned.text) == 400
    assert cleaned.text.startswith("\\x1b[31m")


def test_answer_schema_leaves_identity_to_us() -> None:
    schema = json.loads(answer_schema())
    assert "agent" not in schema["properties"] and "produced_by" not in schema["properties"]
    assert set(schema["required"]) == {"summary", "confidence"}


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (status_error(429), True),
        (status_error(500), True),
        (status_error(503), True),
        (status_error(408), True),
        (status_error(400), False),
        (status_error(401), False),
        (status_error(404), False),
        (openai.APITimeoutError(REQUEST), True),
        (openai.APIConnectionError(request=REQUEST), True),
        (ValueError("bug"), False),
    ],
)
def test_which_errors_are_retried(exc: BaseException, transient: bool) -> None:
    assert is_transient(exc) is transient


def test_retry_after_in_seconds_milliseconds_and_dates() -> None:
    assert retry_after_seconds(status_error(429, {"retry-after": "7"})) == 7.0
    assert retry_after_seconds(status_error(429, {"retry-after-ms": "250"})) == 0.25
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    asked = retry_after_seconds(status_error(503, {"retry-after": later}))
    assert asked is not None and 27 < asked <= 30
    assert retry_after_seconds(status_error(429, {"retry-after": "soon"})) is None
    assert retry_after_seconds(status_error(429)) is None


def test_describe_uses_the_endpoint_message() -> None:
    assert describe(status_error(503)) == "HTTP 503: status 503"
    assert describe(openai.APIConnectionError(request=REQUEST)) == (
        "APIConnectionError: Connection error."
    )


def test_wire_names_have_no_dots() -> None:
    assert wire_name("itsm.recent_changes") == "itsm__recent_changes"
