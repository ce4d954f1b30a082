"""A process killed (SIGKILL) while an approved pattern's action runs: recovery never repeats
the effect, hands the in-doubt action to a person, and counts nothing towards promotion."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

from baton.runtime import build_runtime
from baton.settings import Settings
from baton.store import items as item_store
from baton.store import promotion_ledger as pattern_store
from tests.conftest import PY, REPO, cli_env, wait_for
from tests.integration.scripts import EFFECT_THEN_BLOCK
from tests.integration.test_crash import assert_record_is_whole, only_run, write

FIXTURES = REPO / "tests" / "fixtures" / "patterns"


def test_kill_during_an_approved_pattern_action(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    write(home / "people.yaml", "people:\n  bob: [sre]\n")
    env = {**cli_env(home), "BATON_PATTERNS_DIR": str(FIXTURES)}
    fx, started, release = tmp_path / "effects", tmp_path / "started", tmp_path / "release"
    params = {
        "python": PY,
        "script": EFFECT_THEN_BLOCK,
        "effects": str(fx),
        "started": str(started),
        "release": str(release),
    }
    runbook = write(
        tmp_path / "rb.yaml",
        "id: migrate\ntitle: Migrate\nowner: sre\ntasks:\n"
        "  - {id: migrate, type: action, title: Migrate, pattern: svc.migrate,"
        f" params: {json.dumps(params)}}}\n",
    )
    incident = write(tmp_path / "inc.json", json.dumps({"title": "slow", "service": "payments"}))

    def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [PY, "-m", "baton.cli.main", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert not check or proc.returncode == 0, proc.stderr
        return proc

    cli("run", str(runbook), "--incident", str(incident), "--as", "alice")
    run_id = only_run(home)
    settings = Settings(home=home, patterns_dir=FIXTURES)
    with build_runtime(settings) as rt, rt.db.read() as s:
        gate = item_store.get_item_for_task(s, run_id=run_id, task_id="migrate", stage="gate")
    assert gate is not None
    approver = subprocess.Popen(
        [PY, "-m", "baton.cli.main", "approve", gate.id, "--as", "bob"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(started.exists, what="the pattern's action to start")
    finally:
        approver.send_signal(signal.SIGKILL)
        approver.communicate(timeout=30)
    os.kill(int(started.read_text()), signal.SIGKILL)
    assert fx.read_text() == "effect\n"

    cli("recover")
    assert fx.read_text() == "effect\n", "recovery repeated a non-idempotent effect"
    with build_runtime(settings) as rt, rt.db.read() as s:
        fallback = item_store.get_item_for_task(s, run_id=run_id, task_id="migrate")
        assert fallback is not None and fallback.kind == "fallback"
        assert "verify whether it happened" in fallback.content["reason"]
        assert pattern_store.pattern_runs(s, pattern_id="svc.migrate") == []
    cli("complete", fallback.id, "--as", "bob", "--comment", "checked: migration applied once")
    assert fx.read_text() == "effect\n"
    assert_record_is_whole(home)
