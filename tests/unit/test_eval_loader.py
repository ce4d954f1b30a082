"""Loading eval cases: every problem at file:line, and a wrong expectation refused at load."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from baton.errors import InputError
from baton.evals.loader import InvalidCase, LoadedCase, load_case, load_suite
from baton.evals.replay import WINDOWS, brief_for, load_data
from baton.evals.runner import resolve_suite
from baton.runbooks.loader import load_runbook
from baton.settings import SHIPPED, Settings
from baton.tools.readers.logs.store import log_dir, manifest

SUITE = Path(__file__).resolve().parents[1] / "fixtures" / "evals" / "suite"
GOOD = "checkout-bad-deploy"
PATTERNS = ["change.rollback", "db.failover", "k8s.rollout_restart"]


@pytest.fixture
def case_dir(tmp_path: Path) -> Path:
    target = tmp_path / GOOD
    shutil.copytree(SUITE / GOOD, target)
    return target


def edit(folder: Path, old: str, new: str) -> Path:
    path = folder / "case.yaml"
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))
    return path


def problems(folder: Path, patterns: list[str] = PATTERNS) -> list[str]:
    loaded = load_case(folder, patterns)
    assert isinstance(loaded, InvalidCase), "the case should have been refused"
    return [str(p) for p in loaded.problems]


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def at(path: Path, needle: str) -> str:
    """`file:line:col` of the first occurrence of `needle`."""
    lines = path.read_text().splitlines()
    number, text = next((i, line) for i, line in enumerate(lines, 1) if needle in line)
    return f"{path}:{number}:{text.index(needle) + 1}"


def test_a_good_case_loads_with_its_clock_and_data(case_dir: Path) -> None:
    loaded = load_case(case_dir, PATTERNS)
    assert isinstance(loaded, LoadedCase), getattr(loaded, "problems", None)
    incident = loaded.case.incident
    assert incident.detected_at == datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
    assert incident.id == GOOD  # no id given: the case's
    assert sorted(loaded.itsm) == ["change_request", "cmdb_ci", "cmdb_rel_ci"]
    assert [p.name for p in loaded.logs] == ["checkout-api.jsonl"]


def test_an_unknown_field_is_refused_at_its_line(case_dir: Path) -> None:
    path = edit(case_dir, "  alternatives: []", "  alternatives: []\n  culprits: [CHG0040001]")
    assert problems(case_dir) == [
        f"{path}:{line_of(path, 'culprits:')}:3: unknown field 'culprits' in expected"
    ]


def test_a_culprit_missing_from_the_change_records_is_refused(case_dir: Path) -> None:
    path = edit(case_dir, "culprit: [CHG0040001]", "culprit: [CHG0040001, CHG0049999]")
    assert problems(case_dir) == [
        f"{at(path, 'CHG0049999')}: CHG0049999 is not a change in itsm/change_request.json"
    ]


def test_a_missing_itsm_file_is_refused_and_so_is_the_culprit_it_held(case_dir: Path) -> None:
    missing = case_dir / "itsm" / "change_request.json"
    missing.unlink()
    found = problems(case_dir)
    assert found[0].endswith("CHG0040001 is not a change in itsm/change_request.json")
    assert found[1].startswith(f"{missing}: missing file: no change_request records in itsm/")
    assert len(found) == 2


QUOTED = '"OOMKilled"'


def test_a_key_phrase_no_file_contains_is_refused(case_dir: Path) -> None:
    path = edit(
        case_dir, '["Connection is not available"]', '["connection IS not available", "OOMKilled"]'
    )
    assert problems(case_dir) == [
        f"{at(path, QUOTED)}: key phrase 'OOMKilled' occurs in none of "
        "the case's itsm/ or logs/ files"
    ]


def test_unknown_ci_and_patterns_are_refused(case_dir: Path) -> None:
    edit(case_dir, "root_cause_ci: checkout-api", "root_cause_ci: checkout-apl")
    edit(case_dir, "forbidden_actions: [db.failover]", "forbidden_actions: [db.failovr]")
    found = problems(case_dir)
    assert "root_cause_ci 'checkout-apl' is neither a CI" in found[0]
    assert "unknown pattern 'db.failovr' (not in the catalog)" in found[1]


def test_a_pattern_both_recommended_and_forbidden_is_refused(case_dir: Path) -> None:
    edit(case_dir, "forbidden_actions: [db.failover]", "forbidden_actions: [change.rollback]")
    assert any(
        "'change.rollback' is both recommended and forbidden" in p for p in problems(case_dir)
    )


def test_id_and_incident_clock_must_agree(case_dir: Path) -> None:
    edit(case_dir, "id: checkout-bad-deploy", "id: checkout-bad")
    edit(case_dir, "  severity: high", '  severity: high\n  detected_at: "2026-03-10T09:00:00Z"')
    found = problems(case_dir)
    assert "id 'checkout-bad' must be the folder name 'checkout-bad-deploy'" in found[0]
    assert "incident.detected_at (2026-03-10T09:00:00+00:00) differs from detected_at" in found[1]


def test_a_bad_itsm_record_is_named_with_its_file_and_line(case_dir: Path) -> None:
    path = case_dir / "itsm" / "change_request.json"
    doc = json.loads(path.read_text())
    doc["result"][1]["type"] = {"nested": "object"}
    path.write_text(json.dumps(doc, indent=1))
    found = problems(case_dir)
    line = line_of(path, '"CHG0040002"')
    assert len(found) == 1 and found[0].startswith(f"{path}:{line}: change_request record")
    assert "CHG0040002" in found[0] and "'type'" in found[0]


def test_broken_json_and_unexpected_files_are_refused(case_dir: Path) -> None:
    (case_dir / "itsm" / "cmdb_ci.json").write_text('{"result": [\n  {"sys_id": "x",}\n]}')
    (case_dir / "log").mkdir()
    (case_dir / "logs" / "notes.txt").write_text("x")
    found = problems(case_dir)
    assert any(p.startswith(f"{case_dir / 'itsm' / 'cmdb_ci.json'}:2:") for p in found)
    assert any("unexpected entry 'log'" in p for p in found)
    assert any(p.startswith(str(case_dir / "logs" / "notes.txt")) for p in found)


def test_yaml_aliases_and_a_missing_case_file_are_refused(case_dir: Path, tmp_path: Path) -> None:
    edit(
        case_dir, "  labels: {alertname: HighErrorRate}", "  labels: &l {alertname: HighErrorRate}"
    )
    edit(case_dir, "labels: {alertname: HighErrorRate, service: checkout-api}", "labels: *l")
    assert any("YAML aliases" in p for p in problems(case_dir))
    empty = tmp_path / "empty-case"
    empty.mkdir()
    assert problems(empty) == [f"{empty / 'case.yaml'}: no such case file"]


def test_the_fixture_suite_loads_two_cases_and_refuses_the_broken_one() -> None:
    suite = load_suite(SUITE, PATTERNS)
    kinds = {c.id: type(c).__name__ for c in suite.cases}
    assert kinds == {
        "broken-unknown-field": "InvalidCase",
        "checkout-bad-deploy": "LoadedCase",
        "search-no-change": "LoadedCase",
    }
    with pytest.raises(InputError, match="no such eval suite directory"):
        load_suite(SUITE / "nope")


def test_a_relative_suite_missing_here_is_taken_from_the_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    relative = Path("tests/fixtures/evals/suite")
    assert resolve_suite(relative) == SHIPPED / relative
    (tmp_path / relative).mkdir(parents=True)
    assert resolve_suite(relative) == relative  # the working directory's wins
    assert resolve_suite(Path("no/such/suite")) == Path("no/such/suite")


def test_windows_are_the_triage_runbooks_and_end_at_detection() -> None:
    runbook = load_runbook(SHIPPED / "runbooks" / "agent-triage.yaml").runbook
    agents = {t.agent: t for t in runbook.tasks if t.type == "agent"}
    for agent, window in WINDOWS.items():
        task = agents[agent.value]
        assert task.window == window.total_seconds() and task.baseline is None
    loaded = load_case(SUITE / GOOD)
    assert isinstance(loaded, LoadedCase)
    for agent in WINDOWS:
        brief = brief_for(loaded.case.incident, agent)
        assert brief.window_end == loaded.case.detected_at
        assert brief.baseline_end == brief.window_start
        assert brief.window_end - brief.window_start == WINDOWS[agent]


def test_log_dates_without_a_year_are_read_on_the_case_clock(
    case_dir: Path, tmp_path: Path
) -> None:
    """A syslog line has no year: replayed in 2024 it must land in 2024 whatever today is."""
    edit(case_dir, 'detected_at: "2026-03-10T09:30:00Z"', 'detected_at: "2024-06-01T10:30:00Z"')
    (case_dir / "logs" / "checkout-api.jsonl").unlink()
    (case_dir / "logs" / "syslog.log").write_text(
        "Jun  1 10:20:00 web-1 checkout-api[412]: ERROR Connection is not available\n"
    )
    edit(case_dir, "culprit: [CHG0040001]", "culprit: abstain")
    edit(case_dir, "recommended_pattern: change.rollback", "recommended_pattern: null")
    loaded = load_case(case_dir, PATTERNS)
    assert isinstance(loaded, LoadedCase), getattr(loaded, "problems", None)
    settings = Settings(home=tmp_path / "home")
    load_data(loaded, settings)
    (stored,) = manifest(log_dir(settings.data_dir))
    assert stored.first == datetime(2024, 6, 1, 10, 20, tzinfo=UTC)
