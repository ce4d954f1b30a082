"""The people directory: who holds which roles, in which teams. Approver roles and API
access are both checked against it.

`$BATON_HOME/people.yaml` (or `BATON_PEOPLE_FILE`):

    people:
      alice: [incident-commander, sre]          # roles only: every team
      bob: {roles: [dba, break-glass], teams: [payments]}

Without a directory nobody is who they say: answers are refused (the server lets nobody
in) unless `BATON_ALLOW_UNVERIFIED_APPROVERS=1` is set, and then every decision records
`roles_checked: false, unverified: true`, so the evidence says plainly that nobody checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from baton.errors import ConfigError, flat, one_line

BREAK_GLASS_ROLE = "break-glass"


class _Person(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roles: list[str] = Field(default_factory=list)
    teams: list[str] = Field(default_factory=list, description="Empty: every team.")


class _DirectoryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    people: dict[str, list[str] | _Person]


@dataclass(frozen=True)
class Directory:
    people: dict[str, frozenset[str]] = field(default_factory=dict)
    enforced: bool = False
    source: str | None = None
    teams: dict[str, frozenset[str]] = field(default_factory=dict)
    """A person's teams; absent or empty: the person is not limited to any team."""
    unverified_ok: bool = False
    """Without a directory, answers are refused unless this is set explicitly
    (`BATON_ALLOW_UNVERIFIED_APPROVERS=1`); each answer then records that nobody checked."""

    def roles_of(self, actor: str) -> frozenset[str]:
        """Roles of `human:<user>`; nobody else holds any."""
        if not actor.startswith("human:"):
            return frozenset()
        return self.people.get(actor.removeprefix("human:"), frozenset())

    def knows(self, user: str) -> bool:
        return user.lower() in self.people

    def teams_of(self, user: str) -> frozenset[str] | None:
        """The teams `user` is limited to, or None for every team."""
        return self.teams.get(user.lower()) or None


def load_directory(path: Path, *, unverified_ok: bool = False) -> Directory:
    """The directory in `path`; names are case-folded like actors (`actor.human`)."""
    if not path.exists():
        return Directory(unverified_ok=unverified_ok)
    try:
        yaml = YAML(typ="safe", pure=True)
        parsed = _DirectoryFile.model_validate(yaml.load(path.read_text(encoding="utf-8")) or {})
    except ValidationError as exc:
        raise ConfigError(f"{path}: invalid people directory: {one_line(exc)}") from None
    except (OSError, YAMLError) as exc:
        raise ConfigError(f"{path}: invalid people directory: {flat(exc)}") from None
    people: dict[str, frozenset[str]] = {}
    teams: dict[str, frozenset[str]] = {}
    for user, entry in parsed.people.items():
        person = entry if isinstance(entry, _Person) else _Person(roles=entry)
        people[user.lower()] = frozenset(person.roles)
        if person.teams:
            teams[user.lower()] = frozenset(person.teams)
    return Directory(people, enforced=True, source=str(path), teams=teams)
