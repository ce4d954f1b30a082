"""The engine end to end in-process: real SQLite, real LangGraph checkpoints, real commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from baton.domain.incident import Incident
from baton.domain.status import ItemStatus, RunStatus, TaskStatus
from baton.errors import Conflict, Forbidden, InputError, NotFound
from baton.runtime import Runtime
from baton.store import action_ledger
from baton.store import items as item_store
from baton.store import runs as run_store
from baton.store.models import utcnow
from tests.conftest import runbook, wait_for
from tests.integration.scripts import APPEND, BARRIER, FLAKY, PY, lines

REQ = "human:requester"


def argv(*args: object) -> str:
    return json.dumps([str(a) for a in args])


def statuses(rt: Runtime, run_id: str) -> dict[str, str]:
    with rt.db.read() as s:
        return {t.task_id: t.status for t in run_store.task_executions(s, run_id=run_id)}


def pending(rt: Runtime, run_id: str) -> dict[str, str]:
    """task id → item id of the run's pending items."""
    with rt.db.read() as s:
        return {i.task_id: i.id for i in item_store.list_items(s, run_id=run_id)}


def test_parallel_branches_really_overlap(runtime: Runtime, incident: Incident, tmp_path: Path):
    rb = runbook(f"""
        id: parallel
        title: Parallel
        owner: sre
        tasks:
          - {{id: left, type: action, title: L, executor: command,
              params: {{argv: {argv(PY, "-c", BARRIER, tmp_path, "left", "right")}}}}}
          - {{id: right, type: action, title: R, executor: command,
              params: {{argv: {argv(PY, "-c", BARRIER, tmp_path, "right", "left")}}}}}
          - {{id: join, type: action, title: J, needs: [left, right], executor: wait,
              params: {{seconds: 0}}}}
    """)
    run_id, status = runtime.runner.start(rb, incident, requested_by=REQ)
    assert status is RunStatus.SUCCEEDED, statuses(runtime, run_id)
    assert statuses(runtime, run_id) == {
        "left": "succeeded",
        "right": "succeeded",
        "join": "succeeded",
    }
    with runtime.db.read() as s:
        rows = {t.task_id: t for t in run_store.task_executions(s, run_id=run_id)}
    assert rows["join"].started_at >= max(rows["left"].finished_at, rows["right"].finished_at)


def two_gates(tmp_path: Path) -> str:
    effects = tmp_path / "effects.txt"
    return f"""
        id: two-gates
        title: Two gates in parallel
        owner: sre
        tasks:
          - {{id: prepare, type: action, title: Prepare, executor: command,
              params: {{argv: {argv(PY, "-c", APPEND, effects, "prepare")}}}}}
          - {{id: gate_a, type: approval, title: Gate A, needs: [prepare], approvers: [ic],
              shows: ["prepared: {{{{ tasks.prepare.status }}}}"]}}
          - {{id: gate_b, type: approval, title: Gate B, needs: [prepare], approvers: [ic]}}
          - {{id: act_a, type: action, title: Act A, needs: [gate_a], executor: command,
              params: {{argv: {argv(PY, "-c", APPEND, effects, "act_a")}}}}}
          - {{id: act_b, type: action, title: Act B, needs: [gate_b], executor: command,
              params: {{argv: {argv(PY, "-c", APPEND, effects, "act_b")}}}}}
          - {{id: finish, type: action, title: Finish, needs: [act_a, act_b], executor: command,
              params: {{argv: {argv(PY, "-c", APPEND, effects, "finish")}}}}}
    """


def test_two_parallel_gates_answered_one_at_a_time_repeat_no_effect(
    runtime: Runtime, incident: Incident, tmp_path: Path
):
    run_id, status = runtime.runner.start(runbook(two_gates(tmp_path)), incident, requested_by=REQ)
    assert status is RunStatus.WAITING
    items = pending(runtime, run_id)
    assert set(items) == {"gate_a", "gate_b"}
    with runtime.db.read() as s:
        shown = item_store.get_item(s, item_id=items["gate_a"]).content["shows"]
    assert shown == ["prepared: succeeded"]

    first = runtime.runner.answer(items["gate_a"], by="human:alice", verdict="approve")
    assert first.run_status is RunStatus.WAITING
    assert pending(runtime, run_id) == {"gate_b": items["gate_b"]}  # same id after the re-run
    assert statuses(runtime, run_id)["act_a"] == "succeeded"

    second = runtime.runner.answer(items["gate_b"], by="human:bob", verdict="approve")
    assert second.run_status is RunStatus.SUCCEEDED
    assert sorted(lines(tmp_path / "effects.txt")) == ["act_a", "act_b", "finish", "prepare"]
    with runtime.db.read() as s:
        assert {i.status for i in item_store.list_items(s, status=None, run_id=run_id)} == {
            ItemStatus.APPLIED
        }


def test_stale_duplicate_and_forbidden_answers_change_nothing(
    runtime: Runtime, incident: Incident, tmp_path: Path
):
    run_id, _ = runtime.runner.start(runbook(two_gates(tmp_path)), incident, requested_by=REQ)
    items = pending(runtime, run_id)

    with pytest.raises(NotFound):
        runtime.runner.answer("itm_nope", by="human:alice", verdict="approve")
    with pytest.raises(Forbidden, match="requested this and cannot approve"):
        runtime.runner.answer(items["gate_a"], by=REQ, verdict="approve")
    with pytest.raises(Forbidden, match="only people"):
        runtime.runner.answer(items["gate_a"], by="agent:logs@offline", verdict="approve")
    with pytest.raises(InputError, match="approve or reject"):
        runtime.runner.answer(items["gate_a"], by="human:alice", verdict="complete")
    with runtime.db.read() as s:
        assert item_store.decisions(s, item_id=items["gate_a"]) == []

    runtime.runner.answer(items["gate_a"], by="human:alice", verdict="approve")
    with pytest.raises(Conflict, match="already"):
        runtime.runner.answer(items["gate_a"], by="human:carol", verdict="reject")

    runtime.runner.cancel(run_id, by="human:ic")
    with pytest.raises(Conflict):
        runtime.runner.answer(items["gate_b"], by="human:bob", verdict="approve")
    with runtime.db.read() as s:
        assert item_store.decisions(s, item_id=items["gate_b"]) == []
        assert run_store.get_run(s, run_id=run_id).status == RunStatus.CANCELLED
    assert statuses(runtime, run_id)["act_b"] == "cancelled"
    assert lines(tmp_path / "effects.txt") == ["prepare", "act_a"]


def test_two_person_rule_needs_distinct_approvers(
    runtime: Runtime, incident: Incident, tmp_path: Path
):
    rb = runbook(f"""
        id: two-person
        title: Two person
        owner: dba
        tasks:
          - {{id: gate, type: approval, title: Failover, approvers: [dba, ic], min_approvals: 2}}
          - {{id: failover, type: action, title: Failover, needs: [gate], executor: command,
              params: {{argv: {argv(PY, "-c", APPEND, tmp_path / "fx", "failover")}}}}}
    """)
    run_id, _ = runtime.runner.start(rb, incident, requested_by=REQ)
    item = pending(runtime, run_id)["gate"]
    one = runtime.runner.answer(item, by="human:alice", verdict="approve")
    assert (one.item_status, one.approvals, one.needed) == ("pending", 1, 2)
    assert lines(tmp_path / "fx") == []
    with pytest.raises(Conflict, match="already answered"):
        runtime.runner.answer(item, by="human:alice", verdict="approve")
    two = runtime.runner.answer(item, by="human:bob", verdict="approve")
    assert two.run_status is RunStatus.SUCCEEDED
    assert lines(tmp_path / "fx") == ["failover"]
    with runtime.db.read() as s:
        output = run_store.get_task(s, run_id=run_id, task_id="gate").output
    assert output is not None and output["approved_by"] == ["human:alice", "human:bob"]


def test_rejection_fails_the_run_and_nothing_behind_the_gate_runs(
    runtime: Runtime, incident: Incident, tmp_path: Path
):
    run_id, _ = runtime.runner.start(runbook(two_gates(tmp_path)), incident, requested_by=REQ)
    items = pending(runtime, run_id)
    outcome = runtime.runner.answer(
        items["gate_a"], by="human:alice", verdict="reject", comment="wrong version"
    )
    assert outcome.run_status is RunStatus.FAILED
    assert statuses(runtime, run_id) == {
        "prepare": "succeeded",
        "gate_a": "failed",
        "gate_b": "cancelled",
        "act_a": "cancelled",
        "act_b": "cancelled",
        "finish": "cancelled",
    }
    assert lines(tmp_path / "effects.txt") == ["prepare"]
    with runtime.db.read() as s:
        run = run_store.get_run(s, run_id=run_id)
        assert run.halt_reason and "rejected by human:alice: wrong version" in run.halt_reason
        assert item_store.get_item(s, item_id=items["gate_b"]).status == ItemStatus.CANCELLED


def test_decision_by_a_person_skips_the_other_branch_and_joins(
    runtime: Runtime, incident: Incident, tmp_path: Path
):
    fx = tmp_path / "fx"
    rb = runbook(f"""
        id: decide
        title: Decide
        owner: sre
        tasks:
          - {{id: pick, type: decision, title: Restart or roll back?, options: [restart, rollback],
              on: {{restart: [restart], rollback: [rollback]}}, assignee: ic}}
          - {{id: restart, type: action, title: Restart, executor: command,
              params: {{argv: {argv(PY, "-c", APPEND, fx, "restart")}}}}}
          - {{id: rollback, type: action, title: Roll back, executor: command,
              params: {{argv: {argv(PY, "-c", APPEND, fx, "rollback")}}}}}
          - {{id: verify, type: action, title: Verify, needs: [restart, rollback], executor: command,
              params: {{argv: {argv(PY, "-c", APPEND, fx, "verify {{ tasks.pick.choice }}")}}}}}
    """)
    run_id, _ = runtime.runner.start(rb, incident, requested_by=REQ)
    item = pending(runtime, run_id)["pick"]
    with pytest.raises(InputError, match="choose one of restart, rollback"):
        runtime.runner.answer(item, by="human:ic", verdict="choose", choice="reboot")
    done = runtime.runner.answer(item, by="human:ic", verdict="choose", choice="rollback")
    assert done.run_status is RunStatus.SUCCEEDED
    assert statuses(runtime, run_id) == {
        "pick": "succeeded",
        "restart": "skipped",
        "rollback": "succeeded",
        "verify": "succeeded",
    }
    assert lines(fx) == ["rollback", "verify rollback"]


CONFIRM_REPLICATION = """
    id: human
    title: Human
    owner: dba
    tasks:
      - id: confirm
        type: human
        title: Confirm replication
        assignee: dba
        instructions: "Check lag on {{ incident.service }}"
        outputs:
          lag_seconds: {type: number}
          notes: {required: false}
"""


def test_human_task_outputs_are_typed_and_required(runtime: Runtime, incident: Incident):
    rb = runbook(CONFIRM_REPLICATION)
    run_id, _ = runtime.runner.start(rb, incident, requested_by=REQ)
    item = pending(runtime, run_id)["confirm"]
    with runtime.db.read() as s:
        assert (
            item_store.get_item(s, item_id=item).content["instructions"] == "Check lag on checkout"
        )
    with pytest.raises(InputError, match="missing required output 'lag_seconds'"):
        runtime.runner.answer(item, by="human:dba1", verdict="complete", outputs={})
    with pytest.raises(InputError, match="expected a number"):
        runtime.runner.answer(
            item, by="human:dba1", verdict="complete", outputs={"lag_seconds": "x"}
        )
    with pytest.raises(InputError, match="unknown output"):
        runtime.runner.answer(item, by="human:dba1", verdict="complete", outputs={"lag": "1"})
    # The requester may do human work (only approvals are separated from requests).
    done = runtime.runner.answer(
        item, by=REQ, verdict="complete", outputs={"lag_seconds": "0.5"}, comment="all good"
    )
    assert done.run_status is RunStatus.SUCCEEDED
    with runtime.db.read() as s:
        task = run_store.get_task(s, run_id=run_id, task_id="confirm")
    assert task.actor == REQ
    assert task.output == {"lag_seconds": 0.5, "completed_by": REQ, "notes": "all good"}


def test_a_declared_notes_output_is_not_replaced_by_the_comment(
    runtime: Runtime, incident: Incident
):
    rb = runbook(CONFIRM_REPLICATION)
    run_id, _ = runtime.runner.start(rb, incident, requested_by=REQ)
    item = pending(runtime, run_id)["confirm"]
    runtime.runner.answer(
        item,
        by="human:dba1",
        verdict="complete",
        outputs={"lag_seconds": "0.5", "notes": "fine"},
        comment="later",
    )
    with runtime.db.read() as s:
        task = run_store.get_task(s, run_id=run_id, task_id="confirm")
    assert task.output == {"lag_seconds": 0.5, "notes": "fine", "completed_by": "human:dba1"}


def test_retries_use_a_new_ledger_key_per_attempt(
    runtime: Runtime, incident: Incident, tmp_path: Path
):
    counter = tmp_path / "attempts"
    rb = runbook(f"""
        id: flaky
        title: Flaky
        owner: sre
        tasks:
          - {{id: flaky, type: action, title: Flaky, executor: command, retries: 2,
              params: {{argv: {argv(PY, "-c", FLAKY, counter, 3)}}}}}
    """)
    run_id, status = runtime.runner.start(rb, incident, requested_by=REQ)
    assert status is RunStatus.SUCCEEDED
    assert len(lines(counter)) == 3
    with runtime.db.read() as s:
        keys = [(e.key, e.result["status"]) for e in action_ledger.entries(s, run_id=run_id)]
        task = run_store.get_task(s, run_id=run_id, task_id="flaky")
    assert keys == [
        (f"{run_id}:flaky:1", "failed"),
        (f"{run_id}:flaky:2", "failed"),
        (f"{run_id}:flaky:3", "succeeded"),
    ]
    assert task.attempt == 3


def test_failure_policies(runtime: Runtime, incident: Incident, tmp_path: Path):
    fx = tmp_path / "fx"
    rb = runbook(f"""
        id: failures
        title: Failures
        owner: sre
        tasks:
          - {{id: optional, type: action, title: Optional, executor: command,
              on_failure: continue, params: {{argv: ["false"]}}}}
          - {{id: after_optional, type: action, title: After, needs: [optional],
              executor: command, params: {{argv: {argv(PY, "-c", APPEND, fx, "after")}}}}}
          - {{id: manual, type: action, title: Needs a hand, executor: command,
              on_failure: human, params: {{argv: ["false"]}}}}
          - {{id: after_manual, type: action, title: After manual, needs: [manual],
              executor: command, params: {{argv: {argv(PY, "-c", APPEND, fx, "after manual")}}}}}
    """)
    run_id, status = runtime.runner.start(rb, incident, requested_by=REQ)
    assert status is RunStatus.WAITING
    assert statuses(runtime, run_id)["optional"] == "failed"
    assert statuses(runtime, run_id)["manual"] == "waiting"
    assert lines(fx) == ["after"]
    item = pending(runtime, run_id)["manual"]
    with runtime.db.read() as s:
        content = item_store.get_item(s, item_id=item).content
    assert "the action failed (exit code 1" in content["reason"]
    assert content["invocation"]["argv"] == ["false"]
    done = runtime.runner.answer(item, by="human:op", verdict="complete", comment="did it by hand")
    assert done.run_status is RunStatus.SUCCEEDED
    assert lines(fx) == ["after", "after manual"]


def test_a_failing_task_halts_the_run(runtime: Runtime, incident: Incident, tmp_path: Path):
    rb = runbook("""
        id: halts
        title: Halts
        owner: sre
        tasks:
          - {id: broken, type: action, title: Broken, executor: command, params: {argv: ["false"]}}
          - {id: gate, type: approval, title: Independent gate, approvers: [ic]}
          - {id: later, type: action, title: Later, needs: [broken], executor: wait,
             params: {seconds: 0}}
    """)
    run_id, status = runtime.runner.start(rb, incident, requested_by=REQ)
    assert status is RunStatus.FAILED
    assert statuses(runtime, run_id) == {
        "broken": "failed",
        "gate": "cancelled",
        "later": "cancelled",
    }
    with runtime.db.read() as s:
        assert item_store.list_items(s, run_id=run_id) == []


def test_when_false_skips_and_templates_fail_cleanly(runtime: Runtime, incident: Incident):
    rb = runbook("""
        id: when
        title: When
        owner: sre
        tasks:
          - {id: only_critical, type: action, title: Page, executor: wait, params: {seconds: 0},
             when: "incident.severity == 'critical'"}
          - {id: bad_template, type: action, title: Bad, executor: command,
             on_failure: continue, params: {argv: ["echo", "{{ incident.data.missing }}"]}}
    """)
    run_id, status = runtime.runner.start(rb, incident, requested_by=REQ)
    assert status is RunStatus.SUCCEEDED
    with runtime.db.read() as s:
        rows = {t.task_id: t for t in run_store.task_executions(s, run_id=run_id)}
        assert action_ledger.entries(s, run_id=run_id) == []  # nothing executed
    assert rows["only_critical"].status == TaskStatus.SKIPPED
    assert rows["bad_template"].status == TaskStatus.FAILED
    assert rows["bad_template"].error and "missing" in rows["bad_template"].error


GATE_WITH_DEADLINE = """
    id: timeout
    title: Timeout
    owner: sre
    tasks:
      - {id: gate, type: approval, title: Gate, approvers: [ic], timeout: 1s}
      - {id: after, type: action, title: After, needs: [gate], executor: wait,
         params: {seconds: 0}}
"""


def test_overdue_items_time_out_on_recover(runtime: Runtime, incident: Incident):
    rb = runbook(GATE_WITH_DEADLINE)
    run_id, _ = runtime.runner.start(rb, incident, requested_by=REQ)
    item = pending(runtime, run_id)["gate"]
    assert runtime.runner.recover() == {}  # not due yet: nothing happens
    wait_for(lambda: runtime.runner.recover(), timeout=10, what="the gate to time out")
    assert statuses(runtime, run_id) == {"gate": "failed", "after": "cancelled"}
    with runtime.db.read() as s:
        assert item_store.get_item(s, item_id=item).status == ItemStatus.EXPIRED
        assert run_store.get_run(s, run_id=run_id).status == RunStatus.FAILED


def test_an_answer_after_the_deadline_is_refused_and_the_timeout_applies(
    runtime: Runtime, incident: Incident
):
    rb = runbook(GATE_WITH_DEADLINE)
    run_id, _ = runtime.runner.start(rb, incident, requested_by=REQ)
    item = pending(runtime, run_id)["gate"]
    with runtime.db.read() as s:
        due = item_store.get_item(s, item_id=item).due_at
    assert due is not None
    wait_for(lambda: utcnow() > due, timeout=10, what="the gate's deadline to pass")
    with pytest.raises(Conflict, match="has timed out"):
        runtime.runner.answer(item, by="human:ic1", verdict="approve")
    assert statuses(runtime, run_id) == {"gate": "failed", "after": "cancelled"}
    with runtime.db.read() as s:
        assert item_store.get_item(s, item_id=item).status == ItemStatus.EXPIRED
        assert run_store.get_run(s, run_id=run_id).status == RunStatus.FAILED
        kinds = [e.kind for e in run_store.timeline(s, run_id=run_id)]
    assert "refusal" in kinds


def test_inputs_are_checked_before_anything_is_stored(runtime: Runtime, incident: Incident):
    rb = runbook("""
        id: inputs
        title: Inputs
        owner: sre
        inputs:
          replicas: {type: number, required: true}
        tasks:
          - {id: t, type: action, title: T, executor: wait, params: {seconds: 0}}
    """)
    with pytest.raises(InputError, match="missing required input 'replicas'"):
        runtime.runner.start(rb, incident, requested_by=REQ)
    with pytest.raises(InputError, match="unknown input"):
        runtime.runner.start(rb, incident, requested_by=REQ, inputs={"replicas": "2", "x": "1"})
    with runtime.db.read() as s:
        assert run_store.list_runs(s) == []


def test_a_waiting_gate_does_not_hold_up_other_branches(runtime: Runtime, incident: Incident):
    rb = runbook("""
        id: independent
        title: Independent branches
        owner: sre
        tasks:
          - {id: gate, type: approval, title: Gate, approvers: [ic]}
          - {id: a, type: action, title: A, executor: wait, params: {seconds: 0}}
          - {id: b, type: action, title: B, needs: [a], executor: wait, params: {seconds: 0}}
          - {id: c, type: action, title: C, needs: [b], executor: wait, params: {seconds: 0}}
          - {id: join, type: action, title: Join, needs: [gate, c], executor: wait,
             params: {seconds: 0}}
    """)
    run_id, status = runtime.runner.start(rb, incident, requested_by=REQ)
    assert status is RunStatus.WAITING
    assert statuses(runtime, run_id) == {
        "gate": "waiting",
        "a": "succeeded",
        "b": "succeeded",
        "c": "succeeded",
        "join": "pending",
    }
    item = pending(runtime, run_id)["gate"]
    assert (
        runtime.runner.answer(item, by="human:ic", verdict="approve").run_status
        is RunStatus.SUCCEEDED
    )
    assert statuses(runtime, run_id)["join"] == "succeeded"


def test_concurrent_answers_to_one_gate_record_exactly_one(
    runtime: Runtime, incident: Incident, tmp_path: Path
):
    """R9: approve and reject race on the same gate; one wins, the other gets a conflict."""
    import threading

    run_id, _ = runtime.runner.start(runbook(two_gates(tmp_path)), incident, requested_by=REQ)
    item = pending(runtime, run_id)["gate_a"]
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def answer(who: str, verdict: str) -> None:
        barrier.wait()
        try:
            outcomes[who] = runtime.runner.answer(item, by=f"human:{who}", verdict=verdict)
        except Conflict as exc:
            outcomes[who] = exc

    threads = [
        threading.Thread(target=answer, args=("alice", "approve")),
        threading.Thread(target=answer, args=("bob", "reject")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(type(o).__name__ for o in outcomes.values()) == ["AnswerOutcome", "Conflict"]
    with runtime.db.read() as s:
        assert len(item_store.decisions(s, item_id=item)) == 1
    act_a = statuses(runtime, run_id)["act_a"]
    winner = next(w for w, o in outcomes.items() if not isinstance(o, Conflict))
    assert act_a == ("succeeded" if winner == "alice" else "cancelled")


def test_secrets_never_reach_the_ledger_or_the_audit_trail(runtime: Runtime, incident: Incident):
    rb = runbook("""
        id: secrets
        title: Secrets
        owner: sre
        tasks:
          - id: call
            type: action
            title: Call the deploy API
            executor: http
            on_failure: continue
            params:
              method: POST
              url: "http://deployer:hunter2@127.0.0.1:9/rollback?api_key=k3y"
              headers: {Authorization: "Bearer s3cret-token"}
              json: {service: checkout}
          - id: script
            type: action
            title: Script with a token
            executor: command
            params: {argv: ["true"], env: {DEPLOY_TOKEN: "t0ken-value"}}
    """)
    runtime.runner.start(rb, incident, requested_by=REQ)
    from sqlalchemy import text as sql_text

    with runtime.db.read() as s:
        dump = " ".join(
            str(row)
            for table in ("action_ledger", "audit_events", "task_executions", "pending_items")
            for row in s.execute(sql_text(f"SELECT * FROM {table}"))
        )
    for secret in ("hunter2", "k3y", "s3cret-token", "t0ken-value"):
        assert secret not in dump, secret
    assert "***" in dump and "checkout" in dump
