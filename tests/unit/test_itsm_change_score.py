"""The change score: the factors its docstring promises, and the timing it reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from baton.agents.offline.change_score import duration, score_change, timing

T = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def entry(**fields: object) -> dict[str, object]:
    base = {"type": "normal", "risk": "moderate", "state": "closed", "close_code": "successful"}
    return {**base, **fields}


def at(minutes_before: float) -> dict[str, object]:
    moment = (T - timedelta(minutes=minutes_before)).isoformat()
    return entry(work_start=moment, work_end=moment)


@pytest.mark.parametrize(
    ("minutes", "factor"), [(0, 1.0), (20, 0.857), (120, 0.5), (1440, 0.077), (7200, 0.016)]
)
def test_time_factor_is_a_hyperbola_in_the_gap(minutes: float, factor: float):
    change = at(minutes)
    when = timing(change)
    assert when is not None
    assert score_change(change, when, 0, T).factors["time"] == pytest.approx(factor, abs=0.001)


@pytest.mark.parametrize(("hops", "factor"), [(0, 1.0), (1, 0.5), (2, 0.3333)])
def test_distance_factor(hops: int, factor: float):
    change = at(10)
    when = timing(change)
    assert when is not None
    assert score_change(change, when, hops, T).factors["distance"] == pytest.approx(factor)


def test_the_best_possible_change_scores_one():
    moment = (T - timedelta(minutes=5)).isoformat()
    change = entry(type="emergency", risk="very high", close_code="unsuccessful", work_start=moment)
    when = timing(change)
    assert when is not None and when.ended is None  # no end recorded: still in progress
    assert score_change(change, when, 0, T).value == 1.0


def test_planned_only_changes_that_never_started_count_half():
    planned = (T - timedelta(minutes=30)).isoformat()
    change = entry(state="scheduled", close_code=None, planned_start=planned, planned_end=planned)
    when = timing(change)
    assert when is not None and not when.actual
    score = score_change(change, when, 0, T)
    assert score.factors["execution"] == 0.5
    assert "no record that it started (state scheduled)" in score.reasons


def test_a_change_without_any_window_has_no_timing():
    assert timing(entry()) is None


@pytest.mark.parametrize(("minutes", "text"), [(27, "27 min"), (150, "2.5 h"), (4320, "3.0 days")])
def test_durations_read_like_a_person_wrote_them(minutes: float, text: str):
    assert duration(minutes) == text
