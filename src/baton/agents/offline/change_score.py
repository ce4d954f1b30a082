"""How likely one recorded change is to have caused an incident: a pure, explained score.

The score is a product of independent factors, each in (0, 1], so one weak factor pulls a
candidate down however strong the others are, and the best possible change scores 1:

* **time**: `1 / (1 + gap / 120 min)`, where `gap` is the time from the end of the change's
  work to detection (0 if the work was still going on). A hyperbola, not a cliff: 20 min
  gives 0.86, 2 h 0.5, 1 day 0.08, 5 days 0.016. Most change-induced incidents surface
  within hours; a long tail keeps slow burners (leaks, batch jobs) rankable.
* **distance**: `1 / (1 + hops)` on the CMDB path from an affected CI: the CI itself 1, a
  neighbour 0.5, two hops 0.33. Effects weaken with each dependency they cross.
* **type**: emergency 1.0 (reviewed least, made under pressure), normal 0.8, standard 0.6
  (pre-approved because it is routine and low-risk); unknown types count as normal.
* **risk** (the change's own assessment): very high 1.0, high 0.9, moderate 0.75, low 0.6;
  unknown counts as moderate.
* **outcome**: closed unsuccessful 1.0, successful with issues 0.9, still open (outcome
  unknown) 0.85, successful 0.7. A clean close lowers suspicion but does not clear a change:
  changes are often closed before their effects show.
* **execution**: 0.5 when nothing records that the change actually started (no `work_start`
  and a state before implementation), else 1.

These weights are general priors of change management, not fitted to any data set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

TIME_SCALE_MINUTES = 120.0
TYPE_WEIGHT = {"emergency": 1.0, "normal": 0.8, "standard": 0.6}
RISK_WEIGHT = {"very high": 1.0, "high": 0.9, "moderate": 0.75, "medium": 0.75, "low": 0.6}
OUTCOME_WEIGHT = {"unsuccessful": 1.0, "successful_issues": 0.9, "successful": 0.7}
OPEN_OUTCOME_WEIGHT = 0.85
NOT_STARTED_STATES = {"new", "assess", "authorize", "scheduled"}
NOT_STARTED_WEIGHT = 0.5


@dataclass(frozen=True)
class ChangeTiming:
    """When a change touched the system, relative to detection."""

    started: datetime
    ended: datetime | None
    """End of the work; None while it was still in progress at detection."""
    actual: bool
    """True when taken from work_start/work_end, False when only the plan is known."""

    def minutes_before(self, detected_at: datetime) -> float:
        return (detected_at - self.started).total_seconds() / 60

    def gap_minutes(self, detected_at: datetime) -> float:
        if self.ended is None or self.ended >= detected_at:
            return 0.0
        return (detected_at - self.ended).total_seconds() / 60


@dataclass
class Score:
    """A change's score with the factors behind it and the reasons a person reads."""

    value: float
    factors: dict[str, float]
    reasons: list[str] = field(default_factory=list)


def _parse(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def timing(change: dict[str, Any]) -> ChangeTiming | None:
    """Actual window when recorded, else the planned one; None when the change has neither."""
    work_start = _parse(change.get("work_start"))
    if work_start is not None:
        end = _parse(change.get("work_end")) or _parse(change.get("closed_at"))
        return ChangeTiming(work_start, end, actual=True)
    planned_start = _parse(change.get("planned_start"))
    planned_end = _parse(change.get("planned_end"))
    start = planned_start or planned_end
    if start is None:
        return None
    return ChangeTiming(start, planned_end or start, actual=False)


def duration(minutes: float) -> str:
    """'45 min', '3.5 h', '2.1 days': the unit a person would use."""
    if minutes < 90:
        return f"{minutes:.0f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} days"


def score_change(
    change: dict[str, Any], when: ChangeTiming, distance: int, detected_at: datetime
) -> Score:
    """Score one change (an `itsm.recent_changes` entry) `distance` hops from an affected CI."""
    reasons: list[str] = []
    gap = when.gap_minutes(detected_at)
    if when.ended is None or when.ended >= detected_at:
        reasons.append(
            f"work began {duration(when.minutes_before(detected_at))} before detection and "
            "was still in progress"
        )
    else:
        reasons.append(
            f"{'work' if when.actual else 'planned window'} ended {duration(gap)} before "
            f"detection (began {duration(when.minutes_before(detected_at))} before)"
        )
    time_factor = 1 / (1 + gap / TIME_SCALE_MINUTES)

    distance_factor = 1 / (1 + distance)

    kind = (change.get("type") or "").lower()
    type_factor = TYPE_WEIGHT.get(kind, TYPE_WEIGHT["normal"])
    if kind == "emergency":
        reasons.append("emergency change (bypassed normal review)")
    elif kind == "standard":
        reasons.append("standard (pre-approved, routine) change")

    risk = (change.get("risk") or "").lower()
    risk_factor = RISK_WEIGHT.get(risk, RISK_WEIGHT["moderate"])
    if risk in ("very high", "high"):
        reasons.append(f"assessed risk {risk}")

    code = (change.get("close_code") or "").lower()
    state = (change.get("state") or "").lower()
    if code in OUTCOME_WEIGHT:
        outcome_factor = OUTCOME_WEIGHT[code]
        reasons.append(f"closed {code.replace('_', ' with ')}")
    else:
        outcome_factor = OPEN_OUTCOME_WEIGHT
        reasons.append(f"not closed (state {state or 'unknown'}): outcome not yet known")

    execution_factor = 1.0
    if not when.actual and state in NOT_STARTED_STATES:
        execution_factor = NOT_STARTED_WEIGHT
        reasons.append(f"no record that it started (state {state})")

    factors = {
        "time": time_factor,
        "distance": distance_factor,
        "type": type_factor,
        "risk": risk_factor,
        "outcome": outcome_factor,
        "execution": execution_factor,
    }
    value = 1.0
    for factor in factors.values():
        value *= factor
    return Score(round(value, 4), {k: round(v, 4) for k, v in factors.items()}, reasons)
