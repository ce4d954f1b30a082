"""Promotion requirements besides the streak, end to end: the eval suite and the sign-off."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from baton.domain.status import RunStatus
from baton.errors import Conflict, Forbidden
from baton.graph.pattern_eval import evaluate
from baton.graph.promotion import standing_of
from baton.graph.signoff import sign_off_line
from baton.policies.context import condition_context
from baton.policies.promotion import Standing
from baton.runbooks.catalog import LoadedPattern, loaded_pattern
from baton.runtime import Runtime, build_runtime
from baton.settings import Settings
from baton.store import audit
from tests.conftest import policy_settings, runbook
from tests.integration.test_patterns import FIXTURES, INCIDENT, REQ, gate_of

PEOPLE = """\
people:
  alice: [sre]
  bob: [sre, change-board]
  erin: [change-board]
  dan: [incident-commander]
  frank: [sre, change-board]
"""


def one_step(pattern_id: str) -> str:
    return f"""\
    id: one-step
    title: One step
    owner: sre
    tasks:
      - id: step
        type: action
        title: Run {pattern_id}
        pattern: {pattern_id}
    """


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return policy_settings(tmp_path, PEOPLE)


@pytest.fixture
def rt(settings: Settings) -> Iterator[Runtime]:
    with build_runtime(settings) as runtime:
        yield runtime


def approved_run(rt: Runtime, pattern_id: str, by: str = "human:alice") -> None:
    run_id, status = rt.runner.start(runbook(one_step(pattern_id)), INCIDENT, requested_by=REQ)
    assert status is RunStatus.WAITING
    outcome = rt.runner.answer(gate_of(rt, run_id, "step"), by=by, verdict="approve")
    assert outcome.run_status is RunStatus.SUCCEEDED


def line(rt: Runtime, pattern_id: str) -> Standing:
    loaded = rt.runner.deps.catalog[pattern_id]
    with rt.db.write() as session:
        return standing_of(session, loaded, context(rt, pattern_id))


def context(rt: Runtime, pattern_id: str) -> dict[str, object]:
    loaded = rt.runner.deps.catalog[pattern_id]
    return condition_context(loaded.pattern, INCIDENT.model_dump(mode="json"))


def run_eval(rt: Runtime, where: Path, by: str = "human:erin") -> bool:
    loaded = rt.runner.deps.catalog["svc.evaluated"]
    return evaluate(
        rt.db, loaded, by=by, timeout=60, output_limit=65536, settings=rt.settings, cwd=where
    ).passed


def pattern_events(rt: Runtime, kind: str) -> list[audit.AuditEvent]:
    with rt.db.read() as session:
        return [e for e in audit.events(session) if e.kind == kind]


def test_fifty_clean_runs_wait_for_the_eval_and_a_passing_eval_promotes(
    rt: Runtime, tmp_path: Path
) -> None:
    for _ in range(50):
        approved_run(rt, "svc.evaluated")
    standing = line(rt, "svc.evaluated")
    assert (standing.state, standing.streak) == ("eligible", 50)
    _, status = rt.runner.start(runbook(one_step("svc.evaluated")), INCIDENT, requested_by=REQ)
    assert status is RunStatus.WAITING, "eligible is still gated"

    assert run_eval(rt, tmp_path) is False  # no eval.ok: the suite fails
    assert line(rt, "svc.evaluated").state == "eligible"
    (tmp_path / "eval.ok").write_text("")
    assert run_eval(rt, tmp_path) is True
    assert line(rt, "svc.evaluated").state == "autonomous"

    failed, passed = pattern_events(rt, "pattern_eval")
    version = rt.runner.deps.catalog["svc.evaluated"].version
    assert (failed.actor, failed.status, failed.subjects["pattern"]) == (
        "human:erin",
        "failed",
        "svc.evaluated",
    )
    assert failed.payload["exit_code"] == 1 and failed.payload["version"] == version
    assert "3 of 12 cases" in failed.payload["stderr_tail"]
    assert passed.status == "passed" and passed.payload["exit_code"] == 0
    assert passed.payload["output_digest"].startswith("sha256:")
    assert passed.payload["output_digest"] != failed.payload["output_digest"]
    (promoted,) = pattern_events(rt, "pattern_promoted")
    assert promoted.actor == "human:erin"
    payload = promoted.payload
    if "$blob" in payload:
        with rt.db.read() as session:
            payload = json.loads(audit.blob(session, payload["$blob"]) or "{}")
    assert (
        "The eval suite passed for this version, scoring the agents as configured: "
        "the offline reasoners (agent version sha256:" in payload["statement"]
    )
    assert len(payload["runs"]) == 50

    _, status = rt.runner.start(runbook(one_step("svc.evaluated")), INCIDENT, requested_by=REQ)
    assert status is RunStatus.SUCCEEDED, "autonomous: no gate"


def _catalog(tmp_path: Path, name: str, title: str) -> Path:
    """A copy of the fixture catalog whose svc.evaluated needs 2 runs and has `title`."""
    catalog = tmp_path / name
    shutil.copytree(FIXTURES, catalog)
    path = catalog / "svc.evaluated.yaml"
    text = path.read_text().replace("promotion:\n", "promotion:\n  threshold: 2\n")
    path.write_text(text.replace("title: Warm a cache", f"title: {title}"))
    return catalog


def test_an_eval_counts_for_its_version_only_and_for_lines_created_after_it(
    settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "eval.ok").write_text("")
    v1 = settings.model_copy(update={"patterns_dir": _catalog(tmp_path, "v1", "Warm")})
    with build_runtime(v1) as rt:
        assert run_eval(rt, tmp_path) is True  # before any ledger line exists
        approved_run(rt, "svc.evaluated")
        assert line(rt, "svc.evaluated").eval_passed_version is not None
        approved_run(rt, "svc.evaluated")
        assert line(rt, "svc.evaluated").state == "autonomous"

    v2 = settings.model_copy(update={"patterns_dir": _catalog(tmp_path, "v2", "Warm it")})
    with build_runtime(v2) as rt:
        for _ in range(2):
            approved_run(rt, "svc.evaluated")
        standing = line(rt, "svc.evaluated")
        assert (standing.state, standing.streak) == ("eligible", 2), "the v1 eval does not count"
        (tmp_path / "eval.ok").unlink()
        assert run_eval(rt, tmp_path) is False
        assert line(rt, "svc.evaluated").state == "eligible"
        (tmp_path / "eval.ok").write_text("")
        assert run_eval(rt, tmp_path) is True
        assert line(rt, "svc.evaluated").state == "autonomous"
        versions = [e.payload["version"] for e in pattern_events(rt, "pattern_eval")]
    assert len(set(versions)) == 2 and versions.count(versions[-1]) == 2


def sign(rt: Runtime, by: str) -> Standing:
    return sign_off_line(
        rt.db,
        loaded=rt.runner.deps.catalog["svc.signed"],
        context=context(rt, "svc.signed"),
        by=by,
        comment="streak reviewed",
        directory=rt.runner.deps.directory,
    )


def test_sign_off_refusals_and_the_sign_off_that_promotes(rt: Runtime) -> None:
    approved_run(rt, "svc.signed", by="human:alice")
    with pytest.raises(Conflict, match="complete streak; this line is gated at 1/2"):
        sign(rt, "human:erin")
    approved_run(rt, "svc.signed", by="human:bob")
    assert line(rt, "svc.signed").state == "eligible"
    refusals = [
        ("human:bob", "approved runs of this streak and cannot certify their own evidence"),
        ("human:dan", "does not hold the change-board role"),
        ("human:mallory", "does not hold the change-board role"),
    ]
    for who, message in refusals:
        with pytest.raises(Forbidden, match=message):
            sign(rt, who)
    assert line(rt, "svc.signed").state == "eligible"
    refused = pattern_events(rt, "refusal")
    assert [(e.actor, e.subjects["pattern"]) for e in refused] == [
        ("human:erin", "svc.signed"),
        *[(who, "svc.signed") for who, _ in refusals],
    ]

    after = sign(rt, "human:erin")
    assert (after.state, after.signed_off_by) == ("autonomous", "human:erin")
    (signed,) = pattern_events(rt, "pattern_signoff")
    assert signed.actor == "human:erin" and signed.payload["role"] == "change-board"
    assert signed.payload["comment"] == "streak reviewed" and len(signed.payload["runs"]) == 2
    (promoted,) = pattern_events(rt, "pattern_promoted")
    assert "Signed off by human:erin (change-board)" in promoted.payload["statement"]
    with pytest.raises(Conflict, match="already autonomous"):
        sign(rt, "human:erin")
    _, status = rt.runner.start(runbook(one_step("svc.signed")), INCIDENT, requested_by=REQ)
    assert status is RunStatus.SUCCEEDED


def test_a_hanging_or_chatty_suite_is_bounded(rt: Runtime) -> None:
    base = rt.runner.deps.catalog["svc.evaluated"].pattern

    def with_eval(code: str) -> LoadedPattern:
        promotion = base.promotion.model_copy(update={"eval": ["python3", "-c", code]})
        return loaded_pattern(base.model_copy(update={"promotion": promotion}), "<test>")

    started = time.monotonic()
    hung = evaluate(
        rt.db,
        with_eval("import time; print('started', flush=True); time.sleep(60)"),
        by="human:erin",
        timeout=1,
        output_limit=1000,
        settings=rt.settings,
    )
    assert time.monotonic() - started < 15
    assert not hung.passed and "timed out after 1s" in (hung.error or "")
    chatty = evaluate(
        rt.db,
        with_eval("print('x' * 1_000_000)"),
        by="human:erin",
        timeout=60,
        output_limit=1000,
        settings=rt.settings,
    )
    assert chatty.passed
    timed_out, talked = pattern_events(rt, "pattern_eval")
    assert timed_out.payload["result"] == "timeout" and timed_out.status == "failed"
    assert "started" in timed_out.payload["stdout_tail"]
    assert len(talked.payload["stdout_tail"]) <= 2000
    assert "truncated" in talked.payload["stdout_tail"]


def test_a_sign_off_lapses_when_the_signer_approves_a_later_run_of_the_streak(
    settings: Settings, tmp_path: Path
) -> None:
    catalog = tmp_path / "both"
    shutil.copytree(FIXTURES, catalog)
    evaluated = (catalog / "svc.evaluated.yaml").read_text()
    suite = evaluated[evaluated.index("  eval: ") :]
    signed = catalog / "svc.signed.yaml"
    both = "promotion:\n  threshold: 2\n  signoff_role: change-board\n" + suite
    signed.write_text(
        signed.read_text().replace("promotion: {threshold: 2, signoff_role: change-board}\n", both)
    )
    (tmp_path / "eval.ok").write_text("")
    with build_runtime(settings.model_copy(update={"patterns_dir": catalog})) as rt:
        for _ in range(2):
            approved_run(rt, "svc.signed", by="human:alice")
        assert sign(rt, "human:frank").state == "eligible"  # the eval is still missing
        approved_run(rt, "svc.signed", by="human:frank")  # still gated: frank may approve
        loaded = rt.runner.deps.catalog["svc.signed"]
        evaluate(
            rt.db,
            loaded,
            by="human:erin",
            timeout=60,
            output_limit=65536,
            settings=rt.settings,
            cwd=tmp_path,
        )
        standing = line(rt, "svc.signed")
        assert (standing.state, standing.signed_off_by) == ("eligible", None)
        (lapsed,) = pattern_events(rt, "pattern_eligible")[-1:]
        assert "sign-off by human:frank lapsed" in lapsed.payload["reason"]
        assert sign(rt, "human:erin").state == "autonomous"
