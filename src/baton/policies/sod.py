"""Separation of duties, enforced where answers are accepted.

The requester (whoever or whatever proposed the action) cannot approve it; agents and
automations never approve; a two-person rule needs distinct people; approvers must hold a
listed role. Break-glass lets one person stand in for missing approvers or roles, never for
the requester, and only with a reason: it is audited at high severity and reviewed after.
"""

from __future__ import annotations

from dataclasses import dataclass

from baton.domain import actor
from baton.errors import Conflict, Forbidden, InputError
from baton.policies.people import BREAK_GLASS_ROLE, Directory


@dataclass(frozen=True)
class Answerer:
    """Who answers, and how."""

    by: str
    break_glass: bool = False
    reason: str | None = None


@dataclass(frozen=True)
class Ask:
    """What is being answered: the item's kind, who proposed it, who may answer."""

    kind: str
    proposers: frozenset[str]
    roles: tuple[str, ...]
    earlier: tuple[str, ...]


def proposers(kind: str, item_requested_by: str, run_requested_by: str) -> frozenset[str]:
    """Who may not answer because they asked: for an approval, whoever proposed the action
    (an agent, say) and whoever started the run; for a break-glass review, who broke it."""
    if kind == "approval":
        return frozenset({item_requested_by, run_requested_by})
    if kind == "review":
        return frozenset({item_requested_by})
    return frozenset()


def may_answer(who: str, ask: Ask, directory: Directory) -> bool:
    """`check_answer` as a yes/no, for inboxes that list what a person may answer."""
    try:
        check_answer(Answerer(who), ask, directory)
    except (Conflict, Forbidden, InputError):
        return False
    return True


def check_answer(who: Answerer, ask: Ask, directory: Directory) -> list[str]:
    """Raise if `who` may not answer; return the roles that qualified them (for the audit)."""
    if not actor.is_human(who.by):
        raise Forbidden(f"only people answer items; {who.by} is not a person")
    if not directory.enforced and not directory.unverified_ok:
        raise Forbidden(
            "no people directory: nobody can be verified, so nobody answers. Write "
            "$BATON_HOME/people.yaml (`baton init --user YOU`), or set "
            "BATON_ALLOW_UNVERIFIED_APPROVERS=1 to record unverified answers"
        )
    approving = ask.kind == "approval"
    if ask.kind in ("approval", "review") and who.by in ask.proposers:
        verb = "approve" if approving else "review"
        raise Forbidden(f"{who.by} requested this and cannot {verb} it (separation of duties)")
    if who.by in ask.earlier:
        raise Conflict(f"{who.by} already answered this item; nothing changed")
    held = directory.roles_of(who.by)
    if who.break_glass:
        if not approving:
            raise InputError("break-glass applies to approvals only")
        if not (who.reason or "").strip():
            raise InputError("break-glass needs a reason (`reason`; --reason on the CLI)")
        if directory.enforced and BREAK_GLASS_ROLE not in held:
            raise Forbidden(f"{who.by} does not hold the {BREAK_GLASS_ROLE} role")
        return sorted(held)
    if ask.roles and directory.enforced:
        qualifying = sorted(held & set(ask.roles))
        if not qualifying:
            needed = ", ".join(ask.roles)
            raise Forbidden(f"{who.by} holds none of the roles this item needs ({needed})")
        return qualifying
    return []
