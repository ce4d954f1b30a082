"""Parsing ServiceNow Table API records: the three field shapes, UTC times, clear errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from baton.tools.readers.itsm import (
    RecordError,
    parse_change_request,
    parse_ci_relation,
    parse_config_item,
    parse_task_ci,
)
from baton.tools.readers.itsm.parse import PARSERS
from tests.unit.itsm_builders import FIXTURES

SYS_ID = "55b35562c0a8010e01cff22378e0aea9"
LINK = f"https://instance.servicenow.com/api/now/table/cmdb_ci/{SYS_ID}"


@pytest.mark.parametrize(
    ("raw", "value", "display"),
    [
        (SYS_ID, SYS_ID, None),  # sysparm_exclude_reference_link=true
        ({"link": LINK, "value": SYS_ID}, SYS_ID, None),  # the default
        ({"display_value": "payments-db", "link": LINK, "value": SYS_ID}, SYS_ID, "payments-db"),
    ],
)
def test_reference_fields_in_every_shape(raw: object, value: str, display: str | None):
    change = parse_change_request({"sys_id": "c1", "number": "CHG1", "cmdb_ci": raw})
    assert change.cmdb_ci is not None
    assert change.cmdb_ci.value == value
    assert change.cmdb_ci.display_value == display


def test_empty_fields_are_absent():
    change = parse_change_request(
        {"sys_id": "c1", "number": "CHG1", "cmdb_ci": "", "work_start": "", "risk": ""}
    )
    assert change.cmdb_ci is None and change.work_start is None and change.risk is None


def test_stored_values_get_out_of_the_box_labels():
    change = parse_change_request(
        {"sys_id": "c1", "number": "CHG1", "risk": "2", "state": "-1", "type": "Emergency"}
    )
    assert (change.risk_label, change.state_label, change.type) == (
        "high",
        "implement",
        "emergency",
    )


def test_display_value_all_uses_values_and_keeps_labels():
    """sysparm_display_value=all: times from `value` (UTC), not the user's local display."""
    raw = {
        "sys_id": {"display_value": "c1", "value": "c1"},
        "number": {"display_value": "CHG1", "value": "CHG1"},
        "risk": {"display_value": "Very High", "value": "1"},
        "state": {"display_value": "Custom review", "value": "7"},
        "work_start": {"display_value": "26/11/2026 15:05:00 CET", "value": "2026-11-26 14:05:00"},
        "cmdb_ci": {"display_value": "checkout-api", "link": LINK, "value": SYS_ID},
    }
    change = parse_change_request(raw)
    assert change.work_start == datetime(2026, 11, 26, 14, 5, tzinfo=UTC)
    assert change.risk == "1" and change.risk_label == "very high"
    assert change.state_label == "custom review"  # the instance's own label wins
    assert change.cmdb_ci is not None and change.cmdb_ci.label == "checkout-api"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-26 14:05:00", datetime(2026, 11, 26, 14, 5, tzinfo=UTC)),
        ("2026-11-26T15:05:00+01:00", datetime(2026, 11, 26, 14, 5, tzinfo=UTC)),
        ("2026-11-26T14:05:00Z", datetime(2026, 11, 26, 14, 5, tzinfo=UTC)),
    ],
)
def test_times_are_utc(value: str, expected: datetime):
    assert parse_change_request({"sys_id": "c", "number": "N", "start_date": value}).start_date == (
        expected
    )


@pytest.mark.parametrize(
    ("parser", "raw", "message"),
    [
        (
            parse_change_request,
            {"number": "CHG7"},
            "change_request record CHG7 (result[4]), field 'sys_id': is missing",
        ),
        (
            parse_change_request,
            {"sys_id": "c", "number": "CHG7", "start_date": "next tuesday"},
            "change_request record CHG7 (result[4]), field 'start_date': 'next tuesday' is not a date",
        ),
        (
            parse_change_request,
            {"sys_id": "c", "number": "CHG7", "cmdb_ci": {"link": LINK}},
            "field 'cmdb_ci': is an object without a 'value' key",
        ),
        (
            parse_change_request,
            {"sys_id": "c", "number": ["CHG7"]},
            "field 'number': must be a string, got list",
        ),
        (parse_config_item, "not a record", "cmdb_ci record result[4]: must be a JSON object"),
        (
            parse_ci_relation,
            {"sys_id": "r1", "parent": SYS_ID, "child": ""},
            "cmdb_rel_ci record r1 (result[4]), field 'child': is missing or empty",
        ),
        (
            parse_task_ci,
            {"sys_id": "t1", "task": 42, "ci_item": SYS_ID},
            "task_ci record t1 (result[4]), field 'task': must be a sys_id or a reference object",
        ),
    ],
)
def test_bad_records_name_table_record_and_field(parser, raw: object, message: str):
    with pytest.raises(RecordError) as caught:
        parser(raw, 4)
    assert message in str(caught.value)


def test_every_fixture_record_parses():
    for table, parser in PARSERS.items():
        records = json.loads((FIXTURES / f"{table}.json").read_text())["result"]
        assert records, table
        parsed = [parser(raw, i) for i, raw in enumerate(records)]
        assert len({p.sys_id for p in parsed}) == len(parsed), f"duplicate sys_id in {table}"
