"""`baton logs load` and `baton logs templates` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from baton.settings import Settings
from baton.tools.readers.logs.store import log_dir, manifest
from tests.integration.test_crash import baton
from tests.unit.logfixtures import write_service_logs

pytestmark = pytest.mark.integration


def test_load_reports_each_file_and_never_duplicates(tmp_path: Path) -> None:
    home = tmp_path / "home"
    files = write_service_logs(tmp_path / "src")
    first = baton(home, "logs", "load", *map(str, files)).stdout.splitlines()
    assert len(first) == 2
    assert first[0].startswith(f"loaded {files[0]} as checkout.log: ")
    assert "with timestamps, 2026-03-02T10:00:00Z .. 2026-03-02T10:59:" in first[0]
    again = json.loads(baton(home, "logs", "load", str(files[0]), "--json").stdout)
    assert again[0]["status"] == "unchanged"
    assert again[0]["file"]["lines"] == again[0]["file"]["with_ts"]
    stored = manifest(log_dir(Settings(home=home).data_dir))
    assert sorted(f.source for f in stored) == ["checkout.log", "payments.jsonl"]


def test_templates_prints_every_line_with_its_template(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text(
        "2026-01-01 10:00:00 INFO api: user 17 logged in\n"
        "not a log line at all\n"
        "2026-01-01 10:00:01 INFO api: user 99 logged in\n"
        "2026-01-01 10:00:02 ERROR db: \x1b[31mdisk /dev/sda1 full\n"
    )
    rows = [
        json.loads(x)
        for x in baton(tmp_path, "logs", "templates", str(log), "--json").stdout.splitlines()
    ]
    assert [r["line"] for r in rows] == [1, 2, 3, 4]
    assert rows[0]["template"] == "user <*> logged in"
    assert rows[0]["template_id"] == rows[2]["template_id"] != rows[1]["template_id"]
    plain = baton(tmp_path, "logs", "templates", str(log)).stdout.splitlines()
    assert plain[0] == f"1\t{rows[0]['template_id']}\tuser <*> logged in"
    assert "\x1b" not in plain[3] and "\\x1b" in plain[3]


def test_a_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    proc = baton(tmp_path, "logs", "templates", str(tmp_path / "gone.log"), check=False)
    assert proc.returncode == 1
    assert "gone.log" in proc.stderr and "Traceback" not in proc.stderr
    load = baton(tmp_path, "logs", "load", str(tmp_path / "gone.log"), check=False)
    assert load.returncode == 1 and "input_error" in load.stderr
