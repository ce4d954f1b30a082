"""Loading runbook files: YAML errors, schema errors with positions, versions, shipped files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from ruamel.yaml import YAML

from baton.errors import InputError, RunbookInvalid
from baton.runbooks.canonical import canonical_json, runbook_from_canonical, version_of
from baton.runbooks.loader import MAX_BYTES, load_runbook, parse_runbook
from baton.runbooks.problem import Problem
from baton.runbooks.schema import json_schema, schema_text

RUNBOOKS = Path(__file__).resolve().parents[2] / "runbooks"

GOOD = """\
# a comment
id: demo
title: Demo
owner: sre
inputs:
  target: {default: web}
tasks:
  - id: diagnose
    type: action
    title: Diagnose
    executor: command
    params:
      argv: [echo, "{{ inputs.target }}"]
    timeout: 5m
  - id: gate
    type: approval
    title: Approve
    needs: [diagnose]
    approvers: [incident-commander]
    shows: ["{{ tasks.diagnose.output.stdout }}"]
"""


def problems_of(text: str) -> list[Problem]:
    with pytest.raises(RunbookInvalid) as info:
        parse_runbook(text, "rb.yaml")
    found = info.value.problems
    assert all(isinstance(p, Problem) for p in found)
    return found  # type: ignore[return-value]


def test_good_runbook_loads_with_version_and_source() -> None:
    loaded = parse_runbook(GOOD, "rb.yaml")
    assert loaded.runbook.id == "demo"
    assert loaded.runbook.tasks[0].timeout == 300.0
    assert loaded.version.startswith("sha256:") and len(loaded.version) == 71
    assert loaded.source == GOOD
    assert json.loads(loaded.canonical)["tasks"][1]["approvers"] == ["incident-commander"]


def test_problem_str_formats() -> None:
    assert str(Problem("f.yaml", 3, 5, "a", "boom")) == "f.yaml:3:5: task 'a': boom"
    assert str(Problem("f.yaml", 3, None, None, "boom")) == "f.yaml:3: boom"
    assert str(Problem("f.yaml", None, None, None, "boom")) == "f.yaml: boom"


def test_yaml_one_two_keeps_on_and_yes_as_strings() -> None:
    text = GOOD.replace("title: Demo", "title: yes")
    assert parse_runbook(text, "rb.yaml").runbook.title == "yes"


def test_broken_yaml_reports_ruamel_position() -> None:
    text = "id: demo\ntitle: [unclosed\nowner: sre\n"
    (problem,) = problems_of(text)
    assert problem.line == 3
    assert problem.column == 6
    assert problem.message.startswith("invalid YAML")


def test_bad_indentation_is_reported_with_line() -> None:
    text = "id: demo\n  title: x\n"
    (problem,) = problems_of(text)
    assert problem.line == 2
    assert "invalid YAML" in problem.message


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n"])
def test_top_level_must_be_a_mapping(text: str) -> None:
    (problem,) = problems_of(text)
    assert problem.line == 1
    assert "must be a mapping" in problem.message


def test_empty_document() -> None:
    (problem,) = problems_of("# nothing here\n")
    assert problem.message == "runbook is empty"


def test_unknown_field_points_at_the_key_and_names_the_task() -> None:
    text = GOOD.replace("    timeout: 5m\n", "    timeout: 5m\n    retry: 3\n")
    (problem,) = problems_of(text)
    assert (problem.line, problem.column, problem.task_id) == (15, 5, "diagnose")
    assert problem.message == "unknown field 'retry'"


def test_unknown_top_level_field() -> None:
    text = GOOD.replace("owner: sre\n", "owner: sre\nownr: x\n")
    (problem,) = problems_of(text)
    assert (problem.line, problem.column, problem.task_id) == (5, 1, None)
    assert "unknown field 'ownr'" in problem.message


def test_missing_field_points_at_the_enclosing_mapping() -> None:
    text = GOOD.replace("    title: Approve\n", "")
    (problem,) = problems_of(text)
    assert (problem.line, problem.column, problem.task_id) == (15, 5, "gate")
    assert problem.message == "missing required field 'title'"


def test_wrong_value_points_at_its_key() -> None:
    text = GOOD.replace("timeout: 5m", "timeout: soon")
    (problem,) = problems_of(text)
    assert (problem.line, problem.task_id) == (14, "diagnose")
    assert problem.message.startswith("timeout:")
    assert "invalid duration" in problem.message


def test_unknown_task_type_points_at_type() -> None:
    text = GOOD.replace("type: approval", "type: approve")
    (problem,) = problems_of(text)
    assert (problem.line, problem.column, problem.task_id) == (16, 5, "gate")
    assert "unknown task type 'approve'" in problem.message


def test_all_problems_are_collected_in_line_order() -> None:
    text = (
        GOOD.replace("owner: sre\n", "owner: sre\nownr: x\n")
        .replace("    title: Approve\n", "")
        .replace("    timeout: 5m\n", "    timeout: 5m\n    retry: 3\n")
    )
    found = problems_of(text)
    assert [(p.line, p.message) for p in found] == [
        (5, "unknown field 'ownr'"),
        (16, "unknown field 'retry'"),
        (17, "missing required field 'title'"),
    ]


def test_duplicate_keys_are_reported_each() -> None:
    text = GOOD.replace("owner: sre\n", "owner: sre\ntitle: Again\n").replace(
        "    type: approval\n", "    type: approval\n    needs: []\n"
    )
    found = problems_of(text)
    # the first value wins, so `needs: []` hides the dependency the template uses
    assert [(p.line, p.task_id) for p in found] == [(5, None), (20, "gate"), (22, "gate")]
    assert found[0].message == "duplicate key 'title' (first on line 3)"
    assert found[1].message == "duplicate key 'needs' (first on line 18)"


def test_aliases_are_refused() -> None:
    text = GOOD.replace("approvers: [incident-commander]", "approvers: &r [ic]\n    notes: *r")
    messages = [p.message for p in problems_of(text)]
    assert "YAML aliases (*name) are not supported" in messages


def test_semantic_problems_come_from_validation() -> None:
    text = GOOD.replace("needs: [diagnose]", "needs: [diagnos]")
    (problem,) = problems_of(text)
    assert (problem.line, problem.task_id) == (18, "gate")
    assert "did you mean 'diagnose'" in problem.message


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such runbook file"):
        load_runbook(tmp_path / "absent.yaml")
    with pytest.raises(InputError, match="directory"):
        load_runbook(tmp_path)


def test_non_utf8_file_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("title: caf\xe9\n".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        load_runbook(path)


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(GOOD + "#" * MAX_BYTES)
    with pytest.raises(InputError, match="limit"):
        load_runbook(path)
    with pytest.raises(RunbookInvalid, match="larger than 1 MiB"):
        parse_runbook(GOOD + "#" * MAX_BYTES, "big.yaml")


def test_file_name_appears_in_problems(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("id: [\n")
    with pytest.raises(RunbookInvalid, match=r"bad\.yaml:2"):
        load_runbook(path)


# --- versions ---------------------------------------------------------------------------

REFORMATTED = """\
owner: "sre"   # keys reordered, quoting and flow style changed
tasks:
- {id: diagnose, type: action, title: Diagnose, executor: command,
   params: {argv: ["echo", "{{ inputs.target }}"]}, timeout: 300}
- id: gate
  title: 'Approve'
  type: approval
  approvers:
    - incident-commander
  needs: [diagnose]
  shows:
    - "{{ tasks.diagnose.output.stdout }}"
title: Demo
inputs: {target: {default: "web"}}
id: demo
"""


def test_version_ignores_comments_order_and_formatting() -> None:
    assert parse_runbook(REFORMATTED, "b.yaml").version == parse_runbook(GOOD, "a.yaml").version


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("title: Approve", "title: Approve!"),
        ("timeout: 5m", "timeout: 6m"),
        ("default: web", "default: api"),
        ("[incident-commander]", "[incident-commander, dba]"),
    ],
)
def test_version_changes_with_any_value(old: str, new: str) -> None:
    changed = GOOD.replace(old, new)
    assert changed != GOOD
    assert parse_runbook(changed, "a.yaml").version != parse_runbook(GOOD, "a.yaml").version


def test_canonical_round_trip() -> None:
    loaded = parse_runbook(GOOD, "a.yaml")
    again = runbook_from_canonical(loaded.canonical)
    assert again == loaded.runbook
    assert canonical_json(again) == loaded.canonical
    assert version_of(again) == loaded.version


def test_canonical_json_is_compact_sorted_and_unicode() -> None:
    loaded = parse_runbook(GOOD.replace("title: Demo", "title: Démo"), "a.yaml")
    assert '"title":"Démo"' in loaded.canonical
    assert ", " not in loaded.canonical.replace('", "', "")
    data = json.loads(loaded.canonical)
    assert list(data) == sorted(data)


# --- shipped files ----------------------------------------------------------------------

SHIPPED = sorted(RUNBOOKS.glob("*.yaml"))


def test_there_are_shipped_runbooks() -> None:
    assert {p.name for p in SHIPPED} >= {
        "bad-deploy-rollback.yaml",
        "database-failover.yaml",
        "certificate-expiry.yaml",
    }


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_runbook_validates(path: Path) -> None:
    loaded = load_runbook(path)
    assert loaded.runbook.id == path.stem
    assert path.read_text().startswith("# yaml-language-server: $schema=./runbook.schema.json\n")


def test_committed_schema_matches_the_model() -> None:
    committed = (RUNBOOKS / "runbook.schema.json").read_text()
    assert committed == schema_text(), "regenerate runbooks/runbook.schema.json"


def test_schema_is_draft_2020_12_and_accepts_duration_strings() -> None:
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"]
    timeout = {**schema["$defs"]["ActionTask"]["properties"]["timeout"], "$defs": {}}
    check = Draft202012Validator(timeout)
    assert all(check.is_valid(v) for v in (30, 0.5, "5m", "1h30m", "2d", None))
    assert not any(check.is_valid(v) for v in (0, -1, "5 minutes", True))


@pytest.mark.parametrize(
    "path",
    [
        *SHIPPED,
        *sorted((RUNBOOKS / "patterns").glob("*.yaml")),
        *(RUNBOOKS / "demo").rglob("*.yaml"),
    ],
    ids=lambda p: p.name,
)
def test_shipped_files_pass_their_published_schema(path: Path) -> None:
    """What an editor checks (yaml-language-server) agrees with what Baton accepts."""
    header = path.read_text().splitlines()[0]
    schema_file = (path.parent / header.split("$schema=")[1]).resolve()
    schema = json.loads(schema_file.read_text())
    document = YAML(typ="safe").load(path.read_text())
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(document)]
    assert errors == []
