"""`baton eval run` as a gate runs it: one JSON object, failing cases named, the exit code,
the results it keeps, and the promotion eval of a pattern that calls it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, cli_env
from tests.integration.test_crash import baton

pytestmark = pytest.mark.integration

SUITE = REPO / "tests" / "fixtures" / "evals" / "suite"
RELATIVE_SUITE = "tests/fixtures/evals/suite"
PATTERNS_EVAL = ("patterns", "eval", "change.rollback", "--as", "alice")


def run_json(
    tmp_path: Path, *args: str, check: bool = True
) -> tuple[dict, subprocess.CompletedProcess[str]]:
    proc = baton(
        tmp_path / "home",
        "eval",
        "run",
        "--suite",
        str(SUITE),
        "--json",
        "--results",
        str(tmp_path / "results"),
        *args,
        check=check,
    )
    return json.loads(proc.stdout), proc


def test_the_fixture_suite_scores_two_cases_and_fails_the_broken_one(tmp_path: Path) -> None:
    report, proc = run_json(tmp_path)
    assert proc.returncode == 0  # no gate asked for
    cases = {c["id"]: c for c in report["cases"]}
    assert list(cases) == ["broken-unknown-field", "checkout-bad-deploy", "search-no-change"]

    culprit = cases["checkout-bad-deploy"]
    assert culprit["passed"] is True and culprit["status"] == "passed"
    assert culprit["expected"]["culprit"] == ["CHG0040001"]
    assert culprit["got"]["culprit"][0] == "CHG0040001"
    assert culprit["got"]["recommended_pattern"] == "change.rollback"
    assert "Connection is not available" in culprit["got"]["quoted_phrases"]

    abstain = cases["search-no-change"]
    assert abstain["passed"] is True
    assert abstain["expected"]["culprit"] == abstain["got"]["culprit"] == "abstain"
    assert abstain["got"]["recommended_pattern"] is None

    broken = cases["broken-unknown-field"]
    assert broken["passed"] is False and broken["status"] == "invalid"
    assert broken["got"] is None and broken["expected"] is None
    assert broken["problems"] == [
        f"{SUITE}/broken-unknown-field/case.yaml:12:3: unknown field 'recomended_pattern' "
        "in expected"
    ]

    assert report["pass_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert (report["cases_passed"], report["cases_failed"], report["cases_invalid"]) == (2, 0, 1)
    assert report["culprit_precision_at_1"] == 1.0 and report["abstain_recall"] == 1.0
    assert report["forbidden_actions"] == 0
    assert report["counts"]["culprit_precision_at_1"] == {"hits": 1.0, "of": 1}
    assert report["model"] == "offline" and report["cost_usd"] == 0.0
    assert report["input_tokens"] == report["output_tokens"] == 0
    assert report["suite"]["version"].startswith("sha256:")
    assert report["agent"]["version"].startswith("sha256:")
    assert report["latency_ms"]["p95"] < 1000


def test_a_pass_rate_below_the_minimum_exits_1_and_says_by_how_much(tmp_path: Path) -> None:
    report, proc = run_json(tmp_path, "--min-pass-rate", "0.9", check=False)
    assert proc.returncode == 1 and report["met"] is False and report["min_pass_rate"] == 0.9
    assert "not met: pass_rate: measured 0.6667, required >= 0.9" in proc.stderr
    report, proc = run_json(tmp_path, "--min-pass-rate", "0.6")
    assert proc.returncode == 0 and report["met"] is True


def test_results_are_kept_as_json_markdown_and_a_self_contained_page(tmp_path: Path) -> None:
    first, _ = run_json(tmp_path, "--agent", "itsm_change")
    run_json(tmp_path)
    results = tmp_path / "results"
    stored = sorted(p.name for p in results.glob("*.json"))
    assert len(stored) == 2 and all("-offline-" in name for name in stored)
    assert first["agent"]["agents"] == ["itsm_change"]
    assert first["recommended_pattern_hit"] is None  # needs both agents: not applicable
    markdown = (results / "latest.md").read_text()
    assert "| culprit precision@1 | 1.00 | 1 of 1 run |" in markdown
    assert "## History" in markdown and markdown.count("| `offline` |") == 2
    page = (results / "latest.html").read_text()
    assert "<svg" in page and "<script" not in page and "href=" not in page


def test_the_human_summary_names_the_invalid_case_at_its_line(tmp_path: Path) -> None:
    proc = baton(tmp_path / "home", "eval", "run", "--suite", str(SUITE), "--no-save")
    lines = proc.stdout.splitlines()
    assert "INVALID broken-unknown-field (not scored):" in lines
    assert any(
        line.strip().endswith("case.yaml:12:3: unknown field 'recomended_pattern' in expected")
        for line in lines
    )
    assert lines[-1].strip().startswith("latency p50")  # the numbers end the output
    check = baton(tmp_path / "home", "eval", "check", "--suite", str(SUITE), check=False)
    assert check.returncode == 1 and "case.yaml:12:3: unknown field" in check.stderr
    assert "3 case(s), 1 invalid" in check.stdout


def test_an_empty_or_missing_suite_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    empty = baton(tmp_path / "home", "eval", "run", "--suite", str(tmp_path / "empty"), check=False)
    assert empty.returncode == 1 and "no eval case folders" in empty.stderr
    missing = baton(tmp_path / "home", "eval", "run", "--suite", "no/such/dir", check=False)
    assert missing.returncode == 1 and "no/such/dir: no such eval suite directory" in missing.stderr


def _catalog_with_eval(tmp_path: Path, minimum: str) -> Path:
    """The shipped rollback pattern, its eval pointed at the fixture suite by a relative path."""
    catalog = tmp_path / "patterns"
    catalog.mkdir()
    text = (REPO / "runbooks" / "patterns" / "change.rollback.yaml").read_text()
    head, _, _ = text.partition("\npromotion:")
    argv = [
        "baton",
        "eval",
        "run",
        "--suite",
        RELATIVE_SUITE,
        "--min-pass-rate",
        minimum,
        "--no-save",
    ]
    (catalog / "change.rollback.yaml").write_text(
        f"{head}\npromotion:\n  eval: {json.dumps(argv)}\n"
    )
    return catalog


@pytest.mark.parametrize(("minimum", "passed"), [("0.6", True), ("0.9", False)])
def test_the_promotion_eval_runs_the_suite_from_any_directory(
    tmp_path: Path, minimum: str, passed: bool
) -> None:
    """`baton patterns eval` runs the argv with a minimal environment in the directory it is
    called from; the relative suite path still resolves (to the checkout)."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = cli_env(tmp_path / "home")
    env["BATON_PATTERNS_DIR"] = str(_catalog_with_eval(tmp_path, minimum))
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    proc = subprocess.run(
        [sys.executable, "-m", "baton.cli.main", *PATTERNS_EVAL, "--json"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    outcome = json.loads(proc.stdout)
    assert outcome["passed"] is passed, outcome
    assert proc.returncode == (0 if passed else 1)
    if not passed:
        assert (
            outcome["error"]
            == f"exit code 1: not met: pass_rate: measured 0.6667, required >= {minimum}"
        )
