"""Who did a thing: `human:<user>`, `automation:<executor>`, `agent:<name>@<model>`, `system`."""

from __future__ import annotations

import re

SYSTEM = "system"
_USER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


def human(user: str) -> str:
    """The actor string for a person, case-folded (`Alice` is `alice`: one person cannot
    pass for two); rejects names that could smuggle another actor kind."""
    if not _USER.match(user):
        raise ValueError(
            f"invalid user name {user!r}: use letters, digits, '.', '_', '@' or '-' (max 64)"
        )
    return f"human:{user.lower()}"


def automation(executor: str) -> str:
    return f"automation:{executor}"


def is_human(actor: str) -> bool:
    return actor.startswith("human:")
