"""The policy layer's pure functions, as tables: gate decisions, promotion rules, SoD."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from baton.errors import Conflict, Forbidden, InputError
from baton.policies.freeze import FreezeCalendar, FreezeWindow
from baton.policies.gate import GateMode, decide_gate
from baton.policies.people import Directory
from baton.policies.promotion import Agreement, Mode, Outcome, Standing, record, reset_for_version
from baton.policies.sod import Answerer, Ask, check_answer
from baton.runbooks.model import GateOverride
from baton.runbooks.pattern import Pattern

V1, V2 = "sha256:v1", "sha256:v2"


def pattern(risk: str = "low", **extra: object) -> Pattern:
    return Pattern.model_validate(
        {
            "id": "k8s.rollout_restart",
            "title": "Restart",
            "risk": risk,
            "blast_radius": "one service",
            "idempotent": True,
            "executor": "command",
            "invocation": {"argv": ["true"]},
            "verify": {"kind": "command", "invocation": {"argv": ["true"]}},
            "conditions": ["environment"],
            "approvers": ["sre"],
            **extra,
        }
    )


def run_clean(ledger: Standing, p: Pattern, n: int) -> Standing:
    for _ in range(n):
        ledger, _ = record(ledger, p, Outcome.CLEAN, mode=Mode.GATED, agreement=Agreement.UNCHANGED)
    return ledger


FREEZE = FreezeWindow(
    name="quarter-end",
    start=datetime(2026, 12, 28, tzinfo=UTC),
    end=datetime(2027, 1, 4, tzinfo=UTC),
    block=["critical"],
)


@pytest.mark.parametrize(
    ("risk", "clean_runs", "override", "freeze", "expected"),
    [
        ("low", 0, None, None, GateMode.NEEDS_APPROVAL),
        ("low", 49, None, None, GateMode.NEEDS_APPROVAL),
        ("low", 50, None, None, GateMode.AUTONOMOUS),
        ("medium", 50, None, None, GateMode.AUTONOMOUS),
        ("high", 500, None, None, GateMode.NEEDS_APPROVAL),
        ("critical", 500, None, None, GateMode.NEEDS_APPROVAL),
        ("low", 50, GateOverride(), None, GateMode.NEEDS_APPROVAL),
        ("low", 50, GateOverride(always=False, min_approvals=2), None, GateMode.AUTONOMOUS),
        ("low", 50, None, FREEZE, GateMode.NEEDS_APPROVAL),
        ("critical", 0, None, FREEZE, GateMode.DENY),
    ],
)
def test_gate_decision_table(
    risk: str,
    clean_runs: int,
    override: GateOverride | None,
    freeze: FreezeWindow | None,
    expected: GateMode,
) -> None:
    p = pattern(risk)
    ledger = run_clean(Standing(version=V1), p, clean_runs)
    assert decide_gate(p, V1, ledger, override, freeze).mode is expected


def test_a_new_version_is_gated_whatever_the_old_one_earned() -> None:
    p = pattern()
    ledger = run_clean(Standing(version=V1), p, 50)
    assert ledger.state == "autonomous"
    assert decide_gate(p, V2, ledger).mode is GateMode.NEEDS_APPROVAL
    fresh, moves = reset_for_version(ledger, V2)
    assert (fresh.state, fresh.streak) == ("gated", 0)
    assert [m.kind for m in moves] == ["demoted"] and "new pattern version" in moves[0].reason


def test_approvals_and_roles_a_runbook_may_tighten_not_loosen() -> None:
    p = pattern(min_approvals=2, approvers=["sre", "dba"])
    loose = GateOverride(min_approvals=1, approvers=["sre"])
    decision = decide_gate(p, V1, None, loose)
    assert (decision.approvals, decision.roles) == (2, ["sre"])
    assert decide_gate(p, V1, None, GateOverride(min_approvals=3)).approvals == 3


@pytest.mark.parametrize("fail_at", [1, 25, 49])
def test_a_failure_at_any_point_resets_the_streak(fail_at: int) -> None:
    p = pattern()
    ledger = run_clean(Standing(version=V1), p, fail_at)
    ledger, _ = record(ledger, p, Outcome.VERIFY_FAILED, mode=Mode.GATED, agreement=None)
    assert (ledger.streak, ledger.failures, ledger.state) == (0, 1, "gated")
    ledger = run_clean(ledger, p, 49)
    assert ledger.state == "gated"
    assert run_clean(ledger, p, 1).state == "autonomous"


def test_failure_while_autonomous_demotes_with_a_reason() -> None:
    p = pattern()
    ledger = run_clean(Standing(version=V1), p, 50)
    after, moves = record(ledger, p, Outcome.FAILED, mode=Mode.AUTONOMOUS, agreement=None)
    assert after.state == "gated" and after.streak == 0
    assert moves[0].kind == "demoted" and "action failed while autonomous" in moves[0].reason


def test_rejections_and_break_glass_are_not_evidence() -> None:
    p = pattern()
    ledger = run_clean(Standing(version=V1), p, 10)
    ledger, _ = record(ledger, p, Outcome.REJECTED, mode=Mode.GATED, agreement=Agreement.REJECTED)
    ledger, _ = record(ledger, p, Outcome.CLEAN, mode=Mode.BREAK_GLASS, agreement=None)
    assert ledger.streak == 10 and ledger.rejected == 1
    assert ledger.agreement == pytest.approx(10 / 11)


def test_eval_and_sign_off_hold_a_full_streak_at_eligible() -> None:
    p = pattern(promotion={"threshold": 3, "eval": ["true"], "signoff_role": "cro"})
    ledger = run_clean(Standing(version=V1), p, 3)
    assert ledger.state == "eligible"
    assert decide_gate(p, V1, ledger).mode is GateMode.NEEDS_APPROVAL


def test_freeze_windows_cover_time_and_environment() -> None:
    calendar = FreezeCalendar(windows=[FREEZE.model_copy(update={"environments": ["prod"]})])
    inside = datetime(2026, 12, 30, tzinfo=UTC)
    assert calendar.active(inside, "prod") is not None
    assert calendar.active(inside, "staging") is None
    assert calendar.active(datetime(2027, 1, 4, tzinfo=UTC), "prod") is None


DIRECTORY = Directory(
    {"alice": frozenset({"sre"}), "carol": frozenset({"dba", "break-glass"})}, enforced=True
)
REQ = "human:requester"


@pytest.mark.parametrize(
    ("who", "kind", "earlier", "error", "message"),
    [
        (Answerer(REQ), "approval", (), Forbidden, "cannot approve"),
        (Answerer("agent:log_analysis@offline"), "approval", (), Forbidden, "not a person"),
        (Answerer("automation:k8s.rollout_restart"), "approval", (), Forbidden, "not a person"),
        (Answerer("system"), "approval", (), Forbidden, "not a person"),
        (Answerer("human:carol"), "approval", (), Forbidden, "holds none of the roles"),
        (Answerer("human:alice"), "approval", ("human:alice",), Conflict, "already answered"),
        (Answerer("human:alice", break_glass=True), "approval", (), InputError, "needs a reason"),
        (Answerer("human:alice", True, "urgent"), "approval", (), Forbidden, "break-glass role"),
        (Answerer("human:carol", True, "urgent"), "human", (), InputError, "approvals only"),
        (Answerer(REQ), "review", (), Forbidden, "cannot review"),
    ],
)
def test_separation_of_duties_matrix(
    who: Answerer, kind: str, earlier: tuple[str, ...], error: type[Exception], message: str
) -> None:
    ask = Ask(kind, frozenset({REQ}), ("sre",), earlier)
    with pytest.raises(error, match=message):
        check_answer(who, ask, DIRECTORY)


def test_who_may_answer() -> None:
    ask = Ask("approval", frozenset({REQ}), ("sre",), ())
    assert check_answer(Answerer("human:alice"), ask, DIRECTORY) == ["sre"]
    glass = check_answer(Answerer("human:carol", True, "sre unreachable"), ask, DIRECTORY)
    assert "break-glass" in glass
    # Without a directory nobody is verified: refused, unless explicitly allowed (and then
    # the decision records that roles were not checked).
    with pytest.raises(Forbidden, match="no people directory"):
        check_answer(Answerer("human:mallory"), ask, Directory())
    assert check_answer(Answerer("human:mallory"), ask, Directory(unverified_ok=True)) == []
