"""The people directory: who holds which roles. Approver roles are checked against it.

`$BATON_HOME/people.yaml` (or `BATON_PEOPLE_FILE`):

    people:
      alice: [incident-commander, sre]
      bob: [dba, break-glass]

Without a directory no role can be checked; every decision then records `roles_checked:
false`, so the evidence says plainly that roles were not enforced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from baton.errors import ConfigError, flat, one_line

BREAK_GLASS_ROLE = "break-glass"


class _DirectoryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    people: dict[str, list[str]]


@dataclass(frozen=True)
class Directory:
    people: dict[str, frozenset[str]] = field(default_factory=dict)
    enforced: bool = False
    source: str | None = None

    def roles_of(self, actor: str) -> frozenset[str]:
        """Roles of `human:<user>`; nobody else holds any."""
        if not actor.startswith("human:"):
            return frozenset()
        return self.people.get(actor.removeprefix("human:"), frozenset())


def load_directory(path: Path) -> Directory:
    if not path.exists():
        return Directory()
    try:
        yaml = YAML(typ="safe", pure=True)
        parsed = _DirectoryFile.model_validate(yaml.load(path.read_text(encoding="utf-8")) or {})
    except ValidationError as exc:
        raise ConfigError(f"{path}: invalid people directory: {one_line(exc)}") from None
    except (OSError, YAMLError) as exc:
        raise ConfigError(f"{path}: invalid people directory: {flat(exc)}") from None
    people = {user: frozenset(roles) for user, roles in parsed.people.items()}
    return Directory(people, enforced=True, source=str(path))
