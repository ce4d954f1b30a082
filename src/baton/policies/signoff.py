"""Who may sign off a pattern's promotion (`promotion.signoff_role`).

A sign-off certifies a complete streak of evidence, so it is accepted only for a line that
is `eligible` (the streak is full, only paperwork remains), from a person holding the role in
the people directory, and never from someone who approved a run of that streak: the
approvers cannot certify their own evidence.
"""

from __future__ import annotations

from collections.abc import Collection

from baton.domain import actor
from baton.errors import Conflict, Forbidden, InputError
from baton.policies.people import Directory
from baton.policies.promotion import Standing
from baton.runbooks.pattern import Pattern


def check_signoff(
    by: str,
    pattern: Pattern,
    ledger: Standing,
    directory: Directory,
    streak_approvers: Collection[str],
) -> str:
    """Raise if `by` may not sign this line off; return the role that qualifies them."""
    role = pattern.promotion.signoff_role
    if role is None:
        raise InputError(f"pattern {pattern.id} needs no sign-off (no promotion.signoff_role)")
    if not actor.is_human(by):
        raise Forbidden(f"only people sign off; {by} is not a person")
    if ledger.autonomous:
        raise Conflict(f"pattern {pattern.id} is already autonomous here; nothing to sign")
    if ledger.signed_off_by is not None:
        raise Conflict(f"already signed off by {ledger.signed_off_by}; nothing changed")
    if ledger.state != "eligible":
        threshold = pattern.promotion.threshold
        raise Conflict(
            f"a sign-off certifies a complete streak; this line is {ledger.state} at "
            f"{ledger.streak}/{threshold} clean approved runs"
        )
    if not directory.enforced:
        raise Forbidden(
            f"a sign-off needs the people directory to check the {role} role, and there is none"
        )
    if role not in directory.roles_of(by):
        raise Forbidden(f"{by} does not hold the {role} role this sign-off needs")
    if by in streak_approvers:
        raise Forbidden(
            f"{by} approved runs of this streak and cannot certify their own evidence "
            "(separation of duties)"
        )
    return role
