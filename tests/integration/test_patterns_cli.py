"""`baton patterns …` and pattern approvals as a user meets them: real subprocesses on a
home seeded in-process with runs of the fixture catalog."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from baton.domain.status import RunStatus
from baton.evidence.keys import init_keys
from baton.runtime import Runtime, build_runtime
from baton.settings import Settings
from baton.store import audit
from baton.store import items as item_store
from baton.store import promotion_ledger as pattern_store
from tests.conftest import PY, cli_env, runbook
from tests.integration.test_patterns import FIXTURES, INCIDENT, PEOPLE, REQ, RESTART, gate_of

pytestmark = pytest.mark.integration

CONTEXT = ("--context", "environment=production", "--context", "service=checkout")


def baton(
    home: Path, *args: str, check: bool = True, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**cli_env(home), "BATON_PATTERNS_DIR": str(FIXTURES)}
    proc = subprocess.run(
        [PY, "-m", "baton.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )
    if check and proc.returncode != 0:
        pytest.fail(f"baton {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
    assert "Traceback" not in proc.stderr
    return proc


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    home = tmp_path / "home"
    home.mkdir()
    (home / "people.yaml").write_text(
        PEOPLE + "  erin: [change-board]\n  frank: [sre, change-board]\n"
    )
    return Settings(home=home, retry_backoff_seconds=0, patterns_dir=FIXTURES)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    health = tmp_path / "healthy"
    health.write_text("ok")
    return {"effects": str(tmp_path / "effects.log"), "health": str(health)}


def waiting_restart(rt: Runtime, files: dict[str, str]) -> str:
    """Start a svc.restart run; the id of its gate."""
    run_id, status = rt.runner.start(runbook(RESTART), INCIDENT, requested_by=REQ, inputs=files)
    assert status is RunStatus.WAITING
    return gate_of(rt, run_id)


def seed(settings: Settings, files: dict[str, str], runs: int = 3) -> None:
    """`runs` approved restarts, the first with a changed parameter (shadow evidence)."""
    with build_runtime(settings) as rt:
        for n in range(runs):
            changes = {"replicas": 5} if n == 0 else None
            rt.runner.answer(
                waiting_restart(rt, files), by="human:alice", verdict="approve", changes=changes
            )


def events(settings: Settings, kind: str) -> list[audit.AuditEvent]:
    with build_runtime(settings) as rt, rt.db.read() as session:
        return [e for e in audit.events(session) if e.kind == kind]


def test_list_and_show(settings: Settings, files: dict[str, str]) -> None:
    seed(settings, files)
    listed: list[dict[str, Any]] = json.loads(
        baton(settings.home, "patterns", "list", "--json").stdout
    )
    by_id = {p["id"]: p for p in listed}
    assert sorted(by_id) == sorted(p.stem for p in FIXTURES.glob("*.yaml"))
    restart = by_id["svc.restart"]
    assert (restart["risk"], restart["autonomy_possible"]) == ("low", True)
    (line,) = restart["contexts"]
    assert line["context"] == {"environment": "production", "service": "checkout"}
    assert (line["state"], line["streak"], line["threshold"]) == ("gated", 3, 50)
    assert line["progress"] == "3/50"
    assert line["agreement"] == pytest.approx(2 / 3)
    assert line["shadow"] == {"unchanged": 2, "changed": 1, "rejected": 0}
    assert by_id["svc.failover"]["autonomy_possible"] is False
    assert by_id["svc.flag_off"]["contexts"] == []

    table = baton(settings.home, "patterns", "list").stdout
    assert "svc.restart" in table and "3/50" in table and "67%" in table

    shown = baton(settings.home, "patterns", "show", "svc.restart").stdout
    assert "risk low" in shown and "blast radius: one service" in shown
    assert "environment=production, service=checkout: gated, 3/50" in shown
    assert "still needed: 47 more clean approved runs (3/50)" in shown
    as_json = json.loads(baton(settings.home, "patterns", "show", "svc.restart", "--json").stdout)
    assert as_json["pattern"]["id"] == "svc.restart" and len(as_json["recent_runs"]) == 3
    assert [r["agreement"] for r in as_json["recent_runs"]] == ["changed", "unchanged", "unchanged"]


def test_demote_needs_a_reason_and_a_known_pattern_and_is_audited(
    settings: Settings, files: dict[str, str]
) -> None:
    seed(settings, files, runs=2)

    def demote(pattern_id: str, *more: str) -> subprocess.CompletedProcess[str]:
        args = ("patterns", "demote", pattern_id, "--as", "dan", *more)
        return baton(settings.home, *args, check=False)

    missing = demote("svc.restart", *CONTEXT)
    assert missing.returncode == 2 and "Missing option '--reason'" in missing.stderr
    blank = demote("svc.restart", *CONTEXT, "--reason", "  ")
    assert blank.returncode == 1 and "--reason must say why" in blank.stderr
    unknown = demote("svc.restrat", *CONTEXT, "--reason", "bad week")
    assert unknown.returncode == 1
    assert "unknown pattern 'svc.restrat'; did you mean 'svc.restart'" in unknown.stderr
    partial = demote("svc.restart", "--context", "environment=production", "--reason", "x")
    assert partial.returncode == 1
    assert "counts evidence per environment, service" in partial.stderr
    assert events(settings, "pattern_demoted") == []

    done = demote("svc.restart", *CONTEXT, "--reason", "bad deploy week")
    assert done.returncode == 0
    assert "gated in environment=production, service=checkout; streak reset" in done.stdout
    (demoted,) = events(settings, "pattern_demoted")
    assert (demoted.actor, demoted.payload["reason"]) == ("human:dan", "bad deploy week")
    with build_runtime(settings) as rt, rt.db.read() as session:
        (row,) = pattern_store.standings(session, pattern_id="svc.restart")
    assert (row.standing["state"], row.standing["streak"]) == ("gated", 0)


def test_evidence_pack_verifies_offline(
    settings: Settings, files: dict[str, str], tmp_path: Path
) -> None:
    init_keys(settings.signing_key_path)
    seed(settings, files, runs=2)
    out = tmp_path / "evidence.zip"
    proc = baton(settings.home, "patterns", "evidence", "svc.restart", *CONTEXT, "--out", str(out))
    assert "verify-bundle" in proc.stdout and out.exists()
    verified = baton(settings.home, "audit", "verify-bundle", str(out))
    assert verified.returncode == 0
    none = baton(
        settings.home,
        "patterns",
        "evidence",
        "svc.restart",
        "--context",
        "environment=staging",
        "--context",
        "service=checkout",
        "--out",
        str(tmp_path / "none.zip"),
        check=False,
    )
    assert none.returncode == 1 and "no evidence for svc.restart in environment=staging" in (
        none.stderr
    )


def test_approve_with_changed_parameters_and_with_break_glass(
    settings: Settings, files: dict[str, str]
) -> None:
    with build_runtime(settings) as rt:
        changed, glass = waiting_restart(rt, files), waiting_restart(rt, files)
    baton(settings.home, "approve", changed, "--as", "alice", "--param", "replicas=7")

    no_reason = baton(
        settings.home, "approve", glass, "--as", "carol", "--break-glass", check=False
    )
    assert no_reason.returncode == 1 and "break-glass needs a reason" in no_reason.stderr
    baton(
        settings.home,
        "approve",
        glass,
        "--as",
        "carol",
        "--break-glass",
        "--reason",
        "sre on-call unreachable",
    )

    with build_runtime(settings) as rt, rt.db.read() as session:
        rows = pattern_store.pattern_runs(session, pattern_id="svc.restart")
        review = item_store.get_item_for_task(
            session, run_id=rows[1].run_id, task_id="restart", stage="review"
        )
    assert [(r.mode, r.agreement, r.outcome) for r in rows] == [
        ("gated", "changed", "clean"),
        ("break_glass", "unchanged", "clean"),
    ]
    assert review is not None and review.content["reason"] == "sre on-call unreachable"
    (broke,) = events(settings, "break_glass")
    assert (broke.actor, broke.payload["severity"]) == ("human:carol", "high")
    (decision,) = [e for e in events(settings, "item_decision") if e.payload.get("changes")]
    assert decision.payload["changes"] == {"replicas": 7}


def test_eval_and_signoff_commands(settings: Settings, tmp_path: Path) -> None:
    def patterns(*args: str) -> subprocess.CompletedProcess[str]:
        return baton(settings.home, "patterns", *args, check=False, cwd=tmp_path)

    failed = patterns("eval", "svc.evaluated", "--as", "erin")
    assert failed.returncode == 1
    assert "failed (exit code 1: eval failed: 3 of 12 cases)" in failed.stdout
    (tmp_path / "eval.ok").write_text("")
    passed = patterns("eval", "svc.evaluated", "--as", "erin", "--json")
    shown = json.loads(passed.stdout)
    assert passed.returncode == 0 and (shown["passed"], shown["exit_code"]) == (True, 0)
    no_suite = patterns("eval", "svc.restart", "--as", "erin")
    assert no_suite.returncode == 1 and "has no eval suite (promotion.eval)" in no_suite.stderr

    production = ("--context", "environment=production")
    early = patterns("signoff", "svc.signed", "--as", "erin", *production)
    assert early.returncode == 1 and "this line is gated at 0/2" in early.stderr
    text = "id: s\ntitle: S\nowner: sre\ntasks:\n"
    text += "  - {id: step, type: action, title: S, pattern: svc.signed}\n"
    with build_runtime(settings) as rt:
        for _ in range(2):
            run_id, _ = rt.runner.start(runbook(text), INCIDENT, requested_by=REQ)
            rt.runner.answer(gate_of(rt, run_id, "step"), by="human:frank", verdict="approve")
    own = patterns("signoff", "svc.signed", "--as", "frank", *production)
    assert own.returncode == 1 and "cannot certify their own evidence" in own.stderr
    done = patterns("signoff", "svc.signed", "--as", "erin", *production, "--comment", "ok")
    assert done.returncode == 0
    assert "signed off by human:erin in environment=production: now autonomous" in done.stdout
