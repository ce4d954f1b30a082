"""Committed floors for a suite run (`evals/thresholds.yaml`): data, so raising one is a
one-line change, and a shortfall names the measured and the required number."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from baton.errors import RunbookInvalid
from baton.evals.report import Report
from baton.runbooks.loader import parse_model, read_document

Minimum = Literal[
    "pass_rate",
    "culprit_precision_at_1",
    "culprit_recall_at_3",
    "abstain_precision",
    "abstain_recall",
    "root_cause_ci_hit",
    "key_phrase_recall",
    "recommended_pattern_hit",
    "within_budget",
]
Maximum = Literal["forbidden_actions", "cases_invalid", "latency_p95_ms", "latency_p50_ms"]


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_cases: int = Field(default=1, ge=1, description="Fewer cases than this is a failure.")
    minimums: dict[Minimum, float] = Field(default_factory=dict)
    maximums: dict[Maximum, float] = Field(default_factory=dict)


def load_thresholds(path: Path) -> Thresholds:
    """Read a thresholds file; problems are raised with file:line (`RunbookInvalid`)."""
    thresholds, _, problems = parse_model(
        read_document(path, "thresholds"), str(path), Thresholds, what="thresholds"
    )
    if problems:
        raise RunbookInvalid(problems)
    return thresholds


def shortfalls(report: Report, thresholds: Thresholds) -> list[str]:
    """Every threshold the run misses, as `name: measured X, required >= Y (basis)`."""
    out = []
    if report.suite.cases < thresholds.min_cases:
        out.append(
            f"cases: measured {report.suite.cases}, required >= {thresholds.min_cases} "
            f"(suite {report.suite.path})"
        )
    for name, floor in thresholds.minimums.items():
        value = getattr(report, name)
        count = report.counts.get(name)
        basis = f" ({count.hits:g} of {count.of})" if count is not None else ""
        if value is None:
            out.append(f"{name}: no case applies, required >= {floor:g}")
        elif value < floor:
            out.append(f"{name}: measured {value:.4g}{basis}, required >= {floor:g}")
    for capped, ceiling in thresholds.maximums.items():
        measured = _maximum(report, capped)
        if measured is None:
            out.append(f"{capped}: not measured, required <= {ceiling:g}")
        elif measured > ceiling:
            out.append(f"{capped}: measured {measured:g}, required <= {ceiling:g}")
    return out


def _maximum(report: Report, name: Maximum) -> float | None:
    if name == "latency_p95_ms":
        return report.latency_ms.p95
    if name == "latency_p50_ms":
        return report.latency_ms.p50
    return float(getattr(report, name))
