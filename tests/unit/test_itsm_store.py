"""The ITSM store: accepted document forms, replace-by-sys_id, nothing stored on bad input."""

from __future__ import annotations

import filecmp
import json
from pathlib import Path

import pytest

from baton.errors import InputError
from baton.tools.readers.itsm import ItsmStore, read_files
from baton.tools.readers.itsm.response import split_document, table_from_filename
from tests.unit.itsm_builders import FIXTURES, ci

REPO = FIXTURES.parents[2]


def write(path: Path, doc: object) -> Path:
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize(
    ("name", "table"),
    [
        ("change_request.json", "change_request"),
        ("cmdb_ci.json", "cmdb_ci"),
        ("cmdb_ci_linux_server.json", "cmdb_ci"),
        ("cmdb_rel_ci-page2.json", "cmdb_rel_ci"),
        ("task_ci.2026-11.json", "task_ci"),
        ("changes.json", None),
        ("cmdb_cix.json", None),
    ],
)
def test_table_from_file_name(name: str, table: str | None):
    assert table_from_filename(Path(name)) == table


def test_document_forms():
    records = [{"sys_id": "a"}]
    assert split_document({"result": records}, "f", "cmdb_ci") == {"cmdb_ci": records}
    assert split_document({"result": records[0]}, "f", "cmdb_ci") == {"cmdb_ci": records}
    both = {"cmdb_ci": {"result": records}, "task_ci": {"result": []}}
    assert split_document(both, "f") == {"cmdb_ci": records, "task_ci": []}


@pytest.mark.parametrize(
    ("doc", "table", "message"),
    [
        ({"result": []}, None, "f: a bare Table API response does not say its table"),
        ([], "cmdb_ci", "f: expected a JSON object, got list"),
        ({"incident": {"result": []}}, None, "unknown key(s): incident"),
        ({"result": "nope"}, "cmdb_ci", "'result' must be a list of records or one record"),
        ({"cmdb_ci": []}, None, 'f: cmdb_ci: expected a Table API response {"result": [...]}'),
        ({"result": []}, "incident", "unknown ITSM table 'incident'"),
    ],
)
def test_unusable_documents_are_named(doc: object, table: str | None, message: str):
    with pytest.raises(InputError) as caught:
        split_document(doc, "f", table)
    assert message in str(caught.value)


def test_reload_replaces_by_sys_id(tmp_path: Path):
    store = ItsmStore(tmp_path / "itsm")
    first = store.put({"cmdb_ci": [ci("a"), ci("b")]})
    assert [(c.added, c.replaced, c.total) for c in first] == [(2, 0, 2)]
    again = store.put({"cmdb_ci": [ci("b", operational_status="2"), ci("c")]})
    assert [(c.added, c.replaced, c.total) for c in again] == [(1, 1, 3)]
    stored = {r["sys_id"]: r for r in store.records("cmdb_ci")}
    assert sorted(stored) == ["ci-a", "ci-b", "ci-c"]
    assert stored["ci-b"]["operational_status"] == "2"
    assert store.index().cis["ci-b"].operational_status_label == "non-operational"


def test_the_stored_file_is_itself_a_loadable_table_api_response(tmp_path: Path):
    store = ItsmStore(tmp_path / "itsm")
    store.put(read_files(sorted(FIXTURES.glob("*.json"))))
    copy = ItsmStore(tmp_path / "copy")
    counts = copy.put(read_files(sorted((tmp_path / "itsm").glob("*.json"))))
    assert {c.table: c.total for c in counts} == {
        "change_request": 26,
        "cmdb_ci": 18,
        "cmdb_rel_ci": 20,
        "task_ci": 30,
    }


def test_a_bad_record_anywhere_stores_nothing(tmp_path: Path):
    good = write(tmp_path / "cmdb_ci.json", {"result": [ci("a")]})
    bad = write(
        tmp_path / "both.json",
        {"change_request": {"result": [{"sys_id": "c1", "number": "CHG9", "end_date": "soon"}]}},
    )
    with pytest.raises(InputError) as caught:
        read_files([good, bad])
    assert str(caught.value) == (
        f"{bad}: change_request record CHG9 (result[0]), field 'end_date': 'soon' is not a "
        "date-time 'yyyy-mm-dd HH:MM:SS' (UTC)"
    )


@pytest.mark.parametrize(
    ("content", "message"), [(None, "file does not exist"), ("{oops", "not valid JSON")]
)
def test_unreadable_files_are_named(tmp_path: Path, content: str | None, message: str):
    path = tmp_path / "cmdb_ci.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError, match=message):
        read_files([path])


def test_the_index_follows_new_loads(tmp_path: Path):
    store = ItsmStore(tmp_path / "itsm")
    store.put({"cmdb_ci": [ci("a")]})
    assert store.index() is store.index()  # parsed once while nothing changes
    store.put({"cmdb_ci": [ci("b")]})
    assert sorted(store.index().cis) == ["ci-a", "ci-b"]


def test_demo_data_is_the_fixture():
    demo = REPO / "runbooks" / "data" / "itsm"
    names = sorted(p.name for p in FIXTURES.iterdir() if p.suffix in (".json", ".yaml"))
    assert names == sorted(p.name for p in demo.iterdir() if p.suffix in (".json", ".yaml"))
    same, mismatch, errors = filecmp.cmpfiles(FIXTURES, demo, names, shallow=False)
    assert (len(same), mismatch, errors) == (len(names), [], [])
