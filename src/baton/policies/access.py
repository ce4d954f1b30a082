"""Who may do what through the API: roles to permissions, and team scoping. Pure.

Built-in roles grant API permissions. Any other role in the people directory is an
approver role (`sre`, `dba`, `incident-commander`…): holding one lets a person answer the
items that list it, so it implies `responder`; so does `break-glass`. Separation of
duties (`policies.sod`) still decides each answer; these permissions only open the door.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Permission(StrEnum):
    READ = "read"
    ANSWER = "answer"
    START_RUN = "start_run"
    CANCEL_RUN = "cancel_run"
    RESOLVE_INCIDENT = "resolve_incident"
    READ_AUDIT = "read_audit"
    MANAGE_PATTERNS = "manage_patterns"
    ADMIN = "admin"


_P = Permission
ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "viewer": frozenset({_P.READ}),
    "responder": frozenset({_P.READ, _P.ANSWER}),
    "incident_manager": frozenset(
        {_P.READ, _P.ANSWER, _P.START_RUN, _P.CANCEL_RUN, _P.RESOLVE_INCIDENT}
    ),
    "runbook_author": frozenset({_P.READ}),
    "auditor": frozenset({_P.READ, _P.READ_AUDIT}),
    "admin": frozenset(Permission),
}
BUILTIN_ROLES = frozenset(ROLE_PERMISSIONS)
ALL_TEAMS_ROLES = frozenset({"auditor", "admin"})
"""Roles that see every team's objects whatever the person's own teams."""


def permissions(roles: frozenset[str]) -> frozenset[Permission]:
    """What `roles` allow; an approver role (any non-built-in one) implies `responder`."""
    granted: set[Permission] = set()
    for role in roles:
        if role in ROLE_PERMISSIONS:
            granted |= ROLE_PERMISSIONS[role]
        else:  # an approver role, or break-glass (which approves alone): both answer
            granted |= ROLE_PERMISSIONS["responder"]
    return frozenset(granted) if granted else ROLE_PERMISSIONS["viewer"]


@dataclass(frozen=True)
class Caller:
    """The person behind a request, as the server established it (never as they claim)."""

    user: str
    roles: frozenset[str]
    teams: frozenset[str] | None
    """None: every team; else only objects of these teams (and no team-less ones)."""
    via: str

    @property
    def actor(self) -> str:
        return f"human:{self.user}"

    @property
    def granted(self) -> frozenset[Permission]:
        return permissions(self.roles)

    def may(self, permission: Permission) -> bool:
        return permission in self.granted

    def sees(self, team: str | None) -> bool:
        """Team scoping: an object of another team does not exist for this caller."""
        return self.teams is None or (team is not None and team in self.teams)


def scope(
    person_teams: frozenset[str] | None, roles: frozenset[str], token_team: str | None
) -> frozenset[str] | None:
    """A caller's teams: the person's (all for auditors and admins), narrowed by the token's."""
    teams = None if roles & ALL_TEAMS_ROLES else person_teams
    if token_team is None:
        return teams
    if teams is None or token_team in teams:
        return frozenset({token_team})
    return frozenset()
