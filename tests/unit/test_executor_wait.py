"""The wait executor: a durable delay measured from the ledger's intent time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from baton.domain.envelope import ResultStatus
from baton.domain.params import WaitParams
from baton.tools.executors.base import ExecutionContext
from baton.tools.executors.wait import WaitExecutor

INTENT = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def ctx(timeout: float | None = None) -> ExecutionContext:
    return ExecutionContext(
        run_id="run-1",
        task_id="settle",
        attempt=1,
        idempotency_key="run-1:settle:1",
        intent_at=INTENT,
        timeout=timeout,
    )


class FakeTime:
    """A clock and a sleep that advance together, so nothing really sleeps."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def clock(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)


def test_fresh_wait_sleeps_the_remaining_time() -> None:
    fake = FakeTime(INTENT + timedelta(seconds=2))

    result = WaitExecutor(fake.clock, fake.sleep).execute(WaitParams(seconds=10), ctx())

    assert result.status is ResultStatus.SUCCEEDED
    assert fake.sleeps == [8.0]
    assert result.data == {"due_at": "2025-03-01T12:00:10+00:00", "waited_seconds": 8.0}
    assert result.invocation["due_at"] == "2025-03-01T12:00:10+00:00"
    assert result.invocation["seconds"] == 10


def test_resume_after_crash_waits_only_what_is_left() -> None:
    fake = FakeTime(INTENT + timedelta(seconds=250))  # crashed and resumed 250 s later

    result = WaitExecutor(fake.clock, fake.sleep).execute(WaitParams(seconds=300), ctx())

    assert fake.sleeps == [50.0]
    assert result.data["waited_seconds"] == 50.0


def test_due_time_already_past_does_not_sleep() -> None:
    fake = FakeTime(INTENT + timedelta(hours=1))

    result = WaitExecutor(fake.clock, fake.sleep).execute(WaitParams(seconds=10), ctx())

    assert result.status is ResultStatus.SUCCEEDED
    assert fake.sleeps == []
    assert result.data["waited_seconds"] == 0.0


def test_task_timeout_shorter_than_the_wait_times_out() -> None:
    fake = FakeTime(INTENT)

    result = WaitExecutor(fake.clock, fake.sleep).execute(WaitParams(seconds=600), ctx(60))

    assert result.status is ResultStatus.TIMEOUT
    assert fake.sleeps == [60]
    assert result.error == "timed out after 60s; due at 2025-03-01T12:10:00+00:00"


def test_intent_time_must_be_timezone_aware() -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        ExecutionContext(
            run_id="r",
            task_id="t",
            attempt=1,
            idempotency_key="k",
            intent_at=datetime(2025, 3, 1, 12, 0, 0),  # naive: the point of the test
        )


def test_declared_idempotent() -> None:
    assert WaitExecutor().is_idempotent(WaitParams(seconds=1)) is True
