"""Window against baseline: new templates, surging ones, dropped ones (pure functions).

Rates are per minute so windows of different lengths compare. A template surges when its
window rate is at least `SURGE_RATIO` times its baseline rate and the excess is unlikely by
chance: a Poisson z-score of at least `SURGE_Z` against the count the baseline rate predicts.
It drops (a heartbeat or a success message that stopped) on the mirror-image test. Both are
general statistical cut-offs, not fitted to any log.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from baton.tools.readers.logs.corpus import TemplateStats

SURGE_RATIO = 2.0
SURGE_Z = 3.0


@dataclass(frozen=True)
class Shift:
    """One template's counts and per-minute rates in both windows."""

    window: TemplateStats | None
    baseline: TemplateStats | None
    window_minutes: float
    baseline_minutes: float

    @property
    def stats(self) -> TemplateStats:
        """The window's view of the template, or the baseline's if it is absent now."""
        found = self.window or self.baseline
        assert found is not None
        return found

    @property
    def count(self) -> int:
        return self.window.count if self.window else 0

    @property
    def baseline_count(self) -> int:
        return self.baseline.count if self.baseline else 0

    @property
    def rate(self) -> float:
        return self.count / self.window_minutes

    @property
    def baseline_rate(self) -> float:
        return self.baseline_count / self.baseline_minutes

    @property
    def ratio(self) -> float | None:
        return self.rate / self.baseline_rate if self.baseline_count else None

    @property
    def z(self) -> float:
        expected = self.baseline_rate * self.window_minutes
        return (self.count - expected) / math.sqrt(max(expected, 1.0))


def minutes(start: datetime, end: datetime) -> float:
    return max((end - start).total_seconds() / 60.0, 1.0 / 60.0)


def shifts(
    window: dict[str, TemplateStats],
    baseline: dict[str, TemplateStats],
    window_minutes: float,
    baseline_minutes: float,
) -> tuple[list[Shift], list[Shift], list[Shift]]:
    """(new, surging, dropped), each most significant first."""
    new: list[Shift] = []
    surging: list[Shift] = []
    for tid, st in window.items():
        shift = Shift(st, baseline.get(tid), window_minutes, baseline_minutes)
        if shift.baseline is None:
            new.append(shift)
        elif (shift.ratio or 0.0) >= SURGE_RATIO and shift.z >= SURGE_Z:
            surging.append(shift)
    dropped = [
        shift
        for tid, st in baseline.items()
        if (shift := Shift(window.get(tid), st, window_minutes, baseline_minutes)).rate
        <= shift.baseline_rate / SURGE_RATIO
        and shift.z <= -SURGE_Z
    ]
    new.sort(key=lambda s: (-_rank(s.stats), -s.count, _seconds(s.stats.first)))
    surging.sort(key=lambda s: (-_rank(s.stats), -s.z))
    dropped.sort(key=lambda s: s.z)
    return new, surging, dropped


def _rank(stats: TemplateStats) -> int:
    return {"error": 2, "warn": 1}.get(stats.severity, 0)


def _seconds(when: datetime | None) -> float:
    return when.timestamp() if when is not None else math.inf
