"""Workers die, pause, race; PostgreSQL restarts and cuts connections. Runs go on."""

from __future__ import annotations

import json
import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.conftest import PY, wait_for
from tests.faults.conftest import Estate, chain_valid, settles
from tests.integration import postgres
from tests.integration.scripts import APPEND, EFFECT_THEN_BLOCK, lines
from tests.openai_server import final, hang, running
from tests.server import Server

pytestmark = [pytest.mark.integration, postgres.needed]


def slow_runbook(tmp: Path, *, seconds_of_wait: float = 0) -> str:
    """note -> slow (not idempotent: appends an effect, then blocks until released) -> after."""
    effects, started, release = tmp / "effects", tmp / "started", tmp / "release"
    slow = [PY, "-c", EFFECT_THEN_BLOCK, str(effects), str(started), str(release)]
    after = [PY, "-c", APPEND, str(effects), "after"]
    wait = (
        f"""
  - id: settle
    type: action
    title: Settle
    needs: [slow]
    executor: wait
    params: {{seconds: {seconds_of_wait}}}"""
        if seconds_of_wait
        else ""
    )
    return f"""\
id: web-restart
title: Slow restart
owner: payments
tasks:
  - id: slow
    type: action
    title: Slow, not idempotent
    executor: command
    idempotent: false
    timeout: 120
    params: {{argv: {json.dumps(slow)}}}{wait}
  - id: after
    type: action
    title: After
    needs: [{"settle" if seconds_of_wait else "slow"}]
    executor: command
    params: {{argv: {json.dumps(after)}}}
"""


def worker_running(estate: Estate, started: Path) -> tuple[int, int]:
    """The index of the worker that runs the blocked command, and the command's pid."""
    pid = int(started.read_text())
    parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    for n, worker in enumerate(estate.workers):
        assert worker.proc is not None
        if worker.proc.pid == parent:
            return n, pid
    raise AssertionError(f"no worker runs pid {pid} (parent {parent})")


def mid_action(estate: Estate, tmp_path: Path) -> str:
    """One server and two workers on the slow runbook; a run declared and its slow action
    running (its effect already made); the run's id."""
    (estate.home.path / "runbooks" / "web-restart.yaml").write_text(slow_runbook(tmp_path))
    estate.server()
    estate.worker("w1")
    estate.worker("w2")
    with estate.client("alice") as alice:
        run_id = estate.declare(alice)
    wait_for((tmp_path / "started").exists, timeout=60, what="the slow action")
    return run_id


def test_a_worker_killed_mid_action_hands_the_run_to_another_without_a_second_effect(
    estate: Estate, tmp_path: Path
) -> None:
    """Must hold: the run is not lost (another worker takes it once the dead one's heartbeat
    stops), the in-flight non-idempotent effect is not repeated but handed to a person to
    verify, and the audit chain verifies."""
    run_id = mid_action(estate, tmp_path)
    with estate.client("alice") as alice:
        n, command = worker_running(estate, tmp_path / "started")
        victim = estate.workers[n]
        victim.send(signal.SIGKILL)  # the worker mid-action, and its command (a host lost)
        os.kill(command, signal.SIGKILL)
        assert victim.proc is not None
        victim.proc.wait(timeout=30)

        settles(alice, run_id, "waiting")
        (item,) = alice.get("/v1/items", params={"run": run_id}).json()["items"]
        assert item["task_id"] == "slow" and item["kind"] == "fallback", item
        assert lines(tmp_path / "effects") == ["effect"]  # not repeated
        with estate.client("bob") as bob:
            done = bob.post(
                f"/v1/items/{item['id']}/completion", json={"comment": "checked: it ran"}
            )
            assert done.status_code == 200, done.text
        settles(alice, run_id, "succeeded")
        assert lines(tmp_path / "effects") == ["effect", "after"]
        timeline = alice.get(f"/v1/runs/{run_id}/timeline").json()["events"]
        assert any(e["kind"] == "recovery" for e in timeline), timeline
        chain_valid(alice)


def test_postgresql_restarted_and_connections_killed_mid_run_lose_nothing(
    estate: Estate, tmp_path: Path
) -> None:
    """Must hold: a restart of the database mid-action and killed connections afterwards
    surface as retried steps; the run finishes, each effect once, the chain valid."""
    run_id = mid_action(estate, tmp_path)
    estate.pg.restart()  # every connection cut while the action runs
    (tmp_path / "release").touch()
    estate.pg.terminate_backends(estate.database_url)  # and again, as they reconnect
    with estate.client("alice") as alice:
        run = settles(alice, run_id, "succeeded")
        assert {t["id"]: t["status"] for t in run["tasks"]} == {
            "slow": "succeeded",
            "after": "succeeded",
        }
        assert lines(tmp_path / "effects") == ["effect", "after"]
        chain_valid(alice)
    for worker in estate.workers:
        assert worker.proc is not None and worker.proc.poll() is None, worker.log.read_text()


def test_a_paused_worker_loses_its_run_and_cannot_commit_when_it_wakes(
    estate: Estate, tmp_path: Path
) -> None:
    """Must hold: a worker paused mid-action (SIGSTOP) past the stall threshold loses the
    run to another worker; when it wakes and its action finishes, nothing it writes lands
    (the run's generation moved on), so the effect is recorded once and only as the new
    owner decided; the audit chain stays valid and the run finishes."""
    run_id = mid_action(estate, tmp_path)
    with estate.client("alice") as alice:
        n, _ = worker_running(estate, tmp_path / "started")
        paused = estate.workers[n]
        paused.send(signal.SIGSTOP)

        # The other worker takes the run over: the in-flight action is in doubt.
        settles(alice, run_id, "waiting")
        (item,) = alice.get("/v1/items", params={"run": run_id}).json()["items"]
        assert (item["task_id"], item["kind"]) == ("slow", "fallback"), item

        # The paused worker wakes; its command finishes; its commit must be refused.
        (tmp_path / "release").touch()
        paused.send(signal.SIGCONT)
        wait_for(lambda: "fenced" in paused.log.read_text(), timeout=60, what="the refusal")
        run = alice.get(f"/v1/runs/{run_id}").json()
        assert run["run"]["status"] == "waiting"
        slow = next(t for t in run["tasks"] if t["id"] == "slow")
        assert slow["status"] != "succeeded", slow  # not the paused worker's result
        assert lines(tmp_path / "effects") == ["effect"]

        with estate.client("bob") as bob:
            done = bob.post(f"/v1/items/{item['id']}/completion", json={"comment": "it ran"})
            assert done.status_code == 200, done.text
        settles(alice, run_id, "succeeded")
        assert lines(tmp_path / "effects") == ["effect", "after"]
        chain_valid(alice)


def agent_runbook(tmp: Path) -> str:
    """changes (the ITSM agent, on a model endpoint) -> after (an effect, once)."""
    after = [PY, "-c", APPEND, str(tmp / "effects"), "after"]
    return f"""\
id: web-restart
title: Ask the agent, then act
owner: payments
tasks:
  - id: changes
    type: agent
    agent: itsm_change
    title: Recent changes
  - id: after
    type: action
    title: After
    needs: [changes]
    executor: command
    params: {{argv: {json.dumps(after)}}}
"""


def test_a_worker_killed_mid_agent_call_hands_the_run_to_another_that_asks_again(
    estate: Estate, tmp_path: Path
) -> None:
    """Must hold: a worker killed while its agent waits on the model loses nothing: another
    worker takes the run once the dead one's heartbeat stops, asks the model again (an
    agent only reads, so asking twice is safe), keeps one finding, and the action after it
    runs once; the audit chain verifies."""
    (estate.home.path / "runbooks" / "web-restart.yaml").write_text(agent_runbook(tmp_path))
    answer = {"summary": "no recent change explains it", "confidence": 0.2, "suspects": []}
    with running() as model:
        model.script(hang(), final(answer))
        estate.home.env.update(
            BATON_MODEL_PROVIDER="openai",
            BATON_MODEL_BASE_URL=model.base_url,
            BATON_MODEL_API_KEY="sk-test-fault",
            BATON_MODEL_NAME="gpt-test",
        )
        estate.server()
        victim = estate.worker("w1")
        with estate.client("alice") as alice:
            run_id = estate.declare(alice)
            wait_for(lambda: len(model.requests) == 1, timeout=60, what="the agent's model call")
            victim.send(signal.SIGKILL)
            assert victim.proc is not None
            victim.proc.wait(timeout=30)
            estate.worker("w2")

            run = settles(alice, run_id, "succeeded")
            assert {t["id"]: t["status"] for t in run["tasks"]} == {
                "changes": "succeeded",
                "after": "succeeded",
            }
            assert len(model.requests) == 2 and model.remaining == 0
            assert lines(tmp_path / "effects") == ["after"]
            events = alice.get(f"/v1/runs/{run_id}/timeline").json()["events"]
            kinds = [e["kind"] for e in events]
            assert "recovery" in kinds, kinds
            found = [e for e in events if e["kind"] == "finding" and e["task_id"] == "changes"]
            assert len(found) == 1, found  # the second worker's answer, kept once
            assert found[0]["detail"]["finding"]["summary"] == answer["summary"]
            chain_valid(alice)


def two_gates_runbook(tmp: Path) -> str:
    """Two approvals side by side, then one effect that needs both (the join)."""
    effect = [PY, "-c", APPEND, str(tmp / "effects"), "{{ run.id }}"]
    return f"""\
id: web-restart
title: Two gates, one effect
owner: payments
tasks:
  - id: left
    type: approval
    approvers: [sre]
    title: Left?
  - id: right
    type: approval
    approvers: [sre]
    title: Right?
  - id: effect
    type: action
    title: Effect
    needs: [left, right]
    executor: command
    idempotent: false
    params: {{argv: {json.dumps(effect)}}}
"""


def test_answers_racing_through_two_servers_advance_each_run_once(
    estate: Estate, tmp_path: Path
) -> None:
    """Must hold: two gates of one run answered at the same instant through two API
    processes queue two advances of the run; the workers take them one at a time (the job
    lock, and the run's advisory lock behind it), so each run's join runs its effect exactly
    once and every run finishes; the audit chain verifies."""
    (estate.home.path / "runbooks" / "web-restart.yaml").write_text(two_gates_runbook(tmp_path))
    first, second = estate.server(), estate.server()
    estate.worker("w1")
    estate.worker("w2")
    with estate.client("alice") as alice:
        runs = [estate.declare(alice) for _ in range(6)]
        for run_id in runs:
            settles(alice, run_id, "waiting")
        items = {
            run_id: {
                i["task_id"]: i["id"]
                for i in alice.get("/v1/items", params={"run": run_id}).json()["items"]
            }
            for run_id in runs
        }
    barrier = threading.Barrier(2)

    def answer(server: Server, user: str, task: str) -> list[int]:
        codes = []
        with estate.client(user, server) as client:
            for run_id in runs:
                barrier.wait(timeout=30)
                done = client.post(
                    f"/v1/items/{items[run_id][task]}/decision", json={"verdict": "approve"}
                )
                codes.append(done.status_code)
        return codes

    with ThreadPoolExecutor(2) as pool:
        left = pool.submit(answer, first, "bob", "left")
        right = pool.submit(answer, second, "carol", "right")
        assert left.result(timeout=120) == [200] * len(runs)
        assert right.result(timeout=120) == [200] * len(runs)
    with estate.client("alice") as alice:
        for run_id in runs:
            settles(alice, run_id, "succeeded")
        assert sorted(lines(tmp_path / "effects")) == sorted(runs)  # each join once
        chain_valid(alice)
