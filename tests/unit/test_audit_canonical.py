"""The canonical JSON that the audit chain hashes (docs/audit.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baton.store.audit import (
    SUBJECTS,
    _around_seq,
    canonical_event,
    canonical_json,
    chain_hash,
    rfc3339,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
texts = st.text(max_size=20)


@settings(max_examples=300, deadline=None)
@given(
    seq=st.integers(min_value=1, max_value=2**53),
    at=st.datetimes(timezones=st.just(UTC)),
    actor=texts,
    kind=texts,
    status=st.none() | texts,
    payload=st.dictionaries(st.text(max_size=8), json_values, max_size=5),
    subjects=st.fixed_dictionaries({name: st.none() | texts for name in SUBJECTS}),
)
def test_assembled_event_equals_canonical_json_of_the_whole(
    seq, at, actor, kind, status, payload, subjects
):
    whole = {
        "seq": seq,
        "at": rfc3339(at),
        "actor": actor,
        "kind": kind,
        "subjects": subjects,
        "status": status,
        "payload": payload,
    }
    assembled = canonical_event(
        seq=seq,
        at=at,
        actor=actor,
        kind=kind,
        subjects=subjects,
        status=status,
        payload_text=canonical_json(payload),
    )
    assert assembled == canonical_json(whole)


def test_canonical_json_is_specified():
    assert (
        canonical_json({"b": 1, "a": ["é", None, 1.5, True]}) == '{"a":["é",null,1.5,true],"b":1}'
    )
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})


def test_times_are_utc_with_microseconds_and_z():
    cet = timezone(timedelta(hours=1))
    assert rfc3339(datetime(2026, 1, 2, 4, 5, 6, tzinfo=cet)) == "2026-01-02T03:05:06.000000Z"


def test_chain_hash_is_sha256_of_prev_then_event():
    import hashlib

    prev = "0" * 64
    assert chain_hash(prev, "{}") == hashlib.sha256((prev + "{}").encode()).hexdigest()


@settings(max_examples=200, deadline=None)
@given(
    seq=st.integers(min_value=1, max_value=2**31 - 1),
    actor=texts,
    kind=texts,
    subjects=st.fixed_dictionaries({name: st.none() | texts for name in SUBJECTS}),
    status=st.none() | texts,
    payload=st.dictionaries(st.text(max_size=8), json_values, max_size=4),
)
def test_the_text_around_the_sequence_number_is_the_canonical_event(
    seq: int,
    actor: str,
    kind: str,
    subjects: dict[str, str | None],
    status: str | None,
    payload: dict[str, object],
) -> None:
    """PostgreSQL hashes `head || seq || tail` on the server (`baton_audit_append`)."""
    at = "2026-12-05T07:00:00.000001Z"
    parts = (actor, kind, *(subjects[n] for n in ("incident", "item", "pattern", "run", "task")))
    head, tail = _around_seq(at, *parts, status, canonical_json(payload))
    whole = canonical_event(
        seq=seq,
        at=at,
        actor=actor,
        kind=kind,
        subjects=subjects,
        status=status,
        payload_text=canonical_json(payload),
    )
    assert f"{head}{seq}{tail}" == whole
