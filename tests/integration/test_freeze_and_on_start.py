"""Freeze windows and on_start patterns end to end, on the fixture catalog."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from baton.domain.status import RunStatus, TaskStatus
from baton.errors import RunbookInvalid
from baton.graph.promotion import standing_of
from baton.policies.context import condition_context
from baton.runbooks.catalog import Catalog, load_catalog
from baton.runbooks.loader import parse_runbook
from baton.runtime import Runtime, build_runtime
from baton.settings import Settings
from baton.store import audit
from baton.store import items as item_store
from baton.store import runs as run_store
from tests.conftest import PY, policy_settings, runbook
from tests.integration.test_patterns import FIXTURES, INCIDENT, PEOPLE, REQ, gate_of

FLAG_STEP = f"""\
  - id: flag
    type: action
    title: Disable the new checkout flow
    pattern: svc.flag_off
    params:
      python: {PY}
      effects: "{{{{ inputs.effects }}}}"
      health: "{{{{ inputs.health }}}}"
      service: "{{{{ incident.service }}}}"
"""
HEAD = """\
id: {id}
title: {id}
owner: sre
inputs:
  effects: {{}}
  health: {{}}
"""
FLAG = HEAD.format(id="flag") + "tasks:\n" + FLAG_STEP
PURGE = (
    HEAD.format(id="purge")
    + f"""\
tasks:
  - id: purge
    type: action
    title: Purge the cache tier
    pattern: svc.purge
    params: {{python: {PY}, effects: "{{{{ inputs.effects }}}}"}}
"""
)
ON_START = (
    HEAD.format(id="first-response")
    + "on_start:\n"
    + FLAG_STEP
    + f"""\
  - id: restart
    title: Restart {{{{ incident.service }}}}
    pattern: svc.restart
    params:
      python: {PY}
      effects: "{{{{ inputs.effects }}}}"
      health: "{{{{ inputs.health }}}}"
      service: "{{{{ incident.service }}}}"
tasks:
  - id: after_flag
    type: action
    title: Record that the flag is off
    needs: [flag]
    executor: command
    params:
      argv: ["{PY}", -c, "import sys; print('flag task', sys.argv[1])",
             "{{{{ tasks.flag.status }}}}"]
"""
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return policy_settings(tmp_path, PEOPLE)


@pytest.fixture
def catalog() -> Catalog:
    return load_catalog(FIXTURES)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    health = tmp_path / "healthy"
    health.write_text("ok")
    return {"effects": str(tmp_path / "effects.log"), "health": str(health)}


def effects(files: dict[str, str]) -> list[str]:
    path = Path(files["effects"])
    return path.read_text().splitlines() if path.exists() else []


def promote_flag(rt: Runtime, files: dict[str, str]) -> None:
    """svc.flag_off needs two clean approved runs in a context (threshold 2)."""
    for _ in range(2):
        run_id, status = rt.runner.start(runbook(FLAG), INCIDENT, requested_by=REQ, inputs=files)
        assert status is RunStatus.WAITING
        rt.runner.answer(gate_of(rt, run_id, "flag"), by="human:alice", verdict="approve")
    assert flag_line(rt) == ("autonomous", 2)


def flag_line(rt: Runtime) -> tuple[str, int]:
    loaded = rt.runner.deps.catalog["svc.flag_off"]
    context = condition_context(loaded.pattern, INCIDENT.model_dump(mode="json"))
    with rt.db.write() as session:
        line = standing_of(session, loaded, context)
    return line.state, line.streak


def events_of(rt: Runtime, kind: str, run_id: str | None = None) -> list[audit.AuditEvent]:
    with rt.db.read() as session:
        return [e for e in audit.events(session, run_id=run_id) if e.kind == kind]


def freeze(home: Path) -> None:
    now = datetime.now(UTC)
    (home / "freeze.yaml").write_text(
        "windows:\n"
        "  - name: quarter-end\n"
        f"    start: {(now - timedelta(hours=1)).isoformat()}\n"
        f"    end: {(now + timedelta(hours=1)).isoformat()}\n"
        "    environments: [production]\n"
        "    block: [critical]\n"
        "    reason: finance close, no unattended changes\n"
    )


def test_a_freeze_window_regates_a_promoted_pattern_and_denies_a_blocked_risk(
    settings: Settings, files: dict[str, str]
) -> None:
    with build_runtime(settings) as rt:
        promote_flag(rt, files)
    freeze(settings.home)
    with build_runtime(settings) as rt:
        run_id, status = rt.runner.start(runbook(FLAG), INCIDENT, requested_by=REQ, inputs=files)
        assert status is RunStatus.WAITING, "the freeze re-imposes the gate"
        assert flag_line(rt) == ("gated", 0)
        (demoted,) = events_of(rt, "pattern_demoted")
        assert demoted.subjects["pattern"] == "svc.flag_off"
        reason = "change freeze 'quarter-end': finance close, no unattended changes"
        assert demoted.payload["reason"] == reason
        (decision,) = events_of(rt, "gate_decision", run_id)
        assert decision.payload["mode"] == "needs_approval"
        assert decision.payload["freeze"] == "quarter-end"
        assert len(effects(files)) == 2  # only the two approved runs before the freeze

        run_id, status = rt.runner.start(runbook(PURGE), INCIDENT, requested_by=REQ, inputs=files)
        assert status is RunStatus.FAILED
        with rt.db.read() as session:
            task = run_store.get_task(session, run_id=run_id, task_id="purge")
            assert item_store.list_items(session, run_id=run_id, status=None) == []
        assert task.status == TaskStatus.FAILED
        assert "denied: change freeze 'quarter-end' refuses critical risk" in (task.error or "")
        (denied,) = events_of(rt, "gate_decision", run_id)
        assert denied.payload["mode"] == "deny" and denied.actor == "system"
    assert "purge" not in effects(files), "nothing executed"


def test_on_start_fires_autonomous_patterns_and_gates_the_rest(
    settings: Settings, files: dict[str, str]
) -> None:
    with build_runtime(settings) as rt:
        promote_flag(rt, files)
        run_id, status = rt.runner.start(
            runbook(ON_START), INCIDENT, requested_by=REQ, inputs=files
        )
        assert status is RunStatus.WAITING  # on the gate of `restart`
        with rt.db.read() as session:
            flag = run_store.get_task(session, run_id=run_id, task_id="flag")
            after = run_store.get_task(session, run_id=run_id, task_id="after_flag")
            items = item_store.list_items(session, run_id=run_id, status=None)
        assert flag.status == TaskStatus.SUCCEEDED and flag.actor == "automation:svc.flag_off"
        assert (flag.output or {})["mode"] == "autonomous"
        assert [(i.task_id, i.stage) for i in items] == [("restart", "gate")]
        assert after.status == TaskStatus.SUCCEEDED
        assert "flag task succeeded" in (after.output or {})["stdout"]
        assert effects(files)[-1] == "flag_off checkout"

        outcome = rt.runner.answer(gate_of(rt, run_id), by="human:bob", verdict="approve")
        assert outcome.run_status is RunStatus.SUCCEEDED
        assert effects(files)[-1] == "checkout"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("    needs: [flag]\n", r"task 'restart': on_start actions fire first: no needs"),
        (None, r"task 'restart': on_start lists pattern actions only"),
    ],
    ids=["needs", "executor"],
)
def test_bad_on_start_entries_name_file_and_line(
    catalog: Catalog, entry: str | None, message: str
) -> None:
    text = ON_START
    if entry is not None:
        text = text.replace("    pattern: svc.restart\n", "    pattern: svc.restart\n" + entry)
    else:
        start = text.index("    pattern: svc.restart\n")
        end = text.index("tasks:\n")
        text = text[:start] + "    executor: wait\n    params: {seconds: 1}\n" + text[end:]
    with pytest.raises(RunbookInvalid, match=r"first-response\.yaml:\d+:\d+: " + message):
        parse_runbook(text, "first-response.yaml", catalog)
