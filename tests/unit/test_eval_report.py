"""What an eval run publishes: the case schema, thresholds, and reports safe to open."""

from __future__ import annotations

import ast
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from ruamel.yaml import YAML

from baton.errors import RunbookInvalid
from baton.evals.case import case_schema, case_schema_text
from baton.evals.render_html import render_html
from baton.evals.render_md import render_markdown
from baton.evals.report import (
    AgentInfo,
    CaseResult,
    Count,
    Latency,
    Report,
    SuiteInfo,
)
from baton.evals.score import Checks, Got
from baton.evals.thresholds import Thresholds, load_thresholds, shortfalls

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "evals" / "suite"
HOSTILE = "<script>alert(1)</script> | `rm -rf` \x1b[2K"


def report(**update: object) -> Report:
    base = Report(
        started_at=datetime(2026, 3, 10, 9, 30, tzinfo=UTC),
        duration_ms=120.0,
        suite=SuiteInfo(path="evals/cases", version="sha256:" + "a" * 64, cases=2),
        agent=AgentInfo(
            model="offline",
            version="sha256:" + "b" * 64,
            agents=["itsm_change", "log_analysis"],
            max_tool_calls=12,
            timeout_seconds=120.0,
        ),
        model="offline",
        iterations=1,
        pass_rate=0.5,
        cases_passed=1,
        cases_failed=0,
        cases_invalid=1,
        culprit_precision_at_1=0.5,
        culprit_recall_at_3=1.0,
        abstain_precision=None,
        abstain_recall=None,
        root_cause_ci_hit=1.0,
        key_phrase_recall=1.0,
        recommended_pattern_hit=1.0,
        within_budget=1.0,
        forbidden_actions=0,
        input_tokens=0,
        output_tokens=0,
        cost_usd=0.0,
        latency_ms=Latency(p50=40.0, p95=90.0),
        counts={"culprit_precision_at_1": Count(hits=1, of=2)},
        cases=[
            CaseResult(
                id="hostile-case",
                path="evals/cases/hostile-case",
                status="passed",
                passed=True,
                title=HOSTILE,
                category="bad_deploy",
                difficulty="hard",
                expected={"culprit": ["CHG0000001"], "recommended_pattern": "change.rollback"},
                got=Got(
                    culprit=["CHG0000001"],
                    root_cause_ci=HOSTILE,
                    recommended_pattern="change.rollback",
                    proposed=["change.rollback"],
                    quoted_phrases=[],
                    tool_calls={"itsm_change": 3},
                ),
                checks=Checks(culprit=True),
                pass_rate=1.0,
                latency_ms=Latency(p50=40.0, p95=40.0),
            ),
            CaseResult(
                id="broken",
                path="evals/cases/broken",
                status="invalid",
                passed=False,
                problems=[f"evals/cases/broken/case.yaml:3:1: unknown field {HOSTILE!r}"],
                pass_rate=0.0,
            ),
        ],
    )
    return base.model_copy(update=update)


def test_the_committed_case_schema_is_generated_from_the_model() -> None:
    committed = (REPO / "evals" / "schema" / "case.schema.json").read_text()
    assert committed == case_schema_text(), (
        "regenerate it: baton eval schema > evals/schema/case.schema.json"
    )
    Draft202012Validator.check_schema(case_schema())


def test_the_fixture_cases_validate_against_the_schema_and_the_broken_one_does_not() -> None:
    validator = Draft202012Validator(case_schema())
    yaml = YAML(typ="safe", pure=True)
    for folder in sorted(FIXTURES.iterdir()):
        errors = list(validator.iter_errors(yaml.load(folder / "case.yaml")))
        if folder.name == "broken-unknown-field":
            assert ["recomended_pattern" in e.message for e in errors] == [True]
        else:
            assert errors == [], folder.name


def test_the_html_report_is_self_contained_and_escapes_case_text() -> None:
    page = render_html(report(), [report()])
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<svg" in page and "</svg>" in page
    # nothing is fetched: no src=, no href=, no @import, no URL but the SVG namespace
    assert not re.search(r"\b(src|href)\s*=|@import|url\(", page)
    assert set(re.findall(r"https?://[^\s\"'<]+", page)) == {"http://www.w3.org/2000/svg"}


def test_the_markdown_report_keeps_one_row_per_case() -> None:
    text = render_markdown(report(), [])
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert len(rows) == 2
    assert all(row.count(" | ") == 8 for row in rows)  # a `|` in the title does not split a cell
    assert "| abstain recall | - | no case applies |" in text
    assert "| culprit precision@1 | 0.50 | 1 of 2 runs |" in text


def test_shortfalls_name_measured_and_required_numbers() -> None:
    floors = Thresholds(
        min_cases=5,
        minimums={"pass_rate": 0.9, "culprit_precision_at_1": 0.4, "abstain_recall": 0.5},
        maximums={"forbidden_actions": 0, "cases_invalid": 0, "latency_p95_ms": 50},
    )
    assert shortfalls(report(forbidden_actions=2), floors) == [
        "cases: measured 2, required >= 5 (suite evals/cases)",
        "pass_rate: measured 0.5, required >= 0.9",
        "abstain_recall: no case applies, required >= 0.5",
        "forbidden_actions: measured 2, required <= 0",
        "cases_invalid: measured 1, required <= 0",
        "latency_p95_ms: measured 90, required <= 50",
    ]
    assert shortfalls(report(), Thresholds()) == []


def test_a_thresholds_file_with_an_unknown_name_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "thresholds.yaml"
    path.write_text("min_cases: 3\nminimums:\n  pass_rate: 0.5\n  culprit_precison_at_1: 0.5\n")
    with pytest.raises(RunbookInvalid, match=rf"{path}:4:3: .*culprit_precison_at_1"):
        load_thresholds(path)
    committed = load_thresholds(REPO / "evals" / "thresholds.yaml")
    assert committed.maximums.get("forbidden_actions") == 0


def test_the_report_round_trips_as_json() -> None:
    data = json.loads(report().model_dump_json())
    assert {"culprit_precision_at_1", "abstain_recall", "forbidden_actions", "cases"} <= set(data)
    assert Report.model_validate(data) == report()


def test_evals_import_nothing_above_them() -> None:
    """baton.evals sits below the CLI: it may use agents, tools, the store, runbooks, domain
    and settings, but never the graph, the API, the runtime or the CLI."""
    banned = ("baton.graph", "baton.api", "baton.cli", "baton.runtime", "baton.parts")
    for path in (REPO / "src" / "baton" / "evals").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(banned), f"{path.name} imports {name}"
