"""kill -9 of real `baton` processes mid-action, mid-wait and at a gate, then recovery.

The invariant (research R1/R3): nothing is lost, completed effects are never repeated, and a
non-idempotent action that was in flight becomes a task for a person to verify.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from baton.runtime import build_runtime
from baton.settings import Settings
from baton.store import runs as run_store
from tests.conftest import PY, cli_env, wait_for
from tests.integration.scripts import APPEND, EFFECT_THEN_BLOCK, lines

pytestmark = pytest.mark.integration


def baton(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [PY, "-m", "baton.cli.main", *args],
        env=cli_env(home),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check and proc.returncode != 0:
        pytest.fail(
            f"baton {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def baton_json(home: Path, *args: str) -> Any:
    return json.loads(baton(home, *args, "--json").stdout)


def spawn_run(home: Path, runbook: Path, incident: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            PY,
            "-m",
            "baton.cli.main",
            "run",
            str(runbook),
            "--incident",
            str(incident),
            "--as",
            "alice",
        ],
        env=cli_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def task_status(home: Path, run_id: str, task_id: str) -> str:
    with build_runtime(Settings(home=home)) as rt, rt.db.read() as s:
        return run_store.get_task(s, run_id=run_id, task_id=task_id).status


def assert_record_is_whole(home: Path) -> None:
    """Neither or both: every task's state in the tables has its audit event, and the chain
    verifies, however the process died."""
    from baton.store import audit

    with build_runtime(Settings(home=home)) as rt, rt.db.read() as s:
        assert audit.verify(s).ok
        for run in run_store.list_runs(s):
            events = [e for e in audit.events(s, run_id=run.id) if e.kind == "task"]
            last = {e.subjects["task"]: e.status for e in events}
            for task in run_store.task_executions(s, run_id=run.id):
                assert last.get(task.task_id, "pending") == task.status, task.task_id
            run_events = [e.status for e in audit.events(s, run_id=run.id) if e.kind == "run"]
            assert run_events[-1] == run.status


def only_run(home: Path) -> str:
    with build_runtime(Settings(home=home)) as rt, rt.db.read() as s:
        runs = run_store.list_runs(s)
    assert len(runs) == 1
    return runs[0].id


@pytest.fixture
def incident_file(tmp_path: Path) -> Path:
    return write(
        tmp_path / "incident.json",
        json.dumps({"id": "INC-9", "title": "payments down", "service": "payments"}),
    )


def blocking_runbook(tmp_path: Path, *, idempotent: bool) -> Path:
    fx, started, release = tmp_path / "effects", tmp_path / "started", tmp_path / "release"

    def argv(*a: object) -> str:
        return json.dumps([str(x) for x in a])

    return write(
        tmp_path / "rb.yaml",
        f"""
id: crash-mid-action
title: Crash mid action
owner: sre
tasks:
  - {{id: first, type: action, title: First, executor: command,
      params: {{argv: {argv(PY, "-c", APPEND, fx, "first")}}}}}
  - {{id: slow, type: action, title: Slow, needs: [first], executor: command,
      idempotent: {str(idempotent).lower()}, timeout: 10,
      params: {{argv: {argv(PY, "-c", EFFECT_THEN_BLOCK, fx, started, release)}}}}}
  - {{id: after, type: action, title: After, needs: [slow], executor: command,
      params: {{argv: {argv(PY, "-c", APPEND, fx, "after")}}}}}
""",
    )


def crash_during_slow(tmp_path: Path, home: Path, runbook: Path, incident: Path) -> str:
    proc = spawn_run(home, runbook, incident)
    try:
        wait_for(lambda: (tmp_path / "started").exists(), what="the slow action to start")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    # The machine "crashed": the action's own process dies with it.
    os.kill(int((tmp_path / "started").read_text()), signal.SIGKILL)
    return only_run(home)


def test_kill9_mid_non_idempotent_action_hands_it_to_a_person(tmp_path: Path, incident_file: Path):
    home = tmp_path / "home"
    run_id = crash_during_slow(
        tmp_path, home, blocking_runbook(tmp_path, idempotent=False), incident_file
    )
    assert task_status(home, run_id, "slow") == "running"

    recovered = baton_json(home, "recover")
    assert recovered == {run_id: "waiting"}
    items = baton_json(home, "pending")
    assert [(i["task_id"], i["kind"]) for i in items] == [("slow", "fallback")]
    assert "verify whether it happened" in items[0]["content"]["reason"]
    assert items[0]["content"]["idempotency_key"] == f"{run_id}:slow:1"
    # A person's deadline, not the action's 10 s: recover must not fail the run meanwhile.
    due = datetime.fromisoformat(items[0]["due_at"])
    assert due - datetime.now(UTC) > timedelta(hours=3)

    baton(home, "complete", items[0]["id"], "--as", "bob", "--comment", "checked: it ran")
    shown = baton_json(home, "runs", "show", run_id)
    assert shown["run"]["status"] == "succeeded"
    assert lines(tmp_path / "effects") == ["first", "effect", "after"]
    slow = [e for e in shown["ledger"] if e["task_id"] == "slow"]
    assert [(e["key"], e["state"]) for e in slow] == [(f"{run_id}:slow:1", "intent")]
    assert {t["id"]: t["actor"] for t in shown["tasks"]}["slow"] == "human:bob"
    assert any(e["kind"] == "recovery" for e in shown["timeline"])
    assert_record_is_whole(home)


def test_kill9_mid_idempotent_action_reruns_it_under_the_same_key(
    tmp_path: Path, incident_file: Path
):
    home = tmp_path / "home"
    run_id = crash_during_slow(
        tmp_path, home, blocking_runbook(tmp_path, idempotent=True), incident_file
    )
    (tmp_path / "release").touch()
    assert baton_json(home, "recover") == {run_id: "succeeded"}
    shown = baton_json(home, "runs", "show", run_id)
    ledger = {e["task_id"]: e for e in shown["ledger"]}
    assert ledger["slow"]["key"] == f"{run_id}:slow:1"
    assert ledger["slow"]["reexecutions"] == 1
    assert ledger["first"]["reexecutions"] == 0
    # `first` and `after` are not idempotent: exactly one effect each.
    assert lines(tmp_path / "effects") == ["first", "effect", "effect", "after"]
    assert_record_is_whole(home)


def test_kill9_mid_wait_resumes_with_the_remaining_time(tmp_path: Path, incident_file: Path):
    home = tmp_path / "home"
    fx = tmp_path / "effects"
    runbook = write(
        tmp_path / "rb.yaml",
        f"""
id: crash-mid-wait
title: Crash mid wait
owner: sre
tasks:
  - {{id: first, type: action, title: First, executor: command,
      params: {{argv: {json.dumps([PY, "-c", APPEND, str(fx), "first"])}}}}}
  - {{id: settle, type: action, title: Settle, needs: [first], executor: wait,
      params: {{seconds: 4}}}}
  - {{id: after, type: action, title: After, needs: [settle], executor: command,
      params: {{argv: {json.dumps([PY, "-c", APPEND, str(fx), "after"])}}}}}
""",
    )
    proc = spawn_run(home, runbook, incident_file)
    try:
        wait_for(lambda: home.exists() and (tmp_path / "effects").exists(), what="first effect")
        run_id = only_run(home)
        wait_for(lambda: task_status(home, run_id, "settle") == "running", what="the wait")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    assert baton_json(home, "recover") == {run_id: "succeeded"}
    shown = baton_json(home, "runs", "show", run_id)
    settle = next(e for e in shown["ledger"] if e["task_id"] == "settle")
    assert settle["reexecutions"] == 1
    assert settle["result"]["data"]["waited_seconds"] < 4  # only what was left
    assert lines(fx) == ["first", "after"]
    assert_record_is_whole(home)


def test_a_run_waits_at_a_gate_across_processes(tmp_path: Path, incident_file: Path):
    home = tmp_path / "home"
    fx = tmp_path / "effects"
    runbook = write(
        tmp_path / "rb.yaml",
        f"""
id: gate-across-processes
title: Gate across processes
owner: sre
tasks:
  - {{id: gate, type: approval, title: Restart payments?, approvers: [ic],
      shows: ["service {{{{ incident.service }}}}"]}}
  - {{id: restart, type: action, title: Restart, needs: [gate], executor: command,
      params: {{argv: {json.dumps([PY, "-c", APPEND, str(fx), "restart"])}}}}}
""",
    )
    first = spawn_run(home, runbook, incident_file)
    out, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    assert "waiting: approval" in out
    items = baton_json(home, "pending")
    assert items[0]["content"]["shows"] == ["service payments"]
    assert items[0]["requested_by"] == "human:alice"

    self_approval = baton(home, "approve", items[0]["id"], "--as", "alice", check=False)
    assert self_approval.returncode == 1
    assert "human:alice requested this and cannot approve" in self_approval.stderr
    assert "Traceback" not in self_approval.stderr

    baton(home, "approve", items[0]["id"], "--as", "bob")
    again = baton(home, "approve", items[0]["id"], "--as", "carol", check=False)
    assert again.returncode == 1 and "already" in again.stderr
    assert lines(fx) == ["restart"]


def test_detached_run_and_start_up_resume_of_orphans(tmp_path: Path, incident_file: Path):
    home = tmp_path / "home"
    run_id = crash_during_slow(
        tmp_path, home, blocking_runbook(tmp_path, idempotent=True), incident_file
    )
    (tmp_path / "release").touch()
    # Any command that advances runs notices the orphan and resumes it in the background.
    quick = write(
        tmp_path / "quick.yaml",
        "id: quick\ntitle: Quick\nowner: sre\ntasks:\n"
        "  - {id: t, type: action, title: T, executor: wait, params: {seconds: 0}}\n",
    )
    detached = baton(
        home, "run", str(quick), "--incident", str(incident_file), "--detach", "--json"
    )
    assert "resuming 1 run(s) left mid-step" in detached.stderr
    new_run = json.loads(detached.stdout)["run_id"]

    def finished() -> bool:
        runs = {r["id"]: r["status"] for r in baton_json(home, "runs", "list")}
        return runs.get(run_id) == "succeeded" and runs.get(new_run) == "succeeded"

    wait_for(finished, timeout=60, what="the orphan and the detached run to finish")
    assert lines(tmp_path / "effects") == ["first", "effect", "effect", "after"]
