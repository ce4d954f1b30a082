"""Pattern gates end to end: 50 approved runs promote, the 51st runs ungated, a failed
verification restores the gate, and the promotion's evidence pack verifies offline."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from baton.domain.incident import Incident
from baton.domain.status import ItemStatus, RunStatus, TaskStatus
from baton.errors import Forbidden, InputError, NotFound
from baton.evidence import bundle
from baton.evidence.keys import init_keys
from baton.graph.promotion import standing_of
from baton.policies.context import condition_context, context_key
from baton.runtime import Runtime, build_runtime
from baton.settings import Settings
from baton.store import audit
from baton.store import items as item_store
from baton.store import promotion_ledger as pattern_store
from baton.store import runs as run_store
from tests.conftest import PY, REPO, policy_settings, runbook

FIXTURES = REPO / "tests" / "fixtures" / "patterns"
REQ = "human:requester"
PEOPLE = """\
people:
  alice: [sre]
  bob: [sre, dba]
  carol: [dba, break-glass]
  dan: [incident-commander]
"""

RESTART = f"""\
id: restart-svc
title: Restart a service
owner: sre
inputs:
  effects: {{}}
  health: {{}}
tasks:
  - id: restart
    type: action
    title: Restart {{{{ incident.service }}}}
    pattern: svc.restart
    params:
      python: {PY}
      effects: "{{{{ inputs.effects }}}}"
      health: "{{{{ inputs.health }}}}"
      service: "{{{{ incident.service }}}}"
    rationale: "5xx on {{{{ incident.service }}}} since the last deploy"
"""


@pytest.fixture
def pattern_settings(tmp_path: Path) -> Settings:
    return policy_settings(tmp_path, PEOPLE)


@pytest.fixture
def rt(pattern_settings: Settings) -> Iterator[Runtime]:
    init_keys(pattern_settings.signing_key_path)
    with build_runtime(pattern_settings) as runtime:
        yield runtime


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    health = tmp_path / "healthy"
    health.write_text("ok")
    return {"effects": str(tmp_path / "effects.log"), "health": str(health)}


INCIDENT = Incident(id="INC-7", title="checkout 5xx", service="checkout", environment="production")


def start(rt: Runtime, files: dict[str, str], text: str = RESTART) -> tuple[str, RunStatus]:
    return rt.runner.start(runbook(text), INCIDENT, requested_by=REQ, inputs=files)


def gate_of(rt: Runtime, run_id: str, task: str = "restart", stage: str = "gate") -> str:
    with rt.db.read() as session:
        item = item_store.get_item_for_task(session, run_id=run_id, task_id=task, stage=stage)
        assert item is not None, f"no {stage} item for {task}"
        return item.id


def effects(files: dict[str, str]) -> int:
    path = Path(files["effects"])
    return len(path.read_text().splitlines()) if path.exists() else 0


def ledger(rt: Runtime) -> tuple[str, int]:
    loaded = rt.runner.deps.catalog["svc.restart"]
    context = condition_context(loaded.pattern, INCIDENT.model_dump(mode="json"))
    with rt.db.write() as session:
        line = standing_of(session, loaded, context)
    return line.state, line.streak


def test_fifty_clean_runs_promote_and_a_failed_verification_demotes(
    rt: Runtime, files: dict[str, str], tmp_path: Path
) -> None:
    for n in range(1, 51):
        run_id, status = start(rt, files)
        assert status is RunStatus.WAITING, f"run {n} should wait at the gate"
        outcome = rt.runner.answer(gate_of(rt, run_id), by="human:alice", verdict="approve")
        assert outcome.run_status is RunStatus.SUCCEEDED
        expected = ("autonomous", 50) if n == 50 else ("gated", n)
        assert ledger(rt) == expected, f"after run {n}"
    assert effects(files) == 50

    # The 51st runs the pattern with no gate, as automation.
    run_id, status = start(rt, files)
    assert status is RunStatus.SUCCEEDED
    with rt.db.read() as session:
        assert item_store.list_items(session, run_id=run_id, status=None) == []
        task = run_store.get_task(session, run_id=run_id, task_id="restart")
        assert task.actor == "automation:svc.restart"
        assert (task.output or {})["mode"] == "autonomous"
    assert effects(files) == 51

    # An injected verification failure while autonomous restores the gate.
    Path(files["health"]).unlink()
    run_id, status = start(rt, files)
    assert status is RunStatus.FAILED
    assert effects(files) == 52
    assert ledger(rt) == ("gated", 0)
    with rt.db.read() as session:
        kinds = [e.kind for e in audit.events(session) if e.kind.startswith("pattern_")]
        assert kinds.count("pattern_promoted") == 1 and kinds[-1] == "pattern_demoted"
        promoted = next(e for e in audit.events(session) if e.kind == "pattern_promoted")
        payload = promoted.payload
        if "$blob" in payload:  # large payloads are stored once, by digest
            payload = json.loads(audit.blob(session, payload["$blob"]) or "{}")
    statement = payload["statement"]
    assert "executed 50 times without issue under these conditions" in statement
    assert "environment=production, service=checkout" in statement
    assert "Risk: low" in statement and statement.endswith("Human step removed.")
    assert len(payload["runs"]) == 50

    # Gated again: the next run waits for a person.
    Path(files["health"]).write_text("ok")
    _, status = start(rt, files)
    assert status is RunStatus.WAITING

    # The promotion's evidence pack verifies offline.
    loaded = rt.runner.deps.catalog["svc.restart"]
    key = context_key(condition_context(loaded.pattern, INCIDENT.model_dump(mode="json")))
    out = tmp_path / "promotion.zip"
    exported = bundle.export(rt.db, rt.signer, out, pattern="svc.restart", context=key)
    assert exported.events > 50 * 5
    report = bundle.verify_bundle(out)
    assert report.ok, report.message


def test_separation_of_duties_at_a_pattern_gate(rt: Runtime, files: dict[str, str]) -> None:
    run_id, _ = start(rt, files)
    gate = gate_of(rt, run_id)
    refusals = [
        (REQ, Forbidden, "requested this and cannot approve"),
        ("agent:log_analysis@offline", Forbidden, "not a person"),
        ("automation:svc.restart", Forbidden, "not a person"),
        ("human:dan", Forbidden, "holds none of the roles this item needs \\(sre\\)"),
        ("human:mallory", Forbidden, "holds none of the roles"),
    ]
    for who, error, message in refusals:
        with pytest.raises(error, match=message):
            rt.runner.answer(gate, by=who, verdict="approve")
    with pytest.raises(InputError, match="break-glass needs a reason"):
        rt.runner.answer(gate, by="human:carol", verdict="approve", break_glass=True)
    assert effects(files) == 0
    with rt.db.read() as session:
        refused = [e for e in audit.events(session, run_id=run_id) if e.kind == "refusal"]
    assert len(refused) == len(refusals) + 1

    # Break-glass: one person with the role stands in, audited, with a review for later.
    outcome = rt.runner.answer(
        gate,
        by="human:carol",
        verdict="approve",
        comment="sre on-call unreachable",
        break_glass=True,
    )
    assert outcome.run_status is RunStatus.SUCCEEDED
    with rt.db.read() as session:
        review = item_store.get_item_for_task(
            session, run_id=run_id, task_id="restart", stage="review"
        )
        assert review is not None and review.status == ItemStatus.PENDING
        glass = [e for e in audit.events(session, run_id=run_id) if e.kind == "break_glass"]
        assert glass and glass[0].payload["severity"] == "high"
    with pytest.raises(Forbidden, match="cannot review"):
        rt.runner.answer(review.id, by="human:carol", verdict="complete")
    rt.runner.answer(review.id, by="human:bob", verdict="complete", comment="justified")
    # A break-glass run is not evidence for removing the gate.
    assert ledger(rt) == ("gated", 0)


def test_two_person_rule_on_a_high_risk_pattern(rt: Runtime, tmp_path: Path) -> None:
    effects_file = tmp_path / "effects.log"
    text = f"""\
    id: failover
    title: Failover
    owner: dba
    tasks:
      - id: failover
        type: action
        title: Fail over
        pattern: svc.failover
        params: {{python: {PY}, effects: {effects_file}}}
    """
    run_id, status = rt.runner.start(runbook(text), INCIDENT, requested_by=REQ)
    assert status is RunStatus.WAITING
    gate = gate_of(rt, run_id, "failover")
    first = rt.runner.answer(gate, by="human:bob", verdict="approve")
    assert first.run_status is RunStatus.WAITING and not effects_file.exists()
    with pytest.raises(Exception, match="already answered"):
        rt.runner.answer(gate, by="human:bob", verdict="approve")
    second = rt.runner.answer(gate, by="human:carol", verdict="approve")
    assert second.run_status is RunStatus.WAITING  # now waits for the human verification
    assert effects_file.read_text() == "failover\n"
    verify = gate_of(rt, run_id, "failover", stage="verify")
    done = rt.runner.answer(verify, by="human:bob", verdict="complete", comment="writes ok")
    assert done.run_status is RunStatus.SUCCEEDED
    # High risk: even after its threshold (2) of clean runs, never autonomous.
    for _ in range(2):
        run_id, _ = rt.runner.start(runbook(text), INCIDENT, requested_by=REQ)
        for who in ("human:bob", "human:carol"):
            rt.runner.answer(gate_of(rt, run_id, "failover"), by=who, verdict="approve")
        rt.runner.answer(
            gate_of(rt, run_id, "failover", "verify"), by="human:bob", verdict="complete"
        )
    _, status = rt.runner.start(runbook(text), INCIDENT, requested_by=REQ)
    assert status is RunStatus.WAITING


def test_changed_parameters_and_rejections_are_shadow_evidence(
    rt: Runtime, files: dict[str, str]
) -> None:
    run_id, _ = start(rt, files)
    with pytest.raises(InputError, match="above the maximum"):
        rt.runner.answer(
            gate_of(rt, run_id), by="human:alice", verdict="approve", changes={"replicas": 99}
        )
    with pytest.raises(InputError, match="unknown parameter 'replica'"):
        rt.runner.answer(
            gate_of(rt, run_id), by="human:alice", verdict="approve", changes={"replica": 5}
        )
    rt.runner.answer(
        gate_of(rt, run_id), by="human:alice", verdict="approve", changes={"replicas": 5}
    )
    run_id, _ = start(rt, files)
    rejected = rt.runner.answer(
        gate_of(rt, run_id), by="human:bob", verdict="reject", comment="not this one"
    )
    assert rejected.run_status is RunStatus.FAILED
    with rt.db.read() as session:
        rows = pattern_store.pattern_runs(session, pattern_id="svc.restart")
    assert [(r.agreement, r.outcome) for r in rows] == [
        ("changed", "clean"),
        ("rejected", "rejected"),
    ]
    # A rejection is not a failure: the streak stands; the agreement rate shows it.
    assert ledger(rt) == ("gated", 1)
    assert effects(files) == 1


def test_execution_refused_when_what_runs_differs_from_what_was_approved(
    rt: Runtime, pattern_settings: Settings, files: dict[str, str], tmp_path: Path
) -> None:
    run_id, _ = start(rt, files)
    gate = gate_of(rt, run_id)
    # The catalog changes while the gate waits: the approval must not carry over.
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    text = (FIXTURES / "svc.restart.yaml").read_text().replace("risk: low", "risk: medium")
    (catalog / "svc.restart.yaml").write_text(text)
    (catalog / "svc.failover.yaml").write_text((FIXTURES / "svc.failover.yaml").read_text())
    changed = pattern_settings.model_copy(update={"patterns_dir": catalog})
    with build_runtime(changed) as other:
        outcome = other.runner.answer(gate, by="human:alice", verdict="approve")
        assert outcome.run_status is RunStatus.FAILED
        with other.db.read() as session:
            task = run_store.get_task(session, run_id=run_id, task_id="restart")
            refused = [
                e for e in audit.events(session, run_id=run_id) if e.kind == "execution_refused"
            ]
    assert task.status == TaskStatus.FAILED and "refused to execute" in (task.error or "")
    assert (
        refused and refused[0].payload["approved_hash"] != refused[0].payload["about_to_run_hash"]
    )
    assert effects(files) == 0


def test_unknown_pattern_and_bad_params_are_refused_before_anything_runs(
    rt: Runtime, files: dict[str, str]
) -> None:
    from baton.errors import RunbookInvalid
    from baton.runbooks.loader import parse_runbook

    catalog = rt.runner.deps.catalog
    bad = RESTART.replace("pattern: svc.restart", "pattern: svc.restrat")
    with pytest.raises(
        RunbookInvalid, match=r"unknown pattern 'svc\.restrat'; did you mean 'svc\.restart'"
    ):
        parse_runbook(bad, "bad.yaml", catalog)
    bad = RESTART.replace("      service:", "      replicas: 0\n      service:")
    with pytest.raises(
        RunbookInvalid,
        match=r"bad.yaml:\d+:\d+: task 'restart': parameter 'replicas': 0 is below the minimum 1",
    ):
        parse_runbook(bad, "bad.yaml", catalog)
    with pytest.raises(NotFound, match="unknown pattern"):
        start(rt, files, RESTART.replace("pattern: svc.restart", "pattern: svc.nope"))
    assert effects(files) == 0


def test_a_dry_run_pattern_is_approved_for_real_and_is_never_evidence(
    pattern_settings: Settings, files: dict[str, str]
) -> None:
    """Dry-run mode (issue 12 item 11): the gate and its separation of duties are real, the
    restart is only recorded, and the promotion ledger does not move."""
    with build_runtime(pattern_settings.model_copy(update={"dry_run": True})) as dry:
        run_id, status = start(dry, files)
        assert status is RunStatus.WAITING
        with pytest.raises(Forbidden):
            dry.runner.answer(gate_of(dry, run_id), by=REQ, verdict="approve")
        outcome = dry.runner.answer(gate_of(dry, run_id), by="human:alice", verdict="approve")
        assert outcome.run_status is RunStatus.SUCCEEDED
        assert effects(files) == 0
        assert ledger(dry) == ("gated", 0)
        with dry.db.read() as session:
            kinds = [e.kind for e in run_store.timeline(session, run_id=run_id)]
            assert pattern_store.pattern_runs(session, pattern_id="svc.restart") == []
        assert "dry_run" in kinds
