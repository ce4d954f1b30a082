"""The committed suite (evals/cases), offline, against the committed floors
(evals/thresholds.yaml): a shortfall shows every measured and required number."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.evals.runner import EvalOptions, run_suite
from baton.evals.thresholds import load_thresholds, shortfalls
from baton.settings import Settings
from tests.conftest import REPO

pytestmark = pytest.mark.integration

CASES = REPO / "evals" / "cases"
THRESHOLDS = REPO / "evals" / "thresholds.yaml"


def test_the_offline_agents_meet_the_committed_thresholds(tmp_path: Path) -> None:
    folders = [p for p in CASES.iterdir() if p.is_dir()] if CASES.is_dir() else []
    assert folders, f"{CASES} holds no eval case: the suite must not be empty"
    floors = load_thresholds(THRESHOLDS)
    report = run_suite(EvalOptions(suite=CASES), Settings(home=tmp_path / "home"))

    missed = shortfalls(report, floors)
    failing = [
        f"  {c.id}: {c.status}: {', '.join(c.failed_checks) or '; '.join(c.problems)}"
        for c in report.cases
        if not c.passed
    ]
    assert not missed, (
        f"evals/cases ({report.suite.cases} cases, agent {report.agent.version[:19]}) misses "
        f"{THRESHOLDS.relative_to(REPO)}:\n  "
        + "\n  ".join(missed)
        + "\nfailing cases:\n"
        + "\n".join(failing)
    )
    per_case = report.duration_ms / report.suite.cases
    assert per_case < 1000, f"{per_case:.0f} ms per case offline; the budget is 1 s"
