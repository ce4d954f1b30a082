"""The CLI as a user meets it: one clear message per bad input, exit codes, stable JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.integration.test_crash import baton, baton_json, write

pytestmark = pytest.mark.integration


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def incident(tmp_path: Path) -> Path:
    return write(tmp_path / "inc.yaml", "id: INC-7\ntitle: api slow\nservice: api\n")


def test_validate_reports_every_problem_with_file_and_line(tmp_path: Path, home: Path):
    bad = write(
        tmp_path / "bad.yaml",
        "id: bad\ntitle: Bad\nowner: sre\ntasks:\n"
        "  - {id: a, type: action, title: A, executor: wait, params: {seconds: 1}, needs: [b]}\n"
        "  - {id: b, type: action, title: B, executor: wait, params: {seconds: 1}, needs: [a]}\n",
    )
    proc = baton(home, "validate", str(bad), check=False)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert f"{bad}:5:" in proc.stderr and "a -> b -> a" in proc.stderr
    good = baton(home, "validate", str(REPO / "runbooks"))
    assert good.stdout.count("ok ") == len(list((REPO / "runbooks").glob("*.yaml")))
    as_json = json.loads(baton(home, "validate", str(bad), "--json", check=False).stdout)
    assert as_json[0]["ok"] is False and as_json[0]["problems"]


def test_schema_is_json(home: Path):
    schema = json.loads(baton(home, "schema").stdout)
    assert schema["title"] == "Baton runbook"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("title: [unclosed", "not valid JSON/YAML"),
        ("- a list", "must hold a mapping"),
        ("title: x\nseverity: apocalyptic", "field 'severity'"),
        ("title: x\nowner: me", "field 'owner': Extra inputs are not permitted"),
    ],
)
def test_bad_incident_files_store_nothing(
    tmp_path: Path, home: Path, content: str | None, message: str
):
    path = tmp_path / "incident.yaml"
    if content is not None:
        path.write_text(content)
    rb = REPO / "runbooks" / "certificate-expiry.yaml"
    proc = baton(home, "run", str(rb), "--incident", str(path), check=False)
    assert proc.returncode == 1
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert not home.exists()  # nothing was created, let alone stored


def test_unusable_baton_home_is_one_clear_error(tmp_path: Path, incident: Path):
    blocker = write(tmp_path / "file", "not a directory")
    proc = baton(blocker / "home", "runs", "list", check=False)
    assert proc.returncode == 1
    assert "cannot create BATON_HOME" in proc.stderr and "Traceback" not in proc.stderr


def test_executor_timeout_fails_the_task_with_a_clear_reason(
    tmp_path: Path, home: Path, incident: Path
):
    rb = write(
        tmp_path / "rb.yaml",
        "id: slow\ntitle: Slow\nowner: sre\ntasks:\n"
        "  - {id: hang, type: action, title: Hang, executor: command, timeout: 1s,"
        " params: {argv: [sleep, '60']}}\n",
    )
    proc = baton(home, "run", str(rb), "--incident", str(incident), "--json", check=False)
    assert proc.returncode == 1
    shown = json.loads(proc.stdout)
    assert shown["run"]["status"] == "failed"
    assert shown["tasks"][0]["status"] == "failed"
    assert "timed out after 1s" in shown["tasks"][0]["error"]


def test_run_json_shapes_and_human_task_completion(tmp_path: Path, home: Path, incident: Path):
    rb = write(
        tmp_path / "rb.yaml",
        "id: renew\ntitle: Renew\nowner: sec\ntasks:\n"
        "  - id: issue\n    type: human\n    title: Issue the certificate\n    assignee: pki\n"
        "    instructions: Issue a certificate for {{ incident.service }}\n"
        "    outputs: {serial: {}, days: {type: number}}\n",
    )
    proc = baton(home, "run", str(rb), "--incident", str(incident), "--as", "alice")
    assert "waiting: human Issue the certificate" in proc.stdout
    (item,) = baton_json(home, "pending")
    assert set(item) >= {"id", "run_id", "task_id", "kind", "status", "content", "content_hash"}
    assert item["content"]["instructions"] == "Issue a certificate for api"

    missing = baton(home, "complete", item["id"], "--as", "bob", check=False)
    assert missing.returncode == 1 and "missing required output" in missing.stderr
    malformed = baton(
        home, "complete", item["id"], "--as", "bob", "--output", "serial", check=False
    )
    assert malformed.returncode == 1 and "not key=value" in malformed.stderr
    assert baton_json(home, "pending")[0]["decisions"] == []

    baton(
        home,
        "complete",
        item["id"],
        "--as",
        "bob",
        "--output",
        "serial=0xBEEF",
        "--output",
        "days=90",
    )
    (run,) = baton_json(home, "runs", "list")
    assert set(run) >= {"id", "runbook_id", "runbook_version", "incident_id", "status"}
    assert run["status"] == "succeeded" and run["runbook_version"].startswith("sha256:")
    shown = baton_json(home, "runs", "show", run["id"])
    assert shown["tasks"][0]["output"] == {
        "serial": "0xBEEF",
        "days": 90.0,
        "completed_by": "human:bob",
        "notes": None,
    }
    assert [e["status"] for e in shown["timeline"] if e["kind"] == "task"] == [
        "waiting",
        "succeeded",
    ]
    unknown = baton(home, "runs", "show", "run_nope", check=False)
    assert unknown.returncode == 1 and "no run 'run_nope'" in unknown.stderr


def test_demo_runs_end_to_end(tmp_path: Path, home: Path):
    proc = baton(home, "demo", "--home", str(tmp_path / "demo"))
    out = " ".join(proc.stdout.split())  # rich wraps long lines
    assert "changes (offline): CHG0031042 on checkout-api is the most likely cause" in out
    assert "proposed by agent:itsm_change@offline: change.rollback (change=CHG0031042" in out
    assert "agent:itsm_change@offline tries to approve its own proposal: refused" in out
    assert "DEMO APPROVER" in out and "evidence pack" in out and ": ok: " in out
    assert "succeeded" in proc.stdout


def test_demo_runs_the_old_rollback_runbook_too(tmp_path: Path, home: Path):
    rb = str(REPO / "runbooks" / "bad-deploy-rollback.yaml")
    proc = baton(home, "demo", "--home", str(tmp_path / "demo"), "--runbook", rb)
    assert "DEMO APPROVER" in proc.stdout and "succeeded" in proc.stdout


def test_audit_verify_cli(tmp_path: Path, home: Path):
    baton(home, "demo", "--home", str(home))
    ok = baton(home, "audit", "verify")
    assert ok.stdout.startswith("ok: ") and " events, head " in ok.stdout
    import sqlite3

    db = sqlite3.connect(home / "baton.sqlite")
    db.execute("DROP TRIGGER audit_events_no_update")
    db.execute("UPDATE audit_events SET actor = 'human:mallory' WHERE seq = 2")
    db.commit()
    db.close()
    broken = baton(home, "audit", "verify", check=False)
    assert broken.returncode == 1 and "broken at seq 2: hash mismatch" in broken.stderr
    verdict = json.loads(baton(home, "audit", "verify", "--json", check=False).stdout)
    assert verdict["ok"] is False and verdict["broken_seq"] == 2


def test_keys_export_and_offline_bundle_check(tmp_path: Path, home: Path, incident: Path):
    rb = str(REPO / "runbooks" / "certificate-expiry.yaml")
    no_key = baton(
        home,
        "audit",
        "export",
        "--incident",
        "INC-7",
        "--out",
        str(tmp_path / "p.zip"),
        check=False,
    )
    assert no_key.returncode == 1 and "run `baton keys init`" in no_key.stderr
    assert "created" in baton(home, "keys", "init").stdout
    again = baton(home, "keys", "init", check=False)
    assert again.returncode == 1 and "already exists" in again.stderr
    baton(
        home,
        "run",
        rb,
        "--incident",
        str(incident),
        "--as",
        "alice",
        "--input",
        "hostname=api.example.com",
    )
    out = tmp_path / "p.zip"
    baton(home, "audit", "export", "--incident", "INC-7", "--out", str(out))
    key = home / "keys" / "audit-ed25519.pem.pub"
    ok = baton(tmp_path, "audit", "verify-bundle", str(out), "--key", str(key))
    assert ok.stdout.startswith("ok: ") and "of incident INC-7" in ok.stdout
    other = tmp_path / "other"
    baton(other, "keys", "init")
    wrong = baton(
        tmp_path,
        "audit",
        "verify-bundle",
        str(out),
        "--key",
        str(other / "keys" / "audit-ed25519.pem.pub"),
        check=False,
    )
    assert wrong.returncode == 1 and "not the expected key" in wrong.stderr
    assert "signed checkpoint at" in baton(home, "audit", "verify").stdout


@pytest.mark.parametrize(
    ("name", "command"),
    [("baton.sqlite", ["runs", "list"]), ("checkpoints.sqlite", ["recover"])],
)
def test_an_unreadable_database_is_one_clear_error(
    tmp_path: Path, home: Path, name: str, command: list[str]
):
    home.mkdir()
    (home / name).write_bytes(b"this is not a database" * 300)
    proc = baton(home, *command, check=False)
    assert proc.returncode == 1
    assert "storage_error" in proc.stderr and "not a database" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_filters_that_match_nothing_by_mistake_are_errors(home: Path):
    status = baton(home, "runs", "list", "--status", "bogus", check=False)
    assert status.returncode == 2 and "'bogus' is not one of" in status.stderr
    unknown = baton(home, "pending", "--run", "run_nope", check=False)
    assert unknown.returncode == 1 and "no run 'run_nope'" in unknown.stderr


def test_errors_keep_brackets_and_stay_on_one_line(tmp_path: Path, home: Path):
    bad = write(
        tmp_path / ("x" * 60 + ".yaml"),
        "id: Bad-Id\ntitle: t\nowner: o\ntasks:\n"
        "  - {id: a, type: action, title: A, executor: wait, params: {seconds: 1}, '[b]x[/b]': 1}\n",
    )
    proc = baton(home, "validate", str(bad), check=False)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 2, proc.stderr
    assert "'^[a-z][a-z0-9_.-]{0,127}$'" in errors[0]
    assert "unknown field '[b]x[/b]'" in errors[1]
