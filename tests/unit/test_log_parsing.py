"""Timestamps, headers and JSON lines: what a person loading their logs would see."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from baton.tools.readers.logs import timestamps
from baton.tools.readers.logs.lines import parse_line, parse_lines


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("2015-10-18 18:01:47,978 INFO [main] x: y", utc(2015, 10, 18, 18, 1, 47, 978000)),
        ("2026-03-02T10:40:05Z ERROR boom", utc(2026, 3, 2, 10, 40, 5)),
        ("2026-03-02T12:40:05.5+02:00 boom", utc(2026, 3, 2, 10, 40, 5, 500000)),
        ("2005-06-03-15.42.50.675872 R02 RAS KERNEL INFO x", utc(2005, 6, 3, 15, 42, 50, 675872)),
        ("20171223-22:15:29:606|Step_LSC|30002312|onStand", utc(2017, 12, 23, 22, 15, 29, 606000)),
        ("20171223-22:16:0:119|Step_LSC|1|x", utc(2017, 12, 23, 22, 16, 0, 119000)),
        ("[Sun Dec 04 04:47:44 2005] [notice] ok", utc(2005, 12, 4, 4, 47, 44)),
        ('1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET /"', utc(2000, 10, 10, 20, 55, 36)),
        ("17/06/09 20:10:40 INFO spark.SecurityManager: x", utc(2017, 6, 9, 20, 10, 40)),
        ("081109 203615 148 INFO dfs.DataNode: x", utc(2008, 11, 9, 20, 36, 15)),
        ("- 1117838570 2005.06.03 R02-M1-N0 RAS", utc(2005, 6, 3, 22, 42, 50)),
        ("1700000000123 event", utc(2023, 11, 14, 22, 13, 20, 123000)),
        ("Jun 14 15:16:01 combo sshd[1]: x", utc(2024, 6, 14, 15, 16, 1)),
        ("03-17 16:13:38.811  1702  2395 D WindowManager: x", utc(2024, 3, 17, 16, 13, 38, 811000)),
        ("[10.30 16:49:06] chrome.exe - x", utc(2024, 10, 30, 16, 49, 6)),
    ],
)
def test_common_timestamp_formats_read_as_utc(line: str, expected: datetime) -> None:
    found = timestamps.find(line, year=2024)
    assert found is not None, line
    assert found.ts == expected


def test_a_line_without_a_time_has_none() -> None:
    assert timestamps.find("at com.example.Foo.bar(Foo.java:42)", 2024) is None
    assert timestamps.find("version 1.2.3 build 4567", 2024) is None


def test_yearless_date_ahead_of_now_is_last_year() -> None:
    now = utc(2026, 1, 2, 0, 0)
    found = timestamps.find("Dec 31 23:59:59 host app: x", 2026, now)
    assert found is not None and found.ts == utc(2025, 12, 31, 23, 59, 59)


def test_plain_line_header() -> None:
    rec = parse_line(
        "2015-10-18 18:01:47,978 WARN [main] org.apache.Foo: Disk 3 is slow", "a.log", 7, 2024
    )
    assert (rec.level, rec.component, rec.message) == ("WARN", "org.apache.Foo", "Disk 3 is slow")
    assert rec.provenance == "logs:a.log:7"


def test_syslog_program_is_the_component_and_words_in_messages_are_not_levels() -> None:
    rec = parse_line("Jun 14 15:16:01 combo sshd[19939]: login failed with error 5", "s", 1, 2024)
    assert rec.component == "sshd"
    assert rec.level is None
    assert rec.message == "login failed with error 5"


def test_json_lines() -> None:
    line = json.dumps(
        {
            "@timestamp": "2026-03-02T10:40:05.120+01:00",
            "severity": "Warning",
            "logger": "db pool",
            "message": "pool exhausted",
        }
    )
    rec = parse_line(line, "svc.jsonl", 3, 2024)
    assert rec.ts == utc(2026, 3, 2, 9, 40, 5, 120000)
    assert (rec.level, rec.component, rec.message) == ("WARN", "db_pool", "pool exhausted")
    epoch = parse_line('{"time": 1700000000, "msg": "x", "level": "ERROR"}', "s", 1, 2024)
    assert epoch.ts == utc(2023, 11, 14, 22, 13, 20) and epoch.level == "ERROR"


def test_unreadable_lines_are_kept_with_no_time() -> None:
    lines = ["", "{not json", "\x00\x1b[31mgarbage", '{"msg": "no time here"}', "[]"]
    records = list(parse_lines(lines, "bad.log", 2024))
    assert [r.line for r in records] == [1, 2, 3, 4, 5]
    assert all(r.ts is None for r in records)
    assert records[1].message == "{not json"
    assert records[3].message == "no time here"


def test_offset_zone_is_honoured() -> None:
    found = timestamps.find("2026-03-02 10:00:00 +0530 x", 2024)
    assert found is not None
    assert found.ts == datetime(2026, 3, 2, 10, tzinfo=timezone(timedelta(hours=5, minutes=30)))


@given(st.text(max_size=300))
def test_any_text_parses_without_error(text: str) -> None:
    rec = parse_line(text, "fuzz.log", 1, 2024)
    assert rec.line == 1
    assert rec.ts is None or rec.ts.tzinfo is not None
