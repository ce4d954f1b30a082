"""`baton itsm load` as a user runs it: counts per table, reloads replace, bad files store nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.test_crash import baton, write
from tests.unit.itsm_builders import FIXTURES

pytestmark = pytest.mark.integration

FILES = [str(p) for p in sorted(FIXTURES.glob("*.json"))]


def stored(home: Path, table: str) -> list[dict[str, object]]:
    doc = json.loads((home / "data" / "itsm" / f"{table}.json").read_text())
    return doc["result"]


def test_load_prints_counts_and_reload_replaces(tmp_path: Path):
    home = tmp_path / "home"
    first = baton(home, "itsm", "load", *FILES)
    assert "change_request: 26 record(s) read, 26 new, 0 replaced, 26 stored" in first.stdout
    assert "cmdb_ci: 18 record(s) read, 18 new" in first.stdout
    assert "cmdb_rel_ci: 20 record(s) read" in first.stdout
    assert "task_ci: 30 record(s) read" in first.stdout
    again = json.loads(baton(home, "itsm", "load", *FILES, "--json").stdout)
    counts = {t["table"]: (t["added"], t["replaced"], t["total"]) for t in again["tables"]}
    assert counts == {
        "change_request": (0, 26, 26),
        "cmdb_ci": (0, 18, 18),
        "cmdb_rel_ci": (0, 20, 20),
        "task_ci": (0, 30, 30),
    }
    numbers = [r["number"] for r in stored(home, "change_request")]
    assert len(numbers) == len(set(numbers)) == 26


def test_a_bad_record_is_named_and_nothing_is_stored(tmp_path: Path):
    home = tmp_path / "home"
    bad = write(
        tmp_path / "extra.json",
        json.dumps(
            {"change_request": {"result": [{"sys_id": "x1", "number": "CHG9", "type": {}}]}}
        ),
    )
    proc = baton(home, "itsm", "load", *FILES, str(bad), check=False)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"{bad}: change_request record CHG9 (result[0]), field 'type'" in proc.stderr
    assert not (home / "data" / "itsm").exists()


def test_a_bare_response_needs_its_table(tmp_path: Path):
    home = tmp_path / "home"
    bare = write(tmp_path / "export.json", json.dumps({"result": [{"sys_id": "a", "name": "x"}]}))
    proc = baton(home, "itsm", "load", str(bare), check=False)
    assert proc.returncode == 1 and "pass --table" in proc.stderr
    ok = baton(home, "itsm", "load", str(bare), "--table", "cmdb_ci")
    assert "cmdb_ci: 1 record(s) read, 1 new" in ok.stdout
    assert stored(home, "cmdb_ci") == [{"sys_id": "a", "name": "x"}]
