"""The hot path's own JSON and time text equals what json and SQLAlchemy would write."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine

from baton.store import audit, jsontext, sql

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=16,
)


def _has_nonfinite(value: object) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, list):
        return any(_has_nonfinite(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nonfinite(v) for v in value.values())
    return False


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_encoders_write_what_json_dumps_writes(value):
    assert jsontext.plain(value) == json.dumps(value)
    if _has_nonfinite(value):
        with pytest.raises(ValueError):
            jsontext.canonical(value)
    else:
        expected = json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
        assert jsontext.canonical(value) == expected


def test_an_unsupported_value_is_named():
    with pytest.raises(TypeError, match="datetime is not JSON serializable"):
        jsontext.canonical({"at": datetime(2026, 1, 1, tzinfo=UTC)})


class _SQLite:
    dialect = create_engine("sqlite://").dialect


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(1000, 1, 1),
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=-7)), timezone(timedelta(hours=5.5))]
        ),
    )
)
def test_sqlite_times_are_the_text_sqlalchemy_writes(at):
    bind = sql._processors(_SQLite.dialect)[0]
    assert sql.when(_SQLite, at) == bind(at)


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError, match="naive datetime"):
        sql.when(_SQLite, datetime(2026, 1, 1))


@given(json_values)
def test_sqlite_documents_are_the_text_sqlalchemy_writes(value):
    bind = sql._processors(_SQLite.dialect)[1]
    assert sql.document(_SQLite, value) == bind(value)


def test_a_stamp_is_one_moment_in_each_stored_form():
    stamp = sql.now()
    assert stamp.sqlite == sql.when(_SQLite, stamp.at)
    assert stamp.rfc3339 == audit.rfc3339(stamp.at)
