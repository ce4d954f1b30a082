"""The shipped promotion hooks against the shipped suite: each agent-recommended pattern's
`promotion.eval` passes with the offline agents, and fails once its floor is raised above
what the suite measures for that pattern (so the hook can both pass and fail)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from baton.evals.case import Expected
from baton.evals.pattern import pattern_failures, score_pattern
from baton.evals.report import Report
from baton.evals.runner import EvalOptions, run_suite
from baton.runbooks.catalog import load_catalog
from baton.settings import Settings
from tests.conftest import REPO, cli_env

pytestmark = pytest.mark.integration

CASES = REPO / "evals" / "cases"


def hooks() -> dict[str, list[str]]:
    catalog = load_catalog(REPO / "runbooks" / "patterns")
    found = {}
    for pattern_id, entry in catalog.items():
        argv = entry.pattern.promotion.eval
        if argv is not None and argv[:3] == ["baton", "eval", "run"]:
            found[pattern_id] = list(argv)
    return found


def measured(report: Report, pattern: str) -> float | None:
    cases = []
    for case in report.cases:
        if case.status == "invalid" or case.got is None or case.checks is None:
            cases.append((case.id, [["invalid"]]))
            continue
        expected = Expected.model_validate(case.expected)
        cases.append((case.id, [pattern_failures(expected, case.got, case.checks, pattern)]))
    return score_pattern(pattern, cases).pass_rate


def run_hook(argv: list[str], where: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """The argv as `baton patterns eval` runs it: another directory, a minimal environment,
    nothing saved into the checkout's results."""
    env = cli_env(home)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run(
        [sys.executable, "-m", "baton.cli.main", *argv[1:], "--no-save"],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_shipped_hooks_pass_on_the_shipped_suite_and_fail_when_raised(
    tmp_path: Path,
) -> None:
    found = hooks()
    assert {"change.rollback", "k8s.rollout_restart", "feature_flag.disable"} <= set(found)
    report = run_suite(EvalOptions(suite=CASES), Settings(home=tmp_path / "home"))
    rates: dict[str, float] = {}
    for pattern_id, argv in sorted(found.items()):
        floor = float(argv[argv.index("--min-pass-rate") + 1])
        rate = measured(report, pattern_id)
        assert rate is not None, f"{pattern_id}: no case of evals/cases concerns it"
        assert rate >= floor, f"{pattern_id}: measured {rate}, its hook requires {floor}"
        rates[pattern_id] = rate

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    weakest = min(sorted(rates), key=lambda p: rates[p])
    argv = found[weakest]
    passed = run_hook(argv, elsewhere, tmp_path / "home")
    assert passed.returncode == 0, passed.stderr
    assert f"pattern {weakest}: {rates[weakest]:.2f}" in passed.stdout

    if rates[weakest] == 1.0:
        pytest.skip("every hook measures 1.0: no floor above it to raise to")
    raised = list(argv)
    above = round(rates[weakest] + 0.005, 4)
    raised[raised.index("--min-pass-rate") + 1] = str(above)
    failed = run_hook(raised, elsewhere, tmp_path / "home")
    assert failed.returncode == 1
    assert f"not met: pattern {weakest} pass rate: measured" in failed.stderr
    assert f"required >= {above}" in failed.stderr
