"""`baton tokens create|list|revoke|link` and `baton init`: who can reach the server."""

from __future__ import annotations

import re
from datetime import timedelta

import typer
from rich.table import Table

from baton import parts
from baton.cli.app import console, err_console, open_db, print_json
from baton.cli.runs import user_actor
from baton.errors import InputError
from baton.settings import get_settings
from baton.store import audit, credentials
from baton.store.credentials import Holder
from baton.store.models import utcnow
from baton.store.shapes import iso

tokens_app = typer.Typer(help="API tokens and one-time login links.", no_args_is_help=True)
_DURATION = re.compile(r"^(\d+)([mhd])$")
STARTER_PEOPLE = """\
# Who may use Baton, with which roles (and optionally which teams).
# API roles: viewer, responder, incident_manager, runbook_author, auditor, admin.
# Any other role is an approver role that runbooks name (e.g. sre, dba, incident-commander);
# holding one lets a person answer the items that list it. `break-glass` lets a person approve
# alone, with a reason, audited at high severity.
people:
  {user}: [admin, incident_manager, incident-commander]
  # alice: [responder, sre]
  # bob: {{roles: [responder, dba], teams: [payments]}}
"""


def parse_lifetime(text: str) -> timedelta:
    match = _DURATION.match(text.strip())
    if not match:
        raise InputError(f"--expires {text!r}: use a number and m, h or d (e.g. 30d)")
    amount, unit = int(match.group(1)), match.group(2)
    unit_name = {"m": "minutes", "h": "hours", "d": "days"}[unit]
    return timedelta(**{unit_name: amount})


def _known(user: str) -> None:
    directory = parts.directory(get_settings())
    if not directory.enforced:
        err_console.print(
            "warning: no people directory yet; the server lets nobody in until "
            "`baton init` writes one"
        )
    elif not directory.knows(user):
        err_console.print(f"warning: {user} is not in {directory.source}; the token opens nothing")


@tokens_app.command("create")
def create(
    user: str = typer.Option(..., "--user", help="Whose token (a name in people.yaml)."),
    team: str | None = typer.Option(None, "--team", help="Narrow the token to one team."),
    expires: str | None = typer.Option(None, "--expires", help="e.g. 30d, 12h (default: never)."),
) -> None:
    """Create an API token; it is printed once and only its digest is kept."""
    user_actor(user)  # a valid user name
    expires_at = utcnow() + parse_lifetime(expires) if expires else None
    with open_db() as db, db.write() as session:
        row, token = credentials.create_token(
            session, user=user, team=team, expires_at=expires_at, by="system:cli"
        )
        audit.append(
            session,
            actor="system:cli",
            kind="token_created",
            payload={"token": row.id, "user": user, "team": team, "expires_at": iso(expires_at)},
        )
    _known(user)
    err_console.print(f"token {row.id} for {user}; shown once, keep it secret:")
    console.print(token, highlight=False, markup=False)


@tokens_app.command("list")
def list_tokens(as_json: bool = typer.Option(False, "--json")) -> None:
    """Every token: id, user, team, expiry, revoked (never the secret)."""
    with open_db() as db, db.read() as session:
        rows = credentials.list_tokens(session)
    shaped = [
        {
            "id": r.id,
            "user": r.user,
            "team": r.team,
            "created_at": iso(r.created_at),
            "expires_at": iso(r.expires_at),
            "revoked_at": iso(r.revoked_at),
        }
        for r in rows
    ]
    if as_json:
        print_json(shaped)
        return
    table = Table(title="API tokens")
    for column in ("id", "user", "team", "created", "expires", "revoked"):
        table.add_column(column)
    for t in shaped:
        table.add_row(
            t["id"],
            t["user"],
            t["team"] or "",
            (t["created_at"] or "")[:16],
            (t["expires_at"] or "never")[:16],
            (t["revoked_at"] or "")[:16],
        )
    console.print(table)


@tokens_app.command("revoke")
def revoke(token_id: str = typer.Argument(..., help="The token's id (or the token).")) -> None:
    """Revoke a token at once (audited)."""
    with open_db() as db, db.write() as session:
        row = credentials.revoke_token(session, token_id=token_id)
        audit.append(
            session,
            actor="system:cli",
            kind="token_revoked",
            payload={"token": row.id, "user": row.user},
        )
    console.print(f"revoked token {row.id} of {row.user}", highlight=False)


@tokens_app.command("link")
def link(
    user: str = typer.Option(..., "--user"),
    team: str | None = typer.Option(None, "--team"),
    expires: str = typer.Option("15m", "--expires", help="How long the link stays usable."),
) -> None:
    """A one-time browser login link for a person (send it over a channel you trust)."""
    user_actor(user)
    settings = get_settings()
    with open_db() as db, db.write() as session:
        secret = credentials.create_login_link(
            session, holder=Holder(user, team), lifetime=parse_lifetime(expires)
        )
    _known(user)
    base = (settings.public_url or "http://127.0.0.1:8080").rstrip("/")
    console.print(f"{base}/login/link/{secret}", highlight=False, markup=False)


def init(user: str = typer.Option(..., "--user", help="The first admin.")) -> None:
    """Write a starter people directory ($BATON_HOME/people.yaml) with one admin."""
    user_actor(user)
    path = get_settings().people_path
    if path.exists():
        raise InputError(f"{path} exists; edit it instead")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(STARTER_PEOPLE.format(user=user), encoding="utf-8")
    console.print(
        f"wrote {path}; next: `baton tokens create --user {user}` and `baton serve`",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(tokens_app, name="tokens")
    app.command()(init)
