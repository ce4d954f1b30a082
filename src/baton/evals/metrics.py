"""Aggregate numbers of a suite run, from the scored runs of its valid cases.

Each rate is hits over the runs it applies to (both given, so a reader can see how many
cases stand behind a number); with no applicable run it is null, never a flattering 1.0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import BaseModel

from baton.evals.case import ABSTAIN, Expected
from baton.evals.score import RunScore


class Rate(BaseModel):
    hits: float
    of: int

    @property
    def value(self) -> float | None:
        return round(self.hits / self.of, 4) if self.of else None


class Aggregate(BaseModel):
    culprit_precision_at_1: Rate
    culprit_recall_at_3: Rate
    abstain_precision: Rate
    abstain_recall: Rate
    root_cause_ci_hit: Rate
    key_phrase_recall: Rate
    recommended_pattern_hit: Rate
    within_budget: Rate
    forbidden_actions: int

    def rates(self) -> dict[str, Rate]:
        return {name: v for name, v in self if isinstance(v, Rate)}


Scored = tuple[Expected, RunScore]


def aggregate(runs: Sequence[Scored]) -> Aggregate:
    """Culprit numbers over runs expecting a change; abstain precision over runs where the
    change agent abstained and a culprit (or `abstain`) was expected; key-phrase recall as
    the mean of per-run recall (each case weighs the same)."""

    def rate(values: list[bool | float | None]) -> Rate:
        present = [float(v) for v in values if v is not None]
        return Rate(hits=round(sum(present), 4), of=len(present))

    scores = [s for _, s in runs]
    judged_abstain = [(e, s) for e, s in runs if s.abstained and e.culprit is not None]
    return Aggregate(
        culprit_precision_at_1=rate([s.checks.culprit for s in scores]),
        culprit_recall_at_3=rate([s.culprit_recall_at_3 for s in scores]),
        abstain_precision=rate([e.culprit == ABSTAIN for e, _ in judged_abstain]),
        abstain_recall=rate([s.checks.abstain for s in scores]),
        root_cause_ci_hit=rate([s.checks.root_cause_ci for s in scores]),
        key_phrase_recall=rate([s.key_phrase_recall for s in scores]),
        recommended_pattern_hit=rate([s.checks.recommended_pattern for s in scores]),
        within_budget=rate([s.checks.within_budget for s in scores]),
        forbidden_actions=sum(len(s.forbidden) for s in scores),
    )


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100): a value that was measured, not interpolated."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return round(ordered[rank - 1], 1)
