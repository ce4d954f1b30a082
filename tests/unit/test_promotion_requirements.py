"""The requirements besides the streak, as tables: the eval suite and the sign-off."""

from __future__ import annotations

import pytest

from baton.errors import Conflict, Forbidden, InputError
from baton.policies.people import Directory
from baton.policies.promotion import Standing, record_eval, sign_off
from baton.policies.signoff import check_signoff
from baton.runbooks.pattern import Pattern
from tests.unit.test_policies import V1, V2, pattern, run_clean

EVALUATED = pattern(promotion={"threshold": 3, "eval": ["true"]})
SIGNED = pattern(promotion={"threshold": 3, "signoff_role": "change-board"})
BOTH = pattern(promotion={"threshold": 3, "eval": ["true"], "signoff_role": "change-board"})


def test_a_passing_eval_promotes_a_line_that_only_waited_for_it() -> None:
    line = run_clean(Standing(version=V1), EVALUATED, 3)
    assert line.state == "eligible"
    after, moves = record_eval(line, EVALUATED, V1, passed=True)
    assert (after.state, after.eval_passed_version) == ("autonomous", V1)
    assert [m.kind for m in moves] == ["promoted"]


def test_an_eval_of_another_version_changes_nothing() -> None:
    line = run_clean(Standing(version=V1), EVALUATED, 3)
    after, moves = record_eval(line, EVALUATED, V2, passed=True)
    assert (after, moves) == (line, [])


def test_a_pass_before_the_streak_is_kept_and_promotes_at_the_threshold() -> None:
    line, moves = record_eval(Standing(version=V1), EVALUATED, V1, passed=True)
    assert (line.state, moves) == ("gated", [])
    assert run_clean(line, EVALUATED, 2).state == "gated"
    assert run_clean(line, EVALUATED, 3).state == "autonomous"


def test_a_failed_eval_clears_the_pass_and_restores_the_gate_keeping_the_streak() -> None:
    line = run_clean(Standing(version=V1, eval_passed_version=V1), EVALUATED, 3)
    assert line.state == "autonomous"
    after, moves = record_eval(line, EVALUATED, V1, passed=False)
    assert (after.state, after.streak, after.eval_passed_version) == ("eligible", 3, None)
    assert moves[0].kind == "demoted" and "eval suite failed" in moves[0].reason
    again, moves = record_eval(after, EVALUATED, V1, passed=True)
    assert again.state == "autonomous" and moves[0].kind == "promoted"


def test_eval_and_sign_off_are_both_needed_when_both_are_asked_for() -> None:
    line = run_clean(Standing(version=V1), BOTH, 3)
    line, moves = record_eval(line, BOTH, V1, passed=True)
    assert line.state == "eligible" and moves == []
    line, moves = sign_off(line, BOTH, "human:erin")
    assert line.state == "autonomous" and line.signed_off_by == "human:erin"


BOARD = Directory(
    {"erin": frozenset({"change-board"}), "alice": frozenset({"sre", "change-board"})},
    enforced=True,
)


@pytest.mark.parametrize(
    ("who", "target", "line", "directory", "approvers", "error", "message"),
    [
        ("human:erin", EVALUATED, 3, BOARD, (), InputError, "needs no sign-off"),
        ("agent:log_analysis@offline", SIGNED, 3, BOARD, (), Forbidden, "not a person"),
        ("human:erin", SIGNED, 2, BOARD, (), Conflict, "gated at 2/3"),
        ("human:erin", SIGNED, 3, Directory(), (), Forbidden, "needs the people directory"),
        ("human:bob", SIGNED, 3, BOARD, (), Forbidden, "does not hold the change-board role"),
        ("human:alice", SIGNED, 3, BOARD, ("human:alice",), Forbidden, "own evidence"),
    ],
)
def test_sign_off_refusals(
    who: str,
    target: Pattern,
    line: int,
    directory: Directory,
    approvers: tuple[str, ...],
    error: type[Exception],
    message: str,
) -> None:
    ledger = run_clean(Standing(version=V1), target, line)
    with pytest.raises(error, match=message):
        check_signoff(who, target, ledger, directory, approvers)


def test_a_sign_off_is_given_once_and_promotes() -> None:
    line = run_clean(Standing(version=V1), SIGNED, 3)
    assert check_signoff("human:erin", SIGNED, line, BOARD, {"human:alice"}) == "change-board"
    after, moves = sign_off(line, SIGNED, "human:erin")
    assert after.state == "autonomous" and [m.kind for m in moves] == ["promoted"]
    with pytest.raises(Conflict, match="already autonomous"):
        check_signoff("human:erin", SIGNED, after, BOARD, ())
    waiting, _ = sign_off(run_clean(Standing(version=V1), BOTH, 3), BOTH, "human:erin")
    assert waiting.state == "eligible"  # the eval is still missing
    with pytest.raises(Conflict, match="already signed off by human:erin"):
        check_signoff("human:alice", BOTH, waiting, BOARD, ())
